"""The whole-Hub shortcuts of the metrics against straightforward references.

``duplicated_ids`` (DuckDB hashes for long columns), the universes and categories computed once
per distinct list (``_distinct_cells``: a snapshot read from the store shares one list object
between the rows holding it), the curated universe's rules tested only where they can still
change the answer, and ``definitions``/``by_category`` summing every selection in one pass: each
is compared, on random tables, with the row-by-row definition or the earlier composition of
public metrics.
"""
from __future__ import annotations

import random
import re

import numpy as np
import pandas as pd
import pytest

from openbrief import metrics
from openbrief.metrics import base
from openbrief.metrics.categories import categorize, load_categories, load_universe, universe_reasons
from openbrief.metrics.definitions import DEFINITIONS, LINEAGE, SHARE_COLUMNS, by_category, definitions
from openbrief.metrics.roots import in_hub_universe
from openbrief.registry import attribute, load
from openbrief.store.schema import MODEL_COLUMNS, conform

REGISTRY = load()
TAGS = ["gguf", "GGUF", "mlx", "peft", "lora", "4-bit", "conversational", "region:us", "text-generation", "diffusers",
        "sentence-transformers", "endpoints_compatible", "license:mit", ""]
WORDS = ["chat", "GGUF", "mlx", "Instruct", "lora", "reward", "guard", "embed", "test", "tiny-random", "8bit",
         "awq", "coder", "exl2", "bnb", "7B", "qlora", "base", "v2", "pro", "mini", "large", "flash", "r1", "math"]
NAMESPACES = ["Qwen", "deepseek-ai", "meta-llama", "mistralai", "unsloth", "bartowski", "someone", "nobody", "THUDM"]
PIPELINES = ["text-generation", "image-text-to-text", "feature-extraction", "text-to-image", "fill-mask",
             "automatic-speech-recognition", None]
LIBRARIES = ["transformers", "peft", "gguf", "mlx", "diffusers", "sentence-transformers", "ONNX", None]


def _table(seed: int, n: int = 3_000, shared: bool = True) -> pd.DataFrame:
    """A random attributed snapshot table; with ``shared`` the rows holding an equal list share one
    list object (as a store read gives them), else every row has its own copy."""
    rng = random.Random(seed)
    made: dict[tuple, list] = {}

    def cell(values):
        if values is None:
            return None
        return made.setdefault(tuple(values), list(values)) if shared else list(values)

    rows = []
    for i in range(n):
        ns = rng.choice(NAMESPACES)
        name = "-".join(rng.sample(WORDS, rng.randint(1, 3)))
        listed = rng.choice([None, ["hub-top"], ["new"], ["hub-top", "new"], [f"author={ns}"],
                             [f"author={ns}", "hub-top"], []])
        tags = None if rng.random() < 0.1 else rng.sample(TAGS, rng.randint(0, 4))
        base = [f"{rng.choice(NAMESPACES)}/m{rng.randint(0, n)}"] if rng.random() < 0.4 else None
        rows.append({
            "snapshot_id": "S1", "id": f"{ns}/{name}-{i % (n - 40)}",  # a few ids repeat
            "namespace": ns, "author": ns, "downloads": rng.choice([None, -1, 0, rng.randint(0, 10**6)]),
            "pipeline_tag": rng.choice(PIPELINES), "library_name": rng.choice(LIBRARIES),
            "license": rng.choice(["apache-2.0", "MIT", "llama3.1", "cc-by-nc-4.0", "cc-by-4.0", "other", "gpl-3.0", None]),
            "base_models": cell(base), "base_relation": rng.choice(["finetune", "adapter", "quantized", "merge"])
            if base else None, "tags": cell(tags), "listed_by": cell(listed),
        })
    return attribute(conform(pd.DataFrame(rows), MODEL_COLUMNS), REGISTRY)


def _unshared(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in ("tags", "listed_by", "base_models"):
        out[col] = [None if v is None else list(v) for v in out[col]]
    return out


@pytest.mark.parametrize("rows", [0, 1, 10**9])  # the hashed path, and pandas alone
def test_duplicated_ids_is_series_duplicated(monkeypatch, rows):
    monkeypatch.setattr(base, "HASHED_ROWS", rows)
    rng = np.random.default_rng(3)
    ids = pd.Series([f"org/m{i}" for i in rng.integers(0, 4_000, 6_000)] + [None, None, "", ""], dtype="string")
    ids = ids.sample(frac=1, random_state=1).reset_index(drop=True)
    got = base.duplicated_ids(ids)
    assert got.dtype == bool and got.sum() > 1_000
    assert (got == ids.duplicated(keep="first").to_numpy()).all()
    assert not base.duplicated_ids(pd.Series(["a", "b"], dtype="string")).any()


def test_distinct_cells_codes_rebuild_every_cell():
    table = _table(1)
    for col in ("tags", "listed_by"):
        codes, distinct = base._distinct_cells(table[col])
        assert len(distinct) == len({None if v is None else tuple(v) for v in table[col]})  # one per list value
        assert all(a is b for a, b in zip(distinct.to_numpy()[codes], table[col]))
        codes, distinct = base._distinct_cells(_unshared(table)[col])
        assert len(distinct) == (table[col].notna().sum() + table[col].isna().any())  # one per list, one None


def test_addresses_are_the_objects_ids():
    cells = np.empty(6, dtype=object)
    cells[:] = [[1], "x", None, [1], 2.5, ()]
    assert list(base._addresses(cells)) == [id(c) for c in cells]
    assert len(base._addresses(cells[:0])) == 0


def _reason(row: dict, category: str, rules: pd.DataFrame) -> str | None:
    """The first reason a model is left out of llm-curated, row by row as the rule file reads."""
    if category != "llm":
        return f"category {category}: not llm"
    tags = [t.lower() for t in (row["tags"] or [])]
    for kind, pattern, reason in rules[["kind", "pattern", "reason"]].itertuples(index=False):
        hit = {"intermediary": lambda: bool(row["is_intermediary"]),
               "relation": lambda: str(row["base_relation"]).lower() == pattern.lower(),
               "library": lambda: str(row["library_name"]).lower() == pattern.lower(),
               "tag": lambda: pattern.lower() in tags,
               "name-regex": lambda: re.search(pattern, row["id"], re.IGNORECASE) is not None}[kind]()
        if hit:
            return f"{kind} {pattern}: {reason}"
    return None


@pytest.mark.parametrize("seed", [1, 2])
def test_universe_reasons_are_the_first_rule_row_by_row(seed):
    table = _table(seed)
    rules = load_universe("llm-curated").table
    category = categorize(table)
    expected = [_reason(r, c, rules) for r, c in zip(table.to_dict("records"), category)]
    for frame in (table, _unshared(table)):
        got = universe_reasons(frame, "llm-curated")
        assert [None if pd.isna(v) else v for v in got] == expected
        assert got.equals(universe_reasons(frame, "llm-curated", category=category))
    assert sum(e is None for e in expected) > 10 and len({e for e in expected}) > 15  # the table tests many rules


def _category(row: dict, rules: pd.DataFrame) -> str:
    """The category of one row: the first rule matching its pipeline tag, library or a tag."""
    values = {"pipeline_tag": [row["pipeline_tag"]], "library_name": [row["library_name"]], "tag": row["tags"] or []}
    for field, value, category in rules[["field", "value", "category"]].itertuples(index=False):
        if any(v is not None and str(v).lower() == value.lower() for v in values[field]):
            return category
    return "unknown" if row["pipeline_tag"] is None else "other"


def test_categorize_row_by_row_shared_or_not():
    table = _table(4)
    rules = load_categories().table
    expected = [_category(r, rules) for r in table.to_dict("records")]
    assert list(categorize(table)) == expected == list(categorize(_unshared(table)))
    assert len(set(expected)) >= 5


@pytest.mark.parametrize("universe", ["tracked", "hub-top", "new"])
def test_in_hub_universe_row_by_row(universe):
    table = _table(5)

    def member(listed) -> bool:
        if listed is None:
            return universe == "tracked"
        return any(q.startswith("author=") for q in listed) if universe == "tracked" else universe in listed

    expected = [member(v) for v in table["listed_by"]]
    assert list(in_hub_universe(table, universe)) == expected == list(in_hub_universe(_unshared(table), universe))
    assert 0 < sum(expected) < len(expected)


def _headline_by_download_share(models: pd.DataFrame, by: str) -> dict:
    """The headline of one selection as composed from ``download_share`` (the earlier implementation)."""
    share = metrics.download_share(models, by=by)
    total = share.coverage["downloads_30d_total"]
    groups = share.rows.set_index("group")["share"].fillna(0.0)
    out = {b: groups.get(b, 0.0) for b in ("CN", "US", "EU", "unattributed")}
    out["rest"] = groups.drop(list(out), errors="ignore").sum()
    return {"models": share.coverage["models_with_downloads"], "downloads_30d": total,
            **{c: out[c] if total else None for c in SHARE_COLUMNS}}


def _same(got: pd.Series, expected: dict) -> None:
    assert got["models"] == expected["models"]
    assert (pd.isna(got["downloads_30d"]) and expected["downloads_30d"] is None) or \
        got["downloads_30d"] == expected["downloads_30d"]
    for c in SHARE_COLUMNS:
        if expected[c] is None:
            assert pd.isna(got[c])
        else:
            assert got[c] == pytest.approx(expected[c], abs=1e-12)


@pytest.mark.parametrize("seed", [6, 7])
def test_definitions_match_download_share_per_selection(seed):
    table = _table(seed)
    once = table.drop_duplicates("id").reset_index(drop=True)
    once[LINEAGE] = once["base_bloc"].fillna(once["bloc"])
    category = categorize(once)
    rows = definitions(table).rows.set_index("definition")
    assert list(rows.index) == [d.name for d in DEFINITIONS]
    for d in DEFINITIONS:
        keep = (d.keep(once, category) & in_hub_universe(once, d.universe)).to_numpy(dtype=bool)
        _same(rows.loc[d.name], _headline_by_download_share(once[keep], d.attribution))
    assert (rows["models"] > 0).sum() >= 7  # most selections count models


def test_by_category_matches_download_share_and_a_sort():
    table = _table(8)
    once = table.drop_duplicates("id").reset_index(drop=True)
    category = categorize(once)
    rows = by_category(table).rows.set_index("category")
    assert set(rows.index) == set(category)
    for name, got in rows.iterrows():
        members = once[(category == name).to_numpy()]
        _same(got, _headline_by_download_share(members, "bloc"))
        counted = members[members["downloads"].fillna(-1) >= 0].sort_values(["downloads", "id"],
                                                                             ascending=[False, True])
        assert (got["top_model"], got["top_model_downloads"]) == (counted["id"].iloc[0], counted["downloads"].iloc[0])


def test_openness_row_by_row():
    table = _table(9)
    table["fully_open"] = [None if i % 7 == 0 else i % 3 == 0 for i in range(len(table))]
    once = table.drop_duplicates("id").reset_index(drop=True)
    rows = metrics.openness(table, by="bloc").rows.set_index("group")
    tiers = [metrics.license_tier(v) for v in once["license"].astype(object).where(once["license"].notna(), None)]
    groups = once["bloc"].astype(object).where(once["bloc"].notna(), "unattributed")
    valid = [None if pd.isna(d) or d < 0 else int(d) for d in once["downloads"]]
    for group in set(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        total = sum(valid[i] or 0 for i in members)
        assert rows.loc[group, "models"] == len(members)
        for tier in metrics.LICENSE_TIERS:
            assert rows.loc[group, tier] == sum(tiers[i] == tier for i in members)
            part = sum(valid[i] or 0 for i in members if tiers[i] == tier)
            got = rows.loc[group, f"{tier}_share"]
            assert (pd.isna(got) and total == 0) or got == pytest.approx(part / total, abs=1e-12)
        assert rows.loc[group, "fully_open"] == sum(bool(once["fully_open"][i] is True) for i in members)


@pytest.mark.parametrize("by", ["bloc", "org", "country"])
def test_download_share_row_by_row(by):
    table = _table(10)
    table.loc[table.index[::50], by] = "unattributed"  # written out: one group with the missing ones
    once = table.drop_duplicates("id").reset_index(drop=True)
    result = metrics.download_share(table, by=by)
    groups = ["unattributed" if pd.isna(g) else g for g in once[by]]
    valid = [None if pd.isna(d) or d < 0 else int(d) for d in once["downloads"]]
    total = sum(v for v in valid if v is not None)
    rows = result.rows.set_index("group")
    assert set(rows.index) == set(groups)
    for group in set(groups):
        members = [v for g, v in zip(groups, valid) if g == group]
        counted = [v for v in members if v is not None]
        assert rows.loc[group, "models"] == len(counted)
        assert (pd.isna(rows.loc[group, "downloads_30d"]) and not counted) or rows.loc[group, "downloads_30d"] == sum(counted)
        assert rows.loc[group, "share"] == pytest.approx(sum(counted) / total, abs=1e-12)
    assert result.coverage["downloads_30d_total"] == total
    assert result.coverage["unattributed_models"] == groups.count("unattributed")
    assert result.coverage["models_with_invalid_downloads"] == sum(1 for d in once["downloads"] if not pd.isna(d) and d < 0)
    assert list(rows["downloads_30d"].fillna(-1)) == sorted(rows["downloads_30d"].fillna(-1), reverse=True)
