"""Snapshots: immutable, atomic, with provenance; a failed write leaves the store as it was."""
import json
from datetime import datetime, timezone

import pandas as pd
import pytest

from openbrief.store import snapshot
from openbrief.errors import SourceError, UsageError, WriteError
from openbrief.store.schema import MODEL_COLUMNS

WHEN = datetime(2026, 8, 22, 1, 15, 24, tzinfo=timezone.utc)


def _models():
    return pd.DataFrame([
        {"id": "Qwen/A", "namespace": "Qwen", "downloads": 10, "tags": ["license:mit"], "base_models": None},
        {"id": "x/B", "namespace": "x", "downloads": None, "tags": None, "base_models": ["Qwen/A"]},
    ])


def test_write_and_read_back(tmp_path):
    snap = snapshot.write_snapshot(tmp_path, {"models": _models()}, {"endpoint": "http://e"}, WHEN)
    assert snap.id == "20260822T011524Z"
    assert sorted(p.name for p in snap.path.iterdir()) == ["models.parquet", "snapshot.json"]
    meta = json.loads((snap.path / "snapshot.json").read_text())
    assert meta["rows"] == {"models": 2} and meta["fetched_at"] == "2026-08-22T01:15:24Z"
    assert meta["files"]["models.parquet"] == snapshot.sha256_file(snap.path / "models.parquet")
    back = snapshot.open_snapshot(tmp_path, "latest").models
    assert list(back.columns) == list(MODEL_COLUMNS)
    assert back.loc[1, "downloads"] is pd.NA  # missing stays missing
    assert back.loc[1, "tags"] is None and back.loc[1, "base_models"] == ["Qwen/A"]
    assert set(back["snapshot_id"]) == {snap.id}
    assert snapshot.verify(snap) == []


def test_same_second_never_overwrites(tmp_path):
    a = snapshot.write_snapshot(tmp_path, {"models": _models()}, {}, WHEN)
    b = snapshot.write_snapshot(tmp_path, {"models": _models().head(1)}, {}, WHEN)
    assert (a.id, b.id) == ("20260822T011524Z", "20260822T011524Z-002")
    assert snapshot.open_snapshot(tmp_path, a.id).meta["rows"]["models"] == 2


def test_failed_write_leaves_store_unchanged(tmp_path, monkeypatch):
    snapshot.write_snapshot(tmp_path, {"models": _models()}, {}, WHEN)
    before = sorted(p.name for p in tmp_path.iterdir())

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(WriteError, match="No space left"):
        snapshot.write_snapshot(tmp_path, {"models": _models()}, {}, datetime(2026, 8, 23, tzinfo=timezone.utc))
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert [s.id for s in snapshot.list_snapshots(tmp_path)] == ["20260822T011524Z"]


def test_empty_store_and_bad_ids(tmp_path):
    with pytest.raises(SourceError, match="holds no snapshot"):
        snapshot.open_snapshot(tmp_path, "latest")
    for bad in ("../x", "/etc", "2026", "20260822T011524Z/../../x"):
        with pytest.raises(UsageError):
            snapshot.open_snapshot(tmp_path, bad)
    with pytest.raises(UsageError, match="no snapshot 20260101T000000Z"):
        snapshot.open_snapshot(tmp_path, "20260101T000000Z")


def test_tampering_is_detected(tmp_path):
    snap = snapshot.write_snapshot(tmp_path, {"models": _models()}, {}, WHEN)
    path = snap.path / "models.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the sha256 tells
    path.write_bytes(bytes(data))
    assert snapshot.verify(snap) == ["models.parquet changed since it was written (sha256 mismatch)"]
    path.write_bytes(b"junk")
    assert snapshot.verify(snap) == [
        f"models.parquet changed since it was written (4 bytes, snapshot.json says {len(data):,})"]


def test_store_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENBRIEF_STORE", str(tmp_path / "env"))
    assert snapshot.default_store(None) == tmp_path / "env"
    assert snapshot.default_store(str(tmp_path / "arg")) == tmp_path / "arg"
