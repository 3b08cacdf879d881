"""Attribution: a models table's namespaces looked up in the registry (publisher and lineage),
the namespaces it does not know, and the namespaces a fetch tracks.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from openbrief.registry.entries import BLOCS, COUNTRY_CODES, UNATTRIBUTED, Entry, MAX_LINEAGE_HOPS, ORG_TYPES, Registry, as_registry


# ----------------------------------------------------------------- attribution

def _clean(value: object) -> str | None:
    """A namespace as written: stripped; None when blank or not text."""
    if isinstance(value, str):
        return value.strip() or None
    return None


def _is(values: np.ndarray, types) -> np.ndarray:
    """Which cells of an object array are instances of ``types`` (a C-level map, no Python loop)."""
    return np.fromiter(map(isinstance, values, repeat(types)), dtype=bool, count=len(values))


def _namespaces(df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's namespace as (a code per row, the namespaces): ``namespace`` when not blank, else
    the part of ``id`` before ``/``; stripped, computed once per distinct value; code -1 for ids
    without one (legacy ``gpt2``)."""
    codes, names = np.full(len(df), -1, dtype="int64"), []
    if "namespace" in df.columns:
        found, uniques = pd.factorize(df["namespace"])
        names = [_clean(u) for u in uniques]
        codes = np.where(np.array([x is not None for x in names] + [False])[found], found, -1)
    todo = np.flatnonzero(codes < 0)
    if len(todo) and "id" in df.columns:
        ids = df["id"].to_numpy(dtype=object)[todo]
        text = _is(ids, str)
        todo, ids = todo[text], pd.Series(ids[text], dtype="string")
        slash = ids.str.contains("/", regex=False).to_numpy(dtype=bool)
        found, uniques = pd.factorize(ids[slash].str.split("/", n=1).str[0])
        more = [_clean(u) for u in uniques]
        codes[todo[slash]] = np.where(np.array([x is not None for x in more] + [False])[found], found + len(names), -1)
        names += more
    return codes, names


def _take(values, codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """``values[code]`` for each code as a ``string`` array (``<NA>`` where the value is None or
    the code is -1), gathered by Arrow rather than through Python strings per row."""
    picked = pa.array(list(values), type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
    return pd.array(picked, dtype="string")


def _entries(df: pd.DataFrame, registry: Registry) -> tuple[np.ndarray, list[str], list[Entry | None]]:
    """:func:`_namespaces` and the registry entry of each (one lookup per distinct namespace); the
    last entry (code -1: no namespace) is None."""
    codes, names = _namespaces(df)
    return codes, names, [registry.lookup(n) for n in names] + [None]


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


def _first_bases(values: pd.Series) -> pd.Series:
    """:func:`_first_base` of every cell, vectorised: lists are flattened by C-level iterators."""
    cells = values.to_numpy(dtype=object)
    first = np.full(len(cells), None, dtype=object)
    seq = _is(cells, (list, tuple, np.ndarray))
    rows = np.flatnonzero(seq)
    lengths = np.fromiter(map(len, cells[rows]), dtype="int64", count=len(rows))
    items = np.fromiter(chain.from_iterable(cells[rows]), dtype=object, count=int(lengths.sum()))
    at = np.repeat(rows, lengths)
    text = _is(items, str)
    items, at = np.array(list(map(str.strip, items[text])), dtype=object), at[text]
    kept = items != ""
    items, at = items[kept], at[kept]
    hit, index = np.unique(at, return_index=True)
    first[hit] = items[index]
    other = np.flatnonzero(~seq & ~pd.isna(cells))  # single ids (and any other iterable): one by one
    first[other] = [_first_base(v) for v in cells[other]]
    return pd.Series(first, index=values.index, dtype="string")


#: ``lineage_status`` values of :func:`lineage_roots`.
LINEAGE_STATUSES = ("resolved", "unresolved", "cycle", "no-base")
#: Hops a root search follows at most (a longer chain is ``unresolved``).
MAX_ROOT_HOPS = 64

_UNKNOWN, _ORIGIN, _PASS, _STOP = 0, 1, 2, 3
_PENDING, _RESOLVED, _UNRESOLVED, _CYCLE, _NO_BASE = range(5)
_STATUS_NAMES = np.array([None, *LINEAGE_STATUSES], dtype=object)


def _namespace_column(ids: pd.Series) -> pd.Series:
    """The lower-cased namespace of each id (``<NA>`` without one), vectorised."""
    ids = ids.astype("string")
    ns = ids.str.replace(r"/.*", "", regex=True).str.strip().str.lower()
    return ns.where(ids.str.contains("/", regex=False).fillna(False) & (ns.str.len() > 0), pd.NA)


@dataclass(frozen=True)
class _Walk:
    """Where each row's walk up its first declared bases ended (see :func:`_walk`)."""

    first: pd.Series  # the first declared base of each row (:func:`_first_bases`)
    end: pd.Series  # the ancestor reached, as its child declared it (<NA> without a base)
    depth: pd.Series  # hops from the model to ``end`` (Int64)
    status: pd.Series  # LINEAGE_STATUSES
    namespace: np.ndarray  # per row, the position in ``entries`` of the namespace of ``end``
    entries: list  # registry entries of the namespaces met (None: unknown); the last is None


def _walk(df: pd.DataFrame, registry: Registry, unknown: int, max_hops: int) -> _Walk:
    """Follow each row's first declared base, then each ancestor's own, through the table's rows.

    Ids compare case-insensitively, as integer codes: one array operation per hop over the rows
    still walking. The namespace of the id reached decides: an organisation of the registry stops
    the walk (``resolved``), an intermediary or individual is passed through to its own first
    base, an unknown namespace is ``unknown`` (``_PASS`` or ``_STOP``: ``unresolved``). An
    ancestor the table lacks (or that declares no base) is ``unresolved``; a next id already on
    the path (the model itself included) is a ``cycle``; ``max_hops`` used up is ``unresolved``.
    An ancestor is the first row with that id that declares a base.
    """
    n = len(df)
    ids = (df["id"] if "id" in df.columns else pd.Series(pd.NA, index=df.index)).astype("string")
    first = _first_bases(df["base_models"] if "base_models" in df.columns else pd.Series(None, index=df.index))
    # only rows that declare a base can be walked or be an ancestor: their ids and bases get codes
    rows = np.flatnonzero(first.notna().to_numpy(dtype=bool))
    codes, uniques = pd.factorize(pd.concat([ids.iloc[rows].str.lower(), first.iloc[rows].str.lower()],
                                            ignore_index=True))
    own, base = np.full(n, -1, dtype="int64"), np.full(n, -1, dtype="int64")
    own[rows], base[rows] = codes[: len(rows)], codes[len(rows):]
    declares = np.flatnonzero((own >= 0) & (base >= 0))
    parent = np.full(len(uniques) + 1, -1, dtype="int64")  # code -> row of that id (index -1: none)
    seen, at = np.unique(own[declares], return_index=True)
    parent[seen] = declares[at]
    # the walks only ever stand on declared bases: their namespaces, once per distinct one
    bases = np.unique(base[base >= 0])
    ns_codes = np.full(len(uniques) + 1, -1, dtype="int64")
    ns_codes[bases], namespaces = pd.factorize(_namespace_column(pd.Series(uniques.take(bases), dtype="string")))
    found = [registry.lookup(x) for x in namespaces] + [None]
    kind_of = np.array([unknown if e is None else _ORIGIN if e.is_origin else _PASS for e in found],
                       dtype="int8")[ns_codes]

    current, row = base.copy(), np.arange(n)  # the id reached, and the row that declared it
    status = np.where(base >= 0, _PENDING, _NO_BASE).astype("int8")
    depth = np.ones(n, dtype="int64")
    path = [own, base]
    walking = np.flatnonzero(base >= 0)
    for _ in range(max_hops):
        if not len(walking):
            break
        kind = kind_of[current[walking]]
        status[walking[kind == _ORIGIN]] = _RESOLVED
        status[walking[kind == _STOP]] = _UNRESOLVED
        walking = walking[kind == _PASS]
        up = parent[current[walking]]
        status[walking[up < 0]] = _UNRESOLVED
        walking, up = walking[up >= 0], up[up >= 0]
        nxt = base[up]
        looped = np.zeros(len(walking), dtype=bool)
        for earlier in path:
            looped |= earlier[walking] == nxt
        status[walking[looped]] = _CYCLE
        walking, up, nxt = walking[~looped], up[~looped], nxt[~looped]
        current[walking], row[walking] = nxt, up
        depth[walking] += 1
        path.append(current.copy())
    status[walking] = _UNRESOLVED
    no_base = status == _NO_BASE
    end = first.iloc[row].set_axis(df.index).mask(no_base, pd.NA)
    namespace = np.where(no_base, -1, ns_codes[np.where(no_base, 0, current)])
    return _Walk(first, end, pd.Series(depth, index=df.index, dtype="Int64").mask(no_base, pd.NA),
                 pd.Series(_take(_STATUS_NAMES, status.astype("int64")), index=df.index), namespace, found)


def _origin_columns(out: pd.DataFrame, prefix: str, walk: _Walk) -> None:
    """``<prefix>org``, ``<prefix>country``, ``<prefix>bloc`` of the ancestor each walk resolved."""
    resolved = (walk.status == "resolved").to_numpy(dtype=bool)
    for col, attr in (("org", "organisation"), ("country", "country"), ("bloc", "bloc")):
        by_namespace = [getattr(e, attr) if e else UNATTRIBUTED for e in walk.entries]
        picked = np.where(resolved, np.where(walk.namespace < 0, len(by_namespace) - 1, walk.namespace), len(by_namespace))
        picked[(walk.status == "no-base").to_numpy(dtype=bool)] = -1
        out[prefix + col] = pd.Series(_take([*by_namespace, UNATTRIBUTED], picked), index=out.index)


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

    Vectorised: the registry is asked once per distinct namespace, and the values are spread to
    the rows by their namespace's code (a join, not a loop over rows).
    """
    reg = as_registry(registry)
    out = df.copy(deep=False)  # copy-on-write: the caller's table is never changed
    codes, _, entries = _entries(out, reg)
    for col, attr in (("org", "organisation"), ("country", "country"),
                      ("bloc", "bloc"), ("org_type", "org_type")):
        out[col] = _take([getattr(e, attr) if e else UNATTRIBUTED for e in entries],
                         np.where(codes < 0, len(entries) - 1, codes))
    for col, flag in (("fully_open", lambda e: e.fully_open), ("is_intermediary", lambda e: e.is_intermediary)):
        out[col] = pd.array(np.array([bool(e and flag(e)) for e in entries], dtype=bool)[codes], dtype="bool")
    walk = _walk(out, reg, _STOP, MAX_LINEAGE_HOPS)
    out["base_id"] = walk.first
    _origin_columns(out, "base_", walk)
    return out


def lineage_roots(df: pd.DataFrame, registry: Registry | str | Path | Sequence | None = None) -> pd.DataFrame:
    """A copy of a models table with each model's root: the first ancestor an organisation owns.

    From the model's first declared base (the first id of ``base_models``: a multi-base merge
    counts for its first base), follow each ancestor's own first declared base through the
    table's own rows (re-uploads, quantisations, merges, fine-tunes of fine-tunes) until a
    namespace the registry attributes to an organisation (any type but ``intermediary`` and
    ``individual``); intermediaries, individuals and namespaces the registry does not know
    are passed through, never an origin. Vectorised: one array operation per hop over the
    rows still walking.

    Columns added: ``root_id`` (the root when resolved, else the last ancestor reached; NA
    without a base), ``root_org``, ``root_country``, ``root_bloc`` (``"unattributed"``
    unless resolved, NA without a base), ``lineage_depth`` (hops from the model to
    ``root_id``: 1 = its direct base) and ``lineage_status``: ``resolved``; ``unresolved``
    (the chain reaches an ancestor that is not an organisation and that the table does not
    hold, or that declares no base); ``cycle`` (declared bases loop); ``no-base``.
    """
    reg = as_registry(registry)
    out = df.copy(deep=False)  # copy-on-write: the caller's table is never changed
    walk = _walk(out, reg, _PASS, MAX_ROOT_HOPS)
    out["root_id"] = walk.end
    _origin_columns(out, "root_", walk)
    out["lineage_depth"] = walk.depth
    out["lineage_status"] = walk.status
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
    codes, names, entries = _entries(models, reg)
    mask = (codes >= 0) & np.array([e is None for e in entries])[codes]
    ns = pd.Series(np.array([*names, None], dtype=object)[codes], index=models.index, dtype="object")
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


