"""Trends between snapshots: downloads in a period, movers, new entries, share over time, anomalies.

Nothing here reads the store: the tables come from :mod:`openbrief.store` (one snapshot, or
many read as one table by ``load_history``).
"""
from __future__ import annotations

import operator
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from openbrief.store.schema import valid_counts
from openbrief.metrics.base import MetricResult, UNATTRIBUTED, _groups, _int, _iso, _one_snapshot, _ratio, _require, _shares, _sort_desc, _typed, _utc_column
from openbrief.store.history import ANOMALY_KINDS, KEYS
from openbrief.metrics.adoption import _DEF_DOWNLOAD_SHARE, download_share, top_models
from openbrief.metrics.base import invalid_counts


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
    return [str(i) for i in top_models(frame, n=n).rows["id"]]


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
    # one grouped pass over every snapshot, the same figures as download_share per snapshot
    h = history_attributed
    frame = pd.DataFrame({"sid": h["snapshot_id"].astype("string").array,
                          "t": pd.to_datetime(h["fetched_at"], utc=True).array,
                          "id": h["id"].astype("string").array}).dropna(subset=["sid"])
    if frame.empty:
        out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in _SHARE_DTYPES.items()})
        out.attrs.update(coverage={}, definition=None, by=by)
        return out
    kept = frame.index.to_numpy()
    frame = frame.reset_index(drop=True)
    downloads, invalid = valid_counts(h["downloads"].iloc[kept].reset_index(drop=True))
    frame["group"] = _groups(h.iloc[kept].reset_index(drop=True), by).to_numpy()
    frame["downloads"], frame["invalid"] = downloads, invalid.to_numpy(dtype=bool)
    order = frame.groupby("sid", sort=True)["t"].min().sort_values(kind="stable")
    dup = frame.duplicated(["sid", "id"], keep="first").to_numpy(dtype=bool)  # as _one_snapshot drops them
    dups = pd.Series(dup).groupby(frame["sid"].to_numpy()).sum()
    frame = frame[~dup]
    frame["counted"] = frame["downloads"].notna().astype("int64")
    frame["missing"] = (frame["downloads"].isna() & ~frame["invalid"]).astype("int64")
    frame["unattributed"] = (frame["group"] == UNATTRIBUTED).astype("int64")
    frame["unattributed_downloads"] = frame["downloads"].where(frame["unattributed"] == 1)
    grouped = frame.groupby(["sid", "group"], sort=True)
    rows = pd.DataFrame({"downloads_30d": grouped["downloads"].sum(min_count=1), "models": grouped["counted"].sum(),
                         "models_missing_downloads": grouped["missing"].sum()}).reset_index()
    per = frame.groupby("sid", sort=True)
    snaps = pd.DataFrame({"n": per.size(), "k": per["counted"].sum(), "bad": per["invalid"].sum(),
                          "total": per["downloads"].sum(min_count=1), "u": per["unattributed"].sum(),
                          "u_downloads": per["unattributed_downloads"].sum(min_count=1),
                          "groups": rows.groupby("sid").size()}).reindex(order.index)
    total = rows["sid"].map(snaps["total"]).astype("Float64")
    rows["share"] = (rows["downloads_30d"].astype("Float64") / total.where(total != 0)).astype("Float64")
    rows["fetched_at"], rows["snapshot_id"] = rows["sid"].map(order), rows["sid"]
    rows["rank"] = rows["sid"].map(pd.Series(range(len(order)), index=order.index))
    rows = rows.sort_values(["rank", "downloads_30d", "group"], ascending=[True, False, True], na_position="last",
                            kind="stable")
    out = pd.DataFrame({c: rows[c].astype(t) for c, t in _SHARE_DTYPES.items()}).reset_index(drop=True)
    out.attrs["coverage"] = {str(sid): {
        "models": int(r.n), "models_with_downloads": int(r.k), "models_missing_downloads": int(r.n - r.k - r.bad),
        "models_with_invalid_downloads": int(r.bad), "models_with_downloads_share": _ratio(int(r.k), int(r.n)),
        "downloads_30d_total": _int(r.total), "unattributed_models": int(r.u),
        "unattributed_downloads_30d": _int(r.u_downloads), "groups": int(r.groups) if pd.notna(r.groups) else 0,
        "duplicate_ids_dropped": int(dups.get(sid, 0)),
    } for sid, r in snaps.iterrows()}
    out.attrs["definition"] = _DEF_DOWNLOAD_SHARE.format(by=by) if len(order) else None
    out.attrs["by"] = by
    return out


def period_summary(earlier: pd.DataFrame, later: pd.DataFrame, by: str | None = "bloc") -> MetricResult:
    """Downloads in the period between two snapshots: :func:`openbrief.metrics.period_downloads`.

    The difference of ``downloads_all_time`` per model (``by=None``) or summed per group;
    missing stays missing, negative differences are anomalies (status ``negative``, never
    counted), models new since the earlier snapshot are ``new``. See that function.
    """
    return period_downloads(earlier, later, by=by)


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
               r.column) for r in invalid_counts(later_models).itertuples(index=False)]
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
