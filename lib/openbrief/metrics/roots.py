"""The whole Hub: universes of a census snapshot, root families, and whose foundations the
period's new derivatives are built on (by root origin, root family, relation and publisher).

Roots come from :func:`openbrief.registry.lineage_roots` (the first ancestor an organisation
owns); :func:`with_roots` adds them and the root family in one call.
"""
from __future__ import annotations

import csv
import re
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from openbrief.registry import NOT_ORIGINS, Registry, as_registry, lineage_roots
from openbrief.registry.attribution import _text
from openbrief.metrics.base import MetricResult, UNATTRIBUTED, _distinct_cells, _flat_lists, _groups, _one_snapshot, _ratio, _require, _typed, _utc_column, _window
from openbrief.metrics.categories import DATA

#: Universes of a snapshot, from the queries that listed each row (``listed_by``).
HUB_UNIVERSES = ("tracked", "hub-top", "new")
FAMILIES_FILE = DATA / "root_families.csv"
#: Family of a resolved root that no rule of the families file matches.
OTHER_FAMILY = "other"


def in_hub_universe(models: pd.DataFrame, universe: str) -> pd.Series:
    """Which rows of ``models`` are in ``universe`` (a boolean Series on its index).

    ``tracked``: rows an ``author=`` query listed (the registry's organisations); ``hub-top``:
    rows the whole-Hub top-downloads query listed; ``new``: rows the query for the window's new
    models listed. ``listed_by`` is a list of query names per row; a snapshot without it (or a
    row whose value is missing, from before the census) holds tracked rows only. An unknown
    universe raises ``ValueError`` naming the valid ones.
    """
    keep = hub_universes(models, (universe,))[universe]
    return pd.Series(keep, index=models.index, name="listed_by" if "listed_by" in models.columns else None)


def hub_universes(models: pd.DataFrame, universes=HUB_UNIVERSES) -> dict[str, np.ndarray]:
    """``{universe: which rows are in it}`` (boolean arrays) for each of ``universes``, as
    :func:`in_hub_universe` says, from one pass over the ``listed_by`` lists."""
    for universe in universes:
        if universe not in HUB_UNIVERSES:
            raise ValueError(f"unknown universe {universe!r}: expected one of {', '.join(HUB_UNIVERSES)}")
    listed = models["listed_by"] if "listed_by" in models.columns else pd.Series(None, index=models.index)
    codes, distinct = _distinct_cells(listed)  # each distinct list once (a census repeats a few)
    at, queries = _flat_lists(distinct)  # every query of every list, flattened (no loop over rows)
    out = {}
    for universe in universes:
        if universe == "tracked":
            hit = np.fromiter(map(str.startswith, queries, repeat("author=")), dtype=bool, count=len(queries))
            keep = pd.isna(distinct.to_numpy())  # a row from before the census is tracked
        else:
            hit, keep = queries == universe, np.zeros(len(distinct), dtype=bool)
        keep[at[hit]] = True
        out[universe] = keep[codes]
    return out


def select_universe(models: pd.DataFrame, universe: str) -> pd.DataFrame:
    """The rows of ``models`` in ``universe`` (see :func:`in_hub_universe`; index kept).

    ``hub-top`` or ``new`` on a snapshot without a whole-Hub census (no ``listed_by`` values)
    raises ``ValueError`` rather than answering with no rows.
    """
    keep = in_hub_universe(models, universe)
    census = "listed_by" in models.columns and models["listed_by"].notna().any()
    if universe != "tracked" and len(models) and not census:
        raise ValueError(f"universe {universe!r}: this snapshot holds no whole-Hub census (no 'listed_by'): "
                         "fetch a new snapshot, or use --universe tracked")
    return models[keep.to_numpy()]


def load_families(path: str | Path = FAMILIES_FILE) -> pd.DataFrame:
    """The family rules (``namespace``, ``pattern``, ``family``, ``reason``), in file order."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return pd.DataFrame(rows, columns=["namespace", "pattern", "family", "reason"]).fillna("")


def root_family(models: pd.DataFrame, registry: Registry | None = None,
                families: pd.DataFrame | None = None) -> pd.Series:
    """The family of each row's root (needs ``root_id`` and ``lineage_status``).

    A resolved root gets the family of the first rule (:data:`FAMILIES_FILE`) whose namespace is
    the root's registry namespace (aliases resolved) and whose pattern is found in the model
    name, else ``"other"``; an unresolved or cyclic chain is ``"unattributed"``; no base: NA.
    """
    reg = as_registry(registry)
    rules = load_families() if families is None else families
    status = _text(models["lineage_status"])
    resolved, unresolved, cycle = (pc.fill_null(pc.equal(status, s), False).to_numpy(zero_copy_only=False)
                                   for s in ("resolved", "unresolved", "cycle"))
    broken = unresolved | cycle
    root = _text(models["root_id"])
    rows = np.flatnonzero(root.is_valid().to_numpy(zero_copy_only=False) & ~broken)  # a broken chain has no family
    roots = pc.dictionary_encode(root.take(pa.array(rows)))  # one family per distinct root
    prefix = pc.dictionary_encode(pc.list_element(pc.split_pattern(roots.dictionary, "/", max_splits=1), 0))
    ruled = {ns.lower() for ns in rules["namespace"]}  # one lookup per distinct namespace
    canonical = [e.namespace.lower() if (e := reg.lookup(ns)) else ns.lower() for ns in prefix.dictionary.to_pylist()]
    candidates = np.flatnonzero(np.array([c in ruled for c in canonical], dtype=bool)[prefix.indices.to_numpy()])
    by_namespace: dict[str, list[tuple[int, str]]] = {}  # the roots a rule may match, by namespace
    for i, ns, name in zip(candidates.tolist(), prefix.indices.take(pa.array(candidates)).to_pylist(),
                           roots.dictionary.take(pa.array(candidates)).to_pylist()):
        by_namespace.setdefault(canonical[ns], []).append((i, name.partition("/")[2]))
    names = [*dict.fromkeys(rules["family"]), OTHER_FAMILY, UNATTRIBUTED]
    family = [-1] * len(roots.dictionary)
    for rule in rules.itertuples(index=False):  # each rule tried on the roots of its namespace only
        code, pattern = names.index(rule.family), re.compile(rule.pattern, re.IGNORECASE) if rule.pattern else None
        for i, name in by_namespace.get(rule.namespace.lower(), ()):
            if family[i] < 0 and (pattern is None or pattern.search(name)):
                family[i] = code
    picked = np.full(len(models), -1, dtype="int64")
    picked[rows] = np.array(family, dtype="int64")[roots.indices.to_numpy()]
    picked[(picked < 0) & resolved] = names.index(OTHER_FAMILY)
    picked[broken] = names.index(UNATTRIBUTED)
    out = pa.array(names, type=pa.large_string()).take(pa.array(picked, mask=picked < 0))
    return pd.Series(pd.array(out, dtype="string"), index=models.index)


def with_roots(models: pd.DataFrame, registry: Registry | None = None) -> pd.DataFrame:
    """``models`` with the root columns of ``registry.lineage_roots`` and ``root_family``."""
    reg = as_registry(registry)
    out = lineage_roots(models, reg)
    out["root_family"] = root_family(out, reg)
    return out


# --------------------------------------------------------------------------- foundations by root

_ROOT_COLUMNS = {"bloc": "root_bloc", "country": "root_country", "org": "root_org", "family": "root_family"}
ROOT_SPLITS = ("relation", "publisher")
_DEF_ROOTS = (
    "Foundations by root {by}: among models created in [{start}, {end}) (UTC) that declare a base "
    "model, the share whose root (the first ancestor an organisation owns, following each first "
    "declared base through re-uploads, quantisations, merges and fine-tunes; a multi-base merge "
    "follows its first declared base) is each group; 'unattributed' when the chain ends at an "
    "unknown namespace, a missing model or a cycle{split}."
)
_SPLIT_TEXT = {
    None: "",
    "relation": "; within each relation (finetune, adapter, quantized, merge) to the direct base",
    "publisher": ("; within each bloc of the derivative's own publisher, for publishers the registry "
                  "attributes to an organisation (individuals, intermediaries and unknown namespaces left out)"),
}


def root_foundations(models: pd.DataFrame, start: Any, end: Any, by: str = "bloc",
                     split: str | None = None) -> MetricResult:
    """Whose foundations the period's new derivatives are built on, by their root.

    Needs the columns of :func:`with_roots` (``root_family`` only for ``by="family"``).
    ``share(g) = #new models with a base whose root <by> is g / #new models with a base`` (in
    the split's group when ``split`` is ``relation`` or ``publisher``). Rows (largest first):
    [``split``,] ``group``, ``models``, ``share``. A missing ``created_at`` keeps a model out of
    the window; a missing root origin counts as ``"unattributed"``.
    """
    if by not in _ROOT_COLUMNS:
        raise ValueError(f"unknown by {by!r}: expected one of {', '.join(_ROOT_COLUMNS)}")
    if split not in (None, *ROOT_SPLITS):
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(ROOT_SPLITS)}")
    col = _ROOT_COLUMNS[by]
    needed = ["id", "created_at", "lineage_status", col] + {None: [], "relation": ["base_relation"],
                                                          "publisher": ["bloc", "org_type"]}[split]
    _require(models, needed, "models")
    lo, hi = _window(start, end)
    df, dups = _one_snapshot(models, "models")
    created = _utc_column(df["created_at"])
    in_window = ((created >= lo) & (created < hi)).fillna(False).astype(bool)
    declares = (df["lineage_status"].astype("string") != "no-base").fillna(False).astype(bool)
    chosen = df[in_window & declares]
    n_chosen = len(chosen)
    if split == "publisher":
        org_type = chosen["org_type"].astype("string")
        chosen = chosen[(~org_type.isin([*NOT_ORIGINS, UNATTRIBUTED]) & org_type.notna()).to_numpy(dtype=bool)]
    frame = pd.DataFrame({"group": _groups(chosen, col)})
    keys = ["group"]
    if split:
        source = chosen["base_relation"] if split == "relation" else chosen["bloc"]
        frame.insert(0, split, source.astype("string").fillna(UNATTRIBUTED).to_numpy())
        keys = [split, "group"]
    rows = frame.groupby(keys, sort=True).size().rename("models").reset_index()
    totals = rows.groupby(split)["models"].transform("sum") if split else rows["models"].sum()
    rows["share"] = rows["models"].astype("Float64") / totals
    order = ([split] if split else []) + ["models", "group"]
    rows = rows.sort_values(order, ascending=[True] * bool(split) + [False, True], kind="stable")
    rows = _typed(rows, ({split: "string"} if split else {}) | {"group": "string", "models": "Int64", "share": "Float64"})
    status = chosen["lineage_status"].astype("string")
    coverage = {
        "models": len(df),
        "created_in_window": int(in_window.sum()),
        "in_window_declaring_base": n_chosen,
        "in_window_declaring_base_share": _ratio(n_chosen, int(in_window.sum())),
        "counted": len(chosen),
        "publisher_not_an_organisation": n_chosen - len(chosen) if split == "publisher" else 0,
        **{f"lineage_{s}": int((status == s).sum()) for s in ("resolved", "unresolved", "cycle")},
        "mean_lineage_depth": (float(chosen["lineage_depth"].astype("Float64").mean())
                               if "lineage_depth" in chosen.columns and len(chosen) else None),
        "duplicate_ids_dropped": dups,
    }
    definition = _DEF_ROOTS.format(by=by, start=lo.date().isoformat(), end=hi.date().isoformat(),
                                   split=_SPLIT_TEXT[split])
    return MetricResult("root-foundations", rows, coverage, definition, {"by": by, "split": split})


def root_foundations_over_time(history: pd.DataFrame, days: float, by: str = "bloc",
                               registry: Registry | None = None) -> pd.DataFrame:
    """:func:`root_foundations` of each snapshot's census of new models, oldest snapshot first.

    ``history``: a long table of many snapshots (``openbrief.store.history.load_history``) with
    ``snapshot_id``, ``fetched_at`` and the columns :func:`with_roots` and :func:`in_hub_universe`
    need. In each snapshot, roots are traced over that snapshot's own rows, and the new models
    its census listed (``listed_by`` has ``new``) created in the ``days`` before its
    ``fetched_at`` are counted. A snapshot without a census, or without a new model that
    declares a base, has no rows (never zeros). Rows: ``fetched_at``, ``snapshot_id``,
    ``group``, ``models``, ``share``; ``attrs["coverage"]`` maps each snapshot id to its coverage.
    """
    from openbrief.metrics.trends import _by_snapshot

    if not isinstance(days, (int, float)) or not days > 0:
        raise ValueError(f"days must be a positive number, not {days!r}")
    reg = as_registry(registry)
    columns = [c for c in history.columns if c not in ("snapshot_id", "fetched_at")]
    parts, coverage = [], {}
    for sid, t, part in _by_snapshot(history, columns):
        new = in_hub_universe(part, "new").to_numpy()
        if not new.any():
            continue
        rooted = with_roots(part.drop(columns=["snapshot_id", "fetched_at"]).reset_index(drop=True), reg)[new]
        result = root_foundations(rooted, t - pd.Timedelta(days=days), t, by=by)
        coverage[sid] = result.coverage
        if len(result.rows):
            parts.append(result.rows.assign(fetched_at=t, snapshot_id=sid))
    columns = {"fetched_at": "datetime64[ns, UTC]", "snapshot_id": "string", "group": "string",
               "models": "Int64", "share": "Float64"}
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
    out = rows[list(columns)].astype(columns)
    out.attrs["coverage"] = coverage
    return out


__all__ = ["FAMILIES_FILE", "HUB_UNIVERSES", "OTHER_FAMILY", "ROOT_SPLITS", "load_families", "root_family",
           "root_foundations", "root_foundations_over_time", "in_hub_universe", "select_universe", "with_roots"]
