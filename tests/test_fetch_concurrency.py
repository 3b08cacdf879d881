"""The concurrent fetch, through the real client and the replay Hub: the same snapshot as one worker,
the request budget counted at the server, a 429 (Retry-After or RateLimit) that pauses every worker,
``--resume`` after a concurrent failure; the replay Hub's latency; and no request beyond the endpoint."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import httpx2
import pandas as pd
import pytest

from openbrief import cli
from openbrief.hub import fetch
from openbrief.hub.client import BudgetExhausted, Hub, pause_for
from openbrief.replay import ReplayHub, synthetic
from openbrief.store.snapshot import list_snapshots
from clirun import clean_env, must, openbrief

WHEN = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)
#: Tracked namespaces of the small synthetic Hub: the roots' owners, a re-uploader and some labs.
ORGS = [*synthetic.HUB_ROOTS, "unsloth", *(f"lab-{i}" for i in range(8))]
PLAN = fetch.Plan(ORGS, top_n=12, derivative_bases=4, derivatives_per_base=30, hub_top=120, new_days=7,
                  built_upon=6, ancestors=8)
PAGE = 40


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return synthetic.generate_hub(n_models=400, new_per_day=40, days=7, today=WHEN, seed=5)


def fetched(records, store, *, concurrency, faults=(), latency=0.0, budget=400, resume=False):
    """One fetch of ``PLAN``: the snapshot and what the server received, in order."""
    with ReplayHub(records, page_size=PAGE, faults=faults, latency=latency) as replay:
        snap = fetch.run(Hub(replay.url, budget=budget), PLAN, store, fetched_at=WHEN, concurrency=concurrency,
                         resume=resume)
        return snap, list(replay.requests)


def rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["snapshot_id", "fetched_at"])


@pytest.fixture(scope="module")
def sequential(records, tmp_path_factory):
    """The fetch with one worker, today's sequential fetch: what every concurrent one must equal."""
    root = tmp_path_factory.mktemp("one")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HOME", str(root / "hf_home"))
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            env.delenv(name, raising=False)
        return fetched(records, root / "store", concurrency=1)


def test_a_concurrent_fetch_makes_the_snapshot_of_a_sequential_one(records, sequential, tmp_path, hf_home):
    one, one_served = sequential
    many, served = fetched(records, tmp_path, concurrency=8, latency=0.01,
                           faults=["models:4:429:retry-after=0", "model_info:3:503:times=1"])
    pd.testing.assert_frame_equal(rows(many.models), rows(one.models))
    pd.testing.assert_frame_equal(rows(many.derivatives), rows(one.derivatives))
    for key in ("queries", "hub_top", "new_window", "ancestors", "built_upon", "data_problems", "expand_refused"):
        assert many.meta[key] == one.meta[key], key
    # the same requests, two more for the faults (the 429 and the 503 were asked again)
    assert sorted(r.target for r in served if r.status == 200) == sorted(r.target for r in one_served
                                                                         if r.status == 200)
    assert len(served) == len(one_served) + 2
    assert len(one.models) > len(ORGS) and one.meta["ancestors"]["asked"] > 0 and one.meta["new_window"]["complete"]


def test_the_budget_holds_at_the_server_under_concurrency(records, tmp_path, hf_home):
    budget = len(ORGS) // 2   # runs out while eight workers list the organisations
    with ReplayHub(records, page_size=PAGE, latency=0.02) as replay:
        with pytest.raises(BudgetExhausted) as err:
            fetch.run(Hub(replay.url, budget=budget), PLAN, tmp_path / "store", fetched_at=WHEN, concurrency=8)
        served = list(replay.requests)
    assert f"request budget of {budget} exhausted" in str(err.value) and "\n" not in str(err.value)
    assert len(served) == budget   # every worker tried to send more; none got past the budget
    assert list_snapshots(tmp_path / "store") == []


@pytest.mark.parametrize("fault, wait", [("any:6:429:retry-after=1:times=1", 1.0),
                                         ("any:6:429:ratelimit=1:times=1", 1.0)])
def test_a_429_pauses_every_worker_for_the_time_the_server_asked(records, sequential, tmp_path, hf_home, fault,
                                                                  wait):
    workers = 8
    snap, served = fetched(records, tmp_path, concurrency=workers, latency=0.02, faults=[fault])
    pd.testing.assert_frame_equal(rows(snap.models), rows(sequential[0].models))
    [refused] = [r for r in served if r.status == 429]
    later = [r for r in served if r.received > refused.received]
    assert len(later) > 2 * workers   # there was work waiting to be sent during the pause
    during = [r for r in later if r.received < refused.received + wait]
    # only the requests already in flight when the 429 was answered, at most one per other worker
    assert len(during) <= workers - 1, during
    retry = next(r for r in later if r.target == refused.target)
    assert retry.received >= refused.received + wait


def test_a_pause_is_also_asked_by_an_exhausted_ratelimit_on_any_answer():
    request = httpx2.Request("GET", "http://127.0.0.1/api/models")
    assert pause_for(httpx2.Response(200, headers={"RateLimit": '"api";r=0;t=5'}, request=request)) == 6.0
    assert pause_for(httpx2.Response(200, headers={"RateLimit": '"api";r=3;t=5'}, request=request)) is None
    assert pause_for(httpx2.Response(429, headers={"Retry-After": "2"}, request=request)) == 3.0
    assert pause_for(httpx2.Response(200, request=request)) is None


def test_resume_after_a_concurrent_failure_lists_only_what_is_missing(records, sequential, tmp_path, hf_home):
    with ReplayHub(records, page_size=PAGE, latency=0.02) as replay:
        with pytest.raises(BudgetExhausted):  # the probe's refused expand, then about half the organisations
            fetch.run(Hub(replay.url, budget=len(ORGS) // 2 + 1), PLAN, tmp_path, fetched_at=WHEN, concurrency=8)
        partial = fetch.Partial(tmp_path, replay.url, PLAN).path
        saved = {org for org in ORGS if (partial / f"{fetch._key(org)}.parquet").exists()}
        first = len(replay.requests)
        snap = fetch.run(Hub(replay.url), PLAN, tmp_path, fetched_at=WHEN, concurrency=8, resume=True)
        again = {r.target.split("author=")[1].split("&")[0] for r in replay.requests[first:] if "author=" in r.target}
    assert 0 < len(saved) < len(ORGS)
    assert again == set(ORGS) - saved   # each organisation listed once over the two runs
    assert snap.meta["resumed"]["orgs"] == sorted(saved)
    pd.testing.assert_frame_equal(rows(snap.models), rows(sequential[0].models))


# ---------------------------------------------------------------- the replay Hub's latency

def test_the_replay_hub_serves_requests_concurrently_after_its_latency(hub_records, hf_home):
    with ReplayHub(hub_records, latency=1.0) as replay:
        def ask(model_id):
            httpx2.get(f"{replay.url}/api/models/{model_id}", timeout=10)
        threads = [threading.Thread(target=ask, args=(r["id"],)) for r in hub_records[:4]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        served = list(replay.requests)
    assert len(served) == 4 and all(r.status == 200 for r in served)
    # all four had arrived before the first answer was due: they were served side by side
    assert max(r.received for r in served) < min(r.received for r in served) + 1.0


def test_replay_hub_latency_option():
    args = cli.make_parser().parse_args(["replay-hub", "records.jsonl", "--latency-ms", "100"])
    assert args.latency_ms == 100
    with pytest.raises(ValueError, match="latency"):
        ReplayHub([], latency=-1)


# ---------------------------------------------------------------- no request beyond the endpoint

def test_a_fetch_sends_nothing_to_the_default_endpoint(hub_records, tmp_path):
    """huggingface_hub asks ``{HF_ENDPOINT}/api/agent-harnesses`` for its user agent (telemetry)
    whatever endpoint the fetch uses: a second replay Hub as HF_ENDPOINT must get no request."""
    (tmp_path / "hf").mkdir()
    with ReplayHub(hub_records) as endpoint, ReplayHub([]) as default:
        run = must(openbrief("fetch", "--endpoint", endpoint.url, "--store", tmp_path / "store", "--orgs", "Acme,fan",
                             "--quiet", env=clean_env(tmp_path / "hf", HF_ENDPOINT=default.url)))
        assert endpoint.requests and "snapshot" in run.stdout
        assert default.requests == []
