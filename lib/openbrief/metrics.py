"""Adoption metrics: pure functions from snapshot tables to :class:`MetricResult`.

Every function takes DataFrames shaped like :mod:`openbrief.schema` tables, already
attributed by ``openbrief.registry.attribute`` (columns ``org``, ``country``, ``bloc``,
``org_type``, ``fully_open``, ``is_intermediary``, ``base_id``, ``base_org``,
``base_country``, ``base_bloc``), and returns a :class:`MetricResult`: the rows, the
coverage (how many models the number rests on and how many were left out, and why), a
one-line definition and the parameters used. Nothing here fetches, writes or mutates its
inputs.

Conventions shared by every metric:

- ``downloads`` is the Hub's rolling 30-day count; ``downloads_all_time`` is cumulative.
- Missing stays missing: a model without the field a metric needs is left out of the sums
  and counted in ``coverage``; a sum over only-missing values is ``<NA>``, never 0.
- Invalid counts (negative, or not an int64 integer: see ``schema.valid_counts``) are never
  summed: they are left out like missing ones and counted apart in ``coverage``
  (``models_with_invalid_downloads``...); :func:`invalid_counts` lists them.
- A group value that is missing is reported as ``"unattributed"``, a group of its own.
- A single-snapshot table must hold one ``snapshot_id``; a model id listed twice (e.g.
  under two queries) is counted once (``coverage["duplicate_ids_dropped"]``).
- Bad arguments (unknown column, empty window, unknown base id) raise ``ValueError``.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from openbrief.schema import RELATIONS, valid_counts

__all__ = [
    "DEFAULT_SIZE_CLASSES", "LICENSE_TIERS", "METRICS", "MetricResult", "TIER_LABELS",
    "UNATTRIBUTED", "concentration", "derivatives", "download_share", "foundation_share",
    "invalid_counts", "license_tier", "new_releases", "openness", "period_downloads", "relative_adoption",
    "size_class", "to_json", "top_models",
]

UNATTRIBUTED = "unattributed"

#: Columns added by ``openbrief.registry.attribute``.
ATTRIBUTION_COLUMNS = (
    "org", "country", "bloc", "org_type", "fully_open", "is_intermediary",
    "base_id", "base_org", "base_country", "base_bloc",
)

#: Size classes of the Relative Adoption Metric: (label, lower bound incl., upper bound excl.)
#: in total parameters.
DEFAULT_SIZE_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("<1B", 0.0, 1e9),
    ("1-9B", 1e9, 10e9),
    ("10-99B", 10e9, 100e9),
    ("100-249B", 100e9, 250e9),
    ("250B+", 250e9, math.inf),
)

#: Openness tiers, most open first.
LICENSE_TIERS = ("osi", "open_non_osi", "open_weight_restricted", "unknown")
TIER_LABELS = {
    "osi": "OSI-approved licence",
    "open_non_osi": "open, non-OSI licence (permissive or share-alike, e.g. CC-BY)",
    "open_weight_restricted": "open weights with restrictions (custom or use-restricted licence)",
    "unknown": "no licence stated",
}

# Hub licence identifiers (huggingface.co/docs/hub/repositories-licenses), lower case.
_OSI = frozenset({
    "apache-2.0", "mit", "bsd", "bsd-2-clause", "bsd-3-clause", "isc", "mpl-2.0",
    "agpl-3.0", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0",
    "afl-3.0", "artistic-2.0", "bsl-1.0", "ecl-2.0", "epl-1.0", "epl-2.0",
    "eupl-1.1", "eupl-1.2", "ms-pl", "ncsa", "osl-3.0", "postgresql", "unlicense",
    "zlib", "ofl-1.1", "lppl-1.3c",
})
_OPEN_NON_OSI = frozenset({
    "cc0-1.0", "odc-by", "odbl", "pddl", "cdla-permissive-1.0", "cdla-permissive-2.0",
    "cdla-sharing-1.0", "wtfpl", "bsd-3-clause-clear", "etalab-2.0", "gfdl",
    "openmdw-1.0", "lgpl-lr",
})
_UNKNOWN_LICENSES = frozenset({"", "unknown", "none", "null"})


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
        ids = sorted(str(s) for s in df["snapshot_id"].dropna().unique())
        if len(ids) > 1:
            raise ValueError(
                f"{what} mixes {len(ids)} snapshots ({', '.join(ids[:3])}...): "
                "pass the table of one snapshot"
            )
    out = df.drop_duplicates("id", keep="first").reset_index(drop=True)
    return out, len(df) - len(out)


def _groups(df: pd.DataFrame, by: str) -> pd.Series:
    """Group labels from column ``by``; missing labels become ``"unattributed"``."""
    return df[by].astype("string").fillna(UNATTRIBUTED).rename("group")


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
    frame = pd.DataFrame({"group": _groups(df, by), "downloads": downloads})
    frame["counted"] = frame["downloads"].notna().astype("int64")
    frame["missing"] = (frame["downloads"].isna() & ~invalid).astype("int64")
    grouped = frame.groupby("group", sort=True)
    rows = pd.DataFrame({
        "downloads_30d": grouped["downloads"].sum(min_count=1),
        "models": grouped["counted"].sum(),
        "models_missing_downloads": grouped["missing"].sum(),
    }).rename_axis("group").reset_index()
    total = frame["downloads"].sum(min_count=1)
    rows["share"] = _shares(rows["downloads_30d"], total)
    rows = _typed(_sort_desc(rows, "downloads_30d", "group"), {
        "group": "string", "downloads_30d": "Int64", "share": "Float64",
        "models": "Int64", "models_missing_downloads": "Int64",
    })
    n, k, bad = len(df), int(frame["counted"].sum()), int(invalid.sum())
    unattributed = frame["group"] == UNATTRIBUTED
    coverage = {
        "models": n,
        "models_with_downloads": k,
        "models_missing_downloads": n - k - bad,
        "models_with_invalid_downloads": bad,
        "models_with_downloads_share": _ratio(k, n),
        "downloads_30d_total": _int(total),
        "unattributed_models": int(unattributed.sum()),
        "unattributed_downloads_30d": _int(frame.loc[unattributed, "downloads"].sum(min_count=1)),
        "groups": len(rows),
        "duplicate_ids_dropped": dups,
    }
    return MetricResult("download-share", rows, coverage, _DEF_DOWNLOAD_SHARE.format(by=by), {"by": by})


# --------------------------------------------------------------------------- 2. period downloads

_DEF_PERIOD = (
    "Downloads in the period: downloadsAllTime in the later snapshot minus downloadsAllTime in "
    "the earlier one, per model of the later snapshot; missing on either side stays missing, a "
    "negative difference is an anomaly (status 'negative', never counted as growth), a model "
    "absent from the earlier snapshot is 'new' (missing); group sums add 'ok' rows only."
)


def _span(earlier: pd.DataFrame, later: pd.DataFrame) -> tuple[Any, Any, float | None]:
    """Start of each snapshot (earliest ``fetched_at``) and the days between them."""
    t0 = _utc_column(earlier["fetched_at"]).min() if "fetched_at" in earlier.columns else pd.NaT
    t1 = _utc_column(later["fetched_at"]).min() if "fetched_at" in later.columns else pd.NaT
    if pd.isna(t0) or pd.isna(t1):
        return t0, t1, None
    if t1 < t0:
        raise ValueError(
            f"the 'earlier' snapshot ({_iso(t0)}) was fetched after the 'later' one ({_iso(t1)}): "
            "swap the arguments"
        )
    return t0, t1, (t1 - t0) / pd.Timedelta(days=1)


def _period_status(in_earlier: pd.Series, difference: pd.Series) -> pd.Series:
    new = ~in_earlier.to_numpy(dtype=bool)
    missing = difference.isna().to_numpy(dtype=bool)
    negative = difference.lt(0).fillna(False).to_numpy(dtype=bool)
    status = np.select([new, missing, negative], ["new", "missing", "negative"], default="ok")
    return pd.Series(status, index=difference.index, dtype="string")


def period_downloads(earlier: pd.DataFrame, later: pd.DataFrame, by: str | None = None) -> MetricResult:
    """Downloads between two snapshots, from the difference of ``downloads_all_time``.

    Definition: for each model of ``later``,
    ``downloads_period = downloads_all_time(later) - downloads_all_time(earlier)``.
    Universe: the models of the later snapshot (models only in the earlier one are counted in
    ``coverage["only_in_earlier"]``).
    Status of each model: ``ok`` (both values present, difference >= 0), ``missing`` (either
    value ``<NA>`` or invalid, e.g. negative: ``coverage["models_with_invalid_downloads_all_time"]``),
    ``negative`` (difference < 0: a data anomaly, kept in ``difference`` but
    never in ``downloads_period`` or any sum), ``new`` (absent from the earlier snapshot; the
    value is missing, not the whole cumulative count). ``downloads_period`` is ``<NA>`` unless
    the status is ``ok``.

    Rows with ``by=None`` (one per model, period downloads desc, then id): ``id``,
    ``all_time_earlier``, ``all_time_later``, ``difference``, ``downloads_period``, ``status``.
    Rows with ``by`` (one per group of the later snapshot, desc): ``group``,
    ``downloads_period`` (sum of ``ok`` rows; ``<NA>`` when none), ``share`` (of the ``ok``
    total), ``models``, ``ok``, ``missing``, ``negative``, ``new``.
    ``coverage`` holds the counts per status, ``span_days`` (between the earliest
    ``fetched_at`` of each snapshot) and ``all_time_covered_share`` (the later cumulative
    downloads of ``ok`` models over those of all models with a later value).
    """
    _require(earlier, ["id", "downloads_all_time"], "earlier")
    _require(later, ["id", "downloads_all_time"] + ([by] if by else []), "later")
    e, e_dups = _one_snapshot(earlier, "earlier")
    l, l_dups = _one_snapshot(later, "later")
    t0, t1, span_days = _span(e, l)

    later_counts, later_invalid = valid_counts(l["downloads_all_time"])
    earlier_counts, earlier_invalid = valid_counts(e["downloads_all_time"])
    cur = pd.DataFrame({"id": l["id"].astype("string"), "all_time_later": later_counts})
    if by:
        cur["group"] = _groups(l, by)
    prev = pd.DataFrame({"id": e["id"].astype("string"), "all_time_earlier": earlier_counts})
    m = cur.merge(prev, on="id", how="left")
    in_earlier = m["id"].isin(prev["id"])
    m["difference"] = (m["all_time_later"] - m["all_time_earlier"]).astype("Int64")
    m["status"] = _period_status(in_earlier, m["difference"])
    ok = m["status"] == "ok"
    m["downloads_period"] = m["difference"].where(ok, pd.NA).astype("Int64")

    counts = m["status"].value_counts()
    n_status = {s: int(counts.get(s, 0)) for s in ("ok", "missing", "negative", "new")}
    ok_total = m.loc[ok, "downloads_period"].sum(min_count=1)
    later_known = m["all_time_later"].notna()
    coverage = {
        "models": len(m),
        "models_earlier": len(e),
        **n_status,
        "only_in_earlier": int((~prev["id"].isin(cur["id"])).sum()),
        "models_with_invalid_downloads_all_time": int(later_invalid.sum() + earlier_invalid.sum()),
        "ok_share": _ratio(n_status["ok"], len(m)),
        "downloads_period_total": _int(ok_total),
        "negative_difference_total": _int(m.loc[m["status"] == "negative", "difference"].sum(min_count=1)),
        "all_time_covered_share": _ratio(
            m.loc[ok, "all_time_later"].sum(), m.loc[later_known, "all_time_later"].sum()
        ),
        "earlier_snapshot": _first_snapshot_id(e),
        "later_snapshot": _first_snapshot_id(l),
        "earlier_fetched_at": _iso(t0),
        "later_fetched_at": _iso(t1),
        "span_days": span_days,
        "duplicate_ids_dropped": e_dups + l_dups,
    }
    params = {"by": by, "span_days": span_days}
    if not by:
        rows = _typed(_sort_desc(m, "downloads_period", "id"), {
            "id": "string", "all_time_earlier": "Int64", "all_time_later": "Int64",
            "difference": "Int64", "downloads_period": "Int64", "status": "string",
        })
        return MetricResult("period-downloads", rows, coverage, _DEF_PERIOD, params)

    for s in n_status:
        m[s] = (m["status"] == s).astype("int64")
    grouped = m.groupby("group", sort=True)
    rows = pd.DataFrame({
        "downloads_period": grouped["downloads_period"].sum(min_count=1),
        "models": grouped["id"].count(),
        **{s: grouped[s].sum() for s in n_status},
    }).rename_axis("group").reset_index()
    rows["share"] = _shares(rows["downloads_period"], ok_total)
    rows = _typed(_sort_desc(rows, "downloads_period", "group"), {
        "group": "string", "downloads_period": "Int64", "share": "Float64", "models": "Int64",
        "ok": "Int64", "missing": "Int64", "negative": "Int64", "new": "Int64",
    })
    return MetricResult("period-downloads", rows, coverage, _DEF_PERIOD, params)


def _first_snapshot_id(df: pd.DataFrame) -> str | None:
    if "snapshot_id" not in df.columns:
        return None
    ids = df["snapshot_id"].dropna()
    return str(ids.iloc[0]) if len(ids) else None


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


# --------------------------------------------------------------------------- 4. derivatives

_DEF_DERIVATIVES = (
    "Derivatives of a base model by relation (finetune, adapter, quantized, merge), direct "
    "children only: 'childrenModelCount' rows copy the Hub's own count; 'listed' rows count the "
    "fetched models whose baseModels list names the base{threshold}, with their summed rolling "
    "30-day downloads."
)

_CHILD_COLUMNS = tuple(f"children_{r}" for r in RELATIONS) + ("children_total",)
_DERIVATIVE_ROWS = {
    "base": "string", "source": "string", **{r: "Int64" for r in RELATIONS},
    "total": "Int64", "listed_downloads_30d": "Int64",
}


def _hub_counts(models: pd.DataFrame) -> pd.DataFrame:
    """One 'childrenModelCount' row per model with any ``children_*`` value."""
    counts = pd.DataFrame({r: models[f"children_{r}"].astype("Int64") for r in RELATIONS})
    total = models["children_total"].astype("Int64")
    # total missing but every relation known: the total is their sum (nothing missing added)
    derived = counts.sum(axis=1, min_count=len(RELATIONS)).where(counts.notna().all(axis=1), pd.NA)
    counts["total"] = total.fillna(derived.astype("Int64"))
    counts["base"] = models["id"].astype("string")
    has_any = counts[list(RELATIONS) + ["total"]].notna().any(axis=1)
    out = counts[has_any].drop_duplicates("base", keep="first").copy()
    out["source"] = "childrenModelCount"
    out["listed_downloads_30d"] = pd.NA
    return out


def _listed_links(fetched: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(child, base, relation, downloads) for each base a fetched model declares.

    A base listed twice by the same model counts once; a model naming itself is dropped.
    """
    records, self_refs = [], 0
    for child, bases, relation, downloads in zip(
        fetched["id"], fetched["base_models"], fetched["base_relation"], fetched["downloads"]
    ):
        for base in dict.fromkeys(_as_list(bases)):
            if base == child:
                self_refs += 1
                continue
            rel = None if relation is None or pd.isna(relation) else str(relation).strip().lower()
            records.append((child, base, rel, downloads))
    links = pd.DataFrame(records, columns=["child", "base", "relation", "downloads"])
    links["downloads"] = links["downloads"].astype("Int64")
    return links, self_refs


def _listed_counts(links: pd.DataFrame, bases: list[str]) -> pd.DataFrame:
    rows = []
    for base in bases:
        mine = links[links["base"] == base]
        row = {"base": base, "source": "listed"}
        for r in RELATIONS:
            row[r] = int((mine["relation"] == r).sum())
        row["total"] = len(mine)
        row["listed_downloads_30d"] = (
            0 if mine.empty else mine["downloads"].sum(min_count=1)
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(_DERIVATIVE_ROWS))


def _unknown_bases_error(unknown: list[str], known: set[str]) -> ValueError:
    lower = {k.lower(): k for k in known}
    hints = []
    for u in unknown:
        guess = lower.get(u.lower()) or next(iter(difflib.get_close_matches(u, known, n=1)), None)
        if guess:
            hints.append(f"{u!r} -> did you mean {guess!r}?")
    return ValueError(
        f"unknown base model id(s) {unknown}: not a model of this snapshot, not a listed base of "
        "its derivatives table and not declared in any base_models list. Ids are case-sensitive "
        "as on the Hub; valid ones are models['id'], derivatives['listed_base'] and the ids in "
        "the base_models lists." + (" " + " ".join(hints) if hints else "")
    )


def derivatives(
    models: pd.DataFrame,
    derivatives: pd.DataFrame | None = None,
    bases: Sequence[str] | None = None,
    min_downloads: int | None = None,
) -> MetricResult:
    """Direct derivatives of base models, by relation, from two sources kept apart.

    Definition (direct children only; a grandchild is not counted for its grandparent):

    - ``source="childrenModelCount"``: the Hub's own ``childrenModelCount`` of the base, from
      the ``children_*`` columns (fetched with ``model_info`` for the top models only);
      ``total`` is ``children_total``, or the sum of the four relations when only they are
      known; ``listed_downloads_30d`` is ``<NA>``.
    - ``source="listed"``: among the fetched models (``models`` plus ``derivatives``, each id
      once), those whose ``base_models`` list names the base, counted by their
      ``base_relation``; ``listed_downloads_30d`` is the sum of their rolling 30-day
      downloads (``<NA>`` when every such child lacks a count, 0 when there is no child).
      A model declaring several bases counts for each; an invalid count (e.g. negative) is
      missing (``coverage["models_with_invalid_downloads"]``). A child with a missing or unrecognised
      relation counts in ``total`` only (``coverage["listed_relation_unknown"]``), so
      ``total`` may exceed the sum of the relations.
    - ``min_downloads``: when set, listed children count only with ``downloads >
      min_downloads`` (ATOM counts derivatives with more than 5 downloads); children with
      missing downloads are then left out and counted in coverage.

    ``bases`` restricts the rows to those ids (case-sensitive, as on the Hub); each then gets
    both rows, the childrenModelCount row ``<NA>`` where the Hub count was not fetched. An id
    unknown to the snapshot raises ``ValueError``. Without ``bases``: a childrenModelCount row
    for every model with a Hub count, a listed row for every declared base.

    Rows (base, then source): ``base``, ``finetune``, ``adapter``, ``quantized``, ``merge``,
    ``total``, ``source``, ``listed_downloads_30d``.
    """
    base_cols = ["id", "downloads", "base_models", "base_relation"]
    _require(models, base_cols + list(_CHILD_COLUMNS), "models")
    m, dups = _one_snapshot(models, "models")
    frames = [m[base_cols]]
    d = None
    if derivatives is not None:
        _require(derivatives, base_cols, "derivatives")
        d, d_dups = _one_snapshot(derivatives, "derivatives")
        dups += d_dups
        frames.append(d[base_cols])
    fetched = pd.concat(frames, ignore_index=True).drop_duplicates("id", keep="first")
    counts, invalid = valid_counts(fetched["downloads"])
    fetched = fetched.assign(downloads=counts)
    links, self_refs = _listed_links(fetched)

    below = pd.Series(False, index=links.index)
    if min_downloads is not None:
        below = ~(links["downloads"] > min_downloads).fillna(False).astype(bool)
    n_links_missing_downloads = int(links["downloads"].isna().sum())
    counted_links = links[~below]

    hub_all = _hub_counts(m)
    hub = hub_all
    known = set(m["id"].astype(str)) | set(fetched["id"].astype(str)) | set(links["base"])
    if d is not None and "listed_base" in d.columns:
        known |= set(d["listed_base"].dropna().astype(str))
    if bases is not None:
        if isinstance(bases, str):
            bases = [bases]
        wanted = list(dict.fromkeys(str(b) for b in bases))
        unknown = [b for b in wanted if b not in known]
        if unknown:
            raise _unknown_bases_error(unknown, known)
        hub = hub.set_index("base").reindex(wanted).rename_axis("base").reset_index()
        hub["source"] = "childrenModelCount"
        listed_bases = wanted
    else:
        wanted = None
        listed_bases = sorted(set(links["base"]))
    listed = _listed_counts(counted_links, listed_bases)
    rows = pd.concat([_typed(hub, _DERIVATIVE_ROWS), _typed(listed, _DERIVATIVE_ROWS)], ignore_index=True)
    if wanted is not None:
        rows["_order"] = rows["base"].map({b: i for i, b in enumerate(wanted)})
        rows = rows.sort_values(["_order", "source"], kind="stable").drop(columns="_order")
    else:
        rows = rows.sort_values(["base", "source"], kind="stable")
    rows = _typed(rows, {
        "base": "string", **{r: "Int64" for r in RELATIONS}, "total": "Int64",
        "source": "string", "listed_downloads_30d": "Int64",
    })

    relation_known = counted_links["relation"].isin(RELATIONS)
    declaring = fetched["base_models"].map(lambda v: len(_as_list(v)) > 0)
    coverage = {
        "models": len(m),
        "derivative_rows": 0 if d is None else len(d),
        "fetched_models": len(fetched),
        "fetched_declaring_base": int(declaring.sum()),
        "models_with_invalid_downloads": int(invalid.sum()),
        "bases_with_children_count": len(hub_all),
        "bases_listed": int(links["base"].nunique()),
        "listed_links": len(links),
        "listed_links_counted": len(counted_links),
        "listed_links_below_min_downloads": int(below.sum()),
        "listed_links_missing_downloads": n_links_missing_downloads,
        "listed_relation_unknown": int((~relation_known).sum()),
        "self_references_dropped": self_refs,
        "direct_children_only": True,
        "duplicate_ids_dropped": dups,
    }
    threshold = "" if min_downloads is None else f" with more than {min_downloads} downloads"
    params = {"bases": wanted, "min_downloads": min_downloads}
    return MetricResult("derivatives", rows, coverage, _DEF_DERIVATIVES.format(threshold=threshold), params)


def derivatives_by_base(result: MetricResult) -> MetricResult:
    """One row per base from a ``derivatives`` result: the Hub's count where it was fetched.

    Definition: the relation counts and ``total`` of the ``childrenModelCount`` row when
    its ``total`` is known, else those of the ``listed`` row (``source`` says which);
    ``listed_total`` and ``listed_downloads_30d`` always come from the listed derivatives
    (missing when none was listed). Rows keep the order of ``result`` (by base).
    """
    rows = result.rows
    hub = rows[(rows["source"] == "childrenModelCount") & rows["total"].notna()].set_index("base")
    listed = rows[rows["source"] == "listed"].set_index("base")
    out = []
    for base in dict.fromkeys(rows["base"]):
        chosen = hub.loc[base] if base in hub.index else (listed.loc[base] if base in listed.index else None)
        if chosen is None:
            chosen = rows[rows["base"] == base].iloc[0]
            source = pd.NA
        else:
            source = "childrenModelCount" if base in hub.index else "listed"
        out.append({
            "base": base, **{r: chosen[r] for r in RELATIONS}, "total": chosen["total"], "source": source,
            "listed_total": listed.loc[base, "total"] if base in listed.index else pd.NA,
            "listed_downloads_30d": listed.loc[base, "listed_downloads_30d"] if base in listed.index else pd.NA,
        })
    frame = pd.DataFrame(out, columns=["base", *RELATIONS, "total", "source", "listed_total",
                                       "listed_downloads_30d"])
    frame = _typed(frame, {"base": "string", **{r: "Int64" for r in RELATIONS}, "total": "Int64",
                           "source": "string", "listed_total": "Int64", "listed_downloads_30d": "Int64"})
    definition = (result.definition + " One row per base: the Hub's childrenModelCount where it was fetched, "
                  "else the count of listed derivatives (column source).")
    return MetricResult(result.name, frame, result.coverage, definition, result.params)


# --------------------------------------------------------------------------- 5. foundation share

_DEF_FOUNDATION = (
    "Foundation share by base-model {by}: among models created in [{start}, {end}) (UTC) that "
    "declare a base model, the share whose first declared base model's origin is each group "
    "('unattributed' when the base's owner is not in the registry){among}."
)
_BASE_COLUMNS = {"bloc": "base_bloc", "country": "base_country", "org": "base_org"}


def foundation_share(
    models: pd.DataFrame, start: Any, end: Any, by: str = "bloc", among: str | None = None
) -> MetricResult:
    """Origin of the foundations that new models are built on.

    Definition: among models with ``start <= created_at < end`` that declare a base model
    (``base_id`` not missing), ``share(g) = #models whose base origin is g / #such models``,
    the origin being ``base_<by>`` (``by``: bloc, country or org; a ``base_*`` column name is
    also accepted). Lineage uses the first declared base (``base_id``, set by the registry).
    ``among`` (e.g. ``"bloc"``) splits the universe by the derivative's own origin: shares are
    then within each ``among`` group (e.g. the share of US-made models built on Chinese bases).
    Universe: models of the (single-snapshot) table created in the window.
    Missing values: ``NaT`` ``created_at`` is excluded (coverage); a declared base whose origin
    is missing counts as "unattributed".

    Rows (models desc, then group; first by ``among`` when given): [``among``,] ``group``,
    ``models``, ``share``.
    """
    base_col = _BASE_COLUMNS.get(by, by)
    _require(models, ["id", "created_at", "base_id", base_col] + ([among] if among else []), "models")
    lo, hi = _window(start, end)
    df, dups = _one_snapshot(models, "models")
    created = _utc_column(df["created_at"])
    in_window = ((created >= lo) & (created < hi)).fillna(False).astype(bool)
    base_id = df["base_id"].astype("string")
    declares = (base_id.notna() & (base_id.str.len() > 0)).fillna(False).astype(bool)
    chosen = df[in_window & declares]
    frame = pd.DataFrame({"group": _groups(chosen, base_col)})
    keys = ["group"]
    if among:
        frame.insert(0, "among", _groups(chosen, among))
        keys = ["among", "group"]
    rows = frame.groupby(keys, sort=True).size().rename("models").reset_index()
    denominators = rows.groupby("among")["models"].transform("sum") if among else rows["models"].sum()
    rows["share"] = rows["models"].astype("Float64") / denominators
    sort_cols = (["among"] if among else []) + ["models", "group"]
    rows = rows.sort_values(sort_cols, ascending=[True] * bool(among) + [False, True], kind="stable")
    dtypes = ({"among": "string"} if among else {}) | {"group": "string", "models": "Int64", "share": "Float64"}
    rows = _typed(rows, dtypes)

    n_window, n_declaring = int(in_window.sum()), len(chosen)
    coverage = {
        "models": len(df),
        "models_missing_created_at": int(created.isna().sum()),
        "created_in_window": n_window,
        "in_window_declaring_base": n_declaring,
        "in_window_declaring_base_share": _ratio(n_declaring, n_window),
        "base_unattributed": int((frame["group"] == UNATTRIBUTED).sum()),
        "duplicate_ids_dropped": dups,
    }
    if "is_intermediary" in chosen.columns:
        coverage["declaring_by_intermediaries"] = int(chosen["is_intermediary"].fillna(False).astype(bool).sum())
    params = {"by": by, "start": _iso(lo), "end": _iso(hi), "among": among}
    definition = _DEF_FOUNDATION.format(
        by=by, start=_iso(lo), end=_iso(hi),
        among=f", within each {among} of the model itself" if among else "",
    )
    return MetricResult("foundation-share", rows, coverage, definition, params)


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


# --------------------------------------------------------------------------- 7. openness

_DEF_OPENNESS = (
    "Openness by {by}: licence tier of each model from its Hub licence tag (osi; open_non_osi, "
    "e.g. CC-BY; open_weight_restricted, e.g. llama3, gemma, qwen, openrail, cc-by-nc, other; "
    "unknown = no licence) and the registry's fully-open flag, as model counts and as shares of "
    "the group's rolling 30-day downloads."
)


def license_tier(license: str | None) -> str:
    """Openness tier of a Hub licence identifier.

    - ``"osi"``: OSI-approved licences (apache-2.0, mit, bsd, bsd-2/3-clause, isc, mpl-2.0,
      gpl*, lgpl*, agpl-3.0, epl, eupl, ...).
    - ``"open_non_osi"``: open but not OSI-approved, without use restrictions (cc-by-*,
      cc-by-sa-*, cc0-1.0, odc-by, odbl, cdla-*, wtfpl, bsd-3-clause-clear, gfdl, openmdw-1.0...).
      CC-BY is not an OSI licence, hence its own tier.
    - ``"open_weight_restricted"``: every other stated licence: the model families' own
      (llama2..llama4, gemma, deepseek, qwen, tongyi-qianwen), openrail*, cc-by-nc*, cc-by-nd*,
      research-only licences, "other" and anything unrecognised (conservative: a licence not
      known to be open is treated as restricted).
    - ``"unknown"``: no licence (None, NA, empty) or the Hub value ``"unknown"``.

    Case-insensitive; a ``"license:"`` tag prefix is accepted.
    """
    if license is None or (not isinstance(license, str) and pd.isna(license)):
        return "unknown"
    if not isinstance(license, str):
        raise TypeError(f"license must be a string or None, not {type(license).__name__}")
    name = license.strip().lower().removeprefix("license:").strip()
    if name in _UNKNOWN_LICENSES:
        return "unknown"
    if name in _OSI:
        return "osi"
    if name in _OPEN_NON_OSI:
        return "open_non_osi"
    if name.startswith(("gpl-", "agpl-")) or (name.startswith("lgpl-") and name != "lgpl-lr"):
        return "osi"
    if name.startswith("cc-by") and not any(part in ("nc", "nd") for part in name.split("-")):
        return "open_non_osi"
    return "open_weight_restricted"


def openness(models: pd.DataFrame, by: str = "bloc") -> MetricResult:
    """Licence tiers and fully-open models per group, by count and by 30-day downloads.

    Definition: each model gets ``license_tier(license)``; per group, the number of models in
    each tier and ``<tier>_share`` = rolling 30-day downloads of the group's models in that tier
    over the group's downloads; likewise ``fully_open`` (models the registry marks as fully open:
    weights, data and code) and ``fully_open_share``.
    Universe: every model of the (single-snapshot) table.
    Missing values: a missing licence is the tier "unknown"; models with ``<NA>`` downloads are
    counted in the tier counts but not in the shares (coverage); a missing ``fully_open`` flag is
    not counted as fully open and is reported in ``coverage["fully_open_missing"]``; invalid
    counts (e.g. negative) are left out of the shares like missing ones (coverage). A group
    whose downloads are all missing or zero has ``<NA>`` shares.

    Rows (downloads desc, then group): ``group``, ``models``, one count per tier (``osi``,
    ``open_non_osi``, ``open_weight_restricted``, ``unknown``), ``fully_open``,
    ``downloads_30d``, one ``<tier>_share`` per tier, ``fully_open_share``.
    """
    _require(models, ["id", "license", "downloads", "fully_open", by], "models")
    df, dups = _one_snapshot(models, "models")
    tiers = df["license"].astype("object").map(license_tier)
    fully = df["fully_open"].astype("boolean")
    downloads, invalid = valid_counts(df["downloads"])
    frame = pd.DataFrame({
        "group": _groups(df, by),
        "tier": tiers.astype("string"),
        "downloads": downloads,
        "fully_open": fully.fillna(False).astype(bool),
    })
    known_downloads = frame["downloads"].fillna(0)
    columns: dict[str, pd.Series] = {}
    for t in LICENSE_TIERS:
        frame[t] = (frame["tier"] == t).astype("int64")
        frame[f"{t}_dl"] = known_downloads.where(frame["tier"] == t, 0)
    frame["fully_open_dl"] = known_downloads.where(frame["fully_open"], 0)
    frame["fully_open_n"] = frame["fully_open"].astype("int64")
    grouped = frame.groupby("group", sort=True)
    columns["models"] = grouped.size()
    for t in LICENSE_TIERS:
        columns[t] = grouped[t].sum()
    columns["fully_open"] = grouped["fully_open_n"].sum()
    columns["downloads_30d"] = grouped["downloads"].sum(min_count=1)
    sums = {c: grouped[f"{c}_dl"].sum() for c in (*LICENSE_TIERS, "fully_open")}
    rows = pd.DataFrame(columns).rename_axis("group").reset_index()
    for c, s in sums.items():
        rows[f"{c}_share"] = _group_shares(s.reindex(rows["group"]).reset_index(drop=True), rows["downloads_30d"])
    dtypes = {"group": "string", "models": "Int64", **{t: "Int64" for t in LICENSE_TIERS},
              "fully_open": "Int64", "downloads_30d": "Int64",
              **{f"{c}_share": "Float64" for c in (*LICENSE_TIERS, "fully_open")}}
    rows = _typed(_sort_desc(rows, "downloads_30d", "group"), dtypes)

    total = frame["downloads"].sum(min_count=1)
    coverage = {
        "models": len(df),
        "models_with_license": int((frame["tier"] != "unknown").sum()),
        "models_with_downloads": int(frame["downloads"].notna().sum()),
        "models_missing_downloads": int((frame["downloads"].isna() & ~invalid).sum()),
        "models_with_invalid_downloads": int(invalid.sum()),
        "fully_open_missing": int(fully.isna().sum()),
        "tier_models": {t: int(frame[t].sum()) for t in LICENSE_TIERS},
        "tier_downloads_share": {t: _ratio(frame[f"{t}_dl"].sum(), total) for t in LICENSE_TIERS},
        "fully_open_models": int(frame["fully_open"].sum()),
        "fully_open_downloads_share": _ratio(frame["fully_open_dl"].sum(), total),
        "duplicate_ids_dropped": dups,
    }
    return MetricResult("openness", rows, coverage, _DEF_OPENNESS.format(by=by), {"by": by})


def _group_shares(part: pd.Series, whole: pd.Series) -> pd.Series:
    whole = whole.astype("Float64")
    return (part.astype("Float64") / whole.where(whole > 0, pd.NA)).astype("Float64")


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
    rows = _sort_desc(counted, "downloads_30d", "id").head(int(n))
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


# --------------------------------------------------------------------------- invalid counts

#: Count columns of a models table.
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


# --------------------------------------------------------------------------- registry & JSON

#: CLI name -> metric function. Arguments differ: ``period-downloads`` takes two snapshots'
#: tables, ``relative-adoption`` a history of snapshots, the others one models table.
METRICS: dict[str, Callable[..., MetricResult]] = {
    "download-share": download_share,
    "period-downloads": period_downloads,
    "new-releases": new_releases,
    "derivatives": derivatives,
    "foundation-share": foundation_share,
    "concentration": concentration,
    "openness": openness,
    "relative-adoption": relative_adoption,
    "top-models": top_models,
}


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
