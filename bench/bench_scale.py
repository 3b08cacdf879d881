"""Benchmark: attribution and every metric the weekly brief computes, at whole-Hub scale.

Synthetic snapshots (``scale_data``: power-law downloads, tens of thousands of namespaces, 30%
declaring a base, chains of derivatives) of 100K, 1M and 2M models are written as a snapshot's
``models.parquet``; each size runs in its own subprocess, which reads it as a brief does
(``store.snapshot.read_parquet``), then times :func:`pipeline` (median of ``RUNS``) and reports
its peak memory (``ru_maxrss``: the loaded table included); CPU time (``process_time``) beside
the wall-clock time, as other work on a shared machine inflates the latter. The floor, in the same run and a
subprocess of its own: reading the same Parquet file and one pandas groupby-sum of downloads by
namespace. Targets: 2M models in under 5 s and 1.5 GB, 2M/1M time ratio at most 2.1.

``.venv/bin/python bench/bench_scale.py [--quick]`` prints the figures.
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

BENCH = "scale"
RUNS = 3
#: A size stops repeating once its runs took this long (a slow machine keeps make bench short);
#: ``runs`` in the figures says how many were made.
BUDGET_S = 60.0
SIZES, QUICK_SIZES = (100_000, 1_000_000, 2_000_000), (20_000, 40_000)
TIME_TARGET, MEMORY_TARGET_MB, RATIO_TARGET = 5.0, 1500.0, 2.1
FLOOR_LABEL = "read the Parquet file + one groupby-sum of downloads by namespace"


def pipeline(models: pd.DataFrame, registry) -> dict:
    """Attribution and every metric of the weekly brief on a whole-Hub table (every row counts).

    As ``notebooks/weekly.ipynb`` computes them: shares by country, bloc and organisation,
    concentration, top models, new releases, foundation share, openness, derivatives, by-category,
    definitions, and the lineage roots with the foundations by root of the period's new models.
    """
    from openbrief import metrics
    from openbrief.registry import attribute

    as_of = models["fetched_at"].max()
    start, lineage_start = as_of - pd.Timedelta(days=7), as_of - pd.Timedelta(days=90)
    attributed = attribute(models, registry)
    llm = metrics.select(attributed, "llm")
    results = [metrics.download_share(llm, by=by) for by in ("country", "bloc", "org")]
    results += [metrics.download_share(attributed, by="bloc"), metrics.top_models(llm, n=15),
                metrics.new_releases(llm, start, as_of, by="bloc"),
                metrics.foundation_share(llm, lineage_start, as_of, by="bloc"),
                metrics.concentration(llm, by="org"), metrics.openness(llm, by="bloc"),
                metrics.derivatives(llm), metrics.by_category(attributed), metrics.definitions(attributed)]
    new = metrics.in_hub_universe(attributed, "new").to_numpy()
    roots = metrics.with_roots(attributed, registry)
    results += [metrics.root_foundations(roots[new], start, as_of, by=by) for by in ("bloc", "family")]
    results.append(metrics.root_foundations(roots[new], start, as_of, by="bloc", split="publisher"))
    return {"results": len(results), "models": len(attributed)}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _child(kind: str, path: str, runs: int) -> dict:
    """One size in this (fresh) process: ``floor`` or ``pipeline``, timed ``runs`` times."""
    from openbrief.registry import load
    from openbrief.store.schema import MODEL_COLUMNS
    from openbrief.store.snapshot import read_parquet

    times, cpu = [], []
    if kind == "floor":
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            table = pd.read_parquet(path)
            table.groupby("namespace", sort=False)["downloads"].sum()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            del table
    else:
        registry = load()
        models = read_parquet(Path(path), MODEL_COLUMNS)
        while len(times) < runs and sum(times) < BUDGET_S:
            start, start_cpu = time.perf_counter(), time.process_time()
            pipeline(models, registry)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return {"seconds": statistics.median(times), "cpu_seconds": statistics.median(cpu), "peak_mb": _peak_mb(),
            "runs": len(times)}


def _measure(kind: str, path: Path, runs: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), str(runs)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _figure(label: str, value: float, unit: str, floor: float | None, target: str, met: bool | None,
            runs: int) -> dict:
    value, floor = round(value, 4), None if floor is None else round(floor, 4)
    return {"bench": BENCH, "figure": label, "value": value, "unit": unit, "floor": floor,
            "floor_label": None if floor is None else FLOOR_LABEL,
            "ratio": None if floor is None else round(value / floor, 2), "target": target, "met": met, "runs": runs}


def _snapshot_file(scale_data, n: int) -> Path:
    """The synthetic snapshot of ``n`` models, written once per version of the generator (a
    2M-model table takes about a minute to make) and kept in the system's temporary folder."""
    digest = hashlib.sha256(Path(scale_data.__file__).read_bytes()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / "openbrief-bench-scale" / f"models-{n}-{digest}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp")  # two benches at once each write their own
        scale_data.write(n, partial)
        partial.replace(path)
    return path


def run(quick: bool = False) -> list[dict]:
    """The figures: per size, the pipeline's time and peak memory beside the floor's; the growth ratio."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import scale_data

    sizes = QUICK_SIZES if quick else SIZES
    runs = 1 if quick else RUNS
    figures, seconds, cpu = [], {}, {}
    for n in sizes:
        path = _snapshot_file(scale_data, n)
        floor, got = _measure("floor", path, runs), _measure("pipeline", path, runs)
        seconds[n], cpu[n] = got["seconds"], got["cpu_seconds"]
        big = n == max(SIZES)
        label = f"{n:,} models"
        figures.append(_figure(f"attribution + every metric, {label}", got["seconds"], "s", floor["seconds"],
                               f"< {TIME_TARGET:g} s" if big else "-", got["seconds"] < TIME_TARGET if big else None,
                               got["runs"]))
        figures.append(_figure(f"CPU time of the same, {label}", got["cpu_seconds"], "s", floor["cpu_seconds"], "-",
                               None, got["runs"]))
        figures.append(_figure(f"peak memory, {label}", got["peak_mb"], "MB", floor["peak_mb"],
                               f"< {MEMORY_TARGET_MB:g} MB" if big else "-",
                               got["peak_mb"] < MEMORY_TARGET_MB if big else None, got["runs"]))
    small, large = sizes[-2], sizes[-1]
    for what, measured in (("time", seconds), ("CPU time", cpu)):
        ratio = measured[large] / measured[small]
        figures.append(_figure(f"{what} growth {large:,} / {small:,} models", ratio, "x", None,
                               f"<= {RATIO_TARGET:g}x" if not quick else "-",
                               ratio <= RATIO_TARGET if not quick else None, runs))
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, path, runs = sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(json.dumps(_child(kind, path, runs)))
    else:
        for fig in run(quick="--quick" in sys.argv):
            print(json.dumps(fig))
