"""A metric's coverage in one or two plain sentences: what its number rests on and what was left out.

:func:`coverage_text` words the ``coverage`` dict of a ``MetricResult`` by the metric's kind
(its ``name``), in the brief's language; a metric it has no wording for gets a generic
sentence. The counters themselves stay as they are in exports and ``manifest.json``; nothing
here changes them. The text is plain (escape it like any text before it becomes HTML).
"""
from __future__ import annotations

from openbrief.brief.fmt import fmt_count, fmt_share
from openbrief.brief.labels import category_label
from openbrief.i18n import translator


class _Words:
    """Clause helpers for one language: counts, model counts, and the parts left out."""

    def __init__(self, lang: str):
        self.lang, self.tr = lang, translator(lang)

    def n(self, value) -> str:
        return fmt_count(value, self.lang)

    def models(self, value) -> str:
        return self.tr.ngettext("{n} model", "{n} models", int(value)).format(n=self.n(value))

    def left_out(self, parts: list[str]) -> str:
        """' (11 without one and 2 with an invalid count, left out)'; '' when nothing was."""
        if not parts:
            return ""
        return self.tr.gettext(" ({parts}, left out)").format(parts=self.tr.gettext(" and ").join(parts))

    def text(self, *sentences: list[str]) -> str:
        """Sentences of clauses: clauses joined by '; ', each sentence ended by '.'."""
        tr = self.tr
        done = [tr.gettext("; ").join(c for c in clauses if c) for clauses in sentences if any(clauses)]
        return tr.gettext(". ").join(done) + tr.gettext(".") if done else ""


def _with_downloads(w: _Words, cov: dict) -> str:
    """'381 models, all with a 30-day download count' / '…, 370 of them with one (11 without …)'."""
    n, k = cov.get("models", 0), cov.get("models_with_downloads", 0)
    if not n:
        return w.tr.gettext("No model to count")
    if k == n:
        return w.tr.gettext("{models}, all with a 30-day download count").format(models=w.models(n))
    parts = []
    if cov.get("models_missing_downloads"):
        parts.append(w.tr.gettext("{n} without one").format(n=w.n(cov["models_missing_downloads"])))
    if cov.get("models_with_invalid_downloads"):
        parts.append(w.tr.gettext("{n} with an invalid count").format(n=w.n(cov["models_with_invalid_downloads"])))
    return w.tr.gettext("{models}, {k} of them with a 30-day download count{left_out}").format(
        models=w.models(n), k=w.n(k), left_out=w.left_out(parts))


def _unattributed(w: _Words, cov: dict, total_key: str = "downloads_30d_total") -> str:
    u = cov.get("unattributed_models", 0)
    if not u:
        return w.tr.gettext("none unattributed")
    share = cov.get("unattributed_downloads_share")
    if share is None and cov.get(total_key):
        share = (cov.get("unattributed_downloads_30d") or 0) / cov[total_key]
    if share is None:
        return w.tr.gettext("{n} unattributed").format(n=w.n(u))
    return w.tr.gettext("{n} unattributed ({share} of the downloads)").format(n=w.n(u), share=fmt_share(share))


def _download_share(w, cov):
    return [[_with_downloads(w, cov), _unattributed(w, cov)]]


def _top_models(w, cov):
    return [[_with_downloads(w, cov)]]


def _concentration(w, cov):
    tr = w.tr
    unattributed = _unattributed(w, cov)
    if cov.get("unattributed_models") and not cov.get("unattributed_included"):
        unattributed = tr.gettext("{clause}, kept out of the index (not one organisation)").format(clause=unattributed)
    second = [tr.gettext("The index spans {n} groups").format(n=w.n(cov.get("groups", 0)))]
    if cov.get("groups_fewer_than_k"):
        second.append(tr.gettext("too few groups for a top-{k} share").format(
            k="/".join(str(k) for k in cov["groups_fewer_than_k"])))
    return [[_with_downloads(w, cov), unattributed], second]


def _openness(w, cov):
    tr = w.tr
    n, licensed = cov.get("models", 0), cov.get("models_with_license", 0)
    if licensed == n:
        licence = tr.gettext("All carry a licence tag")
    elif not licensed:
        licence = tr.gettext("None carries a licence tag, so all count as tier 'unknown'")
    else:
        licence = tr.gettext("{k} carry a licence tag, the other {rest} count as tier 'unknown'").format(
            k=w.n(licensed), rest=w.n(n - licensed))
    fully = [tr.gettext("the registry's fully-open flag is missing for {n}").format(n=w.n(cov["fully_open_missing"]))
             ] if cov.get("fully_open_missing") else []
    return [[_with_downloads(w, cov)], [licence, *fully]]


def _origin_shares(w, cov):
    tr = w.tr
    publisher, lineage = cov.get("publisher_unattributed_share"), cov.get("lineage_unattributed_share")
    shares = tr.gettext("unattributed: {publisher} by publisher, {lineage} by lineage").format(
        publisher=fmt_share(publisher), lineage=fmt_share(lineage))
    declaring = tr.gettext("{n} of them declare a base model").format(n=w.n(cov.get("models_declaring_base", 0)))
    return [[_with_downloads(w, cov), shares], [declaring]]


def _new_releases(w, cov):
    tr = w.tr
    first = tr.gettext("{releases} of {models} created in the window").format(
        releases=w.n(cov.get("releases", 0)), models=w.models(cov.get("models", 0)))
    missing = cov.get("models_missing_created_at", 0)
    dates = (tr.gettext("{n} without a creation date (left out)").format(n=w.n(missing)) if missing
             else tr.gettext("all with a creation date"))
    return [[first, dates]]


def _in_window(w, cov) -> str:
    tr = w.tr
    created, declaring = cov.get("created_in_window", 0), cov.get("in_window_declaring_base", 0)
    if not created:
        return tr.gettext("No model was created in the window")
    if declaring == created:
        return tr.gettext("{models} created in the window, all declaring a base model").format(models=w.models(created))
    return tr.gettext("{models} created in the window, {k} of them declaring a base model (the other {rest} left "
                      "out)").format(models=w.models(created), k=w.n(declaring), rest=w.n(created - declaring))


def _missing_dates(w, cov) -> list[str]:
    missing = cov.get("models_missing_created_at", 0)
    return [w.tr.gettext("{n} without a creation date are left out").format(n=w.models(missing))] if missing else []


def _foundation_share(w, cov):
    tr = w.tr
    first = [_in_window(w, cov)]
    if cov.get("in_window_declaring_base"):
        u = cov.get("base_unattributed", 0)
        first.append(tr.gettext("the owner of {n} of their bases is unattributed").format(n=w.n(u)) if u
                     else tr.gettext("every base attributed"))
    second = _missing_dates(w, cov)
    if cov.get("declaring_by_intermediaries"):
        second.append(tr.gettext("{n} of the derivatives are published by intermediaries").format(
            n=w.n(cov["declaring_by_intermediaries"])))
    return [first, second]


def _root_foundations(w, cov):
    tr = w.tr
    first = [_in_window(w, cov)]
    untraced = cov.get("lineage_unresolved", 0) + cov.get("lineage_cycle", 0)
    if cov.get("in_window_declaring_base"):
        first.append(tr.gettext("the root of {n} could not be traced (counted as unattributed)").format(n=w.n(untraced))
                     if untraced else tr.gettext("every root traced to an organisation"))
    second = []
    if cov.get("publisher_not_an_organisation"):
        second.append(tr.gettext("{n} published by individuals, intermediaries or unknown namespaces are left out of "
                                 "the split by publisher").format(n=w.n(cov["publisher_not_an_organisation"])))
    return [first, second]


def _derivatives(w, cov):
    tr = w.tr
    hub = cov.get("bases_with_children_count", 0)
    first = [tr.gettext("The Hub's own derivative count (childrenModelCount) for {n} base models").format(n=w.n(hub))
             if hub else tr.gettext("No base model with the Hub's own derivative count (childrenModelCount)")]
    links = cov.get("listed_links", 0)
    if links:
        parts = []
        if cov.get("listed_links_below_min_downloads"):
            parts.append(tr.gettext("{n} below the download threshold").format(
                n=w.n(cov["listed_links_below_min_downloads"])))
        if cov.get("listed_links_missing_downloads"):
            parts.append(tr.gettext("{n} without a download count").format(
                n=w.n(cov["listed_links_missing_downloads"])))
        first.append(tr.gettext("{links} listed derivatives of {bases} bases, {k} of them counted{left_out}").format(
            links=w.n(links), bases=w.n(cov.get("bases_listed", 0)), k=w.n(cov.get("listed_links_counted", 0)),
            left_out=w.left_out(parts)))
    else:
        first.append(tr.gettext("no derivative listed"))
    second = [tr.gettext("Direct children only")]
    if cov.get("listed_relation_unknown"):
        unknown = cov["listed_relation_unknown"]
        second.append(tr.ngettext("{n} listed derivative has no known relation",
                                  "{n} listed derivatives have no known relation", unknown).format(n=w.n(unknown)))
    return [first, second]


def _period_downloads(w, cov):
    tr = w.tr
    span = cov.get("span_days")
    parts = []
    for key, message in (("missing", tr.gettext("{n} without one")),
                         ("negative", tr.gettext("{n} whose count fell (anomalies)")),
                         ("new", tr.gettext("{n} new since the earlier snapshot"))):
        if cov.get(key):
            parts.append(message.format(n=w.n(cov[key])))
    first = tr.gettext("{ok} of {models} with a cumulative download count in both snapshots{left_out}").format(
        ok=w.n(cov.get("ok", 0)), models=w.models(cov.get("models", 0)), left_out=w.left_out(parts))
    second = [tr.gettext("the snapshots are {days} days apart").format(days=f"{float(span):.1f}")
              ] if span is not None else []
    if cov.get("only_in_earlier"):
        second.append(tr.gettext("{n} are only in the earlier snapshot").format(n=w.models(cov["only_in_earlier"])))
    return [[first], second]


def _relative_adoption(w, cov):
    tr = w.tr
    parts = []
    for key, message in (("models_missing_params", tr.gettext("{n} without a parameter count")),
                         ("models_missing_created_at", tr.gettext("{n} without a creation date")),
                         ("models_outside_size_classes", tr.gettext("{n} outside the size classes")),
                         ("models_without_downloads_all_time", tr.gettext("{n} without cumulative downloads"))):
        if cov.get(key):
            parts.append(message.format(n=w.n(cov[key])))
    snapshots = cov.get("snapshots") or 0
    first = tr.ngettext("{k} of {models} with a Relative Adoption Metric, from {snapshots} snapshot{left_out}",
                        "{k} of {models} with a Relative Adoption Metric, from {snapshots} snapshots{left_out}",
                        snapshots).format(k=w.n(cov.get("models_with_ram", 0)), models=w.models(cov.get("models", 0)),
                                          snapshots=w.n(snapshots), left_out=w.left_out(parts))
    second = [tr.gettext("Size classes with too few models for a reference: {classes}").format(
        classes=w.tr.gettext(", ").join(cov["classes_below_rank"]))] if cov.get("classes_below_rank") else []
    return [[first], second]


def _definitions(w, cov):
    tr = w.tr
    first = tr.gettext("{k} definitions over the {models} of the snapshot").format(
        k=w.n(cov.get("definitions", 0)), models=w.models(cov.get("models", 0)))
    spread = cov.get("spread") or {}
    if spread.get("min") is None:
        return [[first, tr.gettext("no definition counts any downloads")]]
    ranges = tr.gettext("China's share ranges from {low} ({low_definition}) to {high} ({high_definition})")
    return [[first, ranges.format(low=fmt_share(spread["min"]), low_definition=spread["min_definition"],
                                  high=fmt_share(spread["max"]), high_definition=spread["max_definition"])]]


def _by_category(w, cov):
    tr = w.tr
    n, untagged = cov.get("models", 0), cov.get("models_without_pipeline_tag", 0)
    if not untagged:
        tags = tr.gettext("{models}, all with a pipeline tag").format(models=w.models(n))
    elif untagged == n:
        tags = tr.gettext("{models}, none with a pipeline tag (all counted as 'unknown')").format(models=w.models(n))
    else:
        tags = tr.gettext("{models}, {k} of them without a pipeline tag (counted as 'unknown')").format(
            models=w.models(n), k=w.n(untagged))
    empty = [category_label(c, w.lang) for c in cov.get("categories_without_models") or []]
    none_in = tr.gettext("no model in {categories}").format(categories=tr.gettext(", ").join(empty)) if empty else ""
    return [[tags, none_in]]


def _generic(w, cov):
    """Any other metric: its model count, then each counter as 'name: value'."""
    counters = "; ".join(f"{k.replace('_', ' ')}: {_plain(v, w.lang)}" for k, v in cov.items() if k != "models")
    first = w.models(cov["models"]) if isinstance(cov.get("models"), int) else ""
    return [[first, w.tr.gettext("other counts: {counters}").format(counters=counters) if counters else ""]]


def _plain(value, lang: str) -> str:
    if isinstance(value, bool) or value is None:
        return str(value) if value is not None else "–"
    if isinstance(value, int):
        return fmt_count(value, lang)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "–"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v, lang)}" for k, v in value.items()) or "–"
    return str(value)


_KINDS = {
    "download-share": _download_share, "top-models": _top_models, "concentration": _concentration,
    "openness": _openness, "origin-shares": _origin_shares, "new-releases": _new_releases,
    "foundation-share": _foundation_share, "root-foundations": _root_foundations, "derivatives": _derivatives,
    "period-downloads": _period_downloads, "relative-adoption": _relative_adoption, "definitions": _definitions,
    "by-category": _by_category,
}


def coverage_text(result, lang: str = "en") -> str:
    """What ``result`` (a ``MetricResult``) rests on and what it left out, in one or two sentences."""
    w = _Words(lang)
    cov = result.coverage
    sentences = _KINDS.get(result.name, _generic)(w, cov)
    if cov.get("duplicate_ids_dropped"):
        dups = cov["duplicate_ids_dropped"]
        sentences.append([w.tr.ngettext("{n} duplicate row dropped", "{n} duplicate rows dropped", dups).format(
            n=w.n(dups))])
    return w.text(*sentences)


__all__ = ["coverage_text"]
