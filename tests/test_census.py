"""The whole-Hub census of a fetch, through the real client and the replay Hub: the top N by
downloads, the window of new models, ``listed_by``, the budget plan and partial windows, missing
ancestors and cycles, and a replay of a real day of new models."""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pandas as pd
import pytest

from openbrief.errors import SourceError
from openbrief.hub import census, fetch
from openbrief.hub.client import Hub
from openbrief.replay import ReplayHub, parse_fault, synthetic
from openbrief.replay.recordings import new_models_records, write_jsonl
from openbrief.store.snapshot import list_snapshots
from clirun import clean_env, must, openbrief

WHEN = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)
PLAN_LINE = re.compile(r"openbrief fetch: plan: (?P<orgs>\d+) namespaces .*hub top (?P<top>\d+) \((?P<top_pages>\d+) "
                       r"pages\), new models since (?P<start>\S+) \(about (?P<new_pages>\d+) pages\), up to "
                       r"(?P<info>\d+) model_info, (?P<deriv>\d+) derivative listings: about (?P<total>\d+) requests "
                       r"of budget (?P<budget>\d+)")


def _created(record) -> pd.Timestamp:
    return pd.Timestamp(record["createdAt"])


def _listed(models: pd.DataFrame, label: str) -> set[str]:
    return set(models.loc[models["listed_by"].map(lambda q: label in q), "id"])


@pytest.fixture(scope="module")
def hub_census(tmp_path_factory):
    """The default plan (registry's namespaces, hub top 20,000, 7 days of new models) fetched by the CLI
    from a replay Hub serving a synthetic whole Hub of 47,500 models."""
    root = tmp_path_factory.mktemp("census")
    (root / "hf_home").mkdir()
    records = synthetic.generate_hub(today=WHEN)
    data = write_jsonl(records, root / "hub.jsonl")
    with ReplayHub(data) as hub:
        run = must(openbrief("fetch", "--endpoint", hub.url, "--store", root / "store", "--quiet",
                             "--as-of", WHEN.isoformat(), env=clean_env(root / "hf_home")))
        served = list(hub.requests)
    [snap] = list_snapshots(root / "store")
    return SimpleNamespace(records=records, served=served, stderr=run.stderr, snap=snap, models=snap.models)


def test_the_default_census_fits_the_budget_it_announced(hub_census):
    plan = PLAN_LINE.search(hub_census.stderr)
    assert plan, hub_census.stderr
    served = [r.target for r in hub_census.served]
    assert len(served) <= int(plan["budget"]) == 400
    listings = [t for t in served if t.startswith("/api/models?")]
    by_author = [t for t in listings if "author=" in t]
    top = [t for t in listings if "sort=downloads&direction=-1&limit=20000" in t]
    new = [t for t in listings if "sort=createdAt" in t]
    assert len(top) == int(plan["top_pages"]) == math.ceil(20_000 / 1000)
    in_window = sum(WHEN - timedelta(days=7) <= _created(r) <= WHEN for r in hub_census.records)
    assert len(new) == int(plan["new_pages"]) == math.ceil((in_window + 1) / 1000)   # the estimate held here
    # a page per namespace and one 400 for the listing-only expand; model_info up to what was announced
    assert len(by_author) == int(plan["orgs"]) + 1
    assert len(served) - len(listings) <= int(plan["info"])
    assert len(served) <= int(plan["total"])
    assert hub_census.snap.meta["requests"] >= len(served)


def test_hub_top_rows_are_the_top_n_of_the_served_records(hub_census):
    ranked = sorted(hub_census.records, key=lambda r: (-r["downloads"], r["id"]))
    assert _listed(hub_census.models, "hub-top") == {r["id"] for r in ranked[:20_000]}
    cov = hub_census.snap.meta["hub_top"]["coverage"]
    listed = sum(r["downloads"] for r in ranked[:20_000])
    last = ranked[19_999]["downloads"]
    assert cov["listed_downloads"] == listed
    assert cov["share_at_least"] == round(listed / (listed + last * (census.HUB_SIZE - 20_000)), 4)
    assert cov["share_at_least"] <= cov["share_estimated"] <= 1


def test_new_rows_are_the_served_records_created_in_the_window(hub_census):
    window = hub_census.snap.meta["new_window"]
    start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
    assert (start, end) == (pd.Timestamp(WHEN - timedelta(days=7)), pd.Timestamp(WHEN))
    assert window["complete"] is True and window["covered_from"] == window["start"]
    expected = {r["id"] for r in hub_census.records if start <= _created(r) <= end}
    assert _listed(hub_census.models, "new") == expected and window["models"] == len(expected)


def test_one_row_per_model_with_every_query_that_listed_it(hub_census):
    models = hub_census.models
    assert models["id"].is_unique
    qwen = next(r for r in hub_census.records if r["id"].startswith("Qwen/"))
    row = models.set_index("id").loc[qwen["id"]]
    assert list(row["listed_by"]) == ["author=Qwen", "hub-top"] and row["query"] == "author=Qwen"
    tracked = models[models["listed_by"].map(lambda q: any(x.startswith("author=") for x in q))]
    expected = {r["id"] for r in hub_census.records if r["author"] in hub_census.snap.meta["tracked_orgs"]}
    assert set(tracked["id"]) == expected   # the tracked universe is what the organisations' listings hold
    ancestors = models[models["listed_by"].map(lambda q: list(q) == ["ancestor"])]
    assert len(ancestors) == hub_census.snap.meta["ancestors"]["found"] > 0
    declared = {b for bases in models["base_models"].dropna() for b in bases}
    assert set(ancestors["id"]) <= declared


# ---------------------------------------------------------------- partial windows

SMALL = dict(n_models=300, new_per_day=300, days=7)
SMALL_PLAN = dict(top_n=0, derivative_bases=0, hub_top=0, new_days=7, built_upon=0, ancestors=0)


def _small_records():
    return synthetic.generate_hub(**SMALL, today=WHEN, seed=11)


def test_a_budget_too_small_records_the_part_it_covers_and_resume_completes_it(tmp_path, hf_home):
    records = _small_records()
    plan = fetch.Plan(["Qwen"], **SMALL_PLAN)
    with ReplayHub(records, page_size=100) as replay:
        hub = Hub(replay.url, budget=10)
        first = fetch.run(hub, plan, tmp_path, fetched_at=WHEN)
        window = first.meta["new_window"]
        pages = sum("sort=createdAt" in r.target for r in replay.requests)
        assert window["complete"] is False and window["pages"] == pages > 0 and hub.requests_sent == 10
        newest = sorted((r for r in records if _created(r) <= WHEN), key=lambda r: (_created(r), r["id"]),
                        reverse=True)[:100 * pages]
        assert window["covered_from"] == _created(newest[-1]).strftime("%Y-%m-%dT%H:%M:%SZ")
        covered = {r["id"] for r in records if pd.Timestamp(window["covered_from"]) <= _created(r) <= WHEN}
        assert _listed(first.models, "new") == covered
        done = fetch.run(Hub(replay.url, budget=400), plan, tmp_path, resume=True)
    window = done.meta["new_window"]
    assert window["complete"] is True and (window["start"], window["end"]) == (first.meta["new_window"]["start"],
                                                                               first.meta["new_window"]["end"])
    start = pd.Timestamp(window["start"])
    assert _listed(done.models, "new") == {r["id"] for r in records if start <= _created(r) <= WHEN}
    assert window["pages"] == math.ceil((len(_listed(done.models, "new")) + 1) / 100)


def test_a_window_with_no_new_model_is_recorded_not_an_error(replay_hub, tmp_path):
    snap = fetch.run(Hub(replay_hub.url), fetch.Plan(["Acme"], **SMALL_PLAN), tmp_path)
    window = snap.meta["new_window"]
    assert window["complete"] is True and window["models"] == 0 and window["pages"] == 1
    assert _listed(snap.models, "new") == set()


def test_a_page_that_fails_mid_window_fails_cleanly_and_resume_continues(tmp_path, hf_home, fast_backoff, capsys):
    records = _small_records()
    plan = fetch.Plan(["Qwen"], **SMALL_PLAN)
    # Qwen's listing has one page, so page 3 is the window's; it fails through all of the client's retries
    with ReplayHub(records, page_size=100, faults=[parse_fault("models:page=3:500:times=6")]) as replay:
        with pytest.raises(SourceError, match="created since"):
            fetch.run(Hub(replay.url), plan, tmp_path, fetched_at=WHEN)
        assert list_snapshots(tmp_path) == []          # no snapshot, so no wrong number
        assert "2 pages of the new-model window were listed" in capsys.readouterr().err
        snap = fetch.run(Hub(replay.url), plan, tmp_path, resume=True)
        again = [r.target for r in replay.requests if "sort=createdAt" in r.target]
    assert snap.meta["new_window"]["complete"] is True
    start, end = (pd.Timestamp(snap.meta["new_window"][k]) for k in ("start", "end"))
    assert _listed(snap.models, "new") == {r["id"] for r in records if start <= _created(r) <= end}
    assert sum("cursor=" not in t for t in again) == 1     # the resumed run went on from page 3


# ---------------------------------------------------------------- ancestors

def _model(model_id, *bases, downloads=10):
    record = {"id": model_id, "author": model_id.split("/")[0], "downloads": downloads,
              "createdAt": "2026-01-01T00:00:00.000Z", "tags": [f"base_model:{b}" for b in bases]}
    if bases:
        record["baseModels"] = {"relation": "finetune", "models": [{"id": b} for b in bases]}
    return record


ANCESTOR_PLAN = dict(top_n=0, derivative_bases=0, hub_top=3, new_days=0, built_upon=5, ancestors=10)


def test_a_base_that_no_longer_exists_is_recorded_in_missing_ancestors(tmp_path, hf_home):
    records = [_model("Acme/root", downloads=100), _model("fan/child", "ghost/deleted", downloads=50),
               _model("fan/other", "Acme/root", downloads=40)]
    with ReplayHub(records) as replay:
        snap = fetch.run(Hub(replay.url), fetch.Plan(["Acme"], **ANCESTOR_PLAN), tmp_path)
    assert snap.meta["ancestors"] == {"asked": 1, "found": 0, "missing": ["ghost/deleted"], "not_asked": 0}
    assert "ghost/deleted" not in set(snap.models["id"])
    # the base the rows declare most that a row holds gets the Hub's childrenModelCount
    assert snap.meta["built_upon"] == ["Acme/root"]
    declaring = sum("Acme/root" in r["tags"][0] for r in records if r["tags"])
    assert snap.models.set_index("id").loc["Acme/root", "children_total"] == declaring


def test_a_cycle_of_declared_bases_ends_the_ancestor_walk(tmp_path, hf_home):
    records = [_model("Acme/a", "x/b", downloads=100), _model("x/b", "y/c", downloads=0),
               _model("y/c", "Acme/a", downloads=0), _model("z/d", downloads=0)]
    with ReplayHub(records) as replay:
        snap = fetch.run(Hub(replay.url), fetch.Plan(["Acme"], **{**ANCESTOR_PLAN, "hub_top": 1}), tmp_path)
        asked = [r.target for r in replay.requests if r.target.startswith("/api/models/")]
    assert snap.meta["ancestors"] == {"asked": 2, "found": 2, "missing": [], "not_asked": 0}
    by_id = [t.split("?")[0] for t in asked if t.count("expand=") > 1]   # not the childrenModelCount-only ones
    assert by_id == ["/api/models/x/b", "/api/models/y/c"]   # each once: the walk ends at Acme/a, a row
    rows = snap.models.set_index("id")
    assert list(rows.loc["x/b", "listed_by"]) == ["ancestor"] and list(rows.loc["y/c", "base_models"]) == ["Acme/a"]


# ---------------------------------------------------------------- a real day of new models

def test_a_replayed_real_day_of_new_models_is_counted_exactly(hubdata, tmp_path, hf_home):
    folder = hubdata / "new-models-2026-09-27"
    if not folder.is_dir():
        pytest.skip(f"recorded new models not found at {folder}")
    records = new_models_records(folder)
    assert len(records) == len({r["id"] for r in records})
    assert not any(t.endswith("…") for r in records for t in r["tags"])   # cut tags dropped
    end = datetime(2026, 9, 27, 23, 30, tzinfo=timezone.utc)
    author = pd.Series([r["author"] for r in records]).value_counts().index[0]
    plan = fetch.Plan([author], top_n=0, derivative_bases=0, hub_top=0, new_days=1, built_upon=0, ancestors=0)
    with ReplayHub(records) as replay:
        snap = fetch.run(Hub(replay.url), plan, tmp_path, fetched_at=end)
    start = pd.Timestamp(end - timedelta(days=1))
    expected = {r["id"] for r in records if start <= _created(r) <= pd.Timestamp(end)}
    assert snap.meta["new_window"]["complete"] is True
    assert _listed(snap.models, "new") == expected and len(expected) > 3000
