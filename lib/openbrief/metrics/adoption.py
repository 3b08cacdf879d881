"""Adoption: download share, new releases, concentration (HHI, top-k) and top models.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from openbrief.store.schema import valid_counts
from openbrief.metrics.base import MetricResult, UNATTRIBUTED, _group_codes, _groups, _int, _iso, _one_snapshot, _ratio, _require, _shares, _sort_desc, _typed, _utc_column, _window


# --------------------------------------------------------------------------- 1. download share

_DEF_DOWNLOAD_SHARE = (
    "Download share by {by}: sum of the rolling 30-day Hub downloads of the models in each "
    "group over the sum for all models with a download count; models without a count are left "
    "out and counted in coverage; 'unattributed' is a group of its own."
)


def download_share(models: pd.DataFrame, by: str = "bloc") -> MetricResult:
    """Share of rolling 30-day downloads per group (``by``: bloc, country, org, ...).

    Definition: ``share(g) = sum(downloads of models in g) / sum(downloads of all models)``,
    with ``downloads`` the Hub's rolling 30-day count.
    Universe: every model of the (single-snapshot) table.
    Missing values: models with ``<NA>`` downloads are excluded from both sums and counted in
    ``coverage["models_missing_downloads"]`` (and per group in ``models_missing_downloads``);
    invalid counts (e.g. negative) are excluded too and counted in
    ``coverage["models_with_invalid_downloads"]``; a group whose models all lack a count has
    ``downloads_30d`` and ``share`` ``<NA>``. When
    the total is zero every share is ``<NA>``. Missing group labels count as "unattributed".

    Rows (downloads desc, then group): ``group``, ``downloads_30d``, ``share`` (0-1),
    ``models`` (models counted), ``models_missing_downloads``.
    """
    _require(models, ["id", "downloads", by], "models")
    df, dups = _one_snapshot(models, "models")
    downloads, invalid = valid_counts(df["downloads"])
    codes, labels = _group_codes(df, by)  # integer codes: no string per row grouped or compared
    counted = downloads.notna().to_numpy(dtype=bool)
    values = downloads.fillna(0).to_numpy(dtype="int64")
    per_group = np.bincount(codes, minlength=len(labels))
    with_count = np.bincount(codes[counted], minlength=len(labels))
    sums = np.zeros(len(labels), dtype="int64")
    np.add.at(sums, codes[counted], values[counted])
    present = per_group > 0
    rows = pd.DataFrame({
        "group": pd.array(np.array(labels, dtype=object)[present], dtype="string"),
        "downloads_30d": pd.arrays.IntegerArray(sums[present], with_count[present] == 0),
        "models": with_count[present],
        "models_missing_downloads": np.bincount(codes[~counted & ~invalid.to_numpy(dtype=bool)],
                                                minlength=len(labels))[present],
    })
    k, bad = int(counted.sum()), int(invalid.sum())
    total = int(values[counted].sum()) if k else pd.NA
    rows["share"] = _shares(rows["downloads_30d"], total)
    rows = _typed(_sort_desc(rows, "downloads_30d", "group"), {
        "group": "string", "downloads_30d": "Int64", "share": "Float64",
        "models": "Int64", "models_missing_downloads": "Int64",
    })
    n = len(df)
    unattributed = codes == labels.index(UNATTRIBUTED)
    coverage = {
        "models": n,
        "models_with_downloads": k,
        "models_missing_downloads": n - k - bad,
        "models_with_invalid_downloads": bad,
        "models_with_downloads_share": _ratio(k, n),
        "downloads_30d_total": _int(total),
        "unattributed_models": int(unattributed.sum()),
        "unattributed_downloads_30d": int(values[unattributed & counted].sum()) if (unattributed & counted).any() else None,
        "groups": len(rows),
        "duplicate_ids_dropped": dups,
    }
    return MetricResult("download-share", rows, coverage, _DEF_DOWNLOAD_SHARE.format(by=by), {"by": by})


# --------------------------------------------------------------------------- 3. new releases

_DEF_NEW_RELEASES = (
    "New releases by {by}: models whose createdAt falls in [{start}, {end}) (UTC); models "
    "without createdAt are left out and counted in coverage."
)


def new_releases(models: pd.DataFrame, start: Any, end: Any, by: str = "bloc") -> MetricResult:
    """Models created in the half-open window ``[start, end)``, counted per group.

    Definition: ``releases(g) = #models of g with start <= created_at < end``.
    ``start``/``end`` accept dates, strings or timestamps; naive values are read as UTC.
    Universe: every model of the (single-snapshot) table; every group present in it gets a row,
    with 0 releases when it has none in the window.
    Missing values: models with ``NaT`` ``created_at`` are excluded and counted in
    ``coverage["models_missing_created_at"]``.

    Rows (releases desc, then group): ``group``, ``releases``, ``ids`` (sorted list of the
    model ids released in the window).
    """
    _require(models, ["id", "created_at", by], "models")
    lo, hi = _window(start, end)
    df, dups = _one_snapshot(models, "models")
    created = _utc_column(df["created_at"])
    in_window = ((created >= lo) & (created < hi)).fillna(False).astype(bool)
    frame = pd.DataFrame({"group": _groups(df, by), "id": df["id"].astype("string"), "hit": in_window})
    groups = sorted(frame["group"].unique())
    hits = frame[frame["hit"]]
    ids = {g: sorted(hits.loc[hits["group"] == g, "id"].tolist()) for g in groups}
    rows = pd.DataFrame({
        "group": groups,
        "releases": [len(ids[g]) for g in groups],
        "ids": [ids[g] for g in groups],
    })
    rows = _typed(_sort_desc(rows, "releases", "group"), {"group": "string", "releases": "Int64", "ids": "object"})
    n_missing = int(created.isna().sum())
    coverage = {
        "models": len(df),
        "models_with_created_at": len(df) - n_missing,
        "models_missing_created_at": n_missing,
        "releases": int(in_window.sum()),
        "groups": len(rows),
        "duplicate_ids_dropped": dups,
    }
    params = {"by": by, "start": _iso(lo), "end": _iso(hi)}
    definition = _DEF_NEW_RELEASES.format(by=by, start=_iso(lo), end=_iso(hi))
    return MetricResult("new-releases", rows, coverage, definition, params)


# --------------------------------------------------------------------------- 6. concentration

_DEF_CONCENTRATION = (
    "Concentration of rolling 30-day downloads across {by} groups: HHI = sum of squared "
    "percentage shares (0-10,000) and top-k share = summed share of the k largest groups; "
    "{unattributed}; models without a download count are left out."
)


def concentration(
    models: pd.DataFrame, by: str = "org", k: Sequence[int] = (1, 5, 10), include_unattributed: bool = False
) -> MetricResult:
    """HHI and top-k shares of rolling 30-day downloads across groups (default: organisations).

    Definition: with ``s_g = downloads(g) / sum of downloads over the groups considered``,
    ``hhi = sum((100 * s_g) ** 2)`` (0-10,000; 10,000 = one group) and
    ``top{k}_share = sum of the k largest s_g`` (0-1; equals 1 when there are k groups or
    fewer: ``coverage["groups_fewer_than_k"]`` lists those k).
    Universe: models of the (single-snapshot) table with a download count. "unattributed" is not
    one organisation, so it is excluded by default (``include_unattributed=True`` keeps it as one
    group); its models and downloads are reported in coverage.
    Missing values: ``<NA>`` and invalid (e.g. negative) downloads are excluded (coverage). When
    no download is left, every value is ``<NA>``.

    Rows: one row: ``hhi``, ``top{k}_share`` for each k, ``groups``, ``downloads_30d``.
    """
    ks = tuple(int(x) for x in ([k] if isinstance(k, int) else k))
    if not ks or any(x < 1 for x in ks):
        raise ValueError(f"k must be positive integers, not {k!r}")
    _require(models, ["id", "downloads", by], "models")
    df, dups = _one_snapshot(models, "models")
    downloads, invalid = valid_counts(df["downloads"])
    frame = pd.DataFrame({"group": _groups(df, by), "downloads": downloads})
    counted = frame[frame["downloads"].notna()]
    unattributed = counted["group"] == UNATTRIBUTED
    considered = counted if include_unattributed else counted[~unattributed]
    per_group = considered.groupby("group", sort=True)["downloads"].sum()
    total = per_group.sum()
    ordered = per_group.astype("float64").sort_values(ascending=False, kind="stable")
    row: dict[str, Any] = {}
    if total > 0:
        shares = ordered / float(total)
        row["hhi"] = float(((100.0 * shares) ** 2).sum())
        for x in ks:
            row[f"top{x}_share"] = float(shares.iloc[:x].sum())
    else:
        row["hhi"] = pd.NA
        for x in ks:
            row[f"top{x}_share"] = pd.NA
    row["groups"] = len(per_group)
    row["downloads_30d"] = int(total)
    dtypes = {"hhi": "Float64", **{f"top{x}_share": "Float64" for x in ks}, "groups": "Int64", "downloads_30d": "Int64"}
    rows = _typed(pd.DataFrame([row]), dtypes)

    all_total = counted["downloads"].sum()
    ua_downloads = counted.loc[unattributed, "downloads"].sum()
    coverage = {
        "models": len(df),
        "models_with_downloads": len(counted),
        "models_missing_downloads": len(df) - len(counted) - int(invalid.sum()),
        "models_with_invalid_downloads": int(invalid.sum()),
        "unattributed_included": include_unattributed,
        "unattributed_models": int((frame["group"] == UNATTRIBUTED).sum()),
        "unattributed_downloads_30d": int(ua_downloads),
        "unattributed_downloads_share": _ratio(ua_downloads, all_total),
        "groups": len(per_group),
        "groups_fewer_than_k": [x for x in ks if len(per_group) < x],
        "duplicate_ids_dropped": dups,
    }
    definition = _DEF_CONCENTRATION.format(
        by=by,
        unattributed="'unattributed' counts as one group" if include_unattributed
        else "'unattributed' is excluded (not one organisation) and reported in coverage",
    )
    params = {"by": by, "k": list(ks), "include_unattributed": include_unattributed}
    return MetricResult("concentration", rows, coverage, definition, params)


# --------------------------------------------------------------------------- 9. top models

_DEF_TOP = (
    "The {n} models with the most rolling 30-day downloads, ties broken by id; models without a "
    "download count are left out."
)


def top_models(models: pd.DataFrame, n: int = 15) -> MetricResult:
    """The ``n`` most-downloaded models (rolling 30-day), ties broken by id (ascending).

    Universe: models of the (single-snapshot) table with a download count.
    Missing values: models with ``<NA>`` or invalid (e.g. negative) downloads are left out and
    counted in coverage; missing ``org``/``bloc`` show as "unattributed", missing
    ``likes``/``created_at`` stay missing.

    Rows: ``id``, ``org``, ``bloc``, ``downloads_30d``, ``likes``, ``created_at``.
    """
    if int(n) < 0:
        raise ValueError(f"n must be >= 0, not {n!r}")
    _require(models, ["id", "org", "bloc", "downloads", "likes", "created_at"], "models")
    df, dups = _one_snapshot(models, "models")
    downloads, invalid = valid_counts(df["downloads"])
    frame = pd.DataFrame({
        "id": df["id"].astype("string"),
        "org": df["org"].astype("string").fillna(UNATTRIBUTED),
        "bloc": df["bloc"].astype("string").fillna(UNATTRIBUTED),
        "downloads_30d": downloads,
        "likes": valid_counts(df["likes"])[0],
        "created_at": _utc_column(df["created_at"]),
    })
    counted = frame[frame["downloads_30d"].notna()]
    # only the rows that can be among the n largest (ties with the n-th included) are sorted
    floor = counted["downloads_30d"].nlargest(int(n)).min() if int(n) and len(counted) else None
    candidates = counted if floor is None or pd.isna(floor) else counted[counted["downloads_30d"] >= floor]
    rows = _sort_desc(candidates, "downloads_30d", "id").head(int(n))
    rows = _typed(rows, {"id": "string", "org": "string", "bloc": "string", "downloads_30d": "Int64",
                         "likes": "Int64", "created_at": "datetime64[us, UTC]"})
    coverage = {
        "models": len(df),
        "models_with_downloads": len(counted),
        "models_missing_downloads": len(df) - len(counted) - int(invalid.sum()),
        "models_with_invalid_downloads": int(invalid.sum()),
        "n": int(n),
        "duplicate_ids_dropped": dups,
    }
    return MetricResult("top-models", rows, coverage, _DEF_TOP.format(n=int(n)), {"n": int(n)})


# --------------------------------------------------------------------------- publisher vs lineage

_DEF_ORIGIN_SHARES = (
    "Download share by {by}, two ways side by side: by publisher (the namespace's owner; "
    "'individual' and 'intermediary' accounts are their own groups, never an origin) and by "
    "lineage (a model that declares a base counts toward its root's {by}: the first ancestor an "
    "organisation owns; other models toward their publisher); sums of rolling 30-day downloads "
    "over all models with a count; 'unattributed' (unknown namespace or unresolved chain) is shown."
)
_NOT_ORIGIN_TYPES = ("individual", "intermediary")


def origin_shares(models: pd.DataFrame, by: str = "bloc") -> MetricResult:
    """Publisher and lineage (root) download shares of one universe, side by side.

    Needs ``org_type``, ``<by>`` (``registry.attribute``) and ``root_<by>``, ``lineage_status``
    (``registry.lineage_roots``). Rows (publisher downloads desc, then group): ``group``,
    ``publisher_downloads_30d``, ``publisher_share``, ``lineage_downloads_30d``,
    ``lineage_share`` (a group absent on one side has 0 there). Coverage: the unattributed
    share on each side, and what :func:`download_share` reports on missing counts.
    """
    if by not in ("bloc", "country", "org"):
        raise ValueError(f"unknown by {by!r}: expected bloc, country or org")
    _require(models, ["id", "downloads", "org_type", by, f"root_{by}", "lineage_status"], "models")
    org_type = models["org_type"].astype("string")
    publisher = models[by].astype("string").mask(org_type.isin(_NOT_ORIGIN_TYPES).fillna(False), org_type)
    has_base = (models["lineage_status"].astype("string") != "no-base").fillna(False)
    lineage = models[f"root_{by}"].astype("string").where(has_base, publisher)
    table = models[["id", "downloads"] + (["snapshot_id"] if "snapshot_id" in models.columns else [])].assign(
        publisher=publisher, lineage=lineage)
    sides = {side: download_share(table, by=side) for side in ("publisher", "lineage")}
    merged = None
    for side, result in sides.items():
        part = result.rows[["group", "downloads_30d", "share"]].rename(
            columns={"downloads_30d": f"{side}_downloads_30d", "share": f"{side}_share"})
        merged = part if merged is None else merged.merge(part, on="group", how="outer")
    total = sides["publisher"].coverage["downloads_30d_total"]
    for side in sides:
        merged[f"{side}_downloads_30d"] = merged[f"{side}_downloads_30d"].astype("Int64").fillna(0 if total else pd.NA)
        merged[f"{side}_share"] = merged[f"{side}_share"].astype("Float64").fillna(0.0 if total else pd.NA)
    rows = _typed(_sort_desc(merged, "publisher_downloads_30d", "group"), {
        "group": "string", "publisher_downloads_30d": "Int64", "publisher_share": "Float64",
        "lineage_downloads_30d": "Int64", "lineage_share": "Float64"})
    unattributed = rows.set_index("group").reindex([UNATTRIBUTED]).iloc[0].fillna(0.0 if total else pd.NA)
    coverage = {
        **{k: v for k, v in sides["publisher"].coverage.items() if not k.startswith("unattributed") and k != "groups"},
        **{f"{side}_unattributed_share": None if pd.isna(unattributed[f"{side}_share"])
           else float(unattributed[f"{side}_share"]) for side in sides},
        "models_declaring_base": int(has_base.sum()),
        "groups": len(rows),
    }
    return MetricResult("origin-shares", rows, coverage, _DEF_ORIGIN_SHARES.format(by=by), {"by": by})
