"""Attribution: a models table's namespaces looked up in the registry (publisher and lineage),
the namespaces it does not know, and the namespaces a fetch tracks.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

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


def _origin(base_id: str, registry: Registry, parents: dict[str, str]) -> Entry | None:
    """Origin of a base model: the entry of its namespace.

    When that namespace is an intermediary and the base model is itself in the
    table with a declared base, follow that base (up to MAX_LINEAGE_HOPS);
    an intermediary that cannot be followed is no origin (None: unattributed).
    """
    seen: set[str] = set()
    current = base_id
    for _ in range(MAX_LINEAGE_HOPS):
        entry = registry.lookup(_namespace_of(current))
        if entry is None or not entry.is_intermediary:
            return entry
        seen.add(current.lower())
        nxt = parents.get(current.lower())
        if nxt is None or nxt.lower() in seen:
            return None
        current = nxt
    return None


def attribute(df: pd.DataFrame, registry: Registry | str | Path | Sequence | None = None) -> pd.DataFrame:
    """A copy of a models table with attribution columns added.

    By namespace (``namespace``, else the part of ``id`` before ``/``), via the
    registry only: ``org``, ``country``, ``bloc``, ``org_type`` (each
    ``"unattributed"`` when the namespace is unknown), ``fully_open`` (False
    when unattributed) and ``is_intermediary``. Tags (``region:us`` included)
    and cards are never read.

    By lineage: ``base_id`` is the first id of ``base_models`` (NA when none is
    declared); ``base_org``, ``base_country``, ``base_bloc`` are the origin of
    that base's namespace (see :func:`_origin`): NA when no base is declared,
    ``"unattributed"`` when the base namespace is unknown or an intermediary
    that cannot be followed.
    """
    reg = as_registry(registry)
    out = df.copy()
    entries = [reg.lookup(n) for n in _namespaces(out)]
    for col, attr in (("org", "organisation"), ("country", "country"),
                      ("bloc", "bloc"), ("org_type", "org_type")):
        out[col] = pd.array([getattr(e, attr) if e else UNATTRIBUTED for e in entries], dtype="string")
    out["fully_open"] = pd.array([bool(e and e.fully_open) for e in entries], dtype="bool")
    out["is_intermediary"] = pd.array([bool(e and e.is_intermediary) for e in entries], dtype="bool")

    bases_col = out["base_models"] if "base_models" in out.columns else [None] * len(out)
    base_ids = [_first_base(v) for v in bases_col]
    ids = out["id"] if "id" in out.columns else [None] * len(out)
    parents = {i.lower(): b for i, b in zip(ids, base_ids) if isinstance(i, str) and b}
    origins = [(_origin(b, reg, parents) if b else None) for b in base_ids]
    out["base_id"] = pd.array(base_ids, dtype="string")
    for col, attr in (("base_org", "organisation"), ("base_country", "country"), ("base_bloc", "bloc")):
        out[col] = pd.array([None if b is None else (getattr(o, attr) if o else UNATTRIBUTED)
                             for b, o in zip(base_ids, origins)], dtype="string")
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

    ``group`` None: every non-intermediary namespace. Otherwise a comma list
    (or a list) of tokens, unioned, each matched case-insensitively against, in
    order: a bloc (``CN``, ``EU``, ``Gulf``...) or a country code (``DE``; both
    select by country), an ``org_type`` (``academic``...), a namespace or alias
    (selects that entry). Bloc, country and type tokens leave intermediaries
    out, unless the token is the type ``intermediary`` itself; a named namespace
    is always included. An unknown token raises ValueError. With
    ``include_aliases`` each entry's aliases (old namespaces that may still hold
    models) follow it.
    """
    reg = as_registry(registry)
    if group is None:
        chosen = [e for e in reg if not e.is_intermediary]
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
                matched = [e for e in reg if not e.is_intermediary and
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


