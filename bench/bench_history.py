"""Benchmark: a year of weekly snapshots, written and loaded back with openbrief.store.history.

Generates 52 weekly snapshots of ~3,000 models each (about the size of the tracked
organisations' listing) into a temporary store with ``snapshot.write_snapshot``, then times
``history.load_history`` (median of 5 runs) for every column and for a projection, and prints
the figures as Markdown table rows. Runs in well under a minute; nothing is left behind.

    .venv/bin/python bench/bench_history.py [--models 3000] [--weeks 52] [--runs 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from openbrief.store import history
from openbrief.metrics import trends
from openbrief.store import snapshot

START = datetime(2025, 9, 1, 1, 15, tzinfo=timezone.utc)
ORGS = ["Qwen", "deepseek-ai", "meta-llama", "google", "mistralai", "microsoft", "allenai", "nvidia",
        "THUDM", "openbmb", "tiiuae", "CohereForAI", "ibm-granite", "baidu", "moonshotai", "internlm"]
TAGS = ["transformers", "safetensors", "text-generation", "conversational", "pytorch", "gguf",
        "license:apache-2.0", "license:mit", "license:other", "region:us", "endpoints_compatible",
        "text-generation-inference", "custom_code", "en", "zh", "fr", "moe", "8-bit"]


def make_models(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """The week-0 listing: ``n`` models with realistic fields (lists of tags, some bases)."""
    org = rng.choice(ORGS, n)
    ids = [f"{o}/model-{i:05d}" for i, o in enumerate(org)]
    created = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    params = np.where(rng.random(n) < 0.4, rng.integers(1, 700, n) * 10**9, -1)
    return pd.DataFrame({
        "query": [f"author={o}" for o in org],
        "id": ids,
        "namespace": org,
        "author": org,
        "created_at": created,
        "last_modified": created + pd.to_timedelta(rng.integers(0, 100, n), unit="D"),
        "downloads": rng.lognormal(6, 2.5, n).astype("int64"),
        "downloads_all_time": rng.lognormal(9, 2.5, n).astype("int64"),
        "likes": rng.lognormal(2, 2, n).astype("int64"),
        "pipeline_tag": rng.choice(["text-generation", "feature-extraction", "image-text-to-text"], n),
        "library_name": rng.choice(["transformers", "gguf", "mlx", "diffusers"], n),
        "license": rng.choice(["apache-2.0", "mit", "other", "llama3.1"], n),
        "gated": rng.choice(["False", "manual", "auto"], n, p=[0.9, 0.07, 0.03]),
        "params_total": pd.array(np.where(params < 0, None, params), dtype="Int64"),
        "base_models": [[ids[j]] if rng.random() < 0.3 else None for j in rng.integers(0, n, n)],
        "base_relation": rng.choice(["finetune", "quantized", "adapter", "merge"], n),
        "tags": [list(rng.choice(TAGS, k, replace=False)) for k in rng.integers(4, 12, n)],
    })


def next_week(rng: np.random.Generator, df: pd.DataFrame, week: int) -> pd.DataFrame:
    """A week later: downloads drift, cumulative counts grow, a few models come and go."""
    df = df.copy()
    n = len(df)
    df["downloads"] = (df["downloads"].to_numpy(float) * rng.lognormal(0, 0.2, n)).astype("int64")
    df["downloads_all_time"] = df["downloads_all_time"] + df["downloads"] // 4
    df = df.drop(index=rng.choice(df.index, 5, replace=False))
    fresh = make_models(rng, 8)
    fresh["id"] = [f"{ns}/new-{week:02d}-{i}" for i, ns in enumerate(fresh["namespace"])]
    return pd.concat([df, fresh], ignore_index=True)


def median_time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=3000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(6)
    store = Path(tempfile.mkdtemp(prefix="openbrief-bench-"))
    try:
        df = make_models(rng, args.models)
        write_times = []
        for week in range(args.weeks):
            t0 = time.perf_counter()
            snapshot.write_snapshot(store, {"models": df}, {"endpoint": "bench"}, START + timedelta(weeks=week))
            write_times.append(time.perf_counter() - t0)
            df = next_week(rng, df, week)
        size = sum(p.stat().st_size for p in store.rglob("*.parquet"))

        projection = ["id", "downloads", "downloads_all_time"]
        t_all, full = median_time(lambda: history.load_history(store), args.runs)
        t_proj, proj = median_time(lambda: history.load_history(store, columns=projection), args.runs)
        t_range, part = median_time(
            lambda: history.load_history(store, start=START + timedelta(weeks=args.weeks - 13), columns=projection),
            args.runs)
        t_share, _ = median_time(
            lambda: trends.share_over_time(proj.assign(bloc=proj["id"].str.split("/").str[0]), by="bloc"), 1)

        rows = len(full)
        print(f"store: {args.weeks} snapshots x ~{args.models:,} models = {rows:,} rows, "
              f"{size / 2**20:.1f} MiB of Parquet; {sys.platform}, pandas {pd.__version__}")
        print()
        print("| operation | rows | columns | median of runs |")
        print("|---|---:|---:|---:|")
        print(f"| write_snapshot (one week, ~{args.models:,} models) | {args.models:,} | {len(full.columns)} "
              f"| {statistics.median(write_times) * 1000:.0f} ms (of {len(write_times)}) |")
        print(f"| load_history, all columns, {args.weeks} snapshots | {rows:,} | {len(full.columns)} "
              f"| {t_all * 1000:.0f} ms (of {args.runs}) |")
        print(f"| load_history, columns={projection}, {args.weeks} snapshots | {len(proj):,} | {len(proj.columns)} "
              f"| {t_proj * 1000:.0f} ms (of {args.runs}) |")
        print(f"| load_history, same projection, last 13 weeks (start=) | {len(part):,} | {len(part.columns)} "
              f"| {t_range * 1000:.0f} ms (of {args.runs}) |")
        print(f"| share_over_time by namespace, {args.weeks} snapshots | {len(proj):,} | - "
              f"| {t_share * 1000:.0f} ms (1 run) |")
    finally:
        shutil.rmtree(store, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
