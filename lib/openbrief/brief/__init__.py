"""What notebooks call: load a snapshot for a brief, and show things the house way.

Notebooks stay thin: parameters, ``brief.load(...)``, metrics, charts, a few
sentences. Formatting of numbers and tables lives here so every brief reads
the same; no metric is computed here.

The package: :mod:`.data` (loading), :mod:`.fmt` (escaping, numbers, dates), :mod:`.display`
(outputs and section tables), :mod:`.findings` (key-finding sentences), :mod:`.charts` (the house
charts). Notebooks import only this package and :mod:`openbrief.metrics`.

May import: openbrief.metrics, openbrief.store, openbrief.registry, openbrief.errors; never hub, replay, render or cli.
"""
from openbrief.brief.data import (
    BriefData,
    META_MIME,
    SYNTHETIC_NOTICE,
    load,
)
from openbrief.brief.fmt import (
    fmt_count,
    fmt_date,
    fmt_share,
    fmt_signed,
    fmt_time,
    html_escape,
    md_escape,
    table_html,
)
from openbrief.brief.display import (
    anomalies_table,
    category_leaders,
    category_notes,
    category_table,
    cover,
    coverage_text,
    definitions_table,
    derivatives_table,
    group_colors,
    licence_note,
    model_facts,
    openness_table,
    period_note,
    period_table,
    provenance_rows,
    relative_adoption_html,
    releases_table,
    show,
    show_facts,
    show_figure,
    show_html,
    show_methodology,
    show_provenance,
    side_by_side,
    tracked_queries,
)
from openbrief.registry import unattributed_namespaces
from openbrief.store.history import load_history

__all__ = [
    "BriefData",
    "META_MIME",
    "SYNTHETIC_NOTICE",
    "anomalies_table",
    "category_leaders",
    "category_notes",
    "category_table",
    "cover",
    "coverage_text",
    "definitions_table",
    "derivatives_table",
    "fmt_count",
    "fmt_date",
    "fmt_share",
    "fmt_signed",
    "fmt_time",
    "group_colors",
    "html_escape",
    "licence_note",
    "load",
    "load_history",
    "md_escape",
    "model_facts",
    "openness_table",
    "period_note",
    "period_table",
    "provenance_rows",
    "relative_adoption_html",
    "releases_table",
    "show",
    "show_facts",
    "show_figure",
    "show_html",
    "show_methodology",
    "show_provenance",
    "side_by_side",
    "table_html",
    "tracked_queries",
    "unattributed_namespaces",
]
