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
import pyarrow.compute as pc

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
        names = [_clean(u) for u in uniques.tolist()]
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


def _strip(items: pa.LargeStringArray) -> pa.LargeStringArray:
    """``str.strip`` of every text: by Python only for the texts whose first or last byte may be
    whitespace (a byte up to space, or DEL and above: any non-ASCII character), so that ids as
    the Hub writes them never leave Arrow."""
    if not len(items):
        return items
    offsets = np.frombuffer(items.buffers()[1], dtype=np.int64)[items.offset: items.offset + len(items) + 1]
    data = np.frombuffer(items.buffers()[2], dtype=np.uint8) if items.buffers()[2] else np.zeros(0, np.uint8)
    filled = np.flatnonzero(offsets[1:] > offsets[:-1])
    edges = np.concatenate([data[offsets[filled]], data[offsets[filled + 1] - 1]]).reshape(2, -1)
    odd = filled[((edges <= 0x20) | (edges >= 0x7F)).any(axis=0)]
    if not len(odd):
        return items
    mask = np.zeros(len(items), dtype=bool)
    mask[odd] = True
    stripped = [s.strip() for s in items.take(pa.array(odd)).to_pylist()]
    return pc.replace_with_mask(items, pa.array(mask), pa.array(stripped, type=pa.large_string()))


def _arrow_lists(values: pd.Series) -> tuple[np.ndarray, pa.ListArray] | None:
    """A column of lists of text (and missing cells), as the store holds it, as Arrow lists: (the
    rows of the lists, the lists; missing and NaN items null), converted in one call (none for an
    Arrow-backed column). None for any other column (a single id, an array, an item that is not
    text)."""
    arrow = values.dtype.pyarrow_dtype if isinstance(values.dtype, pd.ArrowDtype) else None
    if arrow is not None and pa.types.is_list(arrow) and (pa.types.is_string(arrow.value_type)
                                                          or pa.types.is_large_string(arrow.value_type)):
        lists = pa.array(values.array)
        lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
        lists = lists.cast(pa.list_(pa.large_string()))
        rows = np.flatnonzero(lists.is_valid().to_numpy(zero_copy_only=False))
        return rows, lists.take(pa.array(rows))
    cells = values.to_numpy(dtype=object)
    rows = np.flatnonzero(~pd.isna(cells))
    if not _is(cells[rows], list).all():
        return None
    try:
        return rows, pa.array(cells[rows], type=pa.list_(pa.large_string()), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _first_bases(values: pd.Series) -> pa.LargeStringArray:
    """:func:`_first_base` of every cell, as Arrow text (null: no base declared): by Arrow for a
    column of lists (:func:`_arrow_lists`), else cell by cell."""
    converted = _arrow_lists(values)
    if converted is None:
        return _first_bases_by_cell(values.to_numpy(dtype=object))
    rows, lists = converted
    items = _strip(lists.flatten())
    at = rows[pc.list_parent_indices(lists).to_numpy()]
    kept = np.flatnonzero(pc.fill_null(pc.greater(pc.binary_length(items), 0), False).to_numpy(zero_copy_only=False))
    at = at[kept]
    starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]]) if len(at) else np.zeros(0, dtype="int64")
    pick = np.full(len(values), -1, dtype="int64")
    pick[at[starts]] = kept[starts]
    return items.take(pa.array(pick, mask=pick < 0))


def _first_bases_by_cell(cells: np.ndarray) -> pa.LargeStringArray:
    """:func:`_first_bases` of any column: lists, tuples and arrays flattened by C-level
    iterators, single ids and other cells one by one."""
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
    return pa.array(first, type=pa.large_string())


def _text(values: pd.Series) -> pa.LargeStringArray:
    """A column as one Arrow text array (null where missing)."""
    text = pa.array(values.astype("string").array, type=pa.large_string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


#: ``lineage_status`` values of :func:`lineage_roots`.
LINEAGE_STATUSES = ("resolved", "unresolved", "cycle", "no-base")
#: Hops a root search follows at most (a longer chain is ``unresolved``).
MAX_ROOT_HOPS = 64

_UNKNOWN, _ORIGIN, _PASS, _STOP = 0, 1, 2, 3
_PENDING, _RESOLVED, _UNRESOLVED, _CYCLE, _NO_BASE = range(5)
_STATUS_NAMES = np.array([None, *LINEAGE_STATUSES], dtype=object)


def _id_namespaces(ids: pa.LargeStringArray, registry: Registry) -> tuple[np.ndarray, list[Entry | None]]:
    """The registry entry of each id's namespace (the part before ``/``, stripped, any case), as
    (a position in the entries per id, the entries): looked up once per distinct namespace; the
    last entry (an id without ``/`` or with a blank namespace) is None."""
    encoded = pc.dictionary_encode(pc.list_element(pc.split_pattern(ids, "/", max_splits=1), 0))
    names = pc.utf8_lower(pc.utf8_trim_whitespace(encoded.dictionary)).to_pylist()
    entries = [registry.lookup(x) if x else None for x in names] + [None]
    slash = pc.fill_null(pc.match_substring(ids, "/"), False).to_numpy(zero_copy_only=False)
    codes = pc.fill_null(encoded.indices, len(names)).to_numpy(zero_copy_only=False).astype("int64")
    return np.where(slash, codes, len(names)), entries


@dataclass(frozen=True)
class _Walk:
    """Where each row's walk up its first declared bases ended (see :func:`_walk`)."""

    first: pa.LargeStringArray  # the first declared base of each row (:func:`_first_bases`)
    end: np.ndarray  # the row that declared the ancestor reached (-1 without a base)
    depth: np.ndarray  # hops from the model to ``end`` (0 without a base)
    status: np.ndarray  # positions in _STATUS_NAMES
    namespace: np.ndarray  # per row, the position in ``entries`` of the namespace of ``end``
    entries: list  # registry entries of the namespaces met (None: unknown); the last is None


def _walk(df: pd.DataFrame, registry: Registry, unknown: int, max_hops: int) -> _Walk:
    """Follow each row's first declared base, then each ancestor's own, through the table's rows.

    The namespace of the id reached decides: an organisation of the registry stops the walk
    (``resolved``), an intermediary or individual is passed through to its own first base, an
    unknown namespace is ``unknown`` (``_PASS`` or ``_STOP``: ``unresolved``). An ancestor the
    table lacks (or that declares no base) is ``unresolved``; a next id already on the path
    (the model itself included) is a ``cycle``; ``max_hops`` used up is ``unresolved``. An
    ancestor is the first row with that id that declares a base; ids compare case-insensitively.

    Integer-coded: the walks stand on the declaring rows only; the ids passed through (the only
    ones whose own base is needed) are encoded once, and the declaring rows' ids looked up among
    them once; then one array operation per hop over the rows still walking.
    """
    n = len(df)
    first = _first_bases(df["base_models"] if "base_models" in df.columns else pd.Series(None, index=df.index))
    rows = np.flatnonzero(first.is_valid().to_numpy(zero_copy_only=False))  # the declaring rows
    declared = first.take(pa.array(rows))
    ns, entries = _id_namespaces(declared, registry)
    kind = np.array([unknown if e is None else _ORIGIN if e.is_origin else _PASS for e in entries], dtype="int8")[ns]
    # the bases passed through, encoded; each declaring row's own id among them (its code, -1 if none)
    through = np.flatnonzero(kind == _PASS)
    lower_base = pc.utf8_lower(declared)
    passed = pc.dictionary_encode(lower_base.take(pa.array(through)))
    code = np.full(len(rows), -1, dtype="int64")
    code[through] = passed.indices.to_numpy(zero_copy_only=False)
    ids = df["id"] if "id" in df.columns else pd.Series(pd.NA, index=df.index, dtype="string")
    lower_own = pc.utf8_lower(_text(ids).take(pa.array(rows)))
    own = pc.fill_null(pc.index_in(lower_own, value_set=passed.dictionary), -1).to_numpy(zero_copy_only=False)
    parent = np.full(len(passed.dictionary) + 1, -1, dtype="int64")  # code -> first declaring row with that id
    found = np.flatnonzero(own >= 0)[::-1]
    parent[own[found]] = found  # the last write (the first row) wins

    at = np.arange(len(rows))  # per walking row: the declaring row whose base is the id reached
    status = np.full(len(rows), _PENDING, dtype="int8")
    depth = np.ones(len(rows), dtype="int64")
    walking, path = at.copy(), [code]  # path: the codes of the ids reached, per walking row
    for _ in range(max_hops):
        if not len(walking):
            break
        k = kind[at[walking]]
        status[walking[k == _ORIGIN]] = _RESOLVED
        status[walking[k == _STOP]] = _UNRESOLVED
        keep = k == _PASS
        up = parent[code[at[walking[keep]]]]
        status[walking[keep][up < 0]] = _UNRESOLVED
        keep[keep] = up >= 0
        walking, up, path = walking[keep], up[up >= 0], [p[keep] for p in path]
        nxt = code[up]
        looped = pc.fill_null(pc.equal(lower_base.take(pa.array(up)), lower_own.take(pa.array(walking))),
                              False).to_numpy(zero_copy_only=False)  # back to the model itself
        for earlier in path:
            looped |= (nxt >= 0) & (earlier == nxt)
        status[walking[looped]] = _CYCLE
        walking, up, path = walking[~looped], up[~looped], [p[~looped] for p in path]
        at[walking] = up
        depth[walking] += 1
        path.append(code[up])
    status[walking] = _UNRESOLVED

    full_status = np.full(n, _NO_BASE, dtype="int8")
    full_status[rows] = status
    full_depth, full_ns, end = np.zeros(n, dtype="int64"), np.full(n, len(entries) - 1, dtype="int64"), np.full(n, -1)
    full_depth[rows], full_ns[rows], end[rows] = depth, ns[at], rows[at]
    return _Walk(first, end, full_depth, full_status, full_ns, entries)


def _origin_columns(prefix: str, walk: _Walk) -> dict[str, pd.arrays.ArrowStringArray]:
    """``<prefix>org``, ``<prefix>country``, ``<prefix>bloc`` of the ancestor each walk resolved."""
    picked = np.where(walk.status == _RESOLVED, walk.namespace, len(walk.entries))
    picked[walk.status == _NO_BASE] = -1
    return {prefix + col: _take([*(getattr(e, attr) if e else UNATTRIBUTED for e in walk.entries), UNATTRIBUTED], picked)
            for col, attr in (("org", "organisation"), ("country", "country"), ("bloc", "bloc"))}


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
    the rows by their namespace's code (a join, not a loop over rows); the new columns are made
    on their own and attached to the input's at once.
    """
    reg = as_registry(registry)
    codes, _, entries = _entries(df, reg)
    picked = np.where(codes < 0, len(entries) - 1, codes)
    new = {col: _take([getattr(e, attr) if e else UNATTRIBUTED for e in entries], picked)
           for col, attr in (("org", "organisation"), ("country", "country"), ("bloc", "bloc"), ("org_type", "org_type"))}
    for col, flag in (("fully_open", lambda e: e.fully_open), ("is_intermediary", lambda e: e.is_intermediary)):
        new[col] = pd.array(np.array([bool(e and flag(e)) for e in entries], dtype=bool)[codes], dtype="bool")
    walk = _walk(df, reg, _STOP, MAX_LINEAGE_HOPS)
    new["base_id"] = pd.array(walk.first, dtype="string")
    return df.assign(**new, **_origin_columns("base_", walk))  # the caller's table is never changed


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
    walk = _walk(df, as_registry(registry), _PASS, MAX_ROOT_HOPS)
    no_base = walk.status == _NO_BASE
    root_id = walk.first.take(pa.array(walk.end, mask=walk.end < 0))  # the ancestor as its child declared it
    return df.assign(root_id=pd.array(root_id, dtype="string"), **_origin_columns("root_", walk),
                     lineage_depth=pd.arrays.IntegerArray(walk.depth, no_base),
                     lineage_status=_take(_STATUS_NAMES, walk.status.astype("int64")))


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


