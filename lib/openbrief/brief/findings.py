"""Key findings: sentences written from metric results, never typed by hand, in the brief's language.

Each function takes ``MetricResult`` objects (see ``openbrief.metrics``) and
returns one sentence, or ``None`` when the data cannot support it. No metric is
computed here: only compared and worded. Every sentence comes from the catalogues
(``lang``); ``within`` is a scope from :func:`scope` in the same language. Sentences are
plain text that carries organisation names and model ids as the registry and the Hub
wrote them: show them through ``brief.md_escape`` (Markdown) or ``brief.html_escape`` (HTML).
"""
from __future__ import annotations

import pandas as pd

from openbrief.brief.fmt import fmt_count, fmt_date, fmt_points, fmt_share
from openbrief.brief.labels import NAMES, SCOPES, label, org_name, scope, short_label  # noqa: F401 - re-exported
from openbrief.i18n import translator


def scope_line(category: str, selected, everything, lang: str = "en") -> str:
    """The brief's first line: which models it leads with, and their part of the tracked downloads.

    ``selected`` and ``everything`` are download shares of the selected and of all models.
    """
    tr = translator(lang)
    n, total = selected.coverage["models"], everything.coverage["models"]
    if category == "all":
        return tr.gettext("This brief counts {scope} of the tracked publishers ({total} models); the By category "
                          "section shows each kind of model apart.").format(
            scope=tr.gettext(SCOPES["all"]), total=fmt_count(total, lang))
    if not n:
        return tr.gettext("This brief leads with {scope}, but none of the {total} models of the tracked publishers "
                          "is in it; the By category section shows where their downloads are.").format(
            scope=tr.gettext(SCOPES[category]), total=fmt_count(total, lang))
    part, whole = selected.coverage["downloads_30d_total"], everything.coverage["downloads_30d_total"]
    held = tr.gettext(", {share} of their 30-day downloads").format(share=fmt_share(part / whole)) if whole else ""
    return tr.gettext("This brief leads with {scope}: {n} of the {total} models of the tracked publishers{held}. "
                      "The By category and Definitions matter sections show the other categories and "
                      "definitions.").format(scope=tr.gettext(SCOPES[category]), n=fmt_count(n, lang),
                                             total=fmt_count(total, lang), held=held)


def nothing_counted(within: str, lang: str = "en") -> str:
    """Said instead of a chart when no model ``within`` a scope has a download count."""
    return translator(lang).gettext("No model among {within} has a download count in this snapshot, so there is "
                                    "nothing to chart.").format(within=within)


def leading_share(share, by: str, previous=None, previous_as_of=None, within: str | None = None,
                  lang: str = "en") -> str | None:
    """Who leads 30-day downloads ``within`` a scope (see :func:`scope`), the runner-up, and the
    change since the previous snapshot."""
    tr = translator(lang)
    within = scope("all", lang=lang) if within is None else within
    rows = share.rows.dropna(subset=["share"])
    if rows.empty:
        return None
    lead = rows.iloc[0]
    text = tr.gettext("Among {within}: {group} holds {share} of the rolling 30-day downloads").format(
        within=within, group=label(lead["group"], by, lang), share=fmt_share(lead["share"]))
    if len(rows) > 1:
        second = rows.iloc[1]
        text += tr.gettext(", ahead of {group} ({share})").format(group=label(second["group"], by, lang),
                                                                  share=fmt_share(second["share"]))
    if previous is not None:
        before = previous.rows.set_index("group")["share"]
        if lead["group"] in before.index and pd.notna(before[lead["group"]]):
            change = fmt_points(float(lead["share"]) - float(before[lead["group"]]), lang)
            if previous_as_of is not None:
                text += tr.gettext("; {change} since {date}").format(change=change,
                                                                     date=fmt_date(previous_as_of, lang))
            else:
                text += tr.gettext("; {change}").format(change=change)
    return text + tr.gettext(".")


def top_model(top, within: str | None = None, lang: str = "en") -> str | None:
    """The single most-downloaded model ``within`` a scope."""
    if top.rows.empty:
        return None
    first = top.rows.iloc[0]
    return translator(lang).gettext(
        "Among {within}: the most-downloaded model is {id} ({org}, {bloc}), with {downloads} downloads in 30 days."
    ).format(within=scope("all", lang=lang) if within is None else within, id=first["id"],
             org=org_name(first["org"], lang), bloc=label(first["bloc"], lang=lang),
             downloads=fmt_count(first["downloads_30d"], lang))


def releases(new, window_days: int, by: str = "bloc", within: str | None = None, lang: str = "en") -> str | None:
    """How many models ``within`` a scope were released in the window, and by whom most."""
    tr = translator(lang)
    within = scope("all", lang=lang) if within is None else within
    rows = new.rows
    total = int(rows["releases"].sum()) if not rows.empty else 0
    if total == 0:
        return tr.gettext("Among {within}: no new model in the last {days} days.").format(within=within,
                                                                                          days=window_days)
    lead = rows.iloc[0]
    return tr.gettext("Among {within}: {total} new models were published in the last {days} days; {lead} of them "
                      "by publishers from {group}.").format(within=within, total=total, days=window_days,
                                                            lead=int(lead["releases"]),
                                                            group=label(lead["group"], by, lang))


def foundations(found, by: str = "bloc", within: str | None = None, lang: str = "en") -> str | None:
    """Whose base models new derivatives ``within`` a scope build on."""
    rows = found.rows.dropna(subset=["share"])
    if rows.empty:
        return None
    lead = rows.iloc[0]
    return translator(lang).gettext(
        "Among {within}: of {n} listed derivatives created in the period that declare a base model, {share} build "
        "on foundations from {group}.").format(within=scope("all", lang=lang) if within is None else within,
                                               n=int(rows["models"].sum()), share=fmt_share(lead["share"]),
                                               group=label(lead["group"], by, lang))


def concentration(conc, within: str | None = None, lang: str = "en") -> str | None:
    """How concentrated downloads ``within`` a scope are across organisations."""
    if conc.rows.empty or pd.isna(conc.rows.iloc[0].get("hhi")):
        return None
    row = conc.rows.iloc[0]
    return translator(lang).gettext(
        "Among {within}: downloads are concentrated: the top five organisations hold {share} (HHI {hhi} on a "
        "0–10,000 scale).").format(within=scope("all", lang=lang) if within is None else within,
                                   share=fmt_share(row["top5_share"]), hhi=f"{float(row['hhi']):,.0f}")


def spread(defs, lang: str = "en") -> str | None:
    """The spread of China's share over the definitions of ``metrics.definitions``, or None."""
    cov = defs.coverage["spread"]
    if cov["min"] is None:
        return None
    from openbrief.metrics import spread_sentence

    return translator(lang).gettext("{sentence} (lowest: {low}; highest: {high}).").format(
        sentence=spread_sentence(cov["min"], cov["max"], lang=lang)[:-1], low=cov["min_definition"],
        high=cov["max_definition"])


def key_findings(*sentences: str | None, limit: int = 5) -> list[str]:
    """The first ``limit`` sentences that the data supported."""
    return [s for s in sentences if s][:limit]
