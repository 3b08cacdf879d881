"""What every metric shares: :class:`MetricResult`, argument checks, shares, invalid counts, JSON.

Every metric is a pure function of DataFrames (see the package docstring); nothing here
fetches or writes.
"""
from __future__ import annotations

import ctypes
import functools
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, repeat
from typing import Any, Iterable

import numpy as np
import pandas as pd

from openbrief.store.schema import RELATIONS, valid_counts


UNATTRIBUTED = "unattributed"

#: Columns added by ``openbrief.registry.attribute``.
ATTRIBUTION_COLUMNS = (
    "org", "country", "bloc", "org_type", "fully_open", "is_intermediary",
    "base_id", "base_org", "base_country", "base_bloc",
)
# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class MetricResult:
    """One metric's answer: rows, coverage, a one-line definition and the parameters used.

    ``name`` is the CLI name of the metric (e.g. ``"download-share"``).
    """

    name: str
    rows: pd.DataFrame
    coverage: dict
    definition: str
    params: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hint = ""
        if any(c in ATTRIBUTION_COLUMNS for c in missing):
            hint = "; attribution columns come from openbrief.registry.attribute(df, registry)"
        raise ValueError(f"{what} lacks column(s) {missing}{hint}")


def _one_snapshot(df: pd.DataFrame, what: str) -> tuple[pd.DataFrame, int]:
    """The table with one row per model id, and how many duplicate rows were dropped."""
    if "snapshot_id" in df.columns:
        snapshots = df["snapshot_id"].dropna()
        if len(snapshots) and snapshots.min() != snapshots.max():  # a pass, not a hash of every row
            ids = sorted(str(s) for s in snapshots.unique())
            raise ValueError(
                f"{what} mixes {len(ids)} snapshots ({', '.join(ids[:3])}...): "
                "pass the table of one snapshot"
            )
    duplicated = duplicated_ids(df["id"])
    out = df[~duplicated] if duplicated.any() else df  # no copy of a table without duplicates
    return out.reset_index(drop=True), int(duplicated.sum())


#: From this many rows on, :func:`duplicated_ids` hashes with DuckDB (pandas hashes 1M ids in ~0.8 s).
HASHED_ROWS = 100_000


@functools.cache
def _duckdb():
    """The in-memory DuckDB database that :func:`duplicated_ids` hashes in (imported on first use:
    ~0.1 s, paid only by whole-Hub tables); each call works in a cursor of its own."""
    import duckdb  # noqa: PLC0415

    return duckdb.connect(config={"threads": 1})


def duplicated_ids(ids: pd.Series) -> np.ndarray:
    """Which rows repeat the id of an earlier row (``Series.duplicated(keep="first")``, as a bool array).

    A long column is hashed by DuckDB (64-bit, in C); equal ids have equal hashes, so only the rows
    whose hash is shared can be duplicates, and those alone are compared by value: the answer is
    exact, whatever the hash collides on.
    """
    if len(ids) < HASHED_ROWS:
        return ids.duplicated(keep="first").to_numpy(dtype=bool)
    import pyarrow as pa  # noqa: PLC0415

    with _duckdb().cursor() as con:  # a cursor of one in-memory database: ~0.03 s less than a new one
        con.register("ids", pa.table({"id": pa.array(ids.astype("string"))}))
        hashes = con.execute("SELECT hash(id) AS h FROM ids").fetchnumpy()["h"]
    ordered = np.sort(hashes)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]  # hashes held by two rows or more (few)
    shared = np.flatnonzero(np.isin(hashes, repeated)) if len(repeated) else np.zeros(0, dtype="int64")
    out = np.zeros(len(ids), dtype=bool)
    out[shared] = ids.iloc[shared].duplicated(keep="first").to_numpy(dtype=bool)
    return out


def _groups(df: pd.DataFrame, by: str) -> pd.Series:
    """Group labels from column ``by``; missing labels become ``"unattributed"``."""
    return df[by].astype("string").fillna(UNATTRIBUTED).rename("group")


def _group_codes(df: pd.DataFrame, by: str) -> tuple[np.ndarray, list[str]]:
    """:func:`_groups` as (a code per row, the labels): a missing label and the label
    ``"unattributed"`` are one group; a label may hold no row (the unattributed one)."""
    codes, uniques = pd.factorize(df[by].astype("string"))
    labels = [*(str(u) for u in uniques), UNATTRIBUTED]
    merged, names = pd.factorize(pd.Series(labels, dtype=object))  # "unattributed" written out joins the missing
    return merged[np.where(codes < 0, len(uniques), codes)], [str(x) for x in names]


def _utc(value: Any, what: str) -> pd.Timestamp:
    """A UTC timestamp from a str/date/datetime/Timestamp; naive values are read as UTC."""
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"{what} must be a date or timestamp, not {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _window(start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo, hi = _utc(start, "start"), _utc(end, "end")
    if hi <= lo:
        raise ValueError(f"empty window: end ({hi.isoformat()}) must be after start ({lo.isoformat()})")
    return lo, hi


def _utc_column(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True, errors="coerce")


def _int(x: Any) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def _ratio(num: Any, den: Any) -> float | None:
    if num is None or den is None or pd.isna(num) or pd.isna(den) or den == 0:
        return None
    return float(num) / float(den)


def _shares(values: pd.Series, total: Any) -> pd.Series:
    """``values / total`` as Float64, all ``<NA>`` when the total is missing or zero."""
    values = values.astype("Float64")
    if total is None or pd.isna(total) or total == 0:
        return pd.Series(pd.NA, index=values.index, dtype="Float64")
    return values / float(total)


def _typed(rows: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``rows`` with exactly the columns of ``dtypes``, in order and cast; index reset."""
    out = pd.DataFrame(index=rows.index)
    for name, dtype in dtypes.items():
        col = rows[name] if name in rows.columns else pd.Series(pd.NA, index=rows.index)
        out[name] = col.astype(dtype) if dtype != "object" else col.astype("object")
    return out.reset_index(drop=True)


def _sort_desc(rows: pd.DataFrame, value: str, key: str) -> pd.DataFrame:
    """Sort by ``value`` descending (missing last), then by ``key`` ascending."""
    return rows.sort_values([value, key], ascending=[False, True], na_position="last", kind="stable")


def _iso(ts: Any) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.isoformat().replace("+00:00", "Z")


def _as_list(value: Any) -> list[str]:
    """A ``base_models`` cell as a list of ids (None/NA -> [], str -> [str])."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if pd.isna(value):
        return []
    raise TypeError(f"base_models cell must be a list of ids or None, not {type(value).__name__}")


def _distinct_cells(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(a code per cell, the distinct cells): cells that are one object share a code.

    A snapshot read from the store holds each distinct list once, every row with that list
    pointing to it (``store.snapshot.read_parquet``); a function of a cell computed on the
    distinct cells and spread by the codes then touches each list once. Cells that are equal but
    distinct objects get codes of their own (the answer is the same, only slower).
    """
    cells = np.ascontiguousarray(values.to_numpy(dtype=object))
    codes, objects = pd.factorize(_addresses(cells))
    first = np.empty(len(objects), dtype="int64")
    first[codes[::-1]] = np.arange(len(cells) - 1, -1, -1)  # the first row holding each object
    return codes, pd.Series(cells[first], dtype=object, name=values.name)


def _addresses(cells: np.ndarray) -> np.ndarray:
    """The object each cell of a contiguous object array points to, as an integer (CPython's
    ``id``), read from the array's own buffer of pointers: no Python call per row."""
    if not len(cells):
        return np.zeros(0, dtype=np.uintp)
    pointers = (ctypes.c_size_t * len(cells)).from_address(cells.ctypes.data)
    return np.ctypeslib.as_array(pointers).astype(np.uintp)  # a copy: valid after ``cells`` goes


def _flat_lists(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_as_list` of every cell, flattened: (row position of each id, the ids).

    Lists, tuples and arrays are flattened by C-level iterators (no Python loop over rows);
    single ids and other cells go through :func:`_as_list` (which raises the same TypeError).
    """
    cells = values.to_numpy(dtype=object)
    seq = np.fromiter(map(isinstance, cells, repeat((list, tuple, np.ndarray))), dtype=bool, count=len(cells))
    rows = np.flatnonzero(seq)
    lengths = np.fromiter(map(len, cells[rows]), dtype="int64", count=len(rows))
    items = np.fromiter(chain.from_iterable(cells[rows]), dtype=object, count=int(lengths.sum()))
    at = np.repeat(rows, lengths)
    odd = np.flatnonzero(~np.fromiter(map(isinstance, items, repeat(str)), dtype=bool, count=len(items)))
    if len(odd):  # ids that are not text: None and NaN dropped, the others as text
        items[odd] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in items[odd]]
        kept = np.fromiter(map(isinstance, items, repeat(str)), dtype=bool, count=len(items))
        at, items = at[kept], items[kept]
    other = np.flatnonzero(~seq & ~pd.isna(cells))
    if len(other):
        lists = [_as_list(v) for v in cells[other]]
        counts = np.fromiter(map(len, lists), dtype="int64", count=len(lists))
        at = np.concatenate([at, np.repeat(other, counts)])
        items = np.concatenate([items, np.array(list(chain.from_iterable(lists)), dtype=object)])
        order = np.argsort(at, kind="stable")
        at, items = at[order], items[order]
    return at, items


# --------------------------------------------------------------------------- invalid counts

#: Count columns of a models table.
#: The Hub's ``childrenModelCount`` columns, by relation and in total.
_CHILD_COLUMNS = tuple(f"children_{r}" for r in RELATIONS) + ("children_total",)
COUNT_COLUMNS = ("downloads", "downloads_all_time", "likes", "params_total", *_CHILD_COLUMNS)


def invalid_counts(models: pd.DataFrame) -> pd.DataFrame:
    """The invalid counts of a models table, which every metric leaves out of its sums.

    Invalid: negative, or not an int64 integer (see ``schema.valid_counts``); missing is not
    invalid. Rows (by id, then column): ``id``, ``column``, ``value`` (as text).
    """
    found = []
    for column in COUNT_COLUMNS:
        if column in models.columns:
            bad = models.loc[valid_counts(models[column])[1].to_numpy(), ["id", column]]
            found += [(i, column, str(v)) for i, v in zip(bad["id"], bad[column])]
    rows = pd.DataFrame(found, columns=["id", "column", "value"]).astype("string")
    return rows.sort_values(["id", "column"], kind="stable").reset_index(drop=True)


def _jsonable(value: Any) -> Any:
    """Plain JSON value: NA/NaN -> None, timestamps -> ISO 8601 with Z, numpy -> Python."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [_jsonable(v) for v in list(value)]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime, np.datetime64)):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value / pd.Timedelta(days=1)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, (bool, int, str)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def to_json(result: MetricResult, snapshot_id: Any, by: str | None = None) -> dict:
    """A JSON-ready dict: ``{"metric", "snapshot", "by", "coverage", "rows"}``.

    ``rows`` holds one object per row of ``result.rows`` (one per group, base, model...), with
    every column: ``<NA>``/NaN -> null, timestamps -> ISO 8601 strings ending in Z, numpy
    scalars -> Python numbers. ``by`` defaults to ``result.params["by"]``.
    """
    if by is None:
        by = result.params.get("by")
    records = result.rows.astype("object").to_dict(orient="records")
    return {
        "metric": result.name,
        "snapshot": _jsonable(snapshot_id),
        "by": by,
        "coverage": _jsonable(result.coverage),
        "rows": [{str(k): _jsonable(v) for k, v in r.items()} for r in records],
    }
