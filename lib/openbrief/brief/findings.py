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


def _points(delta: float) -> str:
    return f"{'+' if delta >= 0 else '−'}{abs(100 * delta):.1f} points"


def leading_share(share, by: str, previous=None, previous_as_of=None) -> str | None:
    """Who leads 30-day downloads, the runner-up, and the change since the previous snapshot."""
    rows = share.rows.dropna(subset=["share"])
    if rows.empty:
        return None
    lead = rows.iloc[0]
    text = (f"Models from {label(lead['group'], by)} drew {fmt_share(lead['share'])} of the rolling 30-day "
            f"downloads of tracked publishers")
    if len(rows) > 1:
        second = rows.iloc[1]
        text += f", ahead of {label(second['group'], by)} ({fmt_share(second['share'])})"
    if previous is not None:
        before = previous.rows.set_index("group")["share"]
        if lead["group"] in before.index and pd.notna(before[lead["group"]]):
            since = f" since {fmt_date(previous_as_of)}" if previous_as_of is not None else ""
            text += f"; {_points(float(lead['share']) - float(before[lead['group']]))}{since}"
    return text + "."


def top_model(top) -> str | None:
    """The single most-downloaded model."""
    if top.rows.empty:
        return None
    first = top.rows.iloc[0]
    return (f"The most-downloaded model is {first['id']} ({first['org']}, {label(first['bloc'])}), "
            f"with {fmt_count(first['downloads_30d'])} downloads in 30 days.")


def releases(new, window_days: int, by: str = "bloc") -> str | None:
    """How many models were released in the window, and by whom most."""
    rows = new.rows
    total = int(rows["releases"].sum()) if not rows.empty else 0
    if total == 0:
        return f"No tracked publisher released a new model in the last {window_days} days."
    lead = rows.iloc[0]
    return (f"{total} new models were published in the last {window_days} days; "
            f"{int(lead['releases'])} of them by publishers from {label(lead['group'], by)}.")


def foundations(found, by: str = "bloc") -> str | None:
    """Whose base models new derivatives build on."""
    rows = found.rows.dropna(subset=["share"])
    if rows.empty:
        return None
    lead = rows.iloc[0]
    n = int(rows["models"].sum())
    return (f"Of {n} listed derivatives created in the period that declare a base model, "
            f"{fmt_share(lead['share'])} build on foundations from {label(lead['group'], by)}.")


def concentration(conc) -> str | None:
    """How concentrated downloads are across organisations."""
    if conc.rows.empty or pd.isna(conc.rows.iloc[0].get("hhi")):
        return None
    row = conc.rows.iloc[0]
    text = f"Downloads are concentrated: the top five organisations hold {fmt_share(row['top5_share'])}"
    return text + f" (HHI {float(row['hhi']):,.0f} on a 0–10,000 scale)."


def key_findings(*sentences: str | None, limit: int = 5) -> list[str]:
    """The first ``limit`` sentences that the data supported."""
    return [s for s in sentences if s][:limit]
