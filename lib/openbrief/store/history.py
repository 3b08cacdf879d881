"""Many snapshots read as one table: the store *is* the history.

Every snapshot is a folder ``<store>/<snapshot-id>/`` (see :mod:`openbrief.store.snapshot`) and
every Parquet row carries ``snapshot_id`` and ``fetched_at``, so ``<store>/2*/models.parquet`` read
together is one long table, one row per model per snapshot, in pyarrow, pandas, DuckDB or any
Parquet engine. Folders whose name is not a snapshot id (``.tmp-*`` being written, ``.trash-*``
being removed, the ``.lock``) are not snapshots, and damaged snapshots are never read.
:func:`load_history` reads only the requested columns, sorted by snapshot time. Nothing here writes.
"""
from __future__ import annotations

import gc
import logging
import os
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from openbrief.store.schema import to_arrow
from openbrief.store.snapshot import (
    ID_PATTERN, TABLES, DamagedSnapshot, Snapshot, _lists, checked, snapshot_folders,
)


#: The columns that key a history table: which snapshot a row comes from, and when it was fetched.
KEYS = ("snapshot_id", "fetched_at")

#: Kinds of data anomaly, in the order a brief lists them.
ANOMALY_KINDS = ("drop>50%", "negative-cumulative", "vanished", "invalid-count")

TRASH_PREFIX = ".trash-"
_ID_IN_TEXT = re.compile(r"\d{8}T\d{6}Z(?:-\d{1,3}(?!\d))?")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LIST_COLUMNS = ("base_models", "tags")
_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- loading


def select_snapshots(store: str | os.PathLike, start: Any = None, end: Any = None,
                     table: str = "models") -> list[Snapshot]:
    """Complete snapshots of ``store`` fetched in ``[start, end]`` (both inclusive), oldest first.

    A snapshot is complete when its folder is named by a snapshot id and
    :func:`openbrief.store.snapshot.checked` finds its ``snapshot.json`` and files as they were
    written; others (``.tmp-*`` folders, half-removed or damaged snapshots) are skipped. The
    damaged ones are logged (logger ``openbrief.store.history``, level INFO: no warning leaks into
    a notebook or a test's output); :func:`skipped_snapshots` and ``load_history(...).attrs``
    say which. ``start``/``end``: see :func:`load_history`.
    """
    return _scan(store, start, end, table)[0]


def skipped_snapshots(store: str | os.PathLike, start: Any = None, end: Any = None) -> list[dict]:
    """The damaged snapshots in ``[start, end]`` that a history leaves out: ``{"snapshot", "reason"}`` each."""
    return _scan(store, start, end)[1]


def _scan(store, start, end, table: str = "models") -> tuple[list[Snapshot], list[dict]]:
    _table_columns(table)
    lo, hi = _bound(start, end=False), _bound(end, end=True)
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(f"empty range: end ({hi.isoformat()}) is before start ({lo.isoformat()})")
    chosen, skipped = [], []
    for path in snapshot_folders(Path(store)):
        when = _bound(path.name, end=False)  # a sound snapshot's fetched_at is its id's second
        if (lo is not None and when < lo) or (hi is not None and when > hi):
            continue
        try:
            chosen.append(checked(path))
        except DamagedSnapshot as err:
            skipped.append({"snapshot": path.name, "reason": err.reason})
            _log.info("snapshot %s is damaged (%s): skipped", path.name, err.reason)
    return chosen, skipped


def load_history(store: str | os.PathLike, start: Any = None, end: Any = None,
                 columns: Sequence[str] | None = None, table: str = "models") -> pd.DataFrame:
    """Every complete snapshot fetched in ``[start, end]`` as one table, keyed by snapshot.

    ``start``/``end`` (inclusive; ``None`` = unbounded) accept a datetime or ``pd.Timestamp``
    (naive = UTC), an ISO string, a snapshot id (``20260822T011524Z``) or a :class:`Snapshot`,
    and are compared, to the second, with the ``fetched_at`` that ``snapshot.json`` records.
    A date alone (``date(2026, 8, 22)`` or ``"2026-08-22"``) means the whole UTC day: as
    ``start`` its first instant, as ``end`` its last.

    ``columns`` picks the columns to read (Parquet projection: the others are never read);
    ``snapshot_id`` and ``fetched_at`` always come first. ``table`` is ``"models"`` or
    ``"derivatives"`` (snapshots without that table contribute no rows). Damaged snapshots in
    range are left out and listed in ``attrs["skipped"]`` (``{"snapshot", "reason"}`` each, as
    :func:`skipped_snapshots`), for a brief's appendix.

    Returns one row per model per snapshot, sorted by ``fetched_at`` then the id's suffix
    (rows of a snapshot in their stored order), index ``0..n-1``, with the dtypes of
    :mod:`openbrief.store.schema` (``base_models``/``tags`` as lists of str or None, as in
    ``Snapshot.models``). No snapshot in range: an empty frame with the same columns.
    Unknown table or column: ``ValueError``.
    """
    spec = _table_columns(table)
    wanted = _projection(spec, columns)
    for attempt in (1, 2):
        snaps, skipped = _scan(store, start, end, table)
        files = [str(s.path / f"{table}.parquet") for s in snaps if (s.path / f"{table}.parquet").is_file()]
        if not files:
            empty = _empty(spec, wanted)
            empty.attrs["skipped"] = skipped
            return empty
        try:
            dataset = pads.dataset(files, format="parquet", schema=arrow_schema(table))
            arrow = dataset.to_table(columns=wanted)
            break
        except FileNotFoundError:
            if attempt == 2:  # a snapshot was pruned while we read, twice in a row
                raise
    frame = _to_frame(arrow, spec, wanted, [s.id for s in snaps])
    frame.attrs["skipped"] = skipped
    return frame


def _table_columns(table: str) -> dict[str, str]:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}: expected one of {sorted(TABLES)}")
    return TABLES[table]


def arrow_schema(table: str = "models"):
    """The Arrow schema of a snapshot table (see ``schema.arrow_schema``)."""
    return to_arrow(_table_columns(table))


def _projection(spec: dict[str, str], columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(spec)
    if isinstance(columns, str):
        columns = [columns]
    unknown = [c for c in columns if c not in spec]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}: a snapshot table has {list(spec)}")
    return list(dict.fromkeys([*KEYS, *columns]))


def _empty(spec: dict[str, str], wanted: list[str]) -> pd.DataFrame:
    from openbrief.store.schema import empty

    return empty(spec)[wanted]


def _to_frame(arrow: pa.Table, spec: dict[str, str], wanted: list[str], order: list[str]) -> pd.DataFrame:
    # rows of each snapshot together, snapshots in the order of ``order`` (fetch time, id): put
    # right in Arrow, before any column becomes Python objects
    codes = pc.index_in(arrow.column("snapshot_id"), value_set=pa.array(order, pa.string())).to_numpy()
    if len(codes) > 1 and (np.diff(codes) < 0).any():
        arrow = arrow.take(pa.array(np.argsort(codes, kind="stable")))
    data = {}
    was_enabled = gc.isenabled()
    gc.disable()  # building up to one list per row: the cyclic GC would run hundreds of times for nothing
    try:
        for name in wanted:
            col = arrow.column(name)
            if spec[name] == "object":  # lists of str (or None), shared as Snapshot.models has them
                data[name] = pd.Series(_lists(col), dtype="object", copy=False)
            else:
                data[name] = col.to_pandas(types_mapper=_mapper).astype(spec[name])
    finally:
        if was_enabled:
            gc.enable()
    return pd.DataFrame(data)


def _mapper(typ: pa.DataType):
    if pa.types.is_integer(typ):
        return pd.Int64Dtype()
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return pd.StringDtype()
    return None


def _utc(value: Any, what: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"{what} must be a date, time or snapshot id, not {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _bound(value: Any, end: bool) -> pd.Timestamp | None:
    """A range bound as a UTC timestamp, at the second (see :func:`load_history`)."""
    what = "end" if end else "start"
    if value is None:
        return None
    if isinstance(value, Snapshot):
        return _snapshot_time(value)
    day = None
    if isinstance(value, str):
        text = value.strip()
        if ID_PATTERN.fullmatch(text):
            return pd.Timestamp(datetime.strptime(text[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc))
        if _DATE_ONLY.match(text):
            day = _utc(text, what)
        else:
            try:
                ts = _utc(text, what)
            except (ValueError, TypeError) as err:
                raise ValueError(f"{what} must be a date, time or snapshot id, not {value!r}") from err
    elif isinstance(value, date) and not isinstance(value, datetime):
        day = pd.Timestamp(value.year, value.month, value.day, tz="UTC")
    else:
        try:
            ts = _utc(value, what)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{what} must be a date, time or snapshot id, not {value!r}") from err
    if day is not None:
        return day + pd.Timedelta(days=1) - pd.Timedelta(seconds=1) if end else day
    return ts.floor("s")


def _snapshot_time(snap: Snapshot) -> pd.Timestamp:
    """When a snapshot was fetched (``snapshot.json``; its id if that lacks the time)."""
    raw = snap.meta.get("fetched_at")
    if raw:
        return _utc(raw, "fetched_at").floor("s")
    return _bound(snap.id, end=False)
