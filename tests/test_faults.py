"""Faults on the replay Hub, through the real client: every run ends in a complete, correct
snapshot or in a clear failure that leaves the store's snapshots as they were."""
from __future__ import annotations

import pandas as pd
import pytest

from openbrief.hub import fetch
from openbrief.errors import SourceError
from openbrief.hub.client import BudgetExhausted, Hub
from openbrief.replay import ReplayHub, parse_fault
from openbrief.store.snapshot import list_snapshots

ORGS = ["Acme", "acme-labs", "fan", "quant", "mix"]


def records():
    """15 models over five namespaces; Acme/base-0 has derivatives of every relation."""
    out = []
    for i in range(8):
        out.append({"id": f"Acme/base-{i}", "author": "Acme", "downloads": 1000 - i, "likes": i,
                    "createdAt": "2026-01-0%dT00:00:00.000Z" % (i + 1), "downloadsAllTime": 10_000 + i,
                    "tags": ["license:mit"]})
    for i, (ns, rel) in enumerate([("fan", "finetune"), ("fan", "adapter"), ("quant", "quantized"),
                                   ("mix", "merge"), ("quant", "quantized")]):
        out.append({"id": f"{ns}/child-{i}", "author": ns, "downloads": 10 * i, "likes": 0,
                    "tags": [f"base_model:Acme/base-0", f"base_model:{rel}:Acme/base-0"],
                    "baseModels": {"relation": rel, "models": [{"id": "Acme/base-0"}]}})
    out.append({"id": "acme-labs/tiny", "author": "acme-labs", "downloads": 5})
    out.append({"id": "acme-labs/small", "author": "acme-labs"})
    return out


PLAN = fetch.Plan(ORGS, top_n=3, derivative_bases=1, derivatives_per_base=10)


def run_fetch(store, faults=(), timeout=5.0, budget=400, sleeps=None):
    with ReplayHub(records(), page_size=3, faults=[parse_fault(f) for f in faults]) as replay:
        hub = Hub(replay.url, timeout=timeout, budget=budget, sleep=(sleeps.append if sleeps is not None else
                                                                     (lambda s: None)))
        return fetch.run(hub, PLAN, store), replay.requests


def assert_complete(snap):
    """The snapshot equals a direct computation over the records served."""
    expected = sorted(r["id"] for r in records() if r["author"] in ORGS)
    assert sorted(snap.models["id"]) == expected
    base = snap.models.set_index("id").loc["Acme/base-0"]
    assert (base["children_finetune"], base["children_adapter"], base["children_quantized"],
            base["children_merge"]) == (1, 1, 2, 1)
    assert sorted(snap.derivatives["id"]) == sorted(r["id"] for r in records() if "baseModels" in r)
    assert snap.models.set_index("id").loc["acme-labs/small", "downloads"] is pd.NA


def assert_store_unchanged(store):
    assert list_snapshots(store) == []
    assert not [p for p in store.iterdir() if p.name.startswith(".tmp")] if store.exists() else True


@pytest.mark.parametrize("fault", [
    "models:page=2:429:retry-after=1:times=1",
    "models:page=2:429:ratelimit=2:times=1",
    "models:2:429:times=2",
    "models:page=2:503:times=1",
    "models:3:500:times=3",
    "models:page=2:truncate:times=1",
    "models:page=2:drop:times=1",
    "model_info:1:503:times=2",
    "model_info:2:429:retry-after=3:times=1",
    "model_info:1:truncate:times=1",
    "model_info:1:drop:times=1",
    "any:1:stall=2:times=1",
])
def test_transient_faults_end_in_a_complete_snapshot(tmp_path, hf_home, fast_backoff, fault):
    sleeps = []
    snap, _ = run_fetch(tmp_path, [fault], timeout=1.0, sleeps=sleeps)
    assert_complete(snap)
    if "retry-after=3" in fault:
        assert 4.0 in sleeps  # model_info honoured Retry-After (+1 s, like the client)
    if "page=2:429:retry-after=1" in fault:
        assert 2.0 in fast_backoff  # list_models honoured Retry-After through the client


@pytest.mark.parametrize("fault, message", [
    ("models:page=2:500", "HfHubHTTPError"),
    ("models:*:429", "429"),
    ("models:page=2:malformed", "JSONDecodeError"),
    ("models:page=2:truncate=close", "JSONDecodeError"),
    ("models:page=2:drop", "RemoteProtocolError"),
    ("model_info:*:503", "model_info"),
    ("model_info:*:malformed", "model_info"),
    ("any:*:stall=3", "Timeout"),
])
def test_persistent_faults_fail_clearly_and_leave_no_snapshot(tmp_path, hf_home, fast_backoff, fault, message):
    with pytest.raises(SourceError) as err:
        run_fetch(tmp_path, [fault], timeout=1.0)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert_store_unchanged(tmp_path)


def test_request_budget_stops_the_run(tmp_path, hf_home):
    with pytest.raises(BudgetExhausted, match="request budget of 4 exhausted"):
        run_fetch(tmp_path, budget=4)
    assert_store_unchanged(tmp_path)


def test_resume_skips_organisations_already_listed(tmp_path, hf_home, fast_backoff):
    # a 400 (expand), Acme (3 pages) and acme-labs (1) succeed; fan then fails 6 times: the run gives up
    # (one worker, so that the failing requests are fan's; test_fetch_concurrency resumes concurrent runs)
    with ReplayHub(records(), page_size=3, faults=[parse_fault("models:6-99:500:times=6")]) as replay:
        with pytest.raises(SourceError):
            fetch.run(Hub(replay.url), PLAN, tmp_path, concurrency=1)
        assert_store_unchanged(tmp_path)
        first = len(replay.requests)
        snap = fetch.run(Hub(replay.url), PLAN, tmp_path, resume=True)
        again = [r.target for r in replay.requests[first:] if "author=" in r.target]
    assert_complete(snap)
    assert not any("author=Acme&" in t or "author=acme-labs&" in t for t in again)
    assert any("author=fan&" in t for t in again)
    assert list((tmp_path / ".partial").rglob("*.parquet")) == []  # a successful run clears its progress


def test_without_resume_a_new_run_starts_over(tmp_path, hf_home, fast_backoff):
    with ReplayHub(records(), page_size=3, faults=[parse_fault("models:6-99:500:times=6")]) as replay:
        with pytest.raises(SourceError):  # one worker: the six failures fall on one listing
            fetch.run(Hub(replay.url), PLAN, tmp_path, concurrency=1)
        first = len(replay.requests)
        snap = fetch.run(Hub(replay.url), PLAN, tmp_path)
        again = [r.target for r in replay.requests[first:] if "author=" in r.target]
    assert_complete(snap)
    assert any("author=Acme&" in t for t in again)


def test_a_token_raises_the_default_budget(hf_home, monkeypatch):
    from openbrief.hub.client import DEFAULT_BUDGET, TOKEN_BUDGET, default_budget

    assert default_budget() == DEFAULT_BUDGET == 400  # inside the anonymous 500 per 5 minutes
    monkeypatch.setenv("HF_TOKEN", "hf_" + "x" * 34)
    assert default_budget() == TOKEN_BUDGET == 900  # inside a free account's 1,000


def test_an_endpoint_with_none_of_the_tracked_models_writes_no_snapshot(tmp_path, hf_home):
    with ReplayHub([{"id": "nobody/x", "downloads": 5}]) as replay:
        with pytest.raises(SourceError, match="returned no model for any of the 5 organisations"):
            fetch.run(Hub(replay.url), PLAN, tmp_path)
    assert_store_unchanged(tmp_path)
