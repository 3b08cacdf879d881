"""Immutable, dated snapshots of Hub data, with provenance.

A snapshot is a folder ``<store>/<snapshot-id>/`` holding ``models.parquet``,
optionally ``derivatives.parquet``, and ``snapshot.json`` (endpoint, times,
queries, versions, row counts, size and sha256 of every data file). It is written into a
temporary folder inside the store and renamed into place only when complete, so
a reader never sees half a snapshot and a failed run leaves nothing behind.
Nothing ever writes into an existing snapshot. Every reader opens a snapshot
through :func:`checked`, which refuses one whose files are not what was written.

Ids and times agree: an id is the UTC second of ``fetched_at`` (which every row and
``snapshot.json`` carry to the second), and snapshots of the same second get
``-002``, ``-003``, ... in the order they were written; :func:`order_key` sorts
them, old unpadded ids (``-2``, ``-10``) too.

Every Parquet row carries ``snapshot_id`` and ``fetched_at``, so all snapshots
read as one dataset: ``SELECT * FROM read_parquet('store/*/models.parquet')``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from openbrief.errors import LockedError, SourceError, UsageError, WriteError
from openbrief.store.schema import DERIVATIVE_COLUMNS, MODEL_COLUMNS, conform, to_arrow

REPO_ROOT = Path(__file__).resolve().parents[3]
ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z(-\d{1,3})?$")
TABLES = {"models": MODEL_COLUMNS, "derivatives": DERIVATIVE_COLUMNS}
META_FILE = "snapshot.json"
DATA_FILES = tuple(f"{name}.parquet" for name in TABLES)
MAX_PER_SECOND = 999  # the id's suffix has three digits

#: sha256 of each file version read by this process, keyed by (path, size, mtime_ns): hashed once
_DIGESTS: dict[tuple[str, int, int], str] = {}


class DamagedSnapshot(UsageError):
    """A snapshot whose ``snapshot.json`` or files are not what was written (exit 2)."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"snapshot {self.path.name} in {self.path.parent} is damaged ({reason}): use another one "
                         "(--snapshot ID; 'openbrief snapshots verify' checks them all) or fetch a new one")


def default_store(arg: str | os.PathLike | None = None, *, writable: bool = False) -> Path:
    """``--store``, else ``OPENBRIEF_STORE``, else ``store/`` in the repository (see :func:`checked_folder`)."""
    raw = arg or os.environ.get("OPENBRIEF_STORE") or REPO_ROOT / "store"
    return checked_folder(raw, "the store", writable=writable)


def checked_folder(raw: str | os.PathLike, what: str, *, writable: bool = False) -> Path:
    """``raw`` as an absolute path that is, or can become, a folder; nothing is created here.

    A file in the way is bad input (``UsageError``, exit 2). With ``writable``, a folder
    that this user cannot write into, or create, is a write failure (``WriteError``, exit 7).
    """
    path = Path(raw).expanduser().resolve()
    try:
        existing = next(p for p in (path, *path.parents) if p.exists())
    except OSError as err:
        raise UsageError(f"{what} {path} cannot be reached: {err.strerror}; give another folder") from None
    if not existing.is_dir():
        where = "is a file" if existing == path else f"is inside the file {existing}"
        raise UsageError(f"{what} {path} {where}, not a folder: give a folder")
    if writable and not os.access(existing, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if os.statvfs(existing).f_flag & os.ST_RDONLY else "is not writable"
        raise WriteError(f"cannot write into {what} {path}: {existing} {why}; nothing was written "
                         "(give another folder, or make it writable)")
    return path


def snapshot_id_for(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def order_key(snapshot_id: str) -> tuple[str, int, str]:
    """Sort key of a snapshot id: its second, then its suffix as a number (none = 1), then the id."""
    second, _, suffix = snapshot_id.partition("-")
    return second, int(suffix or 1), snapshot_id


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
    """Table ``name`` (models, derivatives) of a snapshot folder; empty when absent.

    A file that pyarrow cannot read makes the snapshot damaged (:class:`DamagedSnapshot`).
    """
    try:
        return read_parquet(folder / f"{name}.parquet", TABLES[name])
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DamagedSnapshot(folder, f"{name}.parquet cannot be read: {' '.join(str(err).split())}") from None


#: The columns holding a list of str per row (None where missing).
LIST_COLUMNS = ("base_models", "tags", "listed_by")


def read_parquet(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """A Parquet file of ours with its declared dtypes (lists as lists, missing kept missing).

    Read one column at a time, so that only one column is ever held both as Arrow and as
    pandas, the list columns first (:func:`_lists` builds them), while little else is held.
    Other columns convert as pandas reads them (the file's pandas metadata gives back
    ``Int64`` and ``string``).
    """
    if not path.exists():
        return conform(pd.DataFrame(), columns)
    file = pq.ParquetFile(path)
    data = {}
    for name in sorted(set(columns) & set(file.schema_arrow.names), key=lambda c: (c not in LIST_COLUMNS, c)):
        table = file.read(columns=[name])
        data[name] = (pd.Series(_lists(table.column(0)), dtype="object", copy=False) if name in LIST_COLUMNS
                      else table.to_pandas()[name])
    return conform(pd.DataFrame(data, index=pd.RangeIndex(file.metadata.num_rows), copy=False), columns)


def _lists(cells: pa.ChunkedArray) -> np.ndarray:
    """A list column as an object array: per row a list of ``str`` of each element, None where missing.

    Without a Python object per row: each distinct element becomes one str (a null one
    ``"None"``, as ``str`` always made it) and each distinct list one list, which every row
    holding it shares, so a cell must never be changed in place. A row's key, to find the
    distinct lists, is the int32 codes of its elements laid end to end (``[]`` is empty).
    """
    if not (pa.types.is_list(cells.type) and pa.types.is_string(cells.type.value_type)):
        cells = cells.cast(pa.list_(pa.string()))  # old files: list<null> where no row had any
    cells = cells.combine_chunks()
    elements = pc.dictionary_encode(cells.values, null_encoding="encode")  # a code per distinct element
    texts = np.array([str(v) for v in elements.dictionary.to_pylist()], dtype=object)
    keys = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(cells), [
        None, pa.py_buffer(cells.offsets.to_numpy().astype(np.int64) * 4), pa.py_buffer(elements.indices.to_numpy())])
    rows = pc.dictionary_encode(keys)  # a code per distinct list; its dictionary holds each list's codes
    _, offsets, data = rows.dictionary.buffers()
    bounds = (np.frombuffer(offsets, np.int64, count=len(rows.dictionary) + 1) // 4).tolist()
    flat = texts[np.frombuffer(data or b"", np.int32, count=bounds[-1])].tolist()
    lists = np.fromiter((flat[a:b] for a, b in pairwise(bounds)), dtype=object, count=len(bounds) - 1)
    out = lists[rows.indices.to_numpy()]
    out[~cells.is_valid().to_numpy(zero_copy_only=False)] = None
    return out


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
    sizes and checksums. ``fetched_at`` is kept to the second (in ``snapshot.json``
    and every row); a snapshot of a second that already has one gets the next
    suffix (``-002``, ...), so ids sort as the snapshots were fetched and written.
    On any failure the temporary folder is removed and the store is as it was.
    """
    store = Path(store)
    when = pd.Timestamp(fetched_at).tz_convert("UTC").floor("s")
    base_id = snapshot_id_for(when)
    with acquire(store_lock(store, lock_timeout), f"store {store}"):
        n = 1 + max((order_key(p.name)[1] for p in store.glob(f"{base_id}*") if ID_PATTERN.fullmatch(p.name)),
                    default=0)
        if n > MAX_PER_SECOND:
            raise WriteError(f"the store {store} already holds {MAX_PER_SECOND} snapshots of {base_id}: "
                             "fetch again in a second")
        snapshot_id = base_id if n == 1 else f"{base_id}-{n:03d}"
        remove_stale_temps(store)
        try:
            tmp = temp_dir(store, snapshot_id)
        except OSError as err:
            raise WriteError(f"could not write snapshot into {store}: {err}; the store is unchanged") from err
        try:
            files, sizes, rows = {}, {}, {}
            for name, df in tables.items():
                df = conform(df.assign(snapshot_id=snapshot_id, fetched_at=when), TABLES[name])
                target = tmp / f"{name}.parquet"
                df.to_parquet(target, index=False, schema=to_arrow(TABLES[name]))
                files[target.name] = sha256_file(target)
                sizes[target.name] = target.stat().st_size
                rows[name] = len(df)
            meta = {
                "snapshot_id": snapshot_id,
                "fetched_at": _iso(when),
                **meta,
                "rows": rows,
                "files": files,
                "sizes": sizes,
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


def checked(path: Path, *, digests: bool = True, rehash: bool = False) -> Snapshot:
    """The snapshot in folder ``path``, if it is what was written; else :class:`DamagedSnapshot`.

    Every reader of a snapshot comes through here. Always checked, cheaply: ``snapshot.json``
    is a readable JSON object that names this folder, dates it at the id's second and lists
    its files, and each file exists with the size recorded (snapshots written before sizes
    were recorded rely on the sha256). With ``digests``, also each file's sha256: computed once
    per file version in this process and cached in memory (nothing is written anywhere);
    ``rehash`` computes it again.
    """
    path = Path(path)
    meta = _read_meta(path)
    problems = _file_problems(path, meta, digests, rehash)
    if problems:
        raise DamagedSnapshot(path, "; ".join(problems))
    return Snapshot(path.name, path, meta)


def _read_meta(path: Path) -> dict:
    def damaged(reason: str) -> DamagedSnapshot:
        return DamagedSnapshot(path, reason)

    try:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise damaged(f"{META_FILE} is missing") from None
    except OSError as err:
        raise damaged(f"{META_FILE} cannot be read: {err.strerror or err}") from None
    except ValueError:  # not UTF-8 or not JSON
        raise damaged(f"{META_FILE} is not valid JSON") from None
    if not isinstance(meta, dict):
        raise damaged(f"{META_FILE} is not a JSON object")
    if meta.get("snapshot_id") != path.name:
        raise damaged(f"{META_FILE} names snapshot {meta.get('snapshot_id')!r}")
    try:
        when = pd.Timestamp(meta.get("fetched_at"))
    except (ValueError, TypeError):
        when = pd.NaT
    if when is pd.NaT or when.tzinfo is None or snapshot_id_for(when) != order_key(path.name)[0]:
        raise damaged(f"{META_FILE} gives fetched_at {meta.get('fetched_at')!r}, not the time of its id")
    files, sizes = meta.get("files"), meta.get("sizes", {})
    if (not isinstance(files, dict) or "models.parquet" not in files or not set(files) <= set(DATA_FILES)
            or not all(isinstance(d, str) for d in files.values())
            or not isinstance(sizes, dict) or not all(isinstance(n, int) for n in sizes.values())):
        raise damaged(f"{META_FILE} does not list the snapshot's files ({', '.join(DATA_FILES)}) "
                      "with their sha256 and sizes")
    return meta


def _file_problems(path: Path, meta: dict, digests: bool, rehash: bool) -> list[str]:
    problems = []
    for name, digest in meta["files"].items():
        file = path / name
        try:
            stat = file.stat()
            size = meta.get("sizes", {}).get(name, stat.st_size)
            if stat.st_size != size:
                problems.append(f"{name} changed since it was written ({stat.st_size:,} bytes, "
                                f"{META_FILE} says {size:,})")
            elif digests and _sha256(file, stat, rehash) != digest:
                problems.append(f"{name} changed since it was written (sha256 mismatch)")
        except FileNotFoundError:
            problems.append(f"{name} is missing")
        except OSError as err:
            problems.append(f"{name} cannot be read: {err.strerror or err}")
    return problems


def _sha256(file: Path, stat: os.stat_result, rehash: bool) -> str:
    key = (str(file), stat.st_size, stat.st_mtime_ns)
    if rehash or key not in _DIGESTS:
        _DIGESTS[key] = sha256_file(file)
    return _DIGESTS[key]


def snapshot_folders(store: Path) -> list[Path]:
    """The folders of ``store`` named by a snapshot id, oldest first (see :func:`order_key`).

    Others (``.tmp-*`` being written, ``.trash-*`` being removed, ``.partial``) are never snapshots.
    """
    store = Path(store)
    if not store.is_dir():
        return []
    try:
        found = [p for p in store.iterdir() if ID_PATTERN.fullmatch(p.name) and p.is_dir()]
    except OSError as err:
        raise UsageError(f"cannot read the store {store}: {err.strerror or err}; check its permissions") from None
    return sorted(found, key=lambda p: order_key(p.name))


def scan(store: Path, *, digests: bool = False, rehash: bool = False) -> list[Snapshot | DamagedSnapshot]:
    """Every snapshot folder of the store, oldest first: the snapshot, or why it is damaged."""
    found: list[Snapshot | DamagedSnapshot] = []
    for path in snapshot_folders(store):
        try:
            found.append(checked(path, digests=digests, rehash=rehash))
        except DamagedSnapshot as err:
            found.append(err)
    return found


def list_snapshots(store: Path) -> list[Snapshot]:
    """The sound snapshots of the store (cheap check: meta and sizes), oldest first."""
    return [s for s in scan(store) if isinstance(s, Snapshot)]


def newest_sound(entries: list[Snapshot | DamagedSnapshot]) -> tuple[Snapshot | None, list[DamagedSnapshot]]:
    """The newest of ``entries`` whose files also match their sha256, and the damaged ones newer than it."""
    skipped = []
    for entry in reversed(entries):
        try:
            return checked(entry.path), skipped
        except DamagedSnapshot as err:
            skipped.append(err)
    return None, skipped


def warn_skipped(skipped: list[DamagedSnapshot]) -> None:
    for err in skipped:
        print(f"openbrief: warning: skipped damaged snapshot {err.path.name} ({err.reason})", file=sys.stderr)


def open_snapshot(store: Path, snapshot_id: str = "latest") -> Snapshot:
    """The snapshot ``snapshot_id`` of ``store`` (``latest``: the newest sound one), checked.

    ``latest`` says on stderr which damaged snapshots it skipped, and refuses the newest damaged
    one when none is sound; a damaged snapshot asked for by id is refused (:class:`DamagedSnapshot`,
    exit 2).
    """
    store = Path(store)
    if snapshot_id in (None, "", "latest"):
        newest, skipped = newest_sound(scan(store))
        if newest is None and skipped:
            raise skipped[0]
        if newest is not None:
            warn_skipped(skipped)
            return newest
        demo = REPO_ROOT / "store-demo"
        hint = (f"; the demo's synthetic snapshots are in {demo} (pass it as the store)"
                if demo != store and list_snapshots(demo) else "")
        raise SourceError(
            f"the store {store} holds no snapshot: run 'openbrief fetch' (or 'make demo' to try offline){hint}"
        )
    path = store / check_id(snapshot_id)
    if not path.is_dir():
        raise UsageError(f"no snapshot {snapshot_id} in {store}: run 'openbrief snapshots --store {store}' to list them")
    return checked(path)


def verify(snapshot: Snapshot) -> list[str]:
    """Problems with a snapshot's files (missing or changed since written), hashing them again."""
    return _file_problems(snapshot.path, snapshot.meta, digests=True, rehash=True)


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


#: Folders being written (a snapshot, a brief) start with this; older than STALE_AFTER seconds, a killed run left them.
TEMP_PREFIX = ".tmp-"
STALE_AFTER = 24 * 3600


def current_umask() -> int:
    """This process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_dir(folder: Path, label: str) -> Path:
    """A new ``folder/.tmp-<label>-XXXX`` with the mode of any folder made under the user's umask.

    ``tempfile.mkdtemp`` makes it 0700, and it becomes the snapshot or brief: others (the web
    server that serves the PDFs, an analyst reading the store) could not read it.
    """
    path = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{label}-", dir=folder))
    os.chmod(path, 0o777 & ~current_umask())
    return path


def remove_stale_temps(folder: Path) -> None:
    """Remove ``folder``'s ``.tmp-*`` folders untouched for a day: left by a run that was killed.

    Call it only while holding the folder's lock. A younger one may be another run's, in
    progress, and is never touched.
    """
    cutoff = time.time() - STALE_AFTER
    for path in Path(folder).glob(f"{TEMP_PREFIX}*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path)
                print(f"openbrief: removed {path}, left more than a day ago by a run that was killed",
                      file=sys.stderr)
        except OSError:
            continue  # not ours to fix: the next run tries again
