"""'Definitions matter': the headline download shares under each definition of what is counted.

The same snapshot gives different headlines depending on the universe (all models, language
models, a curated list of first-party language models, ...) and on the attribution (the
publisher's bloc, or the bloc of a derivative's base model). :func:`definitions` computes the
shares of China, the US, the EU, the rest and the unattributed under each definition of
:data:`DEFINITIONS`, with :func:`openbrief.metrics.download_share`; adding a definition (e.g. a
whole-Hub census) is one more entry there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from openbrief.i18n import N_, translator
from openbrief.metrics.categories import CATEGORIES, categorize, category_codes, in_universe
from openbrief.metrics.roots import hub_universes
from openbrief.metrics.base import UNATTRIBUTED, MetricResult, _one_snapshot
from openbrief.store.schema import valid_counts

#: The blocs shown one by one (as ``openbrief.registry`` names them); every other bloc is "rest".
HEADLINE_BLOCS = ("CN", "US", "EU")
SHARE_COLUMNS = (*HEADLINE_BLOCS, "rest", UNATTRIBUTED)

PUBLISHER, LINEAGE = "bloc", "lineage_bloc"


@dataclass(frozen=True)
class Definition:
    """One row of the table: which models count (``keep``) and which bloc column they count toward."""

    name: str
    description: str
    keep: Callable[[pd.DataFrame, pd.Series], pd.Series]  # (models, their categories) -> which count
    attribution: str  # PUBLISHER, or LINEAGE (a derivative's base model's bloc, else its own)
    universe: str = "tracked"  # the rows it starts from (see ``roots.in_hub_universe``)


def _every(models: pd.DataFrame, category: pd.Series) -> pd.Series:
    return pd.Series(True, index=models.index)


def _llm(models: pd.DataFrame, category: pd.Series) -> pd.Series:
    return category == "llm"


def _curated(models: pd.DataFrame, category: pd.Series) -> pd.Series:
    return in_universe(models, "llm-curated", category=category)


DEFINITIONS: tuple[Definition, ...] = (
    Definition("all", N_("all models, by publisher"), _every, PUBLISHER),
    Definition("llm", N_("language models (category llm), by publisher"), _llm, PUBLISHER),
    Definition("llm-curated", N_("first-party language models (universe llm-curated), by publisher"),
               _curated, PUBLISHER),
    Definition("lineage", N_("all models; a derivative counts toward its base model's bloc"), _every, LINEAGE),
    Definition("llm-lineage", N_("language models; a derivative counts toward its base model's bloc"), _llm, LINEAGE),
    Definition("no-intermediaries", N_("all models except those of intermediaries, by publisher"),
               lambda m, c: ~m["is_intermediary"].astype(bool), PUBLISHER),
    Definition("hub-top", N_("the whole Hub's most-downloaded models (census universe hub-top), by publisher"),
               _every, PUBLISHER, "hub-top"),
    Definition("hub-top-lineage", N_("the whole Hub's most-downloaded models; a derivative counts toward its "
                                      "base model's bloc"), _every, LINEAGE, "hub-top"),
    Definition("new-derivatives", N_("the period's new models that declare a base (census universe new), by "
                                      "the bloc of their base model"), lambda m, c: m["base_bloc"].notna(), LINEAGE, "new"),
)

_DEF = N_("Download share under each definition: sum of the rolling 30-day Hub downloads of the "
          "definition's models per bloc (CN, US, EU, every other bloc as 'rest', and unattributed) over "
          "their sum; models without a count are left out; shares are missing when nothing is counted.")


def definitions(models_attributed: pd.DataFrame) -> MetricResult:
    """One row per definition of :data:`DEFINITIONS`, on a whole snapshot's table from ``registry.attribute``
    (every universe: each definition starts from the rows of its own ``universe``; a table without a
    census holds tracked rows only, and the census rows then count nothing).

    Missing values: models without a download count are left out of the sums (``models`` counts
    those with one).

    Rows: ``definition``, ``description``, ``attribution`` (publisher or lineage), ``models``
    (the definition's models with a download count), ``downloads_30d`` (their sum), then the
    shares (0-1) ``CN``, ``US``, ``EU``, ``rest``, ``unattributed``, which sum to 1; all
    ``<NA>`` when the definition counts no downloads. Lineage: a model that declares a base
    counts toward ``base_bloc`` (``unattributed`` when that base's namespace is unknown), the
    others toward ``bloc``.
    ``coverage["spread"]``: China's lowest and highest share over the rows, and where.
    """
    table, _ = _one_snapshot(models_attributed, "models")
    category = categorize(table)
    counts = _Counts(table)
    publisher, based = _headline_codes(table["bloc"]), table["base_bloc"].notna().to_numpy(dtype=bool)
    lineage = np.where(based, _headline_codes(table["base_bloc"]), publisher)
    universes = hub_universes(table, tuple(dict.fromkeys(d.universe for d in DEFINITIONS)))
    keeps = {}  # each selection computed once, whichever definitions share it
    rows = []
    for d in DEFINITIONS:
        if d.keep not in keeps:
            keeps[d.keep] = d.keep(table, category).to_numpy(dtype=bool)
        codes = lineage if d.attribution == LINEAGE else publisher
        rows.append({"definition": d.name, "description": d.description,
                     "attribution": "lineage" if d.attribution == LINEAGE else "publisher",
                     **counts.headline(codes, keeps[d.keep] & universes[d.universe])})
    out = pd.DataFrame(rows).astype({"definition": "string", "description": "string", "attribution": "string",
                                     **_HEADLINE_TYPES})
    china = out.set_index("definition")["CN"].dropna()
    spread = {"bloc": "CN", "min": None, "max": None, "min_definition": None, "max_definition": None}
    if len(china):
        spread.update(min=float(china.min()), max=float(china.max()),
                      min_definition=china.idxmin(), max_definition=china.idxmax())
    coverage = {"models": len(models_attributed), "definitions": len(out), "spread": spread}
    return MetricResult("definitions", out, coverage, _DEF)


_HEADLINE_TYPES = {"models": "Int64", "downloads_30d": "Int64", **{c: "Float64" for c in SHARE_COLUMNS}}
#: The code of each column of :data:`SHARE_COLUMNS`, and of a bloc in none of them ("rest").
_CODES = {c: i for i, c in enumerate(SHARE_COLUMNS)}


def _headline_codes(blocs: pd.Series) -> np.ndarray:
    """The :data:`SHARE_COLUMNS` position of each row's bloc: a headline bloc, ``rest``, or
    ``unattributed`` for a missing one (as :func:`openbrief.metrics.download_share` groups them)."""
    codes, uniques = pd.factorize(blocs.astype("string"))
    found = np.array([_CODES.get(str(u), _CODES["rest"]) for u in uniques] + [_CODES[UNATTRIBUTED]], dtype="int64")
    return found[codes]  # code -1 (missing) picks the trailing "unattributed"


class _Counts:
    """A table's valid 30-day download counts, summed per headline group for any selection of rows."""

    def __init__(self, table: pd.DataFrame):
        downloads, _ = valid_counts(table["downloads"])
        self.counted = downloads.notna().to_numpy(dtype=bool)
        self.downloads = downloads.fillna(0).to_numpy(dtype="int64")

    def headline(self, codes: np.ndarray, keep: np.ndarray) -> dict:
        """``models`` (kept rows with a count), ``downloads_30d`` (their sum; ``<NA>`` when none has
        one) and the shares of :data:`SHARE_COLUMNS` of the kept rows (``<NA>`` when the sum is 0)."""
        counted = keep & self.counted
        downloads = self.downloads[counted]
        total = int(downloads.sum())
        sums = np.zeros(len(SHARE_COLUMNS), dtype="int64")
        np.add.at(sums, codes[counted], downloads)
        n = int(counted.sum())
        return {"models": n, "downloads_30d": total if n else pd.NA,
                **{c: float(sums[i]) / total if total else pd.NA for i, c in enumerate(SHARE_COLUMNS)}}


_BY_CATEGORY_DEF = N_("Download share by publisher bloc within each model category (from pipeline tag, library "
                      "and tags): per category, the sum of the rolling 30-day downloads of its models per bloc (CN, "
                      "US, EU, every other bloc as 'rest', unattributed) over the category's sum; each row adds up "
                      "to 1.")


def by_category(models_attributed: pd.DataFrame) -> MetricResult:
    """One row per category of :data:`CATEGORIES` that holds a model, on a table from ``registry.attribute``.

    Rows: ``category``, ``models`` (with a download count), ``downloads_30d``, the shares of
    :data:`SHARE_COLUMNS` (summing to 1 within the row; ``<NA>`` when nothing is counted), and the
    category's most-downloaded model (``top_model``, ``top_model_downloads``; ties by id).
    ``coverage``: the models, how many lack a pipeline tag, and the categories that hold none.
    """
    table, _ = _one_snapshot(models_attributed, "models")
    kinds = category_codes(table)  # positions in CATEGORIES
    counts, codes = _Counts(table), _headline_codes(table["bloc"])
    top = _top_models(table["id"], kinds, counts)
    rows = []
    for kind, name in enumerate(CATEGORIES):
        members = kinds == kind
        if not members.any():
            continue
        best = top.get(kind)
        rows.append({"category": name, **counts.headline(codes, members),
                     "top_model": None if best is None else best[0],
                     "top_model_downloads": None if best is None else best[1]})
    columns = ["category", *_HEADLINE_TYPES, "top_model", "top_model_downloads"]
    out = pd.DataFrame(rows, columns=columns).astype(
        {"category": "string", **_HEADLINE_TYPES, "top_model": "string", "top_model_downloads": "Int64"})
    untagged = (int(models_attributed["pipeline_tag"].isna().sum()) if "pipeline_tag" in models_attributed
                else len(models_attributed))
    coverage = {"models": len(models_attributed), "models_without_pipeline_tag": untagged,
                "categories_without_models": [c for c in CATEGORIES if c not in set(out["category"])]}
    return MetricResult("by-category", out, coverage, _BY_CATEGORY_DEF)


def _top_models(ids: pd.Series, kinds: np.ndarray, counts: _Counts) -> dict[int, tuple[str, int]]:
    """``{kind: (id, downloads)}`` of the most-downloaded model with a valid count of each kind (code)
    of ``kinds`` (ties: the smallest id); kinds without a count are absent."""
    rows = np.flatnonzero(counts.counted)
    best = np.full(kinds.max() + 1 if len(kinds) else 0, -1, dtype="int64")
    np.maximum.at(best, kinds[rows], counts.downloads[rows])
    rows = rows[counts.downloads[rows] == best[kinds[rows]]]  # the tops, and their ties (few)
    tops = pd.DataFrame({"kind": kinds[rows], "id": ids.iloc[rows].to_numpy(), "downloads": counts.downloads[rows]})
    tops = tops.sort_values(["kind", "id"]).drop_duplicates("kind")
    return {int(k): (i, int(d)) for k, i, d in zip(tops["kind"], tops["id"], tops["downloads"])}


def spread_sentence(low: float, high: float, lang: str = "en") -> str:
    """The spread of China's share as one sentence in ``lang`` (numbers as shares 0-1)."""
    return translator(lang).gettext("Depending on the definition, China's share of 30-day downloads ranges from "
                                    "{low} to {high}.").format(low=f"{low:.1%}", high=f"{high:.1%}")


__all__ = ["DEFINITIONS", "Definition", "HEADLINE_BLOCS", "by_category", "definitions", "spread_sentence"]
