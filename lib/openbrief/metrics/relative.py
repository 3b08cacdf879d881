"""ATOM's Relative Adoption Metric: cumulative downloads against the 10th model of the size class.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from openbrief.store.schema import valid_counts
from openbrief.metrics.base import MetricResult, _require, _typed, _utc_column


#: Size classes of the Relative Adoption Metric: (label, lower bound incl., upper bound excl.)
#: in total parameters.
DEFAULT_SIZE_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("<1B", 0.0, 1e9),
    ("1-9B", 1e9, 10e9),
    ("10-99B", 10e9, 100e9),
    ("100-249B", 100e9, 250e9),
    ("250B+", 250e9, math.inf),
)
# --------------------------------------------------------------------------- 8. relative adoption

_DEF_RAM = (
    "Relative Adoption Metric (ATOM v{version}): a model's cumulative downloads "
    "(downloadsAllTime) at day t after its createdAt divided by {reference} of the cumulative "
    "downloads of the models of its size class (total parameters) at day t after their own "
    "release, that reference curve made monotonic non-decreasing and interpolated across days; "
    "above 1 = tracking like a top-{rank} model of its size."
)
_RAM_ROWS = {"id": "string", "size_class": "string", "day": "Int64", "cumulative": "Int64",
             "reference": "Float64", "ram": "Float64"}


def size_class(params_total: Any, classes: Sequence[tuple[str, float, float]] = DEFAULT_SIZE_CLASSES) -> Any:
    """Label of the size class holding ``params_total`` (classes are [lower, upper)).

    Default classes: "<1B" [0, 1e9), "1-9B" [1e9, 10e9), "10-99B" [10e9, 100e9),
    "100-249B" [100e9, 250e9), "250B+" [250e9, inf). Missing or negative counts give ``pd.NA``.
    """
    if params_total is None or pd.isna(params_total):
        return pd.NA
    value = float(params_total)
    for label, lower, upper in classes:
        if lower <= value < upper:
            return label
    return pd.NA


def _model_table(h: pd.DataFrame, classes) -> pd.DataFrame:
    """One row per model: created_at (first known), params (last known), size class."""
    g = h.sort_values(["id", "fetched_at"], kind="stable").groupby("id", sort=True)
    table = pd.DataFrame({
        "created_at": g["created_at"].first(),
        "params": g["params_total"].last(),
    })
    table["size_class"] = table["params"].map(lambda p: size_class(p, classes)).astype("string")
    return table


def _days_since(when: pd.Series, created: pd.Series) -> pd.Series:
    """Whole days from ``created`` to ``when`` (floor), as int64."""
    if when.empty:
        return pd.Series(dtype="int64", index=when.index)
    elapsed = (when - _utc_column(created)) / pd.Timedelta(days=1)
    return np.floor(elapsed.astype("float64")).astype("int64")


def _reference_curve(matrix: np.ndarray, version: int, rank: int) -> np.ndarray:
    """Reference per day (columns) from per-model cumulative curves (rows, NaN = no value)."""
    counts = (~np.isnan(matrix)).sum(axis=0)
    top = -np.sort(-matrix, axis=0)[:rank]  # largest first, NaN last
    if top.shape[0] < rank:
        return np.full(matrix.shape[1], np.nan)
    raw = top[rank - 1] if version == 2 else np.median(top, axis=0)
    return np.where(counts >= rank, raw, np.nan)


def _monotonic_interpolated(days: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Running maximum over the defined days, linearly interpolated across undefined ones."""
    defined = ~np.isnan(raw)
    if not defined.any():
        return raw
    mono = np.maximum.accumulate(raw[defined])
    return np.interp(days, days[defined], mono, left=np.nan, right=np.nan)


def _class_points(points: pd.DataFrame, version: int, rank: int) -> pd.DataFrame:
    """Reference and RAM for every point of one size class."""
    grid = np.sort(points["day"].unique()).astype("float64")
    curves = []
    for _, one in points.groupby("id", sort=True):
        curves.append(np.interp(grid, one["day"].to_numpy(float), one["cumulative"].to_numpy(float),
                                left=np.nan, right=np.nan))
    reference = _monotonic_interpolated(grid, _reference_curve(np.vstack(curves), version, rank))
    out = points.copy()
    out["reference"] = reference[np.searchsorted(grid, points["day"].to_numpy(float))]
    return out


def relative_adoption(
    history: pd.DataFrame,
    size_classes: Sequence[tuple[str, float, float]] = DEFAULT_SIZE_CLASSES,
    version: int = 2,
    rank: int = 10,
) -> MetricResult:
    """ATOM Relative Adoption Metric from a history of snapshots.

    Definition: for model m of size class c, observed at day t after its ``created_at``
    (``t = floor((fetched_at - created_at) / 1 day)``) with cumulative downloads
    ``D_m(t) = downloads_all_time``: ``ram = D_m(t) / R_c(t)``. ``R_c(t)``: take every model of
    class c that has a value at day t after its own release (its snapshots interpolated
    linearly between its first and last observed day, never extrapolated); v2 = the
    ``rank``-th (10th) largest value, v1 = the median of the ``rank`` largest; defined only on
    days with at least ``rank`` models; then made monotonic non-decreasing (running maximum
    over days) and interpolated linearly across days where it is undefined, within its range.
    Size classes by ``params_total`` (see :func:`size_class`). Several snapshots on the same
    day of a model: the last one is used.
    Universe: the models of ``history`` (a long frame of many snapshots: ``snapshot_id``,
    ``fetched_at``, ``id``, ``created_at``, ``downloads_all_time``, ``params_total``).
    Missing values: models without ``created_at`` or parameter count are left out; snapshot rows
    without a valid ``downloads_all_time`` (missing, or invalid such as negative) or fetched
    before ``created_at`` are dropped; where the
    reference is undefined (class with fewer than ``rank`` models, day outside the reference's
    range) ``reference`` and ``ram`` are ``<NA>``; all counted in coverage.

    Rows (size class, id, day): ``id``, ``size_class``, ``day``, ``cumulative``,
    ``reference``, ``ram``.
    """
    if version not in (1, 2):
        raise ValueError(f"version must be 1 (median of the top {rank}) or 2 ({rank}th model), not {version!r}")
    if int(rank) < 1:
        raise ValueError(f"rank must be a positive integer, not {rank!r}")
    rank = int(rank)
    _require(history, ["fetched_at", "id", "created_at", "downloads_all_time", "params_total"], "history")
    cumulative, invalid = valid_counts(history["downloads_all_time"])
    h = pd.DataFrame({
        "id": history["id"].astype("string"),
        "fetched_at": _utc_column(history["fetched_at"]),
        "created_at": _utc_column(history["created_at"]),
        "cumulative": cumulative,
        "params_total": valid_counts(history["params_total"])[0],
    })
    labels = [c[0] for c in size_classes]
    models = _model_table(h, size_classes)
    usable = models[models["created_at"].notna() & models["size_class"].notna()]

    pts = h[h["id"].isin(usable.index) & h["cumulative"].notna() & h["fetched_at"].notna()].copy()
    pts["size_class"] = pts["id"].map(usable["size_class"]).astype("string")
    created = usable["created_at"].reindex(pts["id"].to_numpy())
    pts["day"] = _days_since(pts["fetched_at"], pd.Series(created.to_numpy(), index=pts.index))
    before_release = pts["day"] < 0
    pts = pts[~before_release]
    n_before = int(before_release.sum())
    n_pts = len(pts)
    pts = pts.sort_values(["id", "day", "fetched_at"], kind="stable").drop_duplicates(["id", "day"], keep="last")
    same_day = n_pts - len(pts)

    members = pts.groupby("size_class")["id"].nunique()
    parts = [
        _class_points(part, version, rank)
        for label, part in pts.groupby("size_class", sort=True)
        if members.get(label, 0) >= rank
    ]
    small = pts[pts["size_class"].map(lambda c: members.get(c, 0) < rank).astype(bool)].assign(reference=np.nan)
    out = pd.concat([*parts, small], ignore_index=True) if parts or len(small) else pts.assign(reference=np.nan)
    if len(out):
        out["reference"] = out["reference"].astype("Float64")
        ref = out["reference"]
        out["ram"] = (out["cumulative"].astype("Float64") / ref.where(ref > 0, pd.NA)).astype("Float64")
        out["_cls"] = out["size_class"].map({c: i for i, c in enumerate(labels)})
        out = out.sort_values(["_cls", "id", "day"], kind="stable")
    rows = _typed(out, _RAM_ROWS)

    no_created = models["created_at"].isna()
    no_params = models["params"].isna()
    coverage = {
        "models": len(models),
        "snapshots": int(history["snapshot_id"].nunique()) if "snapshot_id" in history.columns else None,
        "models_missing_created_at": int(no_created.sum()),
        "models_missing_params": int(no_params.sum()),
        "models_outside_size_classes": int((models["params"].notna() & models["size_class"].isna()).sum()),
        "models_without_downloads_all_time": int(len(usable) - pts["id"].nunique()),
        "models_in_rows": int(rows["id"].nunique()),
        "models_with_ram": int(rows.loc[rows["ram"].notna(), "id"].nunique()),
        "history_rows": len(history),
        "rows_missing_downloads_all_time": int(h["cumulative"].isna().sum() - invalid.sum()),
        "rows_with_invalid_downloads_all_time": int(invalid.sum()),
        "rows_before_created_at": n_before,
        "rows_same_day_dropped": same_day,
        "points": len(rows),
        "points_with_ram": int(rows["ram"].notna().sum()),
        "class_models": {c: int(members.get(c, 0)) for c in labels},
        "classes_below_rank": [c for c in labels if members.get(c, 0) < rank],
    }
    definition = _DEF_RAM.format(
        version=version, rank=rank,
        reference=f"the {rank}th largest" if version == 2 else f"the median of the {rank} largest",
    )
    params = {"version": version, "rank": rank, "size_classes": [list(c) for c in size_classes]}
    return MetricResult("relative-adoption", rows, coverage, definition, params)
