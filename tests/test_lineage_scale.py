"""Lineage at whole-Hub scale: inputs the vectorised paths treat on their own give what the
straightforward definitions give (the row-by-row references are in test_scale_equivalence.py).
"""
from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pytest

from openbrief import metrics
from openbrief.registry import attribute, lineage_roots

from test_scale_equivalence import REGISTRY, _table


def _chunked(table: pd.DataFrame) -> pd.DataFrame:
    """The same rows, concatenated from two parts: the text columns become Arrow arrays of two chunks."""
    half = len(table) // 2
    return pd.concat([table.iloc[:half], table.iloc[half:]], ignore_index=True)


@pytest.mark.parametrize("cells", ["any", "lists", "arrow"])
def test_chunked_columns_give_the_same_lineage(cells):
    table = _table(3, cells=cells)
    chunked = _chunked(table)
    assert pa.array(chunked["id"].array).num_chunks > 1
    pd.testing.assert_frame_equal(attribute(chunked, REGISTRY), attribute(table, REGISTRY))
    pd.testing.assert_frame_equal(metrics.with_roots(chunked, REGISTRY), metrics.with_roots(table, REGISTRY))
    roots = lineage_roots(table, REGISTRY)
    pd.testing.assert_series_equal(metrics.root_family(_chunked(roots), REGISTRY), metrics.root_family(roots, REGISTRY))
    unique = table.drop_duplicates("id").reset_index(drop=True)
    for col in ("children_" + r for r in ("finetune", "adapter", "quantized", "merge", "total")):
        unique[col] = pd.array([pd.NA] * len(unique), dtype="Int64")
    got, want = metrics.derivatives(_chunked(unique)), metrics.derivatives(unique)
    pd.testing.assert_frame_equal(got.rows, want.rows)
    assert got.coverage == want.coverage


def _rule_family(rules: pd.DataFrame, root: str) -> str | None:
    """The first rule of ``rules`` for ``root`` (its registry namespace, its name), by Python ``re``."""
    ns, _, name = root.partition("/")
    entry = REGISTRY.lookup(ns)
    canonical = entry.namespace.lower() if entry else ns.lower()
    return next((r.family for r in rules.itertuples(index=False) if r.namespace.lower() == canonical
                 and (not r.pattern or re.search(r.pattern, name, re.IGNORECASE))), None)


def test_root_families_follow_the_statuses_and_python_patterns():
    """A rule family stays on a root whatever its status but a broken chain (``unresolved``,
    ``cycle``); ``other`` only for a resolved root; patterns are Python regular expressions
    (a look-ahead included), tried case-insensitively; aliases resolve to their namespace."""
    rules = pd.DataFrame({"namespace": ["microsoft", "microsoft", "zai-org", "Qwen"],
                          "pattern": ["^(?!phi)orca", "^PHI", "glm", ""],
                          "family": ["Orca", "Phi", "GLM", "Qwen"], "reason": ""})
    roots = ["microsoft/Orca-2", "microsoft/phi-4", "microsoft/orca-phi", "THUDM/glm-4", "thudm/chatglm",
             "Qwen/x", "nobody/model", None]
    statuses = ["resolved", None, "resolved", "resolved", "cycle", "unresolved", "resolved", "no-base"]
    models = pd.DataFrame({"root_id": pd.array(roots, dtype="string"), "lineage_status": pd.array(statuses, dtype="string")})
    expected = []
    for root, status in zip(roots, statuses):
        if status in ("unresolved", "cycle"):
            expected.append(metrics.UNATTRIBUTED)
        elif root is None:
            expected.append(None)
        else:
            family = _rule_family(rules, root)
            expected.append(family if family else metrics.OTHER_FAMILY if status == "resolved" else None)
    got = metrics.root_family(models, REGISTRY, families=rules)
    assert got.astype(object).where(got.notna(), None).tolist() == expected
    assert {"Orca", "Phi", "GLM", metrics.OTHER_FAMILY} <= set(expected)
