"""Key findings: sentences written from metric results, never typed by hand.

Each function takes ``MetricResult`` objects (see ``openbrief.metrics``) and
returns one sentence, or ``None`` when the data cannot support it. No metric is
computed here: only compared and worded. Sentences are plain text that carries
organisation names and model ids as the registry and the Hub wrote them: show
them through ``brief.md_escape`` (Markdown) or ``brief.html_escape`` (HTML).
"""
from __future__ import annotations

import pandas as pd

from openbrief.brief import fmt_count, fmt_date, fmt_share

NAMES = {
    "CN": "China", "US": "the United States", "EU": "the European Union", "UK": "the United Kingdom",
    "GB": "the United Kingdom", "FR": "France", "DE": "Germany", "JP": "Japan", "KR": "South Korea",
    "CA": "Canada", "IN": "India", "IL": "Israel", "CH": "Switzerland", "AE": "the United Arab Emirates",
    "SA": "Saudi Arabia", "Gulf": "the Gulf states", "SG": "Singapore", "TW": "Taiwan", "HK": "Hong Kong",
    "NL": "the Netherlands", "unattributed": "unattributed publishers", "Other": "other countries",
}


def label(group: str, by: str = "bloc") -> str:
    """A readable name for a group: 'CN' -> 'China'; organisations stay as they are."""
    if by in ("country", "bloc"):
        return NAMES.get(str(group), str(group))
    return str(group)


#: What each category or universe of ``metrics.SELECTIONS`` is called in a sentence.
SCOPES = {
    "llm": "generative models (llm)", "embedding": "embedding models (embedding)",
    "image-generation": "image-generation models (image-generation)",
    "speech-audio": "speech and audio models (speech-audio)", "vision": "vision models (vision)",
    "other": "models of other tasks (other)", "unknown": "models without a pipeline tag (unknown)",
    "llm-curated": "first-party generative models (llm-curated)", "all": "all models (all)",
}


def scope(category: str, universe: str = "tracked publishers") -> str:
    """The category and universe a figure rests on: 'generative models (llm), tracked publishers'."""
    return f"{SCOPES[category]}, {universe}"


def scope_line(category: str, selected, everything) -> str:
    """The brief's first line: which models it leads with, and their part of the tracked downloads.

    ``selected`` and ``everything`` are download shares of the selected and of all models.
    """
    n, total = selected.coverage["models"], everything.coverage["models"]
    if category == "all":
        return (f"This brief counts {SCOPES['all']} of the tracked publishers ({fmt_count(total)} models); "
                "the By category section shows each kind of model apart.")
    if not n:
        return (f"This brief leads with {SCOPES[category]}, but none of the {fmt_count(total)} models of the "
                "tracked publishers is in it; the By category section shows where their downloads are.")
    part, whole = selected.coverage["downloads_30d_total"], everything.coverage["downloads_30d_total"]
    held = f", {fmt_share(part / whole)} of their 30-day downloads" if whole else ""
    return (f"This brief leads with {SCOPES[category]}: {fmt_count(n)} of the {fmt_count(total)} models of the "
            f"tracked publishers{held}. The By category and Definitions matter sections show the other "
            "categories and definitions.")


def nothing_counted(within: str) -> str:
    """Said instead of a chart when no model ``within`` a scope has a download count."""
    return f"No model among {within} has a download count in this snapshot, so there is nothing to chart."


def _points(delta: float) -> str:
    return f"{'+' if delta >= 0 else '−'}{abs(100 * delta):.1f} points"


def leading_share(share, by: str, previous=None, previous_as_of=None, within: str = scope("all")) -> str | None:
    """Who leads 30-day downloads ``within`` a scope (see :func:`scope`), the runner-up, and the
    change since the previous snapshot."""
    rows = share.rows.dropna(subset=["share"])
    if rows.empty:
        return None
    lead = rows.iloc[0]
    text = f"Among {within}: {label(lead['group'], by)} holds {fmt_share(lead['share'])} of the rolling 30-day downloads"
    if len(rows) > 1:
        second = rows.iloc[1]
        text += f", ahead of {label(second['group'], by)} ({fmt_share(second['share'])})"
    if previous is not None:
        before = previous.rows.set_index("group")["share"]
        if lead["group"] in before.index and pd.notna(before[lead["group"]]):
            since = f" since {fmt_date(previous_as_of)}" if previous_as_of is not None else ""
            text += f"; {_points(float(lead['share']) - float(before[lead['group']]))}{since}"
    return text + "."


def top_model(top, within: str = scope("all")) -> str | None:
    """The single most-downloaded model ``within`` a scope."""
    if top.rows.empty:
        return None
    first = top.rows.iloc[0]
    return (f"Among {within}: the most-downloaded model is {first['id']} ({first['org']}, {label(first['bloc'])}), "
            f"with {fmt_count(first['downloads_30d'])} downloads in 30 days.")


def releases(new, window_days: int, by: str = "bloc", within: str = scope("all")) -> str | None:
    """How many models ``within`` a scope were released in the window, and by whom most."""
    rows = new.rows
    total = int(rows["releases"].sum()) if not rows.empty else 0
    if total == 0:
        return f"Among {within}: no new model in the last {window_days} days."
    lead = rows.iloc[0]
    return (f"Among {within}: {total} new models were published in the last {window_days} days; "
            f"{int(lead['releases'])} of them by publishers from {label(lead['group'], by)}.")


def foundations(found, by: str = "bloc", within: str = scope("all")) -> str | None:
    """Whose base models new derivatives ``within`` a scope build on."""
    rows = found.rows.dropna(subset=["share"])
    if rows.empty:
        return None
    lead = rows.iloc[0]
    n = int(rows["models"].sum())
    return (f"Among {within}: of {n} listed derivatives created in the period that declare a base model, "
            f"{fmt_share(lead['share'])} build on foundations from {label(lead['group'], by)}.")


def concentration(conc, within: str = scope("all")) -> str | None:
    """How concentrated downloads ``within`` a scope are across organisations."""
    if conc.rows.empty or pd.isna(conc.rows.iloc[0].get("hhi")):
        return None
    row = conc.rows.iloc[0]
    text = f"Among {within}: downloads are concentrated: the top five organisations hold {fmt_share(row['top5_share'])}"
    return text + f" (HHI {float(row['hhi']):,.0f} on a 0–10,000 scale)."


def spread(defs) -> str | None:
    """The spread of China's share over the definitions of ``metrics.definitions``, or None."""
    cov = defs.coverage["spread"]
    if cov["min"] is None:
        return None
    from openbrief.metrics import spread_sentence

    return (spread_sentence(cov["min"], cov["max"])[:-1]
            + f" (lowest: {cov['min_definition']}; highest: {cov['max_definition']}).")


def key_findings(*sentences: str | None, limit: int = 5) -> list[str]:
    """The first ``limit`` sentences that the data supported."""
    return [s for s in sentences if s][:limit]
