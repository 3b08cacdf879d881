"""Benchmark: the whole default fetch plan, concurrent against a plain sequential loop of the same calls.

The plan is the one ``openbrief fetch`` sends by default: every organisation the registry tracks,
the whole Hub's top 20,000 by downloads, the week's new models, the ``model_info`` calls (counts of
the tracked top models, missing ancestors, the most built-upon bases) and the derivative listings.
It runs against a replay Hub (``openbrief replay-hub --latency-ms 100``, in its own process, as the
Hub is) serving the synthetic whole Hub of ``replay.synthetic.generate_hub()`` (30,000 models plus
2,500 new a day for 7 days, thousands of namespaces), with 100 ms added to every answer. The same
fetch runs with ``concurrency=8`` (the default) and with ``concurrency=1``, which sends the same
requests one after the other: the sequential loop. Both must give the same rows. Figures: the
requests the server received against the default budget, each time (the concurrent fetch: median
of 3 runs; the sequential loop, 30 s of latency alone: one run), and the speed-up (target: at least
4x). ``quick``: a tiny Hub, 20 namespaces, 10 ms latency, one run each.

    .venv/bin/python bench/bench_fetch.py [--quick]
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from openbrief import registry
from openbrief.hub import fetch
from openbrief.hub.client import DEFAULT_BUDGET, Hub
from openbrief.hub.pool import DEFAULT_CONCURRENCY
from openbrief.replay import synthetic
from openbrief.replay.recordings import write_jsonl

WHEN = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)
TARGET_SPEEDUP = 4.0


def _serve(data: Path, latency_ms: int, log: Path) -> tuple[subprocess.Popen, str]:
    """``openbrief replay-hub`` in its own process; its request log (one line a request) goes to ``log``."""
    with log.open("w") as err:
        server = subprocess.Popen([sys.executable, "-m", "openbrief", "replay-hub", str(data), "--latency-ms",
                                   str(latency_ms)], stdout=subprocess.PIPE, stderr=err, text=True)
    line = server.stdout.readline()
    if not line.startswith("serving on "):
        server.kill()
        raise RuntimeError(f"the replay Hub did not start: {line!r}")
    return server, line.split()[-1]


def _fetch(url: str, plan: fetch.Plan, store: Path, concurrency: int, log: Path) -> tuple[float, int, pd.DataFrame]:
    """One fetch: its time, the requests the server logged for it, its models rows."""
    before = len(log.read_text().splitlines())
    started = time.perf_counter()
    snap = fetch.run(Hub(url), plan, store, fetched_at=WHEN, concurrency=concurrency)
    took = time.perf_counter() - started
    served = len(log.read_text().splitlines()) - before
    return took, served, snap.models.drop(columns=["snapshot_id", "fetched_at"])


def run(quick: bool = False) -> list[dict]:
    """The figures (``quick``: a tiny Hub, 20 namespaces, 10 ms latency, one run each)."""
    runs, latency_ms = (1, 10) if quick else (3, 100)
    sequential_runs = 1   # 30 s of latency alone, steady: once is enough to set the floor
    size = dict(n_models=300, new_per_day=50) if quick else {}
    orgs = registry.tracked_namespaces(registry.load([]), None, include_aliases=True)
    plan = fetch.Plan(orgs[:20] if quick else orgs)
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        tmp = Path(tmp)
        data = write_jsonl(synthetic.generate_hub(**size, today=WHEN), tmp / "hub.jsonl")
        server, url = _serve(data, latency_ms, tmp / "requests.log")
        try:
            times: dict[int, list[float]] = {DEFAULT_CONCURRENCY: [], 1: []}
            served, rows = {}, {}
            for workers, n in ((DEFAULT_CONCURRENCY, runs), (1, sequential_runs)):
                for i in range(n):
                    took, served[workers], rows[workers] = _fetch(url, plan, tmp / f"store-{workers}-{i}", workers,
                                                                  tmp / "requests.log")
                    times[workers].append(took)
        finally:
            server.terminate()
            server.wait(timeout=30)
    pd.testing.assert_frame_equal(rows[DEFAULT_CONCURRENCY], rows[1])   # the same snapshot either way
    concurrent, sequential = (statistics.median(times[w]) for w in (DEFAULT_CONCURRENCY, 1))
    speedup = sequential / concurrent
    label = f"{len(plan.orgs)} namespaces + census, {latency_ms} ms a request"

    def figure(name, value, unit, floor=None, floor_label=None, ratio=None, target="", met=None, n=runs):
        return {"bench": "fetch", "figure": name, "value": round(value, 3), "unit": unit, "floor": floor,
                "floor_label": floor_label, "ratio": ratio, "target": target, "met": met, "runs": n}

    return [
        figure("requests sent by the default plan (counted at the server)", served[DEFAULT_CONCURRENCY], "requests",
               floor=float(DEFAULT_BUDGET), floor_label="default budget",
               ratio=round(served[DEFAULT_CONCURRENCY] / DEFAULT_BUDGET, 3),
               target=f"<= budget of {DEFAULT_BUDGET}, as many as the sequential loop ({served[1]})",
               met=served[DEFAULT_CONCURRENCY] <= DEFAULT_BUDGET and served[DEFAULT_CONCURRENCY] == served[1]),
        figure(f"fetch, {DEFAULT_CONCURRENCY} workers, {label}", concurrent, "s", floor=round(sequential, 3),
               floor_label="sequential loop of the same calls (concurrency 1)", ratio=round(concurrent / sequential, 3),
               target=f"<= {1 / TARGET_SPEEDUP:g}x the sequential loop", met=concurrent * TARGET_SPEEDUP <= sequential),
        figure(f"fetch, sequential loop (1 worker), {label}", sequential, "s", n=sequential_runs),
        figure("fetch speed-up over the sequential loop", speedup, "x", target=f">= {TARGET_SPEEDUP:g}x",
               met=speedup >= TARGET_SPEEDUP),
    ]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result)
