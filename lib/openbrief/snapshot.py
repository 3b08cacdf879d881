"""Immutable, dated snapshots of Hub data, with provenance.

A snapshot is a folder ``<store>/<snapshot-id>/`` holding ``models.parquet``,
optionally ``derivatives.parquet``, and ``snapshot.json`` (endpoint, times,
queries, versions, row counts, sha256 of every data file). It is written into a
temporary folder inside the store and renamed into place only when complete, so
a reader never sees half a snapshot and a failed run leaves nothing behind.
Nothing ever writes into an existing snapshot.

Every Parquet row carries ``snapshot_id`` and ``fetched_at``, so all snapshots
read as one dataset: ``SELECT * FROM read_parquet('store/*/models.parquet')``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

from openbrief.errors import LockedError, SourceError, UsageError, WriteError
from openbrief.schema import DERIVATIVE_COLUMNS, MODEL_COLUMNS, conform, to_arrow

REPO_ROOT = Path(__file__).resolve().parents[2]
ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z(-\d{1,3})?$")
TABLES = {"models": MODEL_COLUMNS, "derivatives": DERIVATIVE_COLUMNS}
META_FILE = "snapshot.json"


def default_store(arg: str | os.PathLike | None = None) -> Path:
    """``--store``, else ``OPENBRIEF_STORE``, else ``store/`` in the repository."""
    raw = arg or os.environ.get("OPENBRIEF_STORE") or REPO_ROOT / "store"
    return Path(raw).expanduser().resolve()


def snapshot_id_for(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def check_id(snapshot_id: str) -> str:
    """Refuse ids that are not ours (and so cannot name a path outside the store)."""
    if not isinstance(snapshot_id, str) or not ID_PATTERN.fullmatch(snapshot_id):
        raise UsageError(
            f"{snapshot_id!r} is not a snapshot id (expected e.g. 20260822T011524Z or 'latest'): "
            "run 'openbrief snapshots' to list them"
        )
    return snapshot_id


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """A snapshot on disk; tables load lazily."""

    id: str
    path: Path
    meta: dict = field(compare=False)

    @property
    def fetched_at(self) -> pd.Timestamp:
        return pd.Timestamp(self.meta["fetched_at"])

    @cached_property
    def models(self) -> pd.DataFrame:
        return read_table(self.path, "models")

    @cached_property
    def derivatives(self) -> pd.DataFrame:
        return read_table(self.path, "derivatives")


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """Table ``name`` (models, derivatives) of a snapshot folder; empty when absent."""
    return read_parquet(folder / f"{name}.parquet", TABLES[name])


def read_parquet(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """A Parquet file of ours with its declared dtypes (lists as lists, missing kept missing)."""
    if not path.exists():
        return conform(pd.DataFrame(), columns)
    df = pd.read_parquet(path)
    for col in ("base_models", "tags"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: None if v is None else [str(x) for x in v])
    return conform(df, columns)


def store_lock(store: Path, timeout: float = 0) -> FileLock:
    """The store's write lock. ``timeout=0`` refuses at once when another run holds it."""
    store.mkdir(parents=True, exist_ok=True)
    return FileLock(str(store / ".lock"), timeout=timeout)


def acquire(lock: FileLock, what: str) -> FileLock:
    try:
        lock.acquire()
    except Timeout as err:
        raise LockedError(f"{what} is locked by another openbrief run ({lock.lock_file}); wait for it to finish") from err
    return lock


def write_snapshot(
    store: Path,
    tables: dict[str, pd.DataFrame],
    meta: dict,
    fetched_at: datetime,
    lock_timeout: float = 60,
) -> Snapshot:
    """Write a new snapshot atomically and return it.

    ``meta`` is completed with the snapshot id, times, row counts and file
    checksums. On any failure the temporary folder is removed and the store is
    as it was.
    """
    store = Path(store)
    with acquire(store_lock(store, lock_timeout), f"store {store}"):
        base_id = snapshot_id_for(fetched_at)
        snapshot_id = base_id
        n = 1
        while (store / snapshot_id).exists():
            n += 1
            snapshot_id = f"{base_id}-{n}"
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{snapshot_id}-", dir=store))
        try:
            files, rows = {}, {}
            for name, df in tables.items():
                df = conform(df.assign(snapshot_id=snapshot_id, fetched_at=pd.Timestamp(fetched_at)), TABLES[name])
                target = tmp / f"{name}.parquet"
                df.to_parquet(target, index=False, schema=to_arrow(TABLES[name]))
                files[target.name] = sha256_file(target)
                rows[name] = len(df)
            meta = {
                "snapshot_id": snapshot_id,
                "fetched_at": _iso(fetched_at),
                **meta,
                "rows": rows,
                "files": files,
            }
            _write_json(tmp / META_FILE, meta)
            _fsync_dir(tmp)
            os.rename(tmp, store / snapshot_id)
            _fsync_dir(store)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise WriteError(f"could not write snapshot into {store}: {err}; the store is unchanged") from err
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return Snapshot(snapshot_id, store / snapshot_id, meta)


def list_snapshots(store: Path) -> list[Snapshot]:
    """Complete snapshots in the store, oldest first (temporary folders are ignored)."""
    store = Path(store)
    if not store.is_dir():
        return []
    found = []
    for path in store.iterdir():
        if path.is_dir() and ID_PATTERN.fullmatch(path.name) and (path / META_FILE).is_file():
            meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
            found.append(Snapshot(path.name, path, meta))
    return sorted(found, key=lambda s: (s.meta.get("fetched_at", ""), s.id))


def open_snapshot(store: Path, snapshot_id: str = "latest") -> Snapshot:
    """The snapshot ``snapshot_id`` (or the newest for ``latest``) of ``store``."""
    store = Path(store)
    if snapshot_id in (None, "", "latest"):
        snapshots = list_snapshots(store)
        if not snapshots:
            demo = REPO_ROOT / "store-demo"
            hint = (f"; the demo's synthetic snapshots are in {demo} (pass it as the store)"
                    if demo != store and list_snapshots(demo) else "")
            raise SourceError(
                f"the store {store} holds no snapshot: run 'openbrief fetch' (or 'make demo' to try offline){hint}"
            )
        return snapshots[-1]
    path = store / check_id(snapshot_id)
    if not (path / META_FILE).is_file():
        raise UsageError(f"no snapshot {snapshot_id} in {store}: run 'openbrief snapshots --store {store}' to list them")
    return Snapshot(snapshot_id, path, json.loads((path / META_FILE).read_text(encoding="utf-8")))


def verify(snapshot: Snapshot) -> list[str]:
    """Problems with a snapshot's files (missing or changed since written)."""
    problems = []
    for name, digest in snapshot.meta.get("files", {}).items():
        path = snapshot.path / name
        if not path.exists():
            problems.append(f"{name} is missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name} changed since it was written (sha256 mismatch)")
    return problems


def _iso(when: datetime) -> str:
    return pd.Timestamp(when).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
