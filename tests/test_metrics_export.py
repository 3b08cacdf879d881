"""Exported metrics equal a direct computation over the records the replay Hub served.

Records are served, fetched with the real client (``openbrief fetch``), exported with
``openbrief metrics ... --format json`` and compared with sums made here from the
records themselves (registry lookups only).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from openbrief import registry
from openbrief.replay.recordings import write_jsonl
from openbrief.replay import ReplayHub

RECORDS = [
    {"id": "Qwen/Qwen3-8B", "author": "Qwen", "downloads": 5000, "likes": 50, "createdAt": "2026-11-01T00:00:00.000Z",
     "downloadsAllTime": 90000, "tags": ["license:apache-2.0"]},
    {"id": "Qwen/Qwen3-1B", "author": "Qwen", "downloads": 1000, "likes": 5, "createdAt": "2026-06-01T00:00:00.000Z",
     "tags": ["license:apache-2.0"]},
    {"id": "deepseek-ai/DeepSeek-R1", "author": "deepseek-ai", "downloads": 3000, "likes": 90,
     "createdAt": "2025-01-20T00:00:00.000Z", "tags": ["license:mit"]},
    {"id": "meta-llama/Llama-3.1-8B", "author": "meta-llama", "downloads": 4000, "likes": 70,
     "createdAt": "2024-07-01T00:00:00.000Z", "tags": ["license:llama3.1"]},
    {"id": "mistralai/Mistral-7B", "author": "mistralai", "downloads": 2000, "likes": 20,
     "createdAt": "2026-11-15T00:00:00.000Z", "tags": ["license:apache-2.0"]},
    {"id": "mistralai/Mistral-Old", "author": "mistralai", "likes": 2, "tags": []},  # no download count
    # derivatives: not tracked (intermediaries and unknown namespaces), listed through base_model filters
    {"id": "unsloth/Qwen3-8B-GGUF", "author": "unsloth", "downloads": 700, "createdAt": "2026-11-10T00:00:00.000Z",
     "tags": ["base_model:Qwen/Qwen3-8B", "base_model:quantized:Qwen/Qwen3-8B"],
     "baseModels": {"relation": "quantized", "models": [{"id": "Qwen/Qwen3-8B"}]}},
    {"id": "someone/qwen-ft", "author": "someone", "downloads": 40, "createdAt": "2026-11-12T00:00:00.000Z",
     "tags": ["base_model:Qwen/Qwen3-8B", "base_model:finetune:Qwen/Qwen3-8B"],
     "baseModels": {"relation": "finetune", "models": [{"id": "Qwen/Qwen3-8B"}]}},
    {"id": "someone/llama-lora", "author": "someone", "downloads": 9, "createdAt": "2026-11-13T00:00:00.000Z",
     "tags": ["base_model:meta-llama/Llama-3.1-8B", "base_model:adapter:meta-llama/Llama-3.1-8B"],
     "baseModels": {"relation": "adapter", "models": [{"id": "meta-llama/Llama-3.1-8B"}]}},
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    env = {**{k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")},
           "HF_HOME": str(tmp / "hf")}
    data = write_jsonl(RECORDS, tmp / "records.jsonl")
    with ReplayHub(data, page_size=2) as hub:
        run = subprocess.run([sys.executable, "-m", "openbrief", "fetch", "--endpoint", hub.url, "--store",
                              str(tmp / "store"), "--quiet", "--as-of", "2026-11-20T00:00:00Z"],
                             capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 0, run.stderr

    def metric(*args):
        out = subprocess.run([sys.executable, "-m", "openbrief", "metrics", *args, "--store", str(tmp / "store"),
                              "--format", "json"], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return metric


def tracked(record) -> bool:
    entry = registry.load().lookup(record["id"].split("/")[0])
    return entry is not None and not entry.is_intermediary


def direct_sums(attribute: str) -> dict[str, int]:
    """30-day downloads of the tracked records summed by a registry attribute (country, organisation)."""
    sums: dict[str, int] = defaultdict(int)
    for r in RECORDS:
        if tracked(r) and r.get("downloads") is not None:
            sums[getattr(registry.load().lookup(r["author"]), attribute)] += r["downloads"]
    return dict(sums)


def test_download_share_by_country_equals_direct_sums(exported):
    sums = direct_sums("country")
    total = sum(sums.values())
    result = exported("download-share", "--by", "country")
    assert result["metric"] == "download-share" and result["by"] == "country"
    rows = {row["group"]: row for row in result["rows"]}
    assert set(rows) == set(sums)
    for country, downloads in sums.items():
        assert rows[country]["downloads_30d"] == downloads
        assert rows[country]["share"] == pytest.approx(downloads / total)
    assert result["coverage"]["models_missing_downloads"] == 1  # mistralai/Mistral-Old: missing, not zero


def test_derivatives_equal_the_served_base_models(exported):
    expected = defaultdict(Counter)
    for r in RECORDS:
        if "baseModels" in r:
            for base in r["baseModels"]["models"]:
                expected[base["id"]][r["baseModels"]["relation"]] += 1
    result = exported("derivatives", "--base", *sorted(expected))
    rows = {row["base"]: row for row in result["rows"]}
    assert set(rows) == set(expected)  # one object per base
    for base, counts in expected.items():
        row = rows[base]
        assert row["source"] == "childrenModelCount"  # the Hub's own count was fetched for these
        for relation in ("finetune", "adapter", "quantized", "merge"):
            assert row[relation] == counts[relation], (base, relation)
        assert row["total"] == row["listed_total"] == sum(counts.values())


def test_new_releases_and_top_models(exported):
    window_start = "2026-10-21T00:00:00.000Z"  # 30 days before the as-of time
    new = [r["id"] for r in RECORDS if tracked(r) and r.get("createdAt", "") >= window_start]
    result = exported("new-releases", "--window", "30", "--by", "org")
    assert sorted(i for row in result["rows"] for i in row["ids"]) == sorted(new)
    top = exported("top-models", "--top", "3")
    ranked = sorted((r for r in RECORDS if tracked(r) and r.get("downloads") is not None),
                    key=lambda r: (-r["downloads"], r["id"]))[:3]
    assert [row["id"] for row in top["rows"]] == [r["id"] for r in ranked]


def test_concentration_equals_direct_hhi(exported):
    by_org = direct_sums("organisation")
    total = sum(by_org.values())
    hhi = sum((100 * v / total) ** 2 for v in by_org.values())
    row = exported("concentration")["rows"][0]
    assert row["hhi"] == pytest.approx(hhi)
    assert row["top1_share"] == pytest.approx(max(by_org.values()) / total)
