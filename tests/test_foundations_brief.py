"""Issue 13's brief section and exports: "Who builds on whose foundations: the whole Hub" in the
weekly brief, and ``openbrief metrics root-foundations`` / ``origin-shares`` on a census snapshot.

Hand-made snapshots (``write_snapshot``) carry ``listed_by`` like a census fetch. Namespaces:
Qwen (CN), meta-llama and google (US) are organisations of the shipped registry; unsloth is an
intermediary; ``someone-*``/``nobody-*`` are unknown.
"""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from clirun import clean_env, must, one_clear_error, openbrief, run_main
from openbrief import metrics, registry
from openbrief.brief.foundations import foundations_numbers, foundations_over_time, foundations_sentence
from openbrief.store.snapshot import write_snapshot

WHEN = datetime(2026, 9, 28, 6, 0, tzinfo=timezone.utc)
NEW = "2026-09-26T12:00:00Z"  # inside the weekly brief's 7 days and the export's 30
OLD = "2025-01-01T00:00:00Z"
TRACKED = ["author=Qwen"]

#: (row, the bloc of its root as the registry places it; None: declares no base)
ROWS = [
    ({"id": "Qwen/Qwen3-8B", "created_at": OLD, "downloads": 9000, "listed_by": TRACKED + ["hub-top"]}, None),
    ({"id": "meta-llama/Llama-3.1-8B", "created_at": OLD, "downloads": 7000, "listed_by": ["hub-top"]}, None),
    ({"id": "unsloth/Qwen3-8B", "created_at": OLD, "downloads": 50, "base_models": ["Qwen/Qwen3-8B"],
      "base_relation": "quantized", "listed_by": ["ancestor"]}, "CN"),
    ({"id": "someone-a/qwen-ft", "downloads": 30, "base_models": ["unsloth/Qwen3-8B"], "base_relation": "finetune",
      "listed_by": ["new"]}, "CN"),
    ({"id": "someone-b/qwen-lora", "downloads": 20, "base_models": ["Qwen/Qwen3-8B"], "base_relation": "adapter",
      "listed_by": ["new"]}, "CN"),
    ({"id": "someone-c/llama-ft", "downloads": 10, "base_models": ["meta-llama/Llama-3.1-8B"],
      "base_relation": "finetune", "listed_by": ["new"]}, "US"),
    ({"id": "someone-d/lost", "downloads": 5, "base_models": ["nobody-z/base"], "base_relation": "finetune",
      "listed_by": ["new"]}, "unattributed"),
    ({"id": "someone-e/scratch", "downloads": 4, "listed_by": ["new"]}, None),
]
NEW_DERIVATIVES = {r["id"]: bloc for r, bloc in ROWS if "new" in r["listed_by"] and bloc}


def _store(folder, with_census=True, meta=None):
    rows = [{"created_at": NEW, **r} for r, _ in ROWS]
    if not with_census:
        rows = [{k: v for k, v in r.items() if k != "listed_by"} for r in rows]
    write_snapshot(folder, {"models": pd.DataFrame(rows)}, {"endpoint": "hand-made", **(meta or {})}, WHEN)
    return folder


def _json(capsys, *argv):
    code, out, err = run_main(["metrics", *argv, "--format", "json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_root_foundations_export_equals_a_direct_count(tmp_path, capsys):
    store = _store(tmp_path)
    payload = _json(capsys, "root-foundations", "--store", str(store), "--universe", "new")
    blocs = list(NEW_DERIVATIVES.values())
    wanted = {b: blocs.count(b) for b in set(blocs)}
    assert {r["group"]: r["models"] for r in payload["rows"]} == wanted
    assert {r["group"]: r["share"] for r in payload["rows"]} == pytest.approx({b: n / len(blocs) for b, n in wanted.items()})
    assert payload["coverage"]["in_window_declaring_base"] == len(blocs)
    assert payload["universe"] == "new" and payload["metric"] == "root-foundations"

    families = _json(capsys, "root-foundations", "--store", str(store), "--universe", "new", "--by", "family")
    direct = metrics.with_roots(registry.attribute(_snapshot_models(store)))
    direct = direct[metrics.in_hub_universe(direct, "new").to_numpy()]
    expected = metrics.root_foundations(direct, WHEN - pd.Timedelta(days=30), WHEN, by="family").rows
    assert families["rows"] == json.loads(expected.to_json(orient="records"))

    code, out, _ = run_main(["metrics", "root-foundations", "--store", str(store), "--universe", "new",
                             "--split", "relation", "--format", "csv"], capsys)
    assert code == 0 and out.splitlines()[0] == "relation,group,models,share"


def _snapshot_models(store):
    from openbrief.store.snapshot import open_snapshot

    return open_snapshot(store, "latest").models


def test_origin_shares_export_equals_direct_sums(tmp_path, capsys):
    store = _store(tmp_path)
    payload = _json(capsys, "origin-shares", "--store", str(store), "--universe", "hub-top")
    top = [r for r, _ in ROWS if "hub-top" in r["listed_by"]]
    total = sum(r["downloads"] for r in top)
    by_bloc = {"CN": "Qwen/Qwen3-8B", "US": "meta-llama/Llama-3.1-8B"}
    downloads = {r["id"]: r["downloads"] for r in top}
    got = {r["group"]: (r["publisher_downloads_30d"], r["publisher_share"]) for r in payload["rows"]}
    assert got == {b: (downloads[i], pytest.approx(downloads[i] / total)) for b, i in by_bloc.items()}


def test_the_new_options_are_refused_elsewhere_and_on_old_snapshots(tmp_path, capsys):
    store = _store(tmp_path, with_census=False)
    code, _, err = run_main(["metrics", "download-share", "--store", str(store), "--split", "relation"], capsys)
    assert code == 2 and "--split does not apply" in one_clear_error(err)
    code, _, err = run_main(["metrics", "root-foundations", "--store", str(store), "--universe", "new"], capsys)
    assert code == 2 and "no whole-Hub census" in one_clear_error(err)


def _weekly_text(tmp_path, store):
    env = clean_env(tmp_path / "hf_home")
    (tmp_path / "hf_home").mkdir()
    built = must(openbrief("build", "weekly", "--store", store, "--briefs", tmp_path / "briefs", "--quiet", env=env))
    pdf = built.stdout.strip().splitlines()[-1]
    return " ".join(subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout.split())


@pytest.mark.slow
def test_weekly_brief_answers_whose_foundations_for_the_whole_hub(tmp_path):
    store = _store(tmp_path / "store")
    text = _weekly_text(tmp_path, store)
    assert "Who builds on whose foundations: the whole Hub" in text
    models = metrics.with_roots(registry.attribute(_snapshot_models(store)))
    models = models[metrics.in_hub_universe(models, "new").to_numpy()]
    numbers = foundations_numbers(models, WHEN - pd.Timedelta(days=7), WHEN)
    assert numbers["new_derivatives"] == len(NEW_DERIVATIVES)
    cn = list(NEW_DERIVATIVES.values()).count("CN") / len(NEW_DERIVATIVES)
    assert f"{cn:.1%}" in text and f"Of the {len(NEW_DERIVATIVES)} new models of the period" in text
    assert " ".join(foundations_sentence(numbers).split()) in text  # the key finding, whole
    assert "no census of the Hub's new models" not in text


@pytest.mark.slow
def test_weekly_brief_shows_foundations_over_time_and_a_census_shorter_than_its_period(tmp_path):
    store = tmp_path / "store"
    week_before = [{**r, "created_at": "2026-09-19T12:00:00Z"} for r, _ in ROWS]
    write_snapshot(store, {"models": pd.DataFrame(week_before)}, {"endpoint": "hand-made"}, WHEN - timedelta(days=7))
    covered = "2026-09-25T06:00:00Z"  # 3 of the brief's 7 days, the budget having cut the window
    _store(store, meta={"new_window": {"start": "2026-09-21T06:00:00Z", "end": "2026-09-28T06:00:00Z",
                                       "covered_from": covered, "complete": False, "pages": 3}})
    text = _weekly_text(tmp_path, store)
    assert "covers only the last 3.0 days of the brief's period (from 2026-09-25 06:00 UTC)" in text
    assert "openbrief fetch --resume" in text
    over_time = foundations_over_time(store, WHEN, 7)
    assert over_time["snapshot_id"].nunique() == 2
    executed = json.loads(next((tmp_path / "briefs").glob("weekly-*/weekly.ipynb")).read_text())
    section = [c for c in executed["cells"] if "foundations_over_time" in "".join(c["source"])]
    figures = [o for o in section[0]["outputs"] if "image/svg+xml" in o.get("data", {})]
    assert len(figures) == 3  # by origin, by family, and by origin snapshot by snapshot


@pytest.mark.slow
def test_weekly_brief_without_a_census_says_so(tmp_path):
    text = _weekly_text(tmp_path, _store(tmp_path / "store", with_census=False))
    assert "Who builds on whose foundations: the whole Hub" in text
    assert "This snapshot holds no census of the Hub's new models" in text
