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

import pandas as pd

from openbrief.metrics.categories import categorize, in_universe
from openbrief.metrics import UNATTRIBUTED, MetricResult, download_share

#: The blocs shown one by one (as ``openbrief.registry`` names them); every other bloc is "rest".
HEADLINE_BLOCS = ("CN", "US", "EU")
SHARE_COLUMNS = (*HEADLINE_BLOCS, "rest", UNATTRIBUTED)

PUBLISHER, LINEAGE = "bloc", "lineage_bloc"


@dataclass(frozen=True)
class Definition:
    """One row of the table: which models count (``keep``) and which bloc column they count toward."""

    name: str
    description: str
    keep: Callable[[pd.DataFrame], pd.Series]
    attribution: str  # PUBLISHER, or LINEAGE (a derivative's base model's bloc, else its own)


def _every(models: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=models.index)


def _llm(models: pd.DataFrame) -> pd.Series:
    return categorize(models) == "llm"


DEFINITIONS: tuple[Definition, ...] = (
    Definition("all", "all models, by publisher", _every, PUBLISHER),
    Definition("llm", "language models (category llm), by publisher", _llm, PUBLISHER),
    Definition("llm-curated", "first-party language models (universe llm-curated), by publisher",
               lambda m: in_universe(m, "llm-curated"), PUBLISHER),
    Definition("lineage", "all models; a derivative counts toward its base model's bloc", _every, LINEAGE),
    Definition("llm-lineage", "language models; a derivative counts toward its base model's bloc", _llm, LINEAGE),
    Definition("no-intermediaries", "all models except those of intermediaries, by publisher",
               lambda m: ~m["is_intermediary"].astype(bool), PUBLISHER),
)

_DEF = ("Download share under each definition: sum of the rolling 30-day Hub downloads of the "
        "definition's models per bloc (CN, US, EU, every other bloc as 'rest', and unattributed) over "
        "their sum; models without a count are left out; shares are missing when nothing is counted.")


def definitions(models_attributed: pd.DataFrame) -> MetricResult:
    """One row per definition of :data:`DEFINITIONS`, on a table from ``registry.attribute``.

    Rows: ``definition``, ``description``, ``attribution`` (publisher or lineage), ``models``
    (the definition's models with a download count), ``downloads_30d`` (their sum), then the
    shares (0-1) ``CN``, ``US``, ``EU``, ``rest``, ``unattributed``, which sum to 1; all
    ``<NA>`` when the definition counts no downloads. Lineage: a model that declares a base
    counts toward ``base_bloc`` (``unattributed`` when that base's namespace is unknown), the
    others toward ``bloc``.
    ``coverage["spread"]``: China's lowest and highest share over the rows, and where.
    """
    table = models_attributed.copy()
    table[LINEAGE] = table["base_bloc"].fillna(table["bloc"])
    rows = []
    for d in DEFINITIONS:
        share = download_share(table[d.keep(table).to_numpy(dtype=bool)], by=d.attribution)
        total = share.coverage["downloads_30d_total"]
        by_group = share.rows.set_index("group")["share"].fillna(0.0)
        headline = {b: by_group.get(b, 0.0) for b in (*HEADLINE_BLOCS, UNATTRIBUTED)}
        headline["rest"] = by_group.drop(list(headline), errors="ignore").sum()
        rows.append({"definition": d.name, "description": d.description,
                     "attribution": "lineage" if d.attribution == LINEAGE else "publisher",
                     "models": share.coverage["models_with_downloads"], "downloads_30d": total,
                     **{c: headline[c] if total else pd.NA for c in SHARE_COLUMNS}})
    out = pd.DataFrame(rows).astype({"definition": "string", "description": "string", "attribution": "string",
                                     "models": "Int64", "downloads_30d": "Int64",
                                     **{c: "Float64" for c in SHARE_COLUMNS}})
    china = out.set_index("definition")["CN"].dropna()
    spread = {"bloc": "CN", "min": None, "max": None, "min_definition": None, "max_definition": None}
    if len(china):
        spread.update(min=float(china.min()), max=float(china.max()),
                      min_definition=china.idxmin(), max_definition=china.idxmax())
    coverage = {"models": len(table), "definitions": len(out), "spread": spread}
    return MetricResult("definitions", out, coverage, _DEF)


def spread_sentence(low: float, high: float) -> str:
    """The spread of China's share as one English sentence (numbers as shares 0-1)."""
    return (f"Depending on the definition, China's share of 30-day downloads ranges from "
            f"{low:.1%} to {high:.1%}.")


__all__ = ["DEFINITIONS", "Definition", "HEADLINE_BLOCS", "definitions", "spread_sentence"]
