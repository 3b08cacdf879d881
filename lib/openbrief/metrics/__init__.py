"""Adoption metrics: pure functions from snapshot tables to :class:`MetricResult`.

Every function takes DataFrames shaped like :mod:`openbrief.store.schema` tables, already
attributed by ``openbrief.registry.attribute`` (columns ``org``, ``country``, ``bloc``,
``org_type``, ``fully_open``, ``is_intermediary``, ``base_id``, ``base_org``,
``base_country``, ``base_bloc``), and returns a :class:`MetricResult`: the rows, the
coverage (how many models the number rests on and how many were left out, and why), a
one-line definition and the parameters used. Nothing here fetches, writes or mutates its
inputs.

Conventions shared by every metric:

- ``downloads`` is the Hub's rolling 30-day count; ``downloads_all_time`` is cumulative.
- Missing stays missing: a model without the field a metric needs is left out of the sums
  and counted in ``coverage``; a sum over only-missing values is ``<NA>``, never 0.
- Invalid counts (negative, or not an int64 integer: see ``schema.valid_counts``) are never
  summed: they are left out like missing ones and counted apart in ``coverage``
  (``models_with_invalid_downloads``...); :func:`invalid_counts` lists them.
- A group value that is missing is reported as ``"unattributed"``, a group of its own.
- A single-snapshot table must hold one ``snapshot_id``; a model id listed twice (e.g.
  under two queries) is counted once (``coverage["duplicate_ids_dropped"]``).
- Bad arguments (unknown column, empty window, unknown base id) raise ``ValueError``.


One module per family: :mod:`.adoption`, :mod:`.lineage`, :mod:`.roots` (the whole Hub:
universes, root families, foundations by root), :mod:`.openness`, :mod:`.relative`, :mod:`.trends`; what they share in :mod:`.base`; which models count in :mod:`.categories` and
:mod:`.definitions`.

May import: openbrief.store (schema), openbrief.registry and openbrief.errors; never hub, replay, brief, render or cli.
"""
from openbrief.metrics.base import (
    ATTRIBUTION_COLUMNS,
    COUNT_COLUMNS,
    MetricResult,
    UNATTRIBUTED,
    invalid_counts,
    to_json,
)
from openbrief.metrics.adoption import (
    concentration,
    download_share,
    new_releases,
    origin_shares,
    top_models,
)
from openbrief.metrics.lineage import (
    derivatives,
    count_text,
    derivatives_by_base,
    foundation_share,
)
from openbrief.metrics.roots import (
    FAMILIES_FILE,
    HUB_UNIVERSES,
    OTHER_FAMILY,
    ROOT_SPLITS,
    in_hub_universe,
    load_families,
    root_family,
    root_foundations,
    root_foundations_over_time,
    select_universe,
    with_roots,
)
from openbrief.metrics.openness import (
    LICENSE_TIERS,
    TIER_LABELS,
    license_tier,
    openness,
)
from openbrief.metrics.relative import (
    DEFAULT_SIZE_CLASSES,
    relative_adoption,
    size_class,
)
from openbrief.metrics.trends import (
    VANISHED_DETAIL,
    anomalies,
    history_anomalies,
    movers,
    new_to_top,
    period_downloads,
    period_summary,
    share_over_time,
)
from openbrief.metrics.categories import (
    CATEGORIES,
    CATEGORIES_FILE,
    CATEGORY_FIELDS,
    DATA,
    OTHER,
    Rules,
    SELECTIONS,
    UNIVERSES,
    UNIVERSE_FILES,
    UNIVERSE_KINDS,
    UNKNOWN,
    categorize,
    check_category,
    check_selection,
    check_universe,
    in_universe,
    load_categories,
    load_universe,
    select,
    universe_reasons,
)
from openbrief.metrics.definitions import (
    DEFINITIONS,
    Definition,
    HEADLINE_BLOCS,
    LINEAGE,
    PUBLISHER,
    SHARE_COLUMNS,
    by_category,
    definitions,
    spread_sentence,
)

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "CATEGORIES",
    "CATEGORIES_FILE",
    "CATEGORY_FIELDS",
    "COUNT_COLUMNS",
    "DATA",
    "DEFAULT_SIZE_CLASSES",
    "DEFINITIONS",
    "FAMILIES_FILE",
    "HUB_UNIVERSES",
    "Definition",
    "HEADLINE_BLOCS",
    "LICENSE_TIERS",
    "LINEAGE",
    "METRICS",
    "MetricResult",
    "OTHER",
    "OTHER_FAMILY",
    "PUBLISHER",
    "ROOT_SPLITS",
    "Rules",
    "SELECTIONS",
    "SHARE_COLUMNS",
    "TIER_LABELS",
    "UNATTRIBUTED",
    "UNIVERSES",
    "UNIVERSE_FILES",
    "UNIVERSE_KINDS",
    "UNKNOWN",
    "VANISHED_DETAIL",
    "anomalies",
    "by_category",
    "categorize",
    "check_category",
    "check_selection",
    "check_universe",
    "concentration",
    "count_text",
    "definitions",
    "derivatives",
    "derivatives_by_base",
    "download_share",
    "foundation_share",
    "history_anomalies",
    "in_hub_universe",
    "in_universe",
    "invalid_counts",
    "license_tier",
    "load_categories",
    "load_families",
    "load_universe",
    "movers",
    "new_releases",
    "new_to_top",
    "openness",
    "origin_shares",
    "period_downloads",
    "period_summary",
    "relative_adoption",
    "root_family",
    "root_foundations",
    "root_foundations_over_time",
    "select",
    "select_universe",
    "share_over_time",
    "size_class",
    "spread_sentence",
    "to_json",
    "top_models",
    "universe_reasons",
    "with_roots",
]

#: CLI name -> metric function. Arguments differ: ``period-downloads`` takes two snapshots'
#: tables, ``relative-adoption`` a history of snapshots, the others one models table.
METRICS = {
    "download-share": download_share,
    "period-downloads": period_downloads,
    "new-releases": new_releases,
    "derivatives": derivatives,
    "foundation-share": foundation_share,
    "concentration": concentration,
    "openness": openness,
    "relative-adoption": relative_adoption,
    "top-models": top_models,
    "definitions": definitions,
    "root-foundations": root_foundations,
    "origin-shares": origin_shares,
}
