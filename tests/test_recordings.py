"""Converters of recorded Hub data, and the replay Hub serving what they produce.

The first tests use tiny hand-made files in the recordings' shapes, so they run
everywhere; the rest read the real recordings in ``shared/hubdata`` and skip,
with the reason, when that folder is absent. Converted data only ever goes to
``tmp_path``.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from huggingface_hub import HfApi

from openbrief.replay.recordings import (
    base_models_from_tags,
    model_tree_records,
    trending_day_meta,
    trending_day_records,
    trending_folder_records,
    write_day_folder,
    write_jsonl,
)
from openbrief.replay import ReplayHub, load_records

ABSENT_FROM_TRENDING = ("downloadsAllTime", "tags", "baseModels", "safetensors")


def _trending_file(path, models, date="2026-01-02"):
    path.write_text(json.dumps({"date": date, "fetched_at": f"{date}T10:15:24.5+09:00",
                                "source": "huggingface.co/api/models", "models": models}))
    return path


def _tree_file(path, models):
    path.write_text(json.dumps({"models": [
        {"model_id": m["modelId"], "metadata": json.dumps(m), "depth": depth, "children": "[]"}
        for depth, m in models]}))
    return path


# --- hand-made files -----------------------------------------------------------


def test_trending_records_keep_what_was_recorded_and_nothing_else(tmp_path):
    path = _trending_file(tmp_path / "2026-01-02.json", [
        {"id": "Org/a", "likes": 5, "downloads": 0, "pipeline_tag": None, "library_name": "transformers",
         "createdAt": "2025-01-01T00:00:00.000Z", "lastModified": None},
        {"id": "solo", "likes": 1, "downloads": 7, "pipeline_tag": "text-generation",
         "library_name": None, "createdAt": None, "lastModified": "2025-02-01T00:00:00.000Z"},
    ])
    a, solo = trending_day_records(path)
    assert a == {"id": "Org/a", "author": "Org", "likes": 5, "downloads": 0,
                 "library_name": "transformers", "createdAt": "2025-01-01T00:00:00.000Z"}
    assert solo == {"id": "solo", "likes": 1, "downloads": 7, "pipeline_tag": "text-generation",
                    "lastModified": "2025-02-01T00:00:00.000Z"}
    meta = trending_day_meta(path)
    assert meta.date == "2026-01-02" and meta.model_count == 2
    assert meta.fetched_at == datetime(2026, 1, 2, 1, 15, 24, 500000, tzinfo=timezone.utc)


def test_tree_records_derive_base_models_from_relation_tags(tmp_path):
    path = _tree_file(tmp_path / "tree.json", [
        (0, {"modelId": "Org/root", "sha": "1" * 40, "tags": ["license:mit"], "downloads": 9,
             "pipeline_tag": "text-generation"}),
        (1, {"modelId": "u/ft", "sha": "2" * 40, "downloads": 1, "pipeline_tag": None,
             "tags": ["base_model:Org/root", "base_model:finetune:Org/root", "license:apache-2.0"]}),
    ])
    root, child = model_tree_records(path)
    assert root == {"id": "Org/root", "author": "Org", "sha": "1" * 40, "tags": ["license:mit"],
                    "downloads": 9, "pipeline_tag": "text-generation"}
    assert child["baseModels"] == {"relation": "finetune", "models": [{"id": "Org/root"}]}
    assert "pipeline_tag" not in child and "license:apache-2.0" in child["tags"]


def test_base_models_from_tags_keeps_one_relation():
    assert base_models_from_tags(["base_model:a/b"]) is None
    assert base_models_from_tags(["base_model:merge:a/b", "base_model:merge:c/d", "base_model:finetune:e/f"]) == {
        "relation": "merge", "models": [{"id": "a/b"}, {"id": "c/d"}]}


def test_bad_recordings_are_reported(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        trending_day_records(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError, match="'models' list"):
        model_tree_records(tmp_path / "list.json")
    with pytest.raises(ValueError, match="not YYYY-MM-DD"):
        write_day_folder({"today": []}, tmp_path / "days")


# --- the real recordings ---------------------------------------------------------


@pytest.fixture
def trending_0822(hubdata):
    return hubdata / "trending-2026-08" / "2026-08-22.json"


@pytest.fixture
def tree_file(hubdata):
    (path,) = sorted((hubdata / "model-tree-2025-04").glob("*.json"))
    return path


def test_real_trending_day_converts_without_inventing_fields(trending_0822):
    raw = json.loads(trending_0822.read_text())["models"]
    records = trending_day_records(trending_0822)
    assert [r["id"] for r in records] == [m["id"] for m in raw]
    assert not any(key in r for r in records for key in ABSENT_FROM_TRENDING)
    assert not any(key in r for r in records for key in ("lastModified",))   # always null there
    assert sum("pipeline_tag" in r for r in records) == sum(m["pipeline_tag"] is not None for m in raw)
    assert all(r["createdAt"].endswith("Z") for r in records if "createdAt" in r)
    assert trending_day_meta(trending_0822).fetched_at == datetime(
        2026, 8, 22, 1, 15, 24, 524435, tzinfo=timezone.utc)


def test_replayed_trending_day_lists_every_qwen_model(trending_0822, tmp_path, hf_home):
    raw = json.loads(trending_0822.read_text())["models"]
    expected = sorted(m["id"] for m in raw if m["id"].split("/")[0] == "Qwen")
    data = write_jsonl(trending_day_records(trending_0822), tmp_path / "trending.jsonl")
    with ReplayHub(data, page_size=20) as hub:
        models = list(HfApi(endpoint=hub.url, token=False).list_models(
            author="qwen", sort="downloads", expand=["downloads", "downloadsAllTime", "likes", "createdAt"]))
    assert sorted(m.id for m in models) == expected and len(models) == len(expected) > 20
    assert all(m.downloads_all_time is None for m in models)
    downloads = [m.downloads for m in models]
    assert downloads == sorted(downloads, reverse=True)
    assert sum("cursor=" in r.target for r in hub.requests) == (len(expected) - 1) // 20


def test_replayed_trending_days_by_date(hubdata, tmp_path, hf_home):
    days = trending_folder_records(hubdata / "trending-2026-08")
    assert len(days) == 16 and min(days) == "2026-08-07" and max(days) == "2026-08-22"
    folder = write_day_folder({d: days[d] for d in ("2026-08-07", "2026-08-22")}, tmp_path / "days")
    by_day = {d: {r["id"]: r for r in records} for d, records in load_records(folder).items()}
    with ReplayHub(folder) as hub:
        first = HfApi(endpoint=hub.url + "/@2026-08-07", token=False).model_info("deepseek-ai/DeepSeek-R1")
        newest = HfApi(endpoint=hub.url, token=False).model_info("deepseek-ai/DeepSeek-R1")
    assert first.downloads == by_day["2026-08-07"]["deepseek-ai/DeepSeek-R1"]["downloads"]
    assert newest.downloads == by_day["2026-08-22"]["deepseek-ai/DeepSeek-R1"]["downloads"]


def test_real_model_tree_converts(tree_file):
    raw = json.loads(tree_file.read_text())["models"]
    records = model_tree_records(tree_file)
    assert len(records) == len(raw)
    root = records[0]
    assert root["id"] == "deepseek-ai/DeepSeek-R1" and "baseModels" not in root
    assert "license:mit" in root["tags"] and root["author"] == "deepseek-ai"
    assert all(r["baseModels"]["models"] for r in records[1:])


def test_replayed_tree_counts_deepseek_r1_finetunes(tree_file, tmp_path, hf_home):
    raw = json.loads(tree_file.read_text())["models"]
    declared = sum(1 for m in raw if m["depth"] == 1
                   and "base_model:finetune:deepseek-ai/DeepSeek-R1" in json.loads(m["metadata"])["tags"])
    data = write_jsonl(model_tree_records(tree_file), tmp_path / "tree.jsonl")
    with ReplayHub(data) as hub:
        hub_api = HfApi(endpoint=hub.url, token=False)
        counts = hub_api.model_info("deepseek-ai/DeepSeek-R1").children_model_count
        listed = list(hub_api.list_models(filter="base_model:finetune:deepseek-ai/DeepSeek-R1"))
    assert declared > 0 and counts["finetune"] == declared
    assert counts["adapter"] == counts["quantized"] == counts["merge"] == 0
    assert len(listed) == declared
