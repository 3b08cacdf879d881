"""'Who builds on whose foundations: the whole Hub': the numbers, the key-finding sentence and the
chart data of the weekly brief's section, from a models table with roots (``metrics.with_roots``).

Pure functions: they return numbers and plain text in the brief's language (``lang``, from the
catalogues). The text names blocs and root
families (openbrief's own labels); escape it with ``brief.md_escape`` / ``brief.html_escape``
like any text before it becomes Markdown or HTML.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from openbrief import i18n, metrics
from openbrief.brief.fmt import fmt_count, fmt_share, fmt_time
from openbrief.store.history import load_history

#: How a bloc reads in a sentence ("built on Chinese roots").
BLOC_WORDS = {"CN": i18n.N_("Chinese"), "US": i18n.N_("American"), "EU": i18n.N_("European"),
              "UK": i18n.N_("British"), "JP": i18n.N_("Japanese"), "KR": i18n.N_("Korean"), "Gulf": i18n.N_("Gulf"),
              "CA": i18n.N_("Canadian"), "IN": i18n.N_("Indian"), "IL": i18n.N_("Israeli"), "CH": i18n.N_("Swiss"),
              "Other": i18n.N_("other countries'")}
#: Family label for the families beyond the chart's top ones.
OTHER_FAMILIES = i18n.N_("other families")


def _bloc_word(bloc: str, tr) -> str:
    return tr.gettext(BLOC_WORDS[bloc]) if bloc in BLOC_WORDS else tr.gettext("{bloc}-bloc").format(bloc=bloc)


def foundations_numbers(models: pd.DataFrame, start: Any, end: Any) -> dict:
    """The section's figures: new derivatives (models created in [start, end) that declare a
    base), their shares by root bloc and root family, the untraced share, and among derivatives
    published by US organisations the share built on Chinese roots (None when there are none)."""
    by_bloc = metrics.root_foundations(models, start, end, by="bloc")
    by_family = metrics.root_foundations(models, start, end, by="family")
    by_publisher = metrics.root_foundations(models, start, end, by="bloc", split="publisher")
    blocs = by_bloc.rows.set_index("group")["share"]
    families = by_family.rows[by_family.rows["group"] != metrics.UNATTRIBUTED]
    us = by_publisher.rows[by_publisher.rows["publisher"] == "US"]
    us_total = int(us["models"].sum())
    us_on_cn = us.loc[us["group"] == "CN", "models"].sum()
    return {
        "new_derivatives": by_bloc.coverage["in_window_declaring_base"],
        "new_models": by_bloc.coverage["created_in_window"],
        "bloc_shares": {str(g): float(v) for g, v in blocs.items()},
        "untraced_share": float(blocs.get(metrics.UNATTRIBUTED, 0.0)) if len(blocs) else None,
        "top_family": None if families.empty else str(families.iloc[0]["group"]),
        "top_family_share": None if families.empty else float(families.iloc[0]["share"]),
        "us_derivatives": us_total,
        "us_on_chinese_roots_share": float(us_on_cn) / us_total if us_total else None,
    }


def foundations_sentence(numbers: dict, lang: str = "en") -> str:
    """The key finding in one sentence, from :func:`foundations_numbers`."""
    tr = i18n.translator(lang)
    n = numbers["new_derivatives"]
    if not n:
        return tr.gettext("No new model of the period declares a base model, so no foundation can be traced.")
    ranked = sorted(((s, b) for b, s in numbers["bloc_shares"].items() if b != metrics.UNATTRIBUTED), reverse=True)
    first, other = tr.gettext("{share} are built on {origin} roots"), tr.gettext("{share} on {origin} roots")
    parts = [(other if i else first).format(share=fmt_share(s), origin=_bloc_word(b, tr))
             for i, (s, b) in enumerate(ranked[:2])]
    if parts:
        text = tr.gettext("Of the {n} new models of the period that declare a base model, {shares}").format(
            n=fmt_count(n, lang), shares=tr.gettext(" and ").join(parts))
    else:
        text = tr.gettext("Of the {n} new models of the period that declare a base model, none could be traced to "
                          "an organisation").format(n=fmt_count(n, lang))
    if numbers["untraced_share"]:
        text += tr.gettext(" ({share} could not be traced to an organisation)").format(
            share=fmt_share(numbers["untraced_share"]))
    if numbers["top_family"]:
        text += tr.gettext("; {family} is the most used root family ({share})").format(
            family=numbers["top_family"], share=fmt_share(numbers["top_family_share"]))
    if numbers["us_on_chinese_roots_share"] is not None:
        text += tr.gettext("; {share} of the {n} published by US organisations are built on Chinese roots").format(
            share=fmt_share(numbers["us_on_chinese_roots_share"]), n=fmt_count(numbers["us_derivatives"], lang))
    return text + tr.gettext(".")


def foundations_chart_data(models: pd.DataFrame, start: Any, end: Any, top_families: int = 6,
                           lang: str = "en") -> dict[str, pd.DataFrame]:
    """The chart's two panels: ``by_origin`` (root bloc: ``group``, ``models``, ``share``) and
    ``by_family`` (the ``top_families`` most used root families, the rest summed as
    ``"other families"`` in ``lang``, untraced roots as ``"unattributed"``)."""
    by_origin = metrics.root_foundations(models, start, end, by="bloc").rows
    fam = metrics.root_foundations(models, start, end, by="family").rows
    named = fam[~fam["group"].isin([metrics.UNATTRIBUTED, metrics.OTHER_FAMILY])]
    rest = fam[fam["group"].eq(metrics.OTHER_FAMILY) | fam.index.isin(named.index[top_families:])]
    tail = pd.DataFrame([{"group": i18n.translator(lang).gettext(OTHER_FAMILIES), "models": int(rest["models"].sum()), "share": float(rest["share"].sum())}])
    parts = [named.head(top_families), tail if len(rest) else None, fam[fam["group"] == metrics.UNATTRIBUTED]]
    by_family = pd.concat([p for p in parts if p is not None and len(p)], ignore_index=True) if len(fam) else fam
    return {"by_origin": by_origin, "by_family": by_family.astype({"group": "string", "models": "Int64", "share": "Float64"})}


def census_note(meta: dict, start: Any, end: Any, lang: str = "en") -> str | None:
    """A sentence when the snapshot's census of new models covers less than the brief's period
    [start, end): a fetch with ``--new-days`` shorter than the brief's window, or a window the
    request budget cut short. None when it covers the whole period or there is no census."""
    window = meta.get("new_window") if isinstance(meta, dict) else None
    if not isinstance(window, dict) or not window.get("covered_from"):
        return None
    covered = pd.Timestamp(window["covered_from"])
    covered = covered.tz_localize("UTC") if covered.tzinfo is None else covered.tz_convert("UTC")
    lo = pd.Timestamp(start)
    lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo.tz_convert("UTC")
    if covered <= lo + pd.Timedelta(minutes=1):
        return None
    tr = i18n.translator(lang)
    days = (pd.Timestamp(end).tz_convert("UTC") - covered) / pd.Timedelta(days=1)
    text = tr.gettext("The census of the Hub's new models covers only the last {days} days of the brief's "
                      "period (from {covered}): the whole-Hub figures rest on that part.").format(
        days=f"{max(days, 0):.1f}", covered=fmt_time(covered, lang))
    if window.get("complete") is False:
        text += " " + tr.gettext("The fetch stopped at its request budget; `openbrief fetch --resume` continues "
                                 "the window.")
    return text


def foundations_over_time(store: Any, end: Any, days: float, registry: Any = None) -> pd.DataFrame:
    """:func:`metrics.root_foundations_over_time` by root bloc over the snapshots of ``store`` up
    to ``end`` (each snapshot's census of the ``days`` before it); empty without a census."""
    columns = ["id", "namespace", "created_at", "base_models", "base_relation", "listed_by"]
    history = load_history(store, end=end, columns=columns)
    return metrics.root_foundations_over_time(history, days, registry=registry)


__all__ = ["BLOC_WORDS", "OTHER_FAMILIES", "census_note", "foundations_chart_data", "foundations_over_time", "foundations_numbers", "foundations_sentence"]
