"""What notebooks call: load a snapshot for a brief, and show things the house way.

Notebooks stay thin: parameters, ``brief.load(...)``, metrics, charts, a few
sentences. Formatting of numbers and tables lives here so every brief reads
the same; no metric is computed here.

The package: :mod:`.data` (loading), :mod:`.fmt` (escaping, numbers, dates), :mod:`.display`
(outputs and section tables), :mod:`.findings` (key-finding sentences), :mod:`.charts` (the house
charts), :mod:`.labels` (names of groups, categories, scopes), :mod:`.coverage` (coverage in
sentences), :mod:`.methodology` (the appendix and glossary). Notebooks import only this package
and :mod:`openbrief.metrics`.

Every function that produces text takes ``lang`` ("en", the default, or "ja"): its words come
from the catalogues (``openbrief.i18n``; ``brief.translator(lang)`` for a notebook's own) and its
numbers and dates follow the language's conventions (``i18n.formats``).

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
    fmt_points,
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
    show_provenance,
    side_by_side,
    tracked_queries,
)
from openbrief.brief.coverage import coverage_text
from openbrief.brief.labels import category_label, label, org_name, scope, short_label
from openbrief.brief.methodology import (
    categories_appendix,
    definition_text,
    definitions_appendix,
    glossary,
    show_methodology,
)
from openbrief.i18n import translator
from openbrief.registry import unattributed_namespaces
from openbrief.store.history import load_history

__all__ = [
    "BriefData",
    "META_MIME",
    "SYNTHETIC_NOTICE",
    "anomalies_table",
    "categories_appendix",
    "category_label",
    "category_leaders",
    "category_notes",
    "category_table",
    "cover",
    "coverage_text",
    "definition_text",
    "definitions_appendix",
    "definitions_table",
    "derivatives_table",
    "fmt_count",
    "fmt_date",
    "fmt_points",
    "fmt_share",
    "fmt_signed",
    "fmt_time",
    "glossary",
    "group_colors",
    "html_escape",
    "label",
    "licence_note",
    "load",
    "load_history",
    "md_escape",
    "model_facts",
    "openness_table",
    "org_name",
    "period_note",
    "period_table",
    "provenance_rows",
    "relative_adoption_html",
    "releases_table",
    "scope",
    "short_label",
    "show",
    "show_facts",
    "show_figure",
    "show_html",
    "show_methodology",
    "show_provenance",
    "side_by_side",
    "table_html",
    "tracked_queries",
    "translator",
    "unattributed_namespaces",
]
