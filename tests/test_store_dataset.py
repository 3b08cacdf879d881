"""The store read unchanged by another engine: the README's DuckDB query gives openbrief's shares,
and the snapshots read as one dataset by glob (DuckDB, pyarrow.dataset), never a temporary folder."""
from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest

from openbrief import metrics, registry
from openbrief.store import history, snapshot

from clirun import run_main

duckdb = pytest.importorskip("duckdb")

README = Path(__file__).resolve().parents[1] / "README.md"
#: Namespaces of each kind: organisations of three blocs, a re-uploader, individuals, unknowns.
NAMESPACES = ["Qwen", "deepseek-ai", "meta-llama", "google", "mistralai", "unsloth", "bartowski",
              "user-1", "user-2", "nobody-knows"]


def readme_sql(marker: str) -> str:
    """The SQL block of the README's "Beyond one machine" section that contains ``marker``."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Beyond one machine"):]
    section = section[:section.index("\n## ", 1)]
    (sql,) = [block for block in re.findall(r"```sql\n(.*?)```", section, re.S) if marker in block]
    return sql


@pytest.fixture
def store(tmp_path):
    """Four weekly snapshots of a few dozen models, with a missing and an invalid count each, plus a
    snapshot being written (``.tmp-*``) and one being removed (``.trash-*``) that no reader may see."""
    rng = np.random.default_rng(15)
    start = datetime(2026, 9, 7, 6, tzinfo=timezone.utc)
    for week in range(4):
        ns = rng.choice(NAMESPACES, 40)
        downloads = pd.array(rng.integers(0, 10**6, 40), dtype="Int64")
        downloads[0], downloads[1] = pd.NA, -5  # no count; an invalid count, never summed
        rows = pd.DataFrame({"id": [f"{n}/m-{week}-{i}" for i, n in enumerate(ns)], "namespace": ns,
                             "query": [f"author={n}" for n in ns], "downloads": downloads})
        written = snapshot.write_snapshot(tmp_path / "store", {"models": rows}, {"endpoint": "test"},
                                          start + timedelta(weeks=week))
    shutil.copytree(written.path, tmp_path / "store" / f".tmp-{written.id}-x1")
    shutil.copytree(written.path, tmp_path / "store" / f".trash-{written.id}")
    return tmp_path / "store"


def test_the_readme_duckdb_query_gives_openbriefs_share_by_bloc(store, tmp_path, monkeypatch, capsys):
    code, out, _ = run_main(["registry", "--format", "csv"], capsys)  # as the README has it written
    assert code == 0
    (tmp_path / "registry.csv").write_text(out, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the README's paths: store/ and registry.csv in the current folder
    got = duckdb.sql(readme_sql("share")).df()

    reg = registry.load()
    mine = metrics.share_over_time(registry.attribute(history.load_history(store), reg), by="bloc")
    mine = mine.dropna(subset=["share"])
    assert len(got) == len(mine) > 4 * 3, "several blocs in each of the four snapshots"
    expected = {(s, g): v for s, g, v in zip(mine["snapshot_id"], mine["group"], mine["share"])}
    found = {(s, g): v for s, g, v in zip(got["snapshot_id"], got["bloc"], got["share"])}
    assert found.keys() == expected.keys()
    for key, share in expected.items():
        assert found[key] == pytest.approx(float(share), abs=1e-12), key


def test_the_store_reads_as_one_dataset_by_glob_in_duckdb_and_pyarrow(store, monkeypatch):
    ours = history.load_history(store, columns=["id", "downloads"])
    monkeypatch.chdir(store.parent)
    assert ours["snapshot_id"].nunique() == 4 and len(ours) == 160

    # DuckDB: the README's glob, the snapshot's folder name as its partition, temporary folders unseen
    rows = duckdb.sql(readme_sql("filename")).df()
    assert sorted(rows["snapshot_id"].unique()) == sorted(ours["snapshot_id"].unique())
    assert (rows["folder"] == rows["snapshot_id"]).all(), "each file lies in the folder its rows name"
    assert len(rows) == len(ours)

    # pyarrow.dataset: the same files as one dataset; its discovery skips '.'-prefixed folders itself
    files = sorted(str(p) for p in store.glob("2*/models.parquet"))
    assert len(files) == 4
    table = pads.dataset(files, format="parquet", schema=history.arrow_schema()).to_table(columns=["snapshot_id", "id"])
    assert sorted(zip(table.column("snapshot_id").to_pylist(), table.column("id").to_pylist())) == \
        sorted(zip(ours["snapshot_id"], ours["id"]))
    # pointed at the whole store, pyarrow's own discovery skips the '.'-prefixed folders too
    whole = pads.dataset(store, format="parquet", exclude_invalid_files=True)  # not snapshot.json
    models = [f for f in whole.files if Path(f).name == "models.parquet"]
    assert sorted(models) == files, "no .tmp-* or .trash-* file"
