"""The shape of a snapshot's tables: one place that every stage agrees on.

A snapshot's ``models.parquet`` holds one row per model id listed by any query of the
fetch plan: a tracked organisation's listing (``author=ORG``), the whole-Hub top by downloads
(``hub-top``), the models created in the window (``new``), or a missing ancestor asked by id
(``ancestor``); ``listed_by`` says which (the tracked rows are those with an ``author=``
entry). ``derivatives.parquet`` (same columns plus ``listed_base``) holds
the most-downloaded derivatives listed for the top base models. Missing Hub
fields stay missing (``<NA>``/``NaT``/``None``), never zero.

Counts (downloads, likes, parameters, children) are integers from 0 to the int64
maximum: :func:`count_problem` says what is wrong with any other value, and
:func:`valid_counts` leaves such values out of a column.
"""
from __future__ import annotations

import math
import numbers

import pandas as pd

#: Fields asked of the Hub with ``expand=`` on ``list_models``.
LIST_EXPAND = [
    "author", "createdAt", "downloads", "downloadsAllTime", "likes",
    "pipeline_tag", "library_name", "tags", "baseModels", "safetensors",
    "lastModified", "gated",
]

#: Relations of a derivative to its base model, as the Hub names them.
RELATIONS = ("finetune", "adapter", "quantized", "merge")

#: column -> pandas dtype of the models table.
MODEL_COLUMNS: dict[str, str] = {
    "snapshot_id": "string",
    "fetched_at": "datetime64[us, UTC]",
    "query": "string",                # the first query that listed it: "author=deepseek-ai" (tracked),
                                      # else "hub-top", "new" or "ancestor"
    "listed_by": "object",            # list[str]: every query that listed it, e.g. ["author=Qwen", "hub-top"];
                                      # None in snapshots written before the census
    "id": "string",                   # "org/name", as the Hub spells it
    "namespace": "string",            # the part before "/"
    "author": "string",
    "created_at": "datetime64[us, UTC]",
    "last_modified": "datetime64[us, UTC]",
    "downloads": "Int64",             # rolling 30-day count
    "downloads_all_time": "Int64",    # cumulative; only with expand
    "likes": "Int64",
    "pipeline_tag": "string",
    "library_name": "string",
    "license": "string",              # from the "license:..." tag
    "gated": "string",                # "False", "auto", "manual" or missing
    "params_total": "Int64",          # safetensors.total
    "base_models": "object",          # list[str] of declared base ids, or None
    "base_relation": "string",        # finetune|adapter|quantized|merge
    "tags": "object",                 # list[str], or None when not returned
    # childrenModelCount, from model_info, for the top models only
    "children_finetune": "Int64",
    "children_adapter": "Int64",
    "children_quantized": "Int64",
    "children_merge": "Int64",
    "children_total": "Int64",
}

DERIVATIVE_COLUMNS: dict[str, str] = {**MODEL_COLUMNS, "listed_base": "string"}

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def as_int64(value) -> int | None:
    """``value`` as an integer an int64 column holds; None when missing or not one (text, a
    fraction, a boolean, NaN, beyond int64). A whole float such as ``12.0`` is an integer."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    number = int(value)
    return number if INT64_MIN <= number <= INT64_MAX else None


def count_problem(value) -> str | None:
    """What is wrong with ``value`` as a count: ``negative-count``, ``count-beyond-int64`` or
    ``non-integer-count``; None for a valid count or a missing one (``None``)."""
    if value is None:
        return None
    if as_int64(value) is not None:
        return "negative-count" if value < 0 else None
    whole = not isinstance(value, bool) and (
        isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer()))
    return "count-beyond-int64" if whole else "non-integer-count"


def valid_counts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``values`` as Int64 with every invalid count made missing, and the mask of those invalid
    values (missing ones are not invalid). What metrics sum: a negative count never is."""
    counts = _int64(values)
    invalid = (values.notna().to_numpy(dtype=bool) & counts.isna().to_numpy(dtype=bool)) | \
        counts.lt(0).fillna(False).to_numpy(dtype=bool)
    invalid = pd.Series(invalid, index=values.index)
    return counts.mask(invalid), invalid


def _int64(col: pd.Series) -> pd.Series:
    """``col`` as Int64; values an int64 cannot hold (text, fractions, booleans, beyond int64) become missing."""
    if pd.api.types.is_signed_integer_dtype(col.dtype):
        return col.astype("Int64")
    return pd.Series(pd.array([as_int64(v) for v in col], dtype="Int64"), index=col.index)


def to_arrow(columns: dict[str, str] = MODEL_COLUMNS):
    """The Arrow schema for ``columns``, used to write every snapshot file alike.

    Strings are ``large_string``, integers ``int64``, times ``timestamp[us, UTC]`` and
    the list columns ``list<string>``, even where a whole file has none (Arrow would
    otherwise write a ``null`` type, and the files would not read as one dataset).
    """
    import pyarrow as pa

    fields = []
    for name, dtype in columns.items():
        if dtype.startswith("datetime64"):
            typ = pa.timestamp("us", tz="UTC")
        elif dtype == "Int64":
            typ = pa.int64()
        elif dtype == "string":
            typ = pa.large_string()
        elif dtype == "object":
            typ = pa.list_(pa.string())
        else:
            raise ValueError(f"no Arrow type for column {name!r} of dtype {dtype!r}")
        fields.append(pa.field(name, typ))
    return pa.schema(fields)


def empty(columns: dict[str, str] = MODEL_COLUMNS) -> pd.DataFrame:
    """An empty frame with the given columns and dtypes."""
    return conform(pd.DataFrame(columns=list(columns)), columns)


def conform(df: pd.DataFrame, columns: dict[str, str] = MODEL_COLUMNS) -> pd.DataFrame:
    """Return ``df`` with exactly ``columns``, in order, cast to their dtypes.

    Absent columns are added as missing values; a value an integer column cannot hold
    becomes missing (the fetch has recorded it as a data problem before it gets here).
    """
    out = pd.DataFrame(index=df.index)
    for name, dtype in columns.items():
        col = df[name] if name in df.columns else pd.Series([None] * len(df), index=df.index, dtype="object")
        if dtype.startswith("datetime64"):
            col = (col.dt.tz_convert("UTC") if col.dtype == dtype  # the same data: to_datetime would copy it
                   else pd.to_datetime(col, utc=True, errors="coerce").astype(dtype))
        elif dtype == "object":
            col = col.astype("object")
        elif dtype == "Int64":
            col = _int64(col)
        else:
            col = col.astype(dtype)
        out[name] = col
    return out.reset_index(drop=True)
