"""Attribution: a models table's namespaces looked up in the registry (publisher and lineage),
the namespaces it does not know, and the namespaces a fetch tracks.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import numpy as np

from openbrief.registry.entries import BLOCS, COUNTRY_CODES, UNATTRIBUTED, Entry, MAX_LINEAGE_HOPS, ORG_TYPES, Registry, as_registry


# ----------------------------------------------------------------- attribution

def _namespace_of(model_id: object) -> str | None:
    """``org`` of ``org/name``; None for ids without a namespace (legacy ``gpt2``)."""
    if isinstance(model_id, str) and "/" in model_id:
        ns = model_id.split("/", 1)[0].strip()
        return ns or None
    return None


def _first_base(value: object) -> str | None:
    """The first declared base model id: from a list/array of ids, or a single id."""
    if isinstance(value, str):
        return value.strip() or None
    if value is None or isinstance(value, float):
        return None
    try:
        items = list(value)  # list, tuple or numpy array (parquet round trip)
    except TypeError:
        return None
    for item in items:
        if isinstance(item, str) and item.strip():
            return item.strip()
    return None


def _namespaces(df: pd.DataFrame) -> list[str | None]:
    ns = df["namespace"] if "namespace" in df.columns else pd.Series([None] * len(df), index=df.index)
    ids = df["id"] if "id" in df.columns else pd.Series([None] * len(df), index=df.index)
    return [n.strip() if isinstance(n, str) and n.strip() else _namespace_of(i)
            for n, i in zip(ns, ids)]


#: ``lineage_status`` values of :func:`lineage_roots`.
LINEAGE_STATUSES = ("resolved", "unresolved", "cycle", "no-base")
#: Hops a root search follows at most (a longer chain is ``unresolved``).
MAX_ROOT_HOPS = 64

_ORIGIN, _PASS, _STOP = "origin", "pass", "stop"


def _namespace_column(ids: pd.Series) -> pd.Series:
    """The lower-cased namespace of each id (``<NA>`` without one), vectorised."""
    ids = ids.astype("string")
    ns = ids.str.replace(r"/.*", "", regex=True).str.strip().str.lower()
    return ns.where(ids.str.contains("/", regex=False).fillna(False) & (ns.str.len() > 0), pd.NA)


def _walk(start: pd.Series, own: pd.Series, parents: pd.Series, kinds: dict[str, str],
          unknown: str, max_hops: int) -> pd.DataFrame:
    """Follow first declared bases from ``start``, all rows at once (one join per hop).

    ``kinds`` maps a lower-cased namespace to ``origin`` (stop: resolved), ``pass`` (follow
    its first base) or ``stop`` (unresolved); an unknown namespace is ``unknown``. ``parents``
    maps a lower-cased id to its first base. A next id already on the path (the model itself
    included) is a ``cycle``; a row to follow that the table lacks, or ``max_hops`` used up,
    is ``unresolved``. Returns ``end`` (the ancestor reached), ``depth`` (hops from the
    model to ``end``) and ``status`` (:data:`LINEAGE_STATUSES`), index of ``start``.
    """
    current = start.astype("string")
    status = pd.Series(pd.NA, index=start.index, dtype="string").mask(current.isna(), "no-base")
    depth = pd.Series(1, index=start.index, dtype="Int64").mask(current.isna(), pd.NA)
    path = [own.astype("string").str.lower(), current.str.lower()]
    active = current.notna().to_numpy(dtype=bool, copy=True)
    for _ in range(max_hops):
        if not active.any():
            break
        mapped = _namespace_column(current).astype(object).map(kinds)
        kind = np.where(mapped.isna().to_numpy(), unknown, mapped.to_numpy(dtype=object))
        status[active & (kind == _ORIGIN)] = "resolved"
        status[active & (kind == _STOP)] = "unresolved"
        active &= kind == _PASS
        nxt = current.str.lower().map(parents).astype("string").where(active, pd.NA)
        dead = active & nxt.isna().to_numpy(dtype=bool)
        status[dead] = "unresolved"
        active &= ~dead
        low = nxt.str.lower()
        looped = np.zeros(len(low), dtype=bool)
        for seen in path:
            looped |= (low == seen).fillna(False).to_numpy(dtype=bool)
        cycle = active & looped
        status[cycle] = "cycle"
        active &= ~cycle
        current = current.mask(active, nxt)
        depth[active] += 1
        path.append(current.str.lower())
    status[active] = "unresolved"
    return pd.DataFrame({"end": current, "depth": depth, "status": status})


def _lineage_inputs(df: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(ids, first declared bases, lower-cased id -> first base over the table's own rows)."""
    ids = (df["id"] if "id" in df.columns else pd.Series(pd.NA, index=df.index)).astype("string")
    bases_col = df["base_models"] if "base_models" in df.columns else pd.Series(None, index=df.index)
    first = pd.Series([_first_base(v) for v in bases_col], index=df.index, dtype="string")
    parents = pd.Series(first.to_numpy(), index=ids.str.lower().to_numpy())
    parents = parents[parents.notna() & parents.index.notna()]
    return ids, first, parents[~parents.index.duplicated(keep="first")]


def _kinds(namespaces: pd.Series, registry: Registry) -> tuple[dict[str, str], dict[str, Entry]]:
    """How :func:`_walk` treats each namespace met, looked up once per distinct namespace."""
    entries = {n: registry.lookup(n) for n in namespaces.dropna().unique()}
    kinds = {n: (_ORIGIN if e.is_origin else _PASS) for n, e in entries.items() if e is not None}
    return kinds, {n: e for n, e in entries.items() if e is not None}


def _origin_columns(out: pd.DataFrame, prefix: str, walk: pd.DataFrame, entries: dict[str, Entry]) -> None:
    """``<prefix>org``, ``<prefix>country``, ``<prefix>bloc`` of the ancestor each walk resolved."""
    ns = _namespace_column(walk["end"])
    resolved = walk["status"] == "resolved"
    for col, attr in (("org", "organisation"), ("country", "country"), ("bloc", "bloc")):
        values = ns.map({n: getattr(e, attr) for n, e in entries.items()}).astype("string")
        out[prefix + col] = values.where(resolved, UNATTRIBUTED).mask(walk["status"] == "no-base", pd.NA)


def attribute(df: pd.DataFrame, registry: Registry | str | Path | Sequence | None = None) -> pd.DataFrame:
    """A copy of a models table with attribution columns added.

    By namespace (``namespace``, else the part of ``id`` before ``/``), via the
    registry only: ``org``, ``country``, ``bloc``, ``org_type`` (each
    ``"unattributed"`` when the namespace is unknown), ``fully_open`` (False
    when unattributed) and ``is_intermediary``. Tags (``region:us`` included)
    and cards are never read.

    By lineage: ``base_id`` is the first id of ``base_models`` (NA when none is
    declared); ``base_org``, ``base_country``, ``base_bloc`` are the origin of
    that base's namespace: NA when no base is declared, ``"unattributed"`` when
    the base namespace is unknown, or an intermediary or individual whose own
    first base cannot be followed to an organisation within MAX_LINEAGE_HOPS
    (through the table's rows; see :func:`lineage_roots` for the full walk).
    """
    reg = as_registry(registry)
    out = df.copy()
    entries = [reg.lookup(n) for n in _namespaces(out)]
    for col, attr in (("org", "organisation"), ("country", "country"),
                      ("bloc", "bloc"), ("org_type", "org_type")):
        out[col] = pd.array([getattr(e, attr) if e else UNATTRIBUTED for e in entries], dtype="string")
    out["fully_open"] = pd.array([bool(e and e.fully_open) for e in entries], dtype="bool")
    out["is_intermediary"] = pd.array([bool(e and e.is_intermediary) for e in entries], dtype="bool")

    ids, first, parents = _lineage_inputs(out)
    kinds, known = _kinds(pd.concat([_namespace_column(first), _namespace_column(pd.Series(parents.to_numpy()))]), reg)
    walk = _walk(first, ids, parents, kinds, _STOP, MAX_LINEAGE_HOPS)
    out["base_id"] = first
    _origin_columns(out, "base_", walk, known)
    return out


def lineage_roots(df: pd.DataFrame, registry: Registry | str | Path | Sequence | None = None) -> pd.DataFrame:
    """A copy of a models table with each model's root: the first ancestor an organisation owns.

    From the model's first declared base (the first id of ``base_models``: a multi-base merge
    counts for its first base), follow each ancestor's own first declared base through the
    table's own rows (re-uploads, quantisations, merges, fine-tunes of fine-tunes) until a
    namespace the registry attributes to an organisation (any type but ``intermediary`` and
    ``individual``); intermediaries, individuals and namespaces the registry does not know
    are passed through, never an origin. Vectorised: one join over the table per hop.

    Columns added: ``root_id`` (the root when resolved, else the last ancestor reached; NA
    without a base), ``root_org``, ``root_country``, ``root_bloc`` (``"unattributed"``
    unless resolved, NA without a base), ``lineage_depth`` (hops from the model to
    ``root_id``: 1 = its direct base) and ``lineage_status``: ``resolved``; ``unresolved``
    (the chain reaches an ancestor that is not an organisation and that the table does not
    hold, or that declares no base); ``cycle`` (declared bases loop); ``no-base``.
    """
    reg = as_registry(registry)
    out = df.copy()
    ids, first, parents = _lineage_inputs(out)
    kinds, known = _kinds(pd.concat([_namespace_column(first), _namespace_column(pd.Series(parents.to_numpy()))]), reg)
    walk = _walk(first, ids, parents, kinds, _PASS, MAX_ROOT_HOPS)
    out["root_id"] = walk["end"]
    _origin_columns(out, "root_", walk, known)
    out["lineage_depth"] = walk["depth"]
    out["lineage_status"] = walk["status"]
    return out


def unattributed_namespaces(models: pd.DataFrame,
                            registry: Registry | str | Path | Sequence | None = None) -> pd.DataFrame:
    """Namespaces of ``models`` that the registry does not know, biggest first.

    Columns ``namespace`` (the most frequent spelling; case variants are one
    namespace), ``models`` (rows) and ``downloads`` (sum of the 30-day rolling
    ``downloads``; NA when every value is missing). Sorted by downloads (NA
    last), then models, then namespace. Rows without a namespace are skipped.
    """
    reg = as_registry(registry)
    ns = pd.Series(_namespaces(models), index=models.index, dtype="object")
    mask = ns.map(lambda n: n is not None and reg.lookup(n) is None).astype(bool)
    columns = ["namespace", "models", "downloads"]
    if not mask.any():
        return pd.DataFrame({"namespace": pd.array([], dtype="string"),
                             "models": pd.array([], dtype="Int64"),
                             "downloads": pd.array([], dtype="Int64")})[columns]
    downloads = (models["downloads"] if "downloads" in models.columns
                 else pd.Series(pd.NA, index=models.index)).astype("Int64")
    sub = pd.DataFrame({"spelling": ns[mask], "key": ns[mask].str.lower(),
                        "downloads": downloads[mask]})
    grouped = sub.groupby("key", sort=False)
    out = pd.DataFrame({
        "namespace": grouped["spelling"].agg(lambda s: s.value_counts().index[0]),
        "models": grouped.size(),
        "downloads": grouped["downloads"].sum(min_count=1),
    }).astype({"namespace": "string", "models": "Int64", "downloads": "Int64"})
    out = out.sort_values(["downloads", "models", "namespace"], ascending=[False, False, True],
                          na_position="last", kind="mergesort")
    return out.reset_index(drop=True)[columns]


def tracked_namespaces(registry: Registry | str | Path | Sequence | None = None,
                       group: str | Sequence[str] | None = None,
                       include_aliases: bool = False) -> list[str]:
    """The namespaces a fetch should track, in registry order.

    ``group`` None: every namespace of an origin (no intermediary, no individual). Otherwise a comma list
    (or a list) of tokens, unioned, each matched case-insensitively against, in
    order: a bloc (``CN``, ``EU``, ``Gulf``...) or a country code (``DE``; both
    select by country), an ``org_type`` (``academic``...), a namespace or alias
    (selects that entry). Bloc, country and type tokens leave intermediaries
    and individuals out, unless the token is the type ``intermediary`` itself; a named namespace
    is always included. An unknown token raises ValueError. With
    ``include_aliases`` each entry's aliases (old namespaces that may still hold
    models) follow it.
    """
    reg = as_registry(registry)
    if group is None:
        chosen = [e for e in reg if e.is_origin]
    else:
        tokens = [t.strip() for t in (group.split(",") if isinstance(group, str) else group) if t.strip()]
        if not tokens:
            raise ValueError("empty group: name a bloc, country, org_type or namespace")
        keys: set[str] = set()
        blocs = {b.lower(): b for b in BLOCS}
        types = {t.lower(): t for t in ORG_TYPES}
        for token in tokens:
            low = token.lower()
            if low in blocs or token.upper() in COUNTRY_CODES:
                matched = [e for e in reg if e.is_origin and
                           (e.bloc == blocs.get(low) or e.country == token.upper())]
            elif low in types:
                matched = [e for e in reg if e.org_type == types[low]]
            elif reg.lookup(token) is not None:
                matched = [reg.lookup(token)]
            else:
                raise ValueError(f"unknown group {token!r}: expected a bloc ({', '.join(BLOCS)}), "
                                 "a country code, an org_type or a registry namespace")
            keys |= {e.namespace.lower() for e in matched}
        chosen = [e for e in reg if e.namespace.lower() in keys]
    out: list[str] = []
    for e in chosen:
        out.append(e.namespace)
        if include_aliases:
            out += list(e.aliases)
    return out


