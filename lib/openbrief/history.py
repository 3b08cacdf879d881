"""History: many snapshots read as one table, trends between them, anomalies, retention.

How history is kept. Every snapshot is a folder ``<store>/<snapshot-id>/`` (see
:mod:`openbrief.snapshot`) and every Parquet row carries ``snapshot_id`` and ``fetched_at``,
so the store *is* the history: ``<store>/*/models.parquet`` read together is one long table,
one row per model per snapshot, by pyarrow, pandas, DuckDB or any Parquet engine. Folders
whose name is not a snapshot id (``.tmp-*`` being written, ``.trash-*`` being removed, the
``.lock``) are not snapshots, and damaged snapshots (no ``snapshot.json``, files changed) are
never read.

What this module offers:

- :func:`load_history`: the snapshots fetched in ``[start, end]`` as one DataFrame, reading
  only the requested columns (dtypes of :mod:`openbrief.schema`), sorted by snapshot time;
- trends between two snapshots: :func:`movers`, :func:`new_to_top`, :func:`period_summary`,
  and over many: :func:`share_over_time` (which reuse :mod:`openbrief.metrics`, never
  re-computing a metric);
- data anomalies (:func:`anomalies`, :func:`history_anomalies`): listed in a brief's
  appendix, never charted as news;
- retention (:func:`prune_plan`, :func:`prune`): which snapshots to keep, by a rule, never
  one that a kept brief refers to.

Nothing here fetches, and nothing but :func:`prune` writes.
"""
from __future__ import annotations

import gc
import json
import operator
import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from openbrief import metrics
from openbrief.errors import UsageError, WriteError
from openbrief.schema import to_arrow, valid_counts
from openbrief.snapshot import (
    ID_PATTERN, TABLES, DamagedSnapshot, Snapshot, acquire, checked, list_snapshots, order_key, snapshot_folders,
    store_lock,
)

__all__ = [
    "ANOMALY_KINDS", "KEYS", "PruneArgumentError", "PrunePlan", "VANISHED_DETAIL", "anomalies",
    "arrow_schema", "history_anomalies", "load_history", "movers", "new_to_top", "period_summary",
    "prune", "prune_plan", "referenced_snapshots", "select_snapshots", "share_over_time",
]

#: The columns that key a history table: which snapshot a row comes from, and when it was fetched.
KEYS = ("snapshot_id", "fetched_at")

#: Kinds of data anomaly, in the order a brief lists them.
ANOMALY_KINDS = ("drop>50%", "negative-cumulative", "vanished", "invalid-count")

TRASH_PREFIX = ".trash-"
_ID_IN_TEXT = re.compile(r"\d{8}T\d{6}Z(?:-\d{1,3}(?!\d))?")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LIST_COLUMNS = ("base_models", "tags")


# --------------------------------------------------------------------------- loading


def select_snapshots(store: str | os.PathLike, start: Any = None, end: Any = None,
                     table: str = "models") -> list[Snapshot]:
    """Complete snapshots of ``store`` fetched in ``[start, end]`` (both inclusive), oldest first.

    A snapshot is complete when its folder is named by a snapshot id and
    :func:`openbrief.snapshot.checked` finds its ``snapshot.json`` and files as they were
    written; others (``.tmp-*`` folders, half-removed or damaged snapshots) are skipped, the
    damaged ones with a warning. ``start``/``end``: see :func:`load_history`.
    """
    _table_columns(table)
    lo, hi = _bound(start, end=False), _bound(end, end=True)
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(f"empty range: end ({hi.isoformat()}) is before start ({lo.isoformat()})")
    chosen = []
    for path in snapshot_folders(Path(store)):
        when = _bound(path.name, end=False)  # a sound snapshot's fetched_at is its id's second
        if (lo is not None and when < lo) or (hi is not None and when > hi):
            continue
        try:
            chosen.append(checked(path))
        except DamagedSnapshot as err:
            warnings.warn(f"snapshot {path.name} is damaged ({err.reason}): skipped", stacklevel=2)
    return chosen


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
    ``"derivatives"`` (snapshots without that table contribute no rows).

    Returns one row per model per snapshot, sorted by ``fetched_at`` then the id's suffix
    (rows of a snapshot in their stored order), index ``0..n-1``, with the dtypes of
    :mod:`openbrief.schema` (``base_models``/``tags`` as lists of str or None, as in
    ``Snapshot.models``). No snapshot in range: an empty frame with the same columns.
    Unknown table or column: ``ValueError``.
    """
    spec = _table_columns(table)
    wanted = _projection(spec, columns)
    for attempt in (1, 2):
        snaps = select_snapshots(store, start, end, table)
        files = [str(s.path / f"{table}.parquet") for s in snaps if (s.path / f"{table}.parquet").is_file()]
        if not files:
            return _empty(spec, wanted)
        try:
            dataset = pads.dataset(files, format="parquet", schema=arrow_schema(table))
            arrow = dataset.to_table(columns=wanted)
            break
        except FileNotFoundError:
            if attempt == 2:  # a snapshot was pruned while we read, twice in a row
                raise
    return _to_frame(arrow, spec, wanted, [s.id for s in snaps])


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
    from openbrief.schema import empty

    return empty(spec)[wanted]


def _to_frame(arrow: pa.Table, spec: dict[str, str], wanted: list[str], order: list[str]) -> pd.DataFrame:
    data = {}
    was_enabled = gc.isenabled()
    gc.disable()  # building ~10^6 small lists: the cyclic GC would run hundreds of times for nothing
    try:
        for name in wanted:
            col = arrow.column(name)
            if spec[name] == "object":  # lists of str (or None), as Snapshot.models has them
                data[name] = pd.Series(_pylists(col), dtype="object")
            else:
                data[name] = col.to_pandas(types_mapper=_mapper).astype(spec[name])
    finally:
        if was_enabled:
            gc.enable()
    df = pd.DataFrame(data)
    # rows of each snapshot together, snapshots in the order of ``order`` (fetch time, id)
    codes = pd.Categorical(df["snapshot_id"], categories=order).codes
    if len(codes) > 1 and (np.diff(codes) < 0).any():
        df = df.iloc[np.argsort(codes, kind="stable")]
    return df.reset_index(drop=True)


def _pylists(col: pa.ChunkedArray) -> list:
    """A ``list<string>`` column as Python lists of str (None where missing), fast.

    Tags repeat across models, so each distinct string is made once (dictionary encoding) and
    the lists are sliced out of one flat Python list.
    """
    out: list = []
    for arr in col.chunks:
        n = len(arr)
        if n == 0:
            continue
        if arr.null_count == n:
            out.extend([None] * n)
            continue
        offsets = arr.offsets.to_numpy()
        lo, hi = int(offsets[0]), int(offsets[-1])
        encoded = pc.dictionary_encode(arr.values.slice(lo, hi - lo))
        words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
        flat = words[encoded.indices.fill_null(len(words) - 1).to_numpy()].tolist()
        bounds = (offsets - lo).tolist()
        valid = arr.is_valid().to_numpy(zero_copy_only=False).tolist()
        out.extend([flat[bounds[i]:bounds[i + 1]] if valid[i] else None for i in range(n)])
    return out


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


# --------------------------------------------------------------------------- helpers


def _single(df: pd.DataFrame, what: str, columns: Iterable[str]) -> pd.DataFrame:
    """A one-snapshot table with one row per model id (first listing kept)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}")
    if "snapshot_id" in df.columns:
        ids = sorted(str(s) for s in df["snapshot_id"].dropna().unique())
        if len(ids) > 1:
            raise ValueError(f"{what} mixes {len(ids)} snapshots ({', '.join(ids[:3])}...): "
                             "pass the table of one snapshot")
    return df.drop_duplicates("id", keep="first").reset_index(drop=True)


def _snapshot_of(df: pd.DataFrame) -> str | None:
    if "snapshot_id" not in df.columns:
        return None
    ids = df["snapshot_id"].dropna()
    return str(ids.iloc[0]) if len(ids) else None


def _count(n: Any, what: str) -> int:
    if isinstance(n, bool):
        raise ValueError(f"{what} must be a whole number >= 0, not {n!r}")
    try:
        value = operator.index(n)
    except TypeError:
        raise ValueError(f"{what} must be a whole number >= 0, not {n!r}") from None
    if value < 0:
        raise ValueError(f"{what} must be a whole number >= 0, not {n!r}")
    return value


def _pair(earlier: pd.DataFrame, later: pd.DataFrame, columns: list[str],
          optional: Sequence[str] = ()) -> pd.DataFrame:
    """Outer join of two snapshots on ``id``: ``<col>_before``, ``<col>_after``, ``side``.

    ``side`` is ``both``, ``earlier`` or ``later``. ``optional`` columns absent from a table
    are read as missing. Download counts are ``Int64``.
    """
    e = _single(earlier, "earlier", ["id", *columns])
    l = _single(later, "later", ["id", *columns])

    def side(df: pd.DataFrame, suffix: str, flag: str) -> pd.DataFrame:
        out = pd.DataFrame({"id": df["id"].astype("string")})
        for c in [*columns, *optional]:
            col = df[c] if c in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")
            out[c + suffix] = valid_counts(col)[0] if c.startswith("downloads") else col
        out[flag] = True
        return out

    m = side(e, "_before", "_e").merge(side(l, "_after", "_l"), on="id", how="outer", sort=False)
    in_e, in_l = m["_e"].notna().to_numpy(bool), m["_l"].notna().to_numpy(bool)
    m["side"] = np.select([in_e & in_l, in_e], ["both", "earlier"], default="later")
    return m.drop(columns=["_e", "_l"])


# --------------------------------------------------------------------------- trends

_MOVER_DTYPES = {"direction": "string", "id": "string", "downloads_before": "Int64",
                 "downloads_after": "Int64", "change": "Int64", "change_share": "Float64"}


def movers(earlier_models: pd.DataFrame, later_models: pd.DataFrame, n: int = 10,
           exclude_anomalies: bool = True) -> pd.DataFrame:
    """The biggest changes in rolling 30-day downloads between two snapshots, up and down.

    Definition: ``change = downloads(later) - downloads(earlier)`` per model listed in both
    snapshots with a count on both sides; ``change_share = change / downloads(earlier)`` (the
    relative change: 0.25 = +25%; ``<NA>`` when the earlier count is 0). Up to ``n`` models
    that gained most (``direction`` ``"up"``, change desc) then up to ``n`` that lost most
    (``"down"``, most negative first); ties broken by id (ascending); unchanged models are in
    neither list. Remember that ``downloads`` is a rolling 30-day window: a "change" compares
    two windows, not two weeks of downloads.

    Left out, and counted in ``result.attrs["coverage"]``: models only in the earlier snapshot
    (``only_in_earlier``) or only in the later one (``only_in_later``), models with a missing
    count on either side (``missing_downloads``), and - with ``exclude_anomalies`` (default) -
    models that :func:`anomalies` flags as ``drop>50%`` or ``negative-cumulative``
    (``anomalies_excluded``): anomalies go to the appendix, never into a chart of news.

    Rows: ``direction``, ``id``, ``downloads_before``, ``downloads_after``, ``change``,
    ``change_share``.
    """
    n = _count(n, "n")
    m = _pair(earlier_models, later_models, ["downloads"])
    both = m[m["side"] == "both"]
    counted = both[both["downloads_before"].notna() & both["downloads_after"].notna()].copy()
    flagged: set[str] = set()
    if exclude_anomalies:
        odd = anomalies(earlier_models, later_models)
        flagged = set(odd.loc[odd["kind"].isin(["drop>50%", "negative-cumulative"]), "id"].astype(str))
    excluded = counted["id"].astype(str).isin(list(flagged)).to_numpy(bool)
    counted = counted[~excluded]
    counted["change"] = (counted["downloads_after"] - counted["downloads_before"]).astype("Int64")
    before = counted["downloads_before"].astype("Float64")
    counted["change_share"] = (counted["change"].astype("Float64") / before.where(before != 0, pd.NA)).astype("Float64")
    up = counted[counted["change"] > 0].sort_values(["change", "id"], ascending=[False, True], kind="stable")
    down = counted[counted["change"] < 0].sort_values(["change", "id"], ascending=[True, True], kind="stable")
    rows = pd.concat([up.head(n).assign(direction="up"), down.head(n).assign(direction="down")],
                     ignore_index=True)
    rows = pd.DataFrame({c: rows[c].astype(t) if c in rows else pd.Series(dtype=t)
                         for c, t in _MOVER_DTYPES.items()}).reset_index(drop=True)
    rows.attrs["coverage"] = {
        "models_compared": len(counted),
        "up": int((counted["change"] > 0).sum()),
        "down": int((counted["change"] < 0).sum()),
        "unchanged": int((counted["change"] == 0).sum()),
        "only_in_earlier": int((m["side"] == "earlier").sum()),
        "only_in_later": int((m["side"] == "later").sum()),
        "missing_downloads": len(both) - len(counted) - int(excluded.sum()),
        "anomalies_excluded": int(excluded.sum()),
        "earlier_snapshot": _snapshot_of(earlier_models),
        "later_snapshot": _snapshot_of(later_models),
        "n": n,
    }
    return rows


def _by_snapshot(history: pd.DataFrame, columns: list[str]):
    """``(snapshot_id, fetched_at, table)`` for each snapshot of a long table, oldest first.

    Each table holds the key columns and ``columns`` only, rows in their original order.
    Rows without a ``snapshot_id`` are ignored.
    """
    keep = list(dict.fromkeys([*KEYS, *columns]))
    h = history[keep]
    sid = h["snapshot_id"].astype("string")
    when = pd.to_datetime(h["fetched_at"], utc=True)
    order = (pd.DataFrame({"s": sid, "t": when}).dropna(subset=["s"])
             .groupby("s", sort=True)["t"].min().sort_values(kind="stable"))
    if order.empty:
        return
    codes = pd.Categorical(sid, categories=list(order.index)).codes
    rows = np.argsort(codes, kind="stable")
    sorted_codes = codes[rows]
    bounds = np.searchsorted(sorted_codes, np.arange(len(order) + 1))
    h = h.iloc[rows]
    for k, (s, t) in enumerate(order.items()):
        yield str(s), t, h.iloc[bounds[k]:bounds[k + 1]]


def _top_ids(models: pd.DataFrame, n: int, what: str) -> list[str]:
    """Ids of the ``n`` most-downloaded models, ranked by :func:`metrics.top_models`."""
    df = _single(models, what, ["id", "downloads"])
    frame = pd.DataFrame({
        "id": df["id"].astype("string"),
        "downloads": df["downloads"].astype("Int64"),
        # top_models wants these for its rows; the ranking uses only downloads and id
        **{c: (df[c] if c in df.columns else pd.Series(pd.NA, index=df.index, dtype="string"))
           for c in ("org", "bloc")},
        "likes": df["likes"] if "likes" in df.columns else pd.Series(pd.NA, index=df.index, dtype="Int64"),
        "created_at": df["created_at"] if "created_at" in df.columns
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[us, UTC]"),
    })
    return [str(i) for i in metrics.top_models(frame, n=n).rows["id"]]


def new_to_top(earlier: pd.DataFrame, later: pd.DataFrame, n: int = 15) -> list[str]:
    """Ids in the later snapshot's top ``n`` by 30-day downloads that were not in the earlier one's.

    Both top lists are ranked as :func:`openbrief.metrics.top_models` ranks (downloads desc,
    ties by id, models without a count left out). The result is in the later ranking's order
    and holds both climbers and models absent from the earlier snapshot; an empty list when
    nothing entered.
    """
    n = _count(n, "n")
    before = set(_top_ids(earlier, n, "earlier"))
    return [i for i in _top_ids(later, n, "later") if i not in before]


_SHARE_DTYPES = {"fetched_at": "datetime64[us, UTC]", "snapshot_id": "string", "group": "string",
                 "downloads_30d": "Int64", "share": "Float64", "models": "Int64",
                 "models_missing_downloads": "Int64"}


def share_over_time(history_attributed: pd.DataFrame, by: str = "bloc") -> pd.DataFrame:
    """Download share by ``by`` in each snapshot of a history: :func:`metrics.download_share` per snapshot.

    ``history_attributed``: a long table of many snapshots (e.g. :func:`load_history` passed
    through ``openbrief.registry.attribute``) with ``snapshot_id``, ``fetched_at``, ``id``,
    ``downloads`` and the column ``by``. The share is of the rolling 30-day downloads within
    each snapshot. A group absent from a snapshot has no row for it (not a zero).

    Rows (``fetched_at`` ascending, then as ``download_share`` orders them): ``fetched_at``,
    ``snapshot_id``, ``group``, ``downloads_30d``, ``share``, ``models``,
    ``models_missing_downloads``. ``attrs["coverage"]`` maps each snapshot id to
    ``download_share``'s coverage; ``attrs["definition"]`` is its definition.
    """
    if not isinstance(history_attributed, pd.DataFrame):
        raise TypeError(f"history must be a pandas DataFrame, not {type(history_attributed).__name__}")
    missing = [c for c in (*KEYS, "id", "downloads", by) if c not in history_attributed.columns]
    if missing:
        raise ValueError(f"history lacks column(s) {missing}"
                         + ("; attribution columns come from openbrief.registry.attribute"
                            if by in missing else ""))
    parts, coverage, definition = [], {}, None
    for sid, t, part in _by_snapshot(history_attributed, ["id", "downloads", by]):
        result = metrics.download_share(part, by=by)
        coverage[sid], definition = result.coverage, result.definition
        parts.append(result.rows.assign(fetched_at=t, snapshot_id=sid))
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out = pd.DataFrame({c: (rows[c] if c in rows else pd.Series(dtype="object")).astype(t)
                        for c, t in _SHARE_DTYPES.items()})
    out.attrs["coverage"] = coverage
    out.attrs["definition"] = definition
    out.attrs["by"] = by
    return out


def period_summary(earlier: pd.DataFrame, later: pd.DataFrame, by: str | None = "bloc") -> metrics.MetricResult:
    """Downloads in the period between two snapshots: :func:`openbrief.metrics.period_downloads`.

    The difference of ``downloads_all_time`` per model (``by=None``) or summed per group;
    missing stays missing, negative differences are anomalies (status ``negative``, never
    counted), models new since the earlier snapshot are ``new``. See that function.
    """
    return metrics.period_downloads(earlier, later, by=by)


# --------------------------------------------------------------------------- anomalies

_ANOMALY_DTYPES = {"id": "string", "kind": "string", "detail": "string", "before": "Int64",
                   "after": "Int64", "measure": "string", "earlier_snapshot": "string",
                   "later_snapshot": "string"}
VANISHED_DETAIL = "absent from the later snapshot (deleted, renamed or gated)"


def anomalies(earlier_models: pd.DataFrame, later_models: pd.DataFrame,
              later_queries: Iterable[str] | None = None) -> pd.DataFrame:
    """Data anomalies between two snapshots' model tables: for a brief's appendix, never a chart.

    Kinds (a model can have several):

    - ``drop>50%``: the rolling 30-day ``downloads`` fell by more than half,
      ``after < before / 2`` (a fall of exactly half is not an anomaly); ``before``/``after``
      are 30-day downloads;
    - ``negative-cumulative``: ``downloads_all_time`` decreased (cumulative counts cannot);
      ``before``/``after`` are all-time downloads;
    - ``vanished``: listed in the earlier snapshot, absent from the later one (deleted,
      renamed or gated); ``before`` is its 30-day downloads, ``after`` missing. When both
      tables have a ``query`` column, only models whose query ran again in the later
      snapshot count (a publisher dropped from tracking is not a vanished model); the others
      are counted in ``attrs["coverage"]["not_queried"]``. The queries that ran are
      ``later_queries`` when given (e.g. ``{f"author={o}" for o in
      snap.meta["tracked_orgs"]}``), else those of the later table's rows - which misses a
      publisher that deleted every model, so pass them when the snapshot is at hand;
    - ``invalid-count``: a count of the later snapshot that no metric sums (e.g. negative
      downloads: :func:`openbrief.metrics.invalid_counts`); ``measure`` is its column. Invalid
      counts are missing for the other kinds.

    Missing values never make an anomaly: ``<NA>`` on either side is not a drop. Meant for
    complete listings (the ``models`` table), not for top-L listings such as ``derivatives``,
    from which models fall out without vanishing. A model listed twice counts once.

    Rows (by kind as in :data:`ANOMALY_KINDS`, then ``before`` desc, then id): ``id``,
    ``kind``, ``detail``, ``before``, ``after``, ``measure`` (``downloads_30d`` or
    ``downloads_all_time``), ``earlier_snapshot``, ``later_snapshot``.
    """
    with_query = "query" in earlier_models.columns and (
        later_queries is not None or "query" in later_models.columns)
    m = _pair(earlier_models, later_models, ["downloads"],
              optional=["downloads_all_time"] + (["query"] if with_query else []))
    e_id, l_id = _snapshot_of(earlier_models), _snapshot_of(later_models)
    both = m[m["side"] == "both"]
    found = []

    b, a = both["downloads_before"], both["downloads_after"]
    drop = (b.notna() & a.notna() & (b > 0) & (a * 2 < b)).fillna(False).astype(bool)
    for row in both[drop].itertuples(index=False):
        before, after = int(row.downloads_before), int(row.downloads_after)
        found.append((row.id, "drop>50%",
                      f"30-day downloads fell {100 * (before - after) / before:.0f}% ({before:,} to {after:,})",
                      before, after, "downloads_30d"))

    b, a = both["downloads_all_time_before"], both["downloads_all_time_after"]
    neg = (b.notna() & a.notna() & (a < b)).fillna(False).astype(bool)
    for row in both[neg].itertuples(index=False):
        before, after = int(row.downloads_all_time_before), int(row.downloads_all_time_after)
        found.append((row.id, "negative-cumulative",
                      f"all-time downloads decreased by {before - after:,} ({before:,} to {after:,}); "
                      "not counted as downloads in the period",
                      before, after, "downloads_all_time"))

    found += [(r.id, "invalid-count", f"{r.column} is {r.value}: not a count, left out of every sum", None, None,
               r.column) for r in metrics.invalid_counts(later_models).itertuples(index=False)]
    gone = m[m["side"] == "earlier"]
    not_queried = 0
    if with_query:
        ran = (set(map(str, later_queries)) if later_queries is not None
               else set(later_models["query"].dropna().astype(str)))
        asked = gone["query_before"].isna() | gone["query_before"].astype("string").isin(ran).fillna(False)
        not_queried = int((~asked.astype(bool)).sum())
        gone = gone[asked.astype(bool).to_numpy()]
    for row in gone.itertuples(index=False):
        before = None if pd.isna(row.downloads_before) else int(row.downloads_before)
        found.append((row.id, "vanished", VANISHED_DETAIL, before, None, "downloads_30d"))

    rows = pd.DataFrame(found, columns=["id", "kind", "detail", "before", "after", "measure"])
    rows["earlier_snapshot"], rows["later_snapshot"] = e_id, l_id
    rows["_k"] = rows["kind"].map({k: i for i, k in enumerate(ANOMALY_KINDS)})
    rows["before"] = rows["before"].astype("Int64")
    rows = rows.sort_values(["_k", "before", "id"], ascending=[True, False, True],
                            na_position="last", kind="stable")
    out = pd.DataFrame({c: rows[c].astype(t) for c, t in _ANOMALY_DTYPES.items()}).reset_index(drop=True)
    out.attrs["coverage"] = {
        "models_earlier": int((m["side"] != "later").sum()),
        "models_later": int((m["side"] != "earlier").sum()),
        "models_in_both": len(both),
        **{k: int((out["kind"] == k).sum()) for k in ANOMALY_KINDS},
        "not_queried": not_queried,
        "earlier_snapshot": e_id,
        "later_snapshot": l_id,
    }
    return out


def history_anomalies(history: pd.DataFrame) -> pd.DataFrame:
    """:func:`anomalies` over each pair of consecutive snapshots of a long history table.

    Snapshots are ordered by ``fetched_at``; rows as :func:`anomalies`, pair after pair
    (``earlier_snapshot``/``later_snapshot`` say which). Fewer than two snapshots: no rows.
    """
    missing = [c for c in (*KEYS, "id", "downloads") if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column(s) {missing}")
    cols = ["id", "downloads"] + [c for c in ("downloads_all_time", "query") if c in history.columns]
    tables = [part for _, _, part in _by_snapshot(history, cols)]
    parts = [anomalies(a, b) for a, b in zip(tables[:-1], tables[1:])]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _ANOMALY_DTYPES.items()})
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- retention


class PruneArgumentError(UsageError, ValueError):
    """A bad retention argument: a ``ValueError`` for callers, exit code 2 for the CLI."""


@dataclass(frozen=True)
class PrunePlan:
    """Which snapshots a retention rule keeps and removes, and why.

    ``keep``/``remove``: snapshot ids, oldest first. ``reasons``: a sentence for every id of
    both. ``removed``: the ids actually removed (empty for a plan or a dry run).
    ``sizes``: bytes of each snapshot folder. ``warnings``: e.g. an unreadable manifest.
    """

    keep: list[str]
    remove: list[str]
    reasons: dict[str, str]
    removed: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = True

    def summary(self) -> str:
        """What was (or, for a dry run, would be) removed and kept, one line each."""
        verb = "would remove" if self.dry_run else "removed"
        gone = self.remove if self.dry_run else self.removed
        freed = sum(self.sizes.get(i, 0) for i in gone)
        lines = [f"{verb} {len(gone)} snapshot(s) ({freed / 2**20:.1f} MiB), kept {len(self.keep)}"]
        lines += [f"{verb} {i}: {self.reasons.get(i, '')}" for i in gone]
        lines += [f"kept {i}: {self.reasons.get(i, '')}" for i in self.keep]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def referenced_snapshots(briefs_dir: str | os.PathLike | None) -> tuple[dict[str, list[str]], list[str]]:
    """Snapshot ids that the briefs under ``briefs_dir`` refer to, and warnings.

    Reads every ``manifest.json`` below ``briefs_dir`` (at any depth, ``_failed/`` excepted):
    ``snapshot.id``, every snapshot id among the ``parameters`` values, and every id of a
    top-level ``snapshots`` list (plain ids or objects with an ``id``), for briefs that record
    all the snapshots they read. A manifest that cannot be read protects every snapshot id
    written in its folder's name (``<name>-<snapshot-id>-<built>``), with a warning.
    Returns ``({snapshot_id: [manifest paths relative to briefs_dir]}, warnings)``.
    """
    refs: dict[str, list[str]] = {}
    notes: list[str] = []
    if briefs_dir is None:
        return refs, notes
    root = Path(briefs_dir)
    if not root.is_dir():
        return refs, notes
    for path in sorted(root.rglob("manifest.json")):
        rel = path.relative_to(root)
        if "_failed" in rel.parts[:-1]:
            continue
        try:
            ids = _manifest_ids(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, AttributeError) as err:
            ids = set(_ID_IN_TEXT.findall(path.parent.name))
            notes.append(f"{rel} could not be read ({type(err).__name__}); kept the snapshot(s) its folder "
                         f"names: {', '.join(sorted(ids)) or 'none'}")
        for i in ids:
            refs.setdefault(i, []).append(str(rel))
    return refs, notes


def _manifest_ids(manifest: dict) -> set[str]:
    ids: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and ID_PATTERN.fullmatch(value):
            ids.add(value)
        elif isinstance(value, dict):
            if "id" in value:
                add(value["id"])
        elif isinstance(value, (list, tuple)):
            for v in value:
                add(v)

    snap = manifest.get("snapshot")
    add(snap["id"] if isinstance(snap, dict) and "id" in snap else snap)
    for value in (manifest.get("parameters") or {}).values():
        add(value)
    add(manifest.get("snapshots") or [])
    return ids


def prune_plan(store: str | os.PathLike, briefs_dir: str | os.PathLike | None, keep_weekly: int,
               keep_daily: int, now: Any = None) -> PrunePlan:
    """Which snapshots of ``store`` a retention rule keeps; nothing is removed.

    The rule (as restic's ``--keep-daily``/``--keep-weekly``), on UTC fetch times:

    - **daily**: the newest snapshot of each of the last ``keep_daily`` UTC days that have
      snapshots;
    - **weekly**: the newest snapshot of each of the last ``keep_weekly`` ISO weeks (Monday to
      Sunday) that have snapshots;
    - **always**: the newest snapshot overall, and every snapshot that a brief under
      ``briefs_dir`` refers to (see :func:`referenced_snapshots`; ``_failed/`` is ignored);
    - snapshots fetched after ``now`` (default: the current time) are kept and not counted;
    - every other complete snapshot is removed. Folders that are not complete snapshots
      (``.tmp-*``, ``.partial``, ...) are never touched. ``briefs_dir=None``: no brief
      protects anything (the CLI always passes the briefs folder).

    Days and weeks are counted among those that *have* snapshots, from the newest back, so a
    paused schedule never makes the rule remove everything. A snapshot kept for several
    reasons lists them all. Negative or non-integer ``keep_weekly``/``keep_daily``:
    ``ValueError``.
    """
    keep_weekly = _count_arg(keep_weekly, "--keep-weekly")
    keep_daily = _count_arg(keep_daily, "--keep-daily")
    limit = _utc(now, "now") if now is not None else pd.Timestamp.now(tz="UTC")
    snaps = list_snapshots(Path(store))  # complete snapshots only, oldest first
    refs, notes = referenced_snapshots(briefs_dir)
    times = {s.id: _snapshot_time(s) for s in snaps}
    reasons: dict[str, list[str]] = {s.id: [] for s in snaps}

    newest_first = sorted(snaps, key=lambda s: order_key(s.id), reverse=True)
    counted = [s for s in newest_first if times[s.id] <= limit]
    for s in newest_first:
        if times[s.id] > limit:
            reasons[s.id].append(f"fetched after {limit.strftime('%Y-%m-%dT%H:%M:%SZ')} (the plan's 'now')")
    if counted:
        reasons[counted[0].id].append("newest snapshot")
    days: list[Any] = []
    weeks: list[Any] = []
    for s in counted:
        t = times[s.id]
        day = t.date()
        if day not in days and len(days) < keep_daily:
            days.append(day)
            reasons[s.id].append(f"newest of UTC day {day.isoformat()} (daily {len(days)} of {keep_daily})")
        iso = t.isocalendar()
        week = (iso[0], iso[1])
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.append(week)
            reasons[s.id].append(f"newest of ISO week {week[0]}-W{week[1]:02d} (weekly {len(weeks)} of {keep_weekly})")
    for sid, where in refs.items():
        if sid in reasons:
            shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
            reasons[sid].append(f"used by brief(s) {shown}")

    keep = [s.id for s in snaps if reasons[s.id]]
    remove = [s.id for s in snaps if not reasons[s.id]]
    rule = (f"not the newest of one of the last {keep_daily} UTC day(s) or {keep_weekly} ISO week(s) "
            "with snapshots, and no brief refers to it")
    final = {sid: "; ".join(r) if r else rule for sid, r in reasons.items()}
    sizes = {s.id: _folder_size(s.path) for s in snaps}
    return PrunePlan(keep=keep, remove=remove, reasons=final, sizes=sizes, warnings=notes, dry_run=True)


def prune(store: str | os.PathLike, briefs_dir: str | os.PathLike | None, keep_weekly: int, keep_daily: int,
          dry_run: bool = False, *, now: Any = None, lock_timeout: float = 60) -> PrunePlan:
    """Remove the snapshots that :func:`prune_plan` does not keep; return the plan, with ``removed``.

    Holds the briefs folder's lock (so no brief is being built on a snapshot meanwhile) and
    then the store's lock (no fetch writes meanwhile), and plans under them. Each snapshot is
    removed atomically: its folder is renamed to ``<store>/.trash-<id>`` (readers see it
    whole or not at all) and then deleted. Leftover ``.trash-*`` folders of an interrupted
    prune are deleted first. ``dry_run``: plan only, remove nothing, take no lock.
    Raises ``LockedError`` when a lock stays busy ``lock_timeout`` seconds, ``WriteError``
    when a removal fails (the ids removed until then are in its message).
    """
    if dry_run:
        return prune_plan(store, briefs_dir, keep_weekly, keep_daily, now=now)
    _count_arg(keep_weekly, "--keep-weekly")
    _count_arg(keep_daily, "--keep-daily")
    store = Path(store)
    if not store.is_dir():
        return prune_plan(store, briefs_dir, keep_weekly, keep_daily, now=now)
    briefs_lock = None
    if briefs_dir is not None and Path(briefs_dir).is_dir():
        from filelock import FileLock

        briefs_lock = acquire(FileLock(str(Path(briefs_dir) / ".lock"), timeout=lock_timeout),
                              f"briefs folder {briefs_dir}")
    try:
        with acquire(store_lock(store, lock_timeout), f"store {store}"):
            for old in store.glob(f"{TRASH_PREFIX}*"):
                shutil.rmtree(old, ignore_errors=True)
            plan = prune_plan(store, briefs_dir, keep_weekly, keep_daily, now=now)
            removed: list[str] = []
            for sid in plan.remove:
                trash = store / f"{TRASH_PREFIX}{sid}"
                try:
                    os.rename(store / sid, trash)
                except OSError as err:
                    raise WriteError(
                        f"could not remove snapshot {sid} from {store}: {err}; removed before it: "
                        f"{', '.join(removed) or 'none'}; the others are intact") from err
                removed.append(sid)
                shutil.rmtree(trash, ignore_errors=True)
            _fsync_dir(store)
    finally:
        if briefs_lock is not None:
            briefs_lock.release()
    return PrunePlan(keep=plan.keep, remove=plan.remove, reasons=plan.reasons, removed=removed,
                     sizes=plan.sizes, warnings=plan.warnings, dry_run=False)


def _count_arg(n: Any, what: str) -> int:
    try:
        return _count(n, what)
    except ValueError as err:
        raise PruneArgumentError(str(err)) from None


def _folder_size(path: Path) -> int:
    try:
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    except OSError:
        return 0


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
