"""The vectorised attribution and derivatives against straightforward per-row references.

Small random tables full of edge cases (unknown namespaces, case variants and aliases, blank
and missing namespaces, ids without a namespace, intermediaries and individuals, bases missing
from the table, self-references, cycles, chains longer than the hop limits, duplicate ids,
lists with blanks, a single id instead of a list, missing and invalid downloads): every
reference below walks the rows one by one, the way the functions are defined.
"""
from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from openbrief import metrics
from openbrief.registry import MAX_LINEAGE_HOPS, UNATTRIBUTED, attribute, lineage_roots, load, unattributed_namespaces
from openbrief.registry.attribution import MAX_ROOT_HOPS
from openbrief.store.schema import RELATIONS

REGISTRY = load()
NAMESPACES = ["Qwen", "qwen", " Qwen ", "THUDM", "zai-org", "meta-llama", "unsloth", "bartowski", "jonatasgrosman",
              "someone", "SomeOne", "nobody-knows", "", None]


def _table(seed: int, n: int = 160, cells: str = "any") -> pd.DataFrame:
    """A random models table: chains, cycles, long chains, missing bases, odd cells; with
    ``cells="lists"`` every cell is a list or missing, as the store holds them (the Arrow path),
    with ``"arrow"`` the column is Arrow-backed lists."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        ns = rng.choice(NAMESPACES)
        prefix = (ns or "").strip() or rng.choice(["Qwen", "someone", "unsloth"])
        model_id = f"{prefix}/m{i}" if rng.random() > 0.05 else f"legacy{i}"  # an id without a namespace
        rows.append({"id": model_id, "namespace": ns})
    ids = [r["id"] for r in rows]
    for i, row in enumerate(rows):
        roll = rng.random()
        earlier = ids[:i] or ids
        if roll < 0.35:
            bases = None
        elif roll < 0.55:
            bases = [rng.choice(earlier)]
        elif roll < 0.62:
            bases = [rng.choice(earlier).upper()]  # ids compare case-insensitively in lineage
        elif roll < 0.68:
            bases = ["gone/deleted-model"]  # not in the table
        elif roll < 0.72:
            bases = [row["id"]]  # itself
        elif roll < 0.76:
            bases = [rng.choice(ids)]  # any row: cycles
        elif roll < 0.80:
            bases = ["", "  ", rng.choice(earlier)]  # blanks before the first real base
        elif roll < 0.84:
            bases = rng.choice(earlier)  # a single id, not a list
        elif roll < 0.88:
            bases = np.array([rng.choice(earlier), rng.choice(earlier)], dtype=object)  # parquet round trip
        elif roll < 0.895:
            bases = [None, float("nan"), rng.choice(earlier)]
        elif roll < 0.91:
            bases = ["\u3000", f" {rng.choice(earlier)}\t", "x/y"]  # whitespace (not all ASCII) around ids
        elif roll < 0.94:
            b = rng.choice(earlier)
            bases = [b, b]  # the same base twice
        else:
            bases = []
        if cells != "any" and bases is not None:
            bases = [bases] if isinstance(bases, str) else list(bases)
        row["base_models"] = bases
        row["base_relation"] = rng.choice([*RELATIONS, " Merge ", "unknown-kind", None])
        row["downloads"] = rng.choice([None, -3, 0, 1, 7, 50, 10**6, rng.randrange(0, 10**4)])
    # a chain longer than either hop limit, through individuals (passed through)
    chain_ids = [f"jonatasgrosman/chain-{k}" for k in range(MAX_ROOT_HOPS + 3)]
    for k, cid in enumerate(chain_ids):
        rows.append({"id": cid, "namespace": "jonatasgrosman", "base_models": [chain_ids[k + 1]] if k + 1 < len(chain_ids)
                     else ["Qwen/root"], "base_relation": "finetune", "downloads": 1})
    rows.append({**rows[3], "base_models": ["Qwen/other"]})  # a duplicate id
    table = pd.DataFrame(rows)
    table["id"] = table["id"].astype("string")
    table["namespace"] = table["namespace"].astype("string")
    table["base_relation"] = table["base_relation"].astype("string")
    table["downloads"] = table["downloads"].astype("Int64")
    if cells == "arrow":
        lists = pa.array(table["base_models"].to_numpy(dtype=object), type=pa.list_(pa.string()), from_pandas=True)
        table["base_models"] = pd.Series(pd.array(lists, dtype=pd.ArrowDtype(lists.type)), index=table.index)
    return table


# ----------------------------------------------------------------- references, row by row

def _namespace(value, model_id):
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(model_id, str) and "/" in model_id:
        return model_id.split("/", 1)[0].strip() or None
    return None


def _first(value):
    if isinstance(value, str):
        return value.strip() or None
    if value is None or value is pd.NA or isinstance(value, float):  # pd.NA: a missing Arrow-backed cell
        return None
    for item in list(value):
        if isinstance(item, str) and item.strip():
            return item.strip()
    return None


def _ns_of_id(model_id):
    if "/" not in model_id:
        return None
    return model_id.split("/", 1)[0].strip().lower() or None


def _walks(table, pass_unknown: bool, max_hops: int):
    """(end, depth, status, entry) per row, following first bases one row at a time."""
    firsts = [_first(v) for v in table["base_models"]]
    parent = {}
    for model_id, first in zip(table["id"], firsts):
        if isinstance(model_id, str) and first is not None:
            parent.setdefault(model_id.lower(), first)
    out = []
    for model_id, first in zip(table["id"], firsts):
        if first is None:
            out.append((None, None, "no-base", None))
            continue
        path, current, depth, status, entry = {model_id.lower(), first.lower()}, first, 1, None, None
        for _ in range(max_hops):
            entry = REGISTRY.lookup(_ns_of_id(current))
            if entry is not None and entry.is_origin:
                status = "resolved"
                break
            if entry is None and not pass_unknown:
                status = "unresolved"
                break
            nxt = parent.get(current.lower())
            if nxt is None:
                status = "unresolved"
                break
            if nxt.lower() in path:
                status = "cycle"
                break
            current, depth = nxt, depth + 1
            path.add(nxt.lower())
        else:
            status = "unresolved"
        out.append((current, depth, status, entry))
    return out


def _origins(walks, attr):
    return [None if status == "no-base" else getattr(entry, attr) if status == "resolved" else UNATTRIBUTED
            for _, _, status, entry in walks]


SEEDS = range(6)


@pytest.mark.parametrize("cells", ["any", "lists", "arrow"])
@pytest.mark.parametrize("seed", SEEDS)
def test_attribute_matches_a_row_by_row_lookup(seed, cells):
    table = _table(seed, cells=cells)
    got = attribute(table, REGISTRY)
    entries = [REGISTRY.lookup(_namespace(v, i)) for v, i in zip(table["namespace"], table["id"])]
    for col, attr in (("org", "organisation"), ("country", "country"), ("bloc", "bloc"), ("org_type", "org_type")):
        assert got[col].tolist() == [getattr(e, attr) if e else UNATTRIBUTED for e in entries], col
    assert got["fully_open"].tolist() == [bool(e and e.fully_open) for e in entries]
    assert got["is_intermediary"].tolist() == [bool(e and e.is_intermediary) for e in entries]
    assert got["base_id"].astype(object).where(got["base_id"].notna(), None).tolist() == \
        [_first(v) for v in table["base_models"]]
    walks = _walks(table, pass_unknown=False, max_hops=MAX_LINEAGE_HOPS)
    for col, attr in (("base_org", "organisation"), ("base_country", "country"), ("base_bloc", "bloc")):
        assert got[col].astype(object).where(got[col].notna(), None).tolist() == _origins(walks, attr), col
    pd.testing.assert_frame_equal(got[table.columns], table)  # the input's columns untouched


@pytest.mark.parametrize("cells", ["any", "lists", "arrow"])
@pytest.mark.parametrize("seed", SEEDS)
def test_lineage_roots_match_a_row_by_row_walk(seed, cells):
    table = _table(seed, cells=cells)
    before = table.copy()
    got = lineage_roots(table, REGISTRY)
    walks = _walks(table, pass_unknown=True, max_hops=MAX_ROOT_HOPS)
    as_list = lambda col: got[col].astype(object).where(got[col].notna(), None).tolist()  # noqa: E731
    assert as_list("root_id") == [end for end, _, _, _ in walks]
    assert as_list("lineage_depth") == [depth for _, depth, _, _ in walks]
    assert as_list("lineage_status") == [status for _, _, status, _ in walks]
    for col, attr in (("root_org", "organisation"), ("root_country", "country"), ("root_bloc", "bloc")):
        assert as_list(col) == _origins(walks, attr), col
    statuses = set(as_list("lineage_status"))
    assert {"resolved", "unresolved", "cycle", "no-base"} <= statuses or seed != 0  # the edge cases occur
    pd.testing.assert_frame_equal(table, before)


def test_the_edge_cases_occur():
    """The random tables do hold every status, a chain past both hop limits and unknown namespaces."""
    table = _table(0)
    roots = lineage_roots(table, REGISTRY)
    assert set(roots["lineage_status"]) == {"resolved", "unresolved", "cycle", "no-base"}
    assert roots["lineage_depth"].max() > MAX_LINEAGE_HOPS
    assert (attribute(table, REGISTRY)["org"] == UNATTRIBUTED).any()


def test_the_list_tables_take_the_arrow_path():
    """A table of lists converts to Arrow in one call (the tables of ``cells="lists"`` test that
    path), one with single ids or arrays does not (the others test the cell-by-cell one)."""
    convert = lambda t: pa.array(t["base_models"].dropna().to_numpy(dtype=object),  # noqa: E731
                                 type=pa.list_(pa.large_string()), from_pandas=True)
    for seed in SEEDS:
        assert len(convert(_table(seed, cells="lists"))) > 0
        assert not all(isinstance(v, list) for v in _table(seed)["base_models"].dropna())


@pytest.mark.parametrize("seed", SEEDS)
def test_unattributed_namespaces_match_a_row_by_row_count(seed):
    table = _table(seed)
    got = unattributed_namespaces(table, REGISTRY)
    expected: dict[str, list] = {}
    for value, model_id, downloads in zip(table["namespace"], table["id"], table["downloads"]):
        ns = _namespace(value, model_id)
        if ns is not None and REGISTRY.lookup(ns) is None:
            expected.setdefault(ns.lower(), []).append(None if pd.isna(downloads) else int(downloads))
    assert sorted(got["namespace"].str.lower()) == sorted(expected)
    for ns, models, downloads in got.itertuples(index=False):
        values = expected[ns.lower()]
        assert models == len(values)
        known = [v for v in values if v is not None]
        assert (None if pd.isna(downloads) else downloads) == (sum(known) if known else None)


def _as_ids(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v is not None and not (isinstance(v, float) and math.isnan(v))]


@pytest.mark.parametrize("cells", ["any", "lists", "arrow"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("min_downloads", [None, 5])
def test_listed_derivatives_match_a_row_by_row_count(seed, min_downloads, cells):
    table = _table(seed, cells=cells).drop_duplicates("id").reset_index(drop=True)
    for col in ("children_" + r for r in (*RELATIONS, "total")):
        table[col] = pd.array([pd.NA] * len(table), dtype="Int64")
    got = metrics.derivatives(table, min_downloads=min_downloads)
    listed = got.rows[got.rows["source"] == "listed"].set_index("base")
    expected: dict[str, dict] = {}
    self_refs = 0
    for child, bases, relation, downloads in zip(table["id"], table["base_models"], table["base_relation"],
                                                 table["downloads"]):
        downloads = None if pd.isna(downloads) or downloads < 0 else int(downloads)
        for base in dict.fromkeys(_as_ids(bases)):
            if base == child:
                self_refs += 1
                continue
            row = expected.setdefault(base, {r: 0 for r in (*RELATIONS, "total")} | {"downloads": []})
            if min_downloads is not None and not (downloads is not None and downloads > min_downloads):
                continue
            rel = None if pd.isna(relation) else relation.strip().lower()
            if rel in RELATIONS:
                row[rel] += 1
            row["total"] += 1
            row["downloads"].append(downloads)
    assert sorted(listed.index) == sorted(expected)
    for base, want in expected.items():
        for col in (*RELATIONS, "total"):
            assert listed.loc[base, col] == want[col], (base, col)
        known = [d for d in want["downloads"] if d is not None]
        sums = listed.loc[base, "listed_downloads_30d"]
        assert (None if pd.isna(sums) else sums) == (sum(known) if known or not want["downloads"] else None)
        if not want["downloads"]:
            assert sums == 0
    assert got.coverage["self_references_dropped"] == self_refs
    assert got.coverage["fetched_declaring_base"] == sum(bool(_as_ids(b)) for b in table["base_models"])


@pytest.mark.parametrize("n", [0, 1, 5, 40])
def test_top_models_match_a_full_sort(n):
    rng = random.Random(n)
    table = attribute(pd.DataFrame({
        "id": pd.array([f"ns{rng.randrange(5)}/m{i}" for i in range(300)], dtype="string"),
        "downloads": pd.array([rng.choice([None, -1, 3, 3, 3, 10, 10, 500]) for _ in range(300)], dtype="Int64"),
        "likes": pd.array([rng.choice([None, 1]) for _ in range(300)], dtype="Int64"),
        "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
    }), REGISTRY)
    got = metrics.top_models(table, n=n).rows
    ranked = sorted(((int(d), i) for i, d in zip(table["id"], table["downloads"]) if not pd.isna(d) and d >= 0),
                    key=lambda x: (-x[0], x[1]))[:n]
    assert list(zip(got["downloads_30d"], got["id"])) == ranked


def test_openness_tiers_match_a_row_by_row_tier():
    rng = random.Random(3)
    licenses = ["apache-2.0", "MIT", "license:llama3", "cc-by-4.0", "cc-by-nc-4.0", "", "unknown", None, "other"]
    table = attribute(pd.DataFrame({
        "id": pd.array([f"Qwen/m{i}" for i in range(200)], dtype="string"),
        "license": pd.array([rng.choice(licenses) for _ in range(200)], dtype="string"),
        "downloads": pd.array([rng.choice([None, 0, 5, 100]) for _ in range(200)], dtype="Int64"),
    }), REGISTRY)
    got = metrics.openness(table, by="bloc").coverage["tier_models"]
    tiers = [metrics.license_tier(None if pd.isna(x) else x) for x in table["license"]]
    assert got == {t: tiers.count(t) for t in metrics.LICENSE_TIERS}


@pytest.mark.parametrize("universe", metrics.HUB_UNIVERSES)
def test_hub_universes_match_a_row_by_row_reading(universe):
    rng = random.Random(7)
    choices = [None, float("nan"), [], ["hub-top"], ["author=Qwen"], ["author=Qwen", "hub-top"], ["new"],
               np.array(["hub-top", "new"], dtype=object), ["ancestor"], [None, "new"]]
    listed = [rng.choice(choices) for _ in range(300)]
    table = pd.DataFrame({"id": [f"a/m{i}" for i in range(300)], "listed_by": pd.Series(listed, dtype=object)})
    got = metrics.in_hub_universe(table, universe).tolist()
    queries = [None if v is None or (isinstance(v, float) and math.isnan(v)) else [str(q) for q in v] for v in listed]
    if universe == "tracked":
        expected = [qs is None or any(q.startswith("author=") for q in qs) for qs in queries]
    else:
        expected = [qs is not None and universe in qs for qs in queries]
    assert got == expected


@pytest.mark.parametrize("cells", ["any", "lists", "arrow"])
@pytest.mark.parametrize("seed", SEEDS)
def test_root_families_match_a_row_by_row_rule_search(seed, cells):
    roots = metrics.with_roots(_table(seed, cells=cells), REGISTRY)
    rules = metrics.load_families()
    expected = []
    for root, status in zip(roots["root_id"], roots["lineage_status"]):
        if status == "no-base":
            expected.append(None)
        elif status != "resolved":
            expected.append(UNATTRIBUTED)
        else:
            ns, _, name = root.partition("/")
            entry = REGISTRY.lookup(ns)
            canonical = entry.namespace.lower() if entry else ns.lower()
            family = next((r.family for r in rules.itertuples(index=False) if canonical == r.namespace.lower()
                           and (not r.pattern or pd.Series([name]).str.contains(r.pattern, case=False).iloc[0])),
                          metrics.OTHER_FAMILY)
            expected.append(family)
    got = roots["root_family"]
    assert got.astype(object).where(got.notna(), None).tolist() == expected
