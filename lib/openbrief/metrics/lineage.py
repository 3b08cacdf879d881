"""Lineage: derivatives of a base model by relation, and foundation share (who builds on whom).
"""
from __future__ import annotations

import difflib
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from openbrief.i18n import translator
from openbrief.registry.attribution import _arrow_lists, _text
from openbrief.store.schema import RELATIONS, valid_counts
from openbrief.metrics.base import _CHILD_COLUMNS, MetricResult, UNATTRIBUTED, _flat_lists, _groups, _iso, _one_snapshot, _ratio, _require, _typed, _utc_column, _window


# --------------------------------------------------------------------------- 4. derivatives

_DEF_DERIVATIVES = (
    "Derivatives of a base model by relation (finetune, adapter, quantized, merge), direct "
    "children only: 'childrenModelCount' rows copy the Hub's own count; 'listed' rows count the "
    "fetched models whose baseModels list names the base{threshold}, with their summed rolling "
    "30-day downloads."
)

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


def _flat(values: pd.Series) -> tuple[np.ndarray, pa.LargeStringArray]:
    """:func:`_flat_lists` of a column, the ids as Arrow text: by Arrow for a column of lists of
    text (:func:`_arrow_lists`), else cell by cell."""
    converted = _arrow_lists(values)
    if converted is None:
        at, ids = _flat_lists(values)
        return at, pa.array(ids, type=pa.large_string())
    rows, lists = converted
    ids = lists.flatten()
    valid = ids.is_valid().to_numpy(zero_copy_only=False)
    return rows[pc.list_parent_indices(lists).to_numpy()][valid], ids.filter(pa.array(valid))


def _listed_links(fetched: pd.DataFrame) -> tuple[pd.DataFrame, pa.LargeStringArray, np.ndarray, int]:
    """The links from the fetched models to the bases they declare, in row order: (``code`` of the
    base among the distinct bases, ``relation`` as a position in RELATIONS (-1: missing or other),
    ``downloads``), the distinct bases, the row of every declared id, and the self-references.

    A base listed twice by the same model counts once; a model naming itself is dropped.
    Vectorised: the lists are flattened once (:func:`_flat`), the bases encoded once, relations
    normalised once per distinct value.
    """
    at, bases = _flat(fetched["base_models"])
    encoded = pc.dictionary_encode(bases)
    code = encoded.indices.to_numpy(zero_copy_only=False).astype("int64")
    first = ~pd.Index(at * max(len(encoded.dictionary), 1) + code).duplicated(keep="first")
    own = pc.fill_null(pc.equal(bases, _text(fetched["id"]).take(pa.array(at))), False).to_numpy(zero_copy_only=False)
    keep = first & ~own
    relation = pc.dictionary_encode(_text(fetched["base_relation"]))
    known = [str(r).strip().lower() for r in relation.dictionary.to_pylist()]
    position = np.array([RELATIONS.index(r) if r in RELATIONS else -1 for r in known] + [-1], dtype="int64")
    rows = at[keep]
    links = pd.DataFrame({
        "code": code[keep],
        "relation": position[pc.fill_null(relation.indices, len(known)).to_numpy(zero_copy_only=False)[rows]],
        "downloads": fetched["downloads"].astype("Int64").array.take(rows),
    })
    return links, encoded.dictionary, at, int((first & own).sum())


def _listed_counts(links: pd.DataFrame, bases: pa.Array, codes: np.ndarray, n_codes: int) -> pd.DataFrame:
    """One ``listed`` row per base of ``bases`` (``codes``: its code in ``links``, -1 for a base no
    link names): its links by relation, in total, and their summed downloads (``<NA>`` when every
    link lacks a count, 0 without a link). Counted by integer code (no string grouping)."""
    code, relation, n_codes = links["code"].to_numpy(), links["relation"].to_numpy(), max(n_codes, 1)
    known = ~links["downloads"].isna().to_numpy(dtype=bool)
    sums = np.zeros(n_codes, dtype="int64")
    np.add.at(sums, code[known], links["downloads"].to_numpy(dtype="int64", na_value=0)[known])
    linked, picked = codes >= 0, np.where(codes >= 0, codes, 0)
    count = lambda c: np.where(linked, np.bincount(c, minlength=n_codes)[picked], 0)  # noqa: E731
    rows = pd.DataFrame({"base": pd.array(bases, dtype="string"),
                         **{r: count(code[relation == i]) for i, r in enumerate(RELATIONS)}, "total": count(code)})
    missing = (rows["total"].to_numpy() > 0) & (count(code[known]) == 0)
    rows["listed_downloads_30d"] = pd.arrays.IntegerArray(np.where(linked, sums[picked], 0), missing)
    rows["source"] = "listed"
    return rows[list(_DERIVATIVE_ROWS)]


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
    fetched = frames[0] if d is None else pd.concat(frames, ignore_index=True).drop_duplicates("id", keep="first")
    counts, invalid = valid_counts(fetched["downloads"])
    fetched = fetched.assign(downloads=counts)
    links, distinct, declared_at, self_refs = _listed_links(fetched)
    named = np.unique(links["code"].to_numpy())  # the bases a link names

    below = pd.Series(False, index=links.index)
    if min_downloads is not None:
        below = ~(links["downloads"] > min_downloads).fillna(False).astype(bool)
    n_links_missing_downloads = int(links["downloads"].isna().sum())
    counted_links = links[~below]

    hub_all = _hub_counts(m)
    hub = hub_all
    if bases is not None:
        known = set(m["id"].astype(str)) | set(fetched["id"].astype(str)) | set(distinct.take(pa.array(named)).to_pylist())
        if d is not None and "listed_base" in d.columns:
            known |= set(d["listed_base"].dropna().astype(str))
        if isinstance(bases, str):
            bases = [bases]
        wanted = list(dict.fromkeys(str(b) for b in bases))
        unknown = [b for b in wanted if b not in known]
        if unknown:
            raise _unknown_bases_error(unknown, known)
        hub = hub.set_index("base").reindex(wanted).rename_axis("base").reset_index()
        hub["source"] = "childrenModelCount"
        position = {b: c for c, b in zip(named.tolist(), distinct.take(pa.array(named)).to_pylist())}
        listed_bases = pa.array(wanted, type=pa.large_string())
        listed_codes = np.array([position.get(b, -1) for b in wanted], dtype="int64")
    else:
        wanted = None
        listed_bases = distinct.take(pa.array(named))
        listed_codes = named
    listed = _listed_counts(counted_links, listed_bases, listed_codes, len(distinct))
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

    declaring = np.zeros(len(fetched), dtype=bool)
    declaring[declared_at] = True
    coverage = {
        "models": len(m),
        "derivative_rows": 0 if d is None else len(d),
        "fetched_models": len(fetched),
        "fetched_declaring_base": int(declaring.sum()),
        "models_with_invalid_downloads": int(invalid.sum()),
        "bases_with_children_count": len(hub_all),
        "bases_listed": len(named),
        "listed_links": len(links),
        "listed_links_counted": len(counted_links),
        "listed_links_below_min_downloads": int(below.sum()),
        "listed_links_missing_downloads": n_links_missing_downloads,
        "listed_relation_unknown": int((counted_links["relation"] < 0).sum()),
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
    (missing when none was listed). ``lower_bound`` is True when ``total`` is a count of the
    listed derivatives (the fetch sees only some of a base's children: at least that many),
    False when it is the Hub's own count, missing when neither is known. Rows keep the order
    of ``result`` (by base).
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
            "lower_bound": pd.NA if source is pd.NA else source == "listed",
        })
    frame = pd.DataFrame(out, columns=["base", *RELATIONS, "total", "source", "lower_bound", "listed_total",
                                       "listed_downloads_30d"])
    frame = _typed(frame, {"base": "string", **{r: "Int64" for r in RELATIONS}, "total": "Int64",
                           "source": "string", "lower_bound": "boolean", "listed_total": "Int64",
                           "listed_downloads_30d": "Int64"})
    definition = (result.definition + " One row per base: the Hub's childrenModelCount where it was fetched, "
                  "else the count of listed derivatives (column source), a lower bound (column lower_bound).")
    return MetricResult(result.name, frame, result.coverage, definition, result.params)


def count_text(total: Any, lower_bound: Any, lang: str = "en") -> str:
    """A derivative total as a reader should see it: ``"1,234"``, ``"at least 11"`` for a lower
    bound (``lower_bound`` True), ``"unknown"`` when the total is missing; in ``lang``."""
    tr = translator(lang)
    if total is None or pd.isna(total):
        return tr.gettext("unknown")
    text = f"{int(total):,}"
    if lower_bound is not None and not pd.isna(lower_bound) and bool(lower_bound):
        return tr.gettext("at least {n}").format(n=text)
    return text


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
