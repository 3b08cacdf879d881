"""Benchmark: a year of weekly whole-Hub snapshots, loaded and queried as one table.

Writes 52 weekly snapshots of 30,000 models each (the shape of the whole-Hub census: power-law
downloads, thousands of namespaces, most of them individuals, lists of tags, a base for a quarter)
with ``snapshot.write_snapshot`` into a temporary store, then times, as medians of 5 runs:

* the query: ``load_history`` of the columns it needs, each namespace's bloc from the registry
  and ``metrics.share_over_time(by="bloc")``: download share by bloc in every week (target < 2 s);
* the same share computed by DuckDB straight from the Parquet files (``read_parquet`` over the
  store's glob, a join with the registry's namespaces): the floor of the query;
* ``load_history`` of the query's columns alone, and of every column, for scale.

Also the Parquet size per snapshot, which the README's "Beyond one machine" extrapolates from.
Nothing is left behind.

    .venv/bin/python bench/bench_history.py [--quick]
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from openbrief import metrics, registry
from openbrief.store import history, snapshot

START = datetime(2025, 9, 1, 1, 15, tzinfo=timezone.utc)
WEEKS, MODELS, RUNS = 52, 30_000, 5
TARGET_S = 2.0
#: Registry namespaces that publish (origins), re-uploaders, and the tags the rows carry.
ORGS = ["Qwen", "deepseek-ai", "meta-llama", "google", "mistralai", "microsoft", "allenai", "nvidia",
        "THUDM", "openbmb", "tiiuae", "ibm-granite", "baidu", "moonshotai", "internlm", "BAAI", "openai"]
INTERMEDIARIES = ["unsloth", "bartowski", "mradermacher", "mlx-community", "TheBloke"]
TAGS = ["transformers", "safetensors", "text-generation", "conversational", "pytorch", "gguf",
        "license:apache-2.0", "license:mit", "license:other", "region:us", "endpoints_compatible",
        "text-generation-inference", "custom_code", "en", "zh", "fr", "moe", "8-bit"]
QUERY_COLUMNS = ["id", "namespace", "downloads"]


def make_models(rng: np.random.Generator, n: int, prefix: str = "model") -> pd.DataFrame:
    """``n`` whole-Hub rows: 10% organisations, 8% re-uploaders, the rest thousands of individuals."""
    kind = rng.choice(3, size=n, p=[0.10, 0.08, 0.82])
    people = np.array([f"user-{i}" for i in range(max(1, n // 8))])
    owner = np.where(kind == 0, np.array(ORGS)[rng.integers(0, len(ORGS), n)],
                     np.where(kind == 1, np.array(INTERMEDIARIES)[rng.integers(0, len(INTERMEDIARIES), n)],
                              people[rng.zipf(1.3, n) % len(people)]))
    ids = np.array([f"{o}/{prefix}-{i}" for i, o in enumerate(owner)], dtype=object)
    created = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    params = np.where(rng.random(n) < 0.4, rng.integers(1, 700, n) * 10**9, -1)
    downloads = (5e7 * (rng.permutation(n) + 1.0) ** -1.65).astype("int64")
    bases = np.where(rng.random(n) < 0.25, ids[rng.integers(0, n, n)], None)
    tag_lists = np.array(TAGS, dtype=object)
    return pd.DataFrame({
        "query": "hub-top", "id": ids, "namespace": owner, "author": owner,
        "created_at": created, "last_modified": created + pd.to_timedelta(rng.integers(0, 100, n), unit="D"),
        "downloads": downloads, "downloads_all_time": downloads * rng.integers(2, 40, n),
        "likes": downloads // 500,
        "pipeline_tag": rng.choice(["text-generation", "feature-extraction", "image-text-to-text"], n),
        "library_name": rng.choice(["transformers", "gguf", "mlx", "diffusers"], n),
        "license": rng.choice(["apache-2.0", "mit", "other", "llama3.1"], n),
        "gated": rng.choice(["False", "manual", "auto"], n, p=[0.9, 0.07, 0.03]),
        "params_total": pd.array(np.where(params < 0, None, params), dtype="Int64"),
        "base_models": [[b] if b else None for b in bases],
        "base_relation": rng.choice(["finetune", "quantized", "adapter", "merge"], n),
        "tags": [list(tag_lists[rng.integers(0, len(TAGS), k)]) for k in rng.integers(4, 12, n)],
        "listed_by": [["hub-top"]] * n,
    })


def next_week(rng: np.random.Generator, df: pd.DataFrame, week: int) -> pd.DataFrame:
    """A week later: downloads drift, cumulative counts grow, a few hundred models come and go."""
    n = len(df)
    df = df.assign(downloads=(df["downloads"].to_numpy(float) * rng.lognormal(0, 0.2, n)).astype("int64"))
    df["downloads_all_time"] = df["downloads_all_time"] + df["downloads"] // 4
    df = df.drop(index=rng.choice(df.index, 300, replace=False))
    return pd.concat([df, make_models(rng, 300, prefix=f"new-{week:02d}")], ignore_index=True)


def write_store(store: Path, weeks: int, models: int) -> int:
    """``weeks`` weekly snapshots of about ``models`` rows each; returns the bytes of Parquet written."""
    rng = np.random.default_rng(6)
    df = make_models(rng, models)
    for week in range(weeks):
        snapshot.write_snapshot(store, {"models": df}, {"endpoint": "bench"}, START + timedelta(weeks=week))
        df = next_week(rng, df, week)
    return sum(p.stat().st_size for p in store.rglob("*.parquet"))


def bloc_table(namespaces) -> pd.DataFrame:
    """``namespace``, ``bloc`` for each distinct namespace: ``registry.attribute``'s publisher bloc."""
    names = pd.Series(pd.unique(np.asarray(namespaces, dtype=object)), dtype="string")
    return registry.attribute(pd.DataFrame({"namespace": names, "id": names + "/x"}))[["namespace", "bloc"]]


def share_by_bloc(store: Path) -> pd.DataFrame:
    """openbrief's way: load the needed columns, give each row its namespace's bloc (the registry
    asked once per namespace, as ``registry.attribute`` does), ``metrics.share_over_time``."""
    rows = history.load_history(store, columns=QUERY_COLUMNS)
    names = rows["namespace"].astype("category")
    blocs = bloc_table(names.cat.categories.astype(str))["bloc"].to_numpy()
    rows["bloc"] = pd.array(blocs[names.cat.codes.to_numpy()], dtype="string")
    return metrics.share_over_time(rows, by="bloc")


DUCKDB_SHARE = """
SELECT m.snapshot_id, coalesce(r.bloc, 'unattributed') AS bloc,
       sum(m.downloads) / sum(sum(m.downloads)) OVER (PARTITION BY m.snapshot_id) AS share
FROM read_parquet('{glob}') AS m LEFT JOIN registry AS r ON m.namespace = r.namespace
WHERE m.downloads >= 0
GROUP BY m.snapshot_id, bloc
"""


def duckdb_share(store: Path, blocs: pd.DataFrame) -> pd.DataFrame:
    """The same share by bloc, straight from the Parquet files: one SQL query over the store's glob."""
    import duckdb

    con = duckdb.connect()
    con.register("registry", blocs)
    return con.sql(DUCKDB_SHARE.format(glob=store / "2*" / "models.parquet")).df()


def median_time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run(quick: bool = False) -> list[dict]:
    """The figures (a small store of 4 snapshots x 2,000 models, 1 run each, when ``quick``)."""
    weeks, models, runs = (4, 2_000, 1) if quick else (WEEKS, MODELS, RUNS)
    store = Path(tempfile.mkdtemp(prefix="openbrief-bench-history-"))
    try:
        size = write_store(store, weeks, models)
        t_load, rows = median_time(lambda: history.load_history(store, columns=QUERY_COLUMNS), runs)
        blocs = bloc_table(rows["namespace"])
        t_query, shares = median_time(lambda: share_by_bloc(store), runs)
        t_duck, _ = median_time(lambda: duckdb_share(store, blocs), runs)
        t_all, full = median_time(lambda: history.load_history(store), 1)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    label = f"{weeks} weekly snapshots x {models:,} models ({len(full):,} rows)"

    def figure(name, value, unit, floor=None, floor_label=None, target="", met=None, n=runs):
        return {"bench": "history", "figure": name, "value": round(value, 3), "unit": unit,
                "floor": None if floor is None else round(floor, 3), "floor_label": floor_label,
                "ratio": None if floor is None else round(value / floor, 2), "target": target, "met": met, "runs": n}

    if shares["snapshot_id"].nunique() != weeks:
        raise RuntimeError(f"the share covers {shares['snapshot_id'].nunique()} snapshots of {weeks}")
    return [
        figure(f"share by bloc per week: load + blocs + share_over_time, {label}", t_query, "s",
               t_duck, "the same share in DuckDB, one SQL query over the Parquet glob",
               f"< {TARGET_S:g} s", round(t_query, 3) < TARGET_S),
        figure(f"load_history of {QUERY_COLUMNS}, {label}", t_load, "s"),
        figure(f"load_history, all {len(full.columns)} columns, {label}", t_all, "s", n=1),
        figure("Parquet per snapshot (models.parquet)", size / weeks / 2**20, "MB", n=1),
    ]


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(figure)
