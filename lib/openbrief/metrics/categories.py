"""Model categories and universes: what kind of model a Hub repo is, and which models a figure counts.

Categories come from Hub fields only (``pipeline_tag``, ``library_name``, ``tags``), by the
rules of ``data/categories.csv``: tried in file order, the first that matches decides; a model
whose pipeline tag no rule lists is ``other``; a model without a pipeline tag that no rule
decides is ``unknown`` (missing is not "other").

A universe is the set of models a figure counts: ``all``, or ``llm-curated`` (category
``llm`` minus format conversions, re-uploads, adapters, guards, reward models, classifiers,
embedders and test repos, by the rules of ``data/universe_llm_curated.csv``; in the spirit of
the ATOM Project's hand-picked list). Rule files have ``#`` comment lines, a
``# version: ...`` line and one rule per line, like ``data/registry.csv``.

Everything here is vectorised over rows: values are looked up once per distinct value and
rules are applied column-wise, so a whole-Hub table (millions of rows) categorises in well
under a second.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from openbrief.errors import UsageError
from openbrief.metrics.base import _distinct_cells
from openbrief.i18n import N_
from openbrief.store.schema import RELATIONS

DATA = Path(__file__).resolve().parent / "data"
CATEGORIES_FILE = DATA / "categories.csv"

#: The categories, in display order, each with a one-line description.
CATEGORIES: dict[str, str] = {
    "llm": N_("language models: generate text or chat (text, vision-language, video-language)"),
    "embedding": N_("embedding models, rerankers and masked-language encoders"),
    "image-generation": N_("generate or edit images, video or 3D"),
    "speech-audio": N_("speech recognition, speech synthesis and other audio"),
    "vision": N_("image and video understanding: classification, detection, segmentation, depth, OCR"),
    "other": N_("every other task the Hub lists (text classification, translation, tabular, ...)"),
    "unknown": N_("no pipeline tag and nothing else decisive"),
}
OTHER, UNKNOWN = "other", "unknown"

#: The universes, each with a one-line description; a universe with rules has a rule file.
UNIVERSES: dict[str, str] = {
    "all": N_("every model of the table"),
    "llm-curated": N_("first-party language models: category llm without format conversions, "
                      "re-uploads, adapters, guards, reward models, classifiers, embedders or test repos"),
}
UNIVERSE_FILES = {"llm-curated": DATA / "universe_llm_curated.csv"}

CATEGORY_FIELDS = ("pipeline_tag", "library_name", "tag")
UNIVERSE_KINDS = ("name-regex", "library", "tag", "relation", "intermediary")
_VERSION_RE = re.compile(r"^#\s*version\s*:\s*(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Rules:
    """A rule file: its version and its rules, one row each in file order (``line``: the file's line)."""

    version: str
    table: pd.DataFrame


# ----------------------------------------------------------------- names

def check_category(name: str) -> str:
    """``name`` when it is a category; else UsageError (exit 2) naming the valid ones."""
    if name not in CATEGORIES:
        raise UsageError(f"unknown category {name!r}: expected one of {', '.join(CATEGORIES)}")
    return name


def check_universe(name: str) -> str:
    """``name`` when it is a universe; else UsageError (exit 2) naming the valid ones."""
    if name not in UNIVERSES:
        raise UsageError(f"unknown universe {name!r}: expected one of {', '.join(UNIVERSES)}")
    return name


# ----------------------------------------------------------------- reading rule files

def _read_rules(path: Path, columns: tuple[str, ...], problems_of) -> Rules:
    """Parse a rule file; every problem (``file:line: message``) in one UsageError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(f"cannot read rule file {path}: {e.strerror or e}") from None
    version, header, rows, problems = None, None, [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            m = _VERSION_RE.match(stripped)
            version = version or (m.group(1) if m else None)
            continue
        fields = [x.strip() for x in next(csv.reader([line]))]
        if header is None:
            if tuple(fields) != columns:
                raise UsageError(f"{path}:{lineno}: expected the header {','.join(columns)}")
            header = fields
            continue
        if len(fields) != len(columns):
            problems.append(f"{path}:{lineno}: expected {len(columns)} fields, got {len(fields)}")
            continue
        row = dict(zip(columns, fields))
        problems += [f"{path}:{lineno}: {p}" for p in problems_of(row, rows)]
        rows.append({**row, "line": lineno})
    if not rows and not problems:
        problems.append(f"{path}: no rules")
    if problems:
        n = len(problems)
        raise UsageError(f"invalid rule file ({n} problem{'s' * (n != 1)}): " + "; ".join(problems))
    return Rules(version or "unversioned", pd.DataFrame(rows, columns=[*columns, "line"]))


def _category_problems(row: dict, earlier: list[dict]) -> list[str]:
    out = []
    if row["field"] not in CATEGORY_FIELDS:
        out.append(f"unknown field {row['field']!r} (expected one of {', '.join(CATEGORY_FIELDS)})")
    if not row["value"]:
        out.append("missing value")
    if row["category"] not in CATEGORIES or row["category"] == UNKNOWN:
        out.append(f"unknown category {row['category']!r} "
                   f"(expected one of {', '.join(c for c in CATEGORIES if c != UNKNOWN)})")
    if not row["reason"]:
        out.append("missing reason")
    if any(e["field"] == row["field"] and e["value"].lower() == row["value"].lower() for e in earlier):
        out.append(f"{row['field']} {row['value']!r} is listed twice (only the first rule would apply)")
    return out


def _universe_problems(row: dict, earlier: list[dict]) -> list[str]:
    out = []
    kind, pattern = row["kind"], row["pattern"]
    if kind not in UNIVERSE_KINDS:
        out.append(f"unknown kind {kind!r} (expected one of {', '.join(UNIVERSE_KINDS)})")
    elif kind == "name-regex":
        try:  # by the engine that applies it
            pd.Series([""], dtype="string").str.contains(pattern, case=False, regex=True)
        except (re.error, ValueError) as e:
            out.append(f"invalid regular expression {pattern!r}: {e}")
    elif kind == "relation" and pattern not in RELATIONS:
        out.append(f"unknown relation {pattern!r} (expected one of {', '.join(RELATIONS)})")
    elif kind == "intermediary" and pattern != "true":
        out.append(f"the pattern of an intermediary rule is 'true', not {pattern!r}")
    if not pattern:
        out.append("missing pattern")
    if not row["reason"]:
        out.append("missing reason")
    if any(e["kind"] == kind and e["pattern"] == pattern for e in earlier):
        out.append(f"{kind} {pattern!r} is listed twice")
    return out


def load_categories(path: str | Path | None = None) -> Rules:
    """The category rules (``field``, ``value``, ``category``, ``reason``, ``line``): shipped, or ``path``."""
    return _read_rules(Path(path or CATEGORIES_FILE), ("field", "value", "category", "reason"),
                       _category_problems)


def load_universe(universe: str, path: str | Path | None = None) -> Rules:
    """The exclusion rules (``kind``, ``pattern``, ``reason``, ``line``) of a universe; ``all`` has none."""
    check_universe(universe)
    if path is None and universe not in UNIVERSE_FILES:
        return Rules("-", pd.DataFrame(columns=["kind", "pattern", "reason", "line"]))
    return _read_rules(Path(path or UNIVERSE_FILES[universe]), ("kind", "pattern", "reason"),
                       _universe_problems)


# ----------------------------------------------------------------- categories

def _column(models: pd.DataFrame, name: str) -> pd.Series:
    """A column of ``models``; all missing when the table lacks it (e.g. a listing without tags)."""
    return models[name] if name in models.columns else pd.Series(None, index=models.index, dtype="object")


def _positions(values: pd.Series, lookup: dict[str, int], none: int) -> np.ndarray:
    """For each value, ``lookup[value.lower()]`` (``none`` when absent or missing).

    Looked up once per distinct value, then spread to the rows by the factorised codes.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    found = np.array([lookup.get(str(u).lower(), none) for u in uniques] + [none], dtype="int64")
    return found[codes]  # code -1 (missing) picks the trailing ``none``


def _tags(tags: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Every tag of a ``tags`` column (lists, or None), as (row position of each tag, the tags).

    Flattened by C-level iterators (``map``/``chain``), never a Python loop over rows.
    """
    present = np.flatnonzero(tags.notna().to_numpy())
    lists = tags.to_numpy()[present]
    lengths = np.fromiter(map(len, lists), dtype="int64", count=len(lists))
    values = np.fromiter(chain.from_iterable(lists), dtype=object, count=int(lengths.sum()))
    return np.repeat(present, lengths), pd.Series(values, dtype=object)


def categorize(models: pd.DataFrame, rules: Rules | None = None) -> pd.Series:
    """The category of every model (``string``, same index), by the rules (the shipped ones by default).

    Per rule field, each row gets the position of the first rule matching its value; the
    smallest position over the fields wins. Tags are read only for rows that a tag rule could
    still change (no earlier rule matched them).
    """
    return pd.Series(_LABELS.take(category_codes(models, rules)), index=models.index, name="category")


_LABELS = pd.array(list(CATEGORIES), dtype="string")


def category_codes(models: pd.DataFrame, rules: Rules | None = None) -> np.ndarray:
    """:func:`categorize` as each model's position in :data:`CATEGORIES` (an integer array)."""
    table = (rules or load_categories()).table
    rows = models.reset_index(drop=True)
    none = len(table)
    first = np.full(len(rows), none, dtype="int64")
    for field in ("pipeline_tag", "library_name"):
        first = np.minimum(first, _positions(_column(rows, field), _first_rules(table, field), none))
    tag_rules = _first_rules(table, "tag")
    if tag_rules:
        undecided = np.flatnonzero(first > min(tag_rules.values()))
        codes, distinct = _distinct_cells(_column(rows, "tags").iloc[undecided])  # each list once
        at, tags = _tags(distinct)
        best = np.full(len(distinct), none, dtype="int64")
        np.minimum.at(best, at, _positions(tags, tag_rules, none))
        first[undecided] = np.minimum(first[undecided], best[codes])
    # per rule position, its category; then "other" (a pipeline tag no rule lists), then "unknown"
    order = list(CATEGORIES)
    labels = np.array([order.index(c) for c in (*table["category"], OTHER, UNKNOWN)], dtype="int64")
    no_task = _column(rows, "pipeline_tag").isna().to_numpy()
    return labels[np.where(first < none, first, none + no_task)]


def _first_rules(table: pd.DataFrame, field: str) -> dict[str, int]:
    """``{lower-case value: rule position}`` of one field's rules."""
    rules = table[table["field"] == field]
    return {v.lower(): int(i) for i, v in zip(rules.index, rules["value"])}


# ----------------------------------------------------------------- universes

def _lower(values: pd.Series) -> pd.Series:
    return values.astype("string").str.lower()


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(a code per value, the distinct values lower-cased): equality rules test each distinct value
    once; code -1 (missing) matches no rule."""
    codes, uniques = pd.factorize(values)
    return codes, _lower(pd.Series(uniques, dtype=object))


def _rule_values(rows: pd.DataFrame) -> dict[str, tuple[np.ndarray, object]]:
    """Per rule kind, the values its rules test: (row position of each value, the values; for
    equality rules, as :func:`_distinct` codes and values). Tags: (position of each tag among the
    distinct lists, the code of each row's list), as :func:`openbrief.metrics.base._distinct_cells`."""
    every = np.arange(len(rows))
    codes, lists = _distinct_cells(_column(rows, "tags"))  # each distinct list of tags once
    at, tags = _tags(lists)
    return {
        "name-regex": (every, rows["id"].astype("string")),
        "library": (every, _distinct(_column(rows, "library_name"))),
        "relation": (every, _distinct(_column(rows, "base_relation"))),
        "tag": ((at, codes), _distinct(tags)),
        "intermediary": (every, _column(rows, "is_intermediary").astype("boolean")),
    }


def _matches(values, kind: str, pattern: str) -> np.ndarray:
    """Which values one rule matches: a regex search (name), true (intermediary), else equality
    (tested once per distinct value, spread to the values by their codes)."""
    if kind == "name-regex":
        hit = values.str.contains(pattern, case=False, regex=True)
    elif kind == "intermediary":
        hit = values
    else:
        codes, distinct = values
        return np.append(distinct.eq(pattern.lower()).fillna(False).to_numpy(dtype=bool), False)[codes]
    return hit.fillna(False).to_numpy(dtype=bool)


#: The columns :func:`universe_reasons` reads.
_UNIVERSE_COLUMNS = ("id", "pipeline_tag", "library_name", "tags", "base_relation", "is_intermediary")


def _any_name_rule(ids: pd.Series, rules: pd.DataFrame) -> np.ndarray:
    """Which ids some name rule matches: one search for all the rules' patterns as alternatives
    (each rule is then searched only in those)."""
    patterns = rules.loc[rules["kind"] == "name-regex", "pattern"]
    if patterns.empty:
        return np.zeros(len(ids), dtype=bool)
    if any(_BACKREFERENCE.search(p) for p in patterns):  # group numbers would shift: search each alone
        return np.ones(len(ids), dtype=bool)
    either = "|".join(f"(?:{p})" for p in patterns)
    try:
        return ids.str.contains(either, case=False, regex=True).fillna(False).to_numpy(dtype=bool)
    except (re.error, ValueError):  # e.g. a pattern's global flag, valid only at its own start
        return np.ones(len(ids), dtype=bool)


_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def universe_reasons(models: pd.DataFrame, universe: str = "llm-curated",
                     category: pd.Series | None = None) -> pd.Series:
    """Why each model is not in ``universe`` (``string``, same index; ``<NA>`` for the models in it).

    The reason is the first that applies: ``category X: not llm``, then the universe's rules in
    file order, as ``KIND PATTERN: reason`` (e.g. ``tag gguf: GGUF conversion (llama.cpp)``).
    Each rule is one column-wise test over the llm models; a name rule searches only the ids no
    earlier rule left out. Needs ``id`` and, for intermediary rules, ``is_intermediary`` (from
    ``openbrief.registry.attribute``); ``category``: the models' :func:`categorize`, when the
    caller has it already.
    """
    codes, labels = _reason_codes(models, universe, category)
    return pd.Series(pd.array([*labels, None], dtype="string").take(codes), index=models.index, name="reason")


def in_universe(models: pd.DataFrame, universe: str, category: pd.Series | None = None) -> pd.Series:
    """Whether each model is in ``universe`` (bool, same index); see :func:`universe_reasons`."""
    codes, labels = _reason_codes(models, universe, category)
    return pd.Series(codes == len(labels), index=models.index, name="in_universe")


def _reason_codes(models: pd.DataFrame, universe: str, category: pd.Series | None) -> tuple[np.ndarray, list[str]]:
    """:func:`universe_reasons` as (a code per row, the reasons): code ``len(reasons)`` for a model in it."""
    rules = load_universe(universe).table
    if universe == "all":
        return np.zeros(len(models), dtype="int64"), []
    if "intermediary" in set(rules["kind"]) and "is_intermediary" not in models.columns:
        raise ValueError("models lack column 'is_intermediary': attribute them first with "
                         "openbrief.registry.attribute(models, registry)")
    rows = models[[c for c in _UNIVERSE_COLUMNS if c in models.columns]].reset_index(drop=True)
    category = categorize(rows) if category is None else category.reset_index(drop=True)
    cat_codes, cats = pd.factorize(category)
    labels = [f"category {c}: not llm" for c in cats] + [f"{k} {p}: {r}" for k, p, r in
                                                          rules[["kind", "pattern", "reason"]].itertuples(index=False)]
    none = len(labels)
    codes = np.where((category != "llm").to_numpy(dtype=bool), cat_codes, none)
    llm = np.flatnonzero(codes == none)
    values = _rule_values(rows.iloc[llm])
    left = np.ones(len(llm), dtype=bool)  # llm rows no rule has left out yet
    named = _any_name_rule(values["name-regex"][1], rules)
    for i, (kind, pattern) in enumerate(rules[["kind", "pattern"]].itertuples(index=False), start=len(cats)):
        at, tested = values[kind]
        if kind == "name-regex":  # the costly test: only on the ids still in that some name rule matches
            at = np.flatnonzero(left & named)
            tested = tested.iloc[at]
        if kind == "tag":  # matched on each distinct list of tags, then on its rows
            (at, lists), tested = at, tested
            hit = np.flatnonzero(np.isin(lists, np.unique(at[_matches(tested, kind, pattern)])))
        else:
            hit = np.unique(at[_matches(tested, kind, pattern)])
        hit = hit[left[hit]]  # an earlier rule keeps its reason
        left[hit] = False
        codes[llm[hit]] = i
    return codes, labels


# ----------------------------------------------------------------- selections

#: What a brief or an export may be restricted to: a category, or a universe.
SELECTIONS: tuple[str, ...] = (*CATEGORIES, *(u for u in UNIVERSES if u != "all"), "all")


def check_selection(name: str) -> str:
    """``name`` when it is a category or a universe; else UsageError (exit 2) naming the valid ones."""
    if name not in SELECTIONS:
        raise UsageError(f"unknown category {name!r}: expected one of {', '.join(SELECTIONS)}")
    return name


def select(models: pd.DataFrame, category: str) -> pd.DataFrame:
    """The rows of ``models`` that ``category`` counts: a category, a universe, or ``all`` (every row).

    The one place a brief, an export or a test restricts a models table; the index is kept.
    """
    check_selection(category)
    if category == "all":
        return models
    if category in UNIVERSES:
        return models[in_universe(models, category).to_numpy(dtype=bool)]
    return models[category_codes(models) == list(CATEGORIES).index(category)]


__all__ = [
    "CATEGORIES", "SELECTIONS", "UNIVERSES", "Rules", "categorize", "category_codes", "check_category", "check_selection",
    "check_universe", "in_universe", "load_categories", "load_universe", "select", "universe_reasons",
]
