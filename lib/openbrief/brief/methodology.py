"""The appendix: each metric's definition and coverage, the definitions and categories, the glossary.

A metric's definition comes from the metric (``MetricResult.definition``, English); in another
language it is the catalogue's translation of the metric's definition template, filled from the
result's parameters, and the English definition where the catalogue has none. Coverage is
worded by :mod:`.coverage`.
"""
from __future__ import annotations

import pandas as pd

from openbrief.brief.coverage import coverage_text
from openbrief.brief.display import show_html
from openbrief.brief.fmt import fmt_date, table_html
from openbrief.brief.labels import category_label
from openbrief.i18n import N_, translator

#: Each metric's definition template (the metric's own English wording), by metric name.
TEMPLATES = {
    "download-share": N_("Download share by {by}: sum of the rolling 30-day Hub downloads of the models in each "
                         "group over the sum for all models with a download count; models without a count are left "
                         "out and counted in coverage; 'unattributed' is a group of its own."),
    "new-releases": N_("New releases by {by}: models whose createdAt falls in [{start}, {end}) (UTC); models without "
                       "createdAt are left out and counted in coverage."),
    "concentration": N_("Concentration of rolling 30-day downloads across {by} groups: HHI = sum of squared "
                        "percentage shares (0-10,000) and top-k share = summed share of the k largest groups; "
                        "{unattributed}; models without a download count are left out."),
    "top-models": N_("The {n} models with the most rolling 30-day downloads, ties broken by id; models without a "
                     "download count are left out."),
    "origin-shares": N_("Download share by {by}, two ways side by side: by publisher and by lineage (a model that "
                        "declares a base counts toward its root's {by}); 'unattributed' is shown."),
    "derivatives": N_("Derivatives of a base model by relation (finetune, adapter, quantized, merge), direct children "
                      "only: 'childrenModelCount' rows copy the Hub's own count; 'listed' rows count the fetched "
                      "models whose baseModels list names the base{threshold}, with their summed rolling 30-day "
                      "downloads."),
    "foundation-share": N_("Foundation share by base-model {by}: among models created in [{start}, {end}) (UTC) that "
                           "declare a base model, the share whose first declared base model's origin is each group "
                           "('unattributed' when the base's owner is not in the registry){among}."),
    "openness": N_("Openness by {by}: licence tier of each model from its Hub licence tag and the registry's "
                   "fully-open flag, as model counts and as shares of the group's rolling 30-day downloads."),
    "relative-adoption": N_("Relative Adoption Metric (ATOM v{version}): a model's cumulative downloads at day t "
                            "after its createdAt divided by {reference} of the cumulative downloads of the models of "
                            "its size class at day t after their own release; above 1 = tracking like a top-{rank} "
                            "model of its size."),
    "root-foundations": N_("Foundations by root {by}: among models created in the window that declare a base model, "
                           "the share whose root (the first ancestor an organisation owns) is each group; "
                           "'unattributed' when the chain cannot be traced{split}."),
    "period-downloads": N_("Downloads in the period: downloadsAllTime in the later snapshot minus downloadsAllTime "
                           "in the earlier one, per model of the later snapshot; missing on either side stays "
                           "missing, a negative difference is an anomaly, a model absent from the earlier snapshot "
                           "is 'new'; group sums add 'ok' rows only."),
}
_BY = {"bloc": N_("bloc"), "country": N_("country"), "org": N_("organisation"), "family": N_("family")}
_UNATTRIBUTED = {True: N_("'unattributed' counts as one group"),
                 False: N_("'unattributed' is excluded (not one organisation) and reported in coverage")}
_SPLIT = {"relation": N_("; within each relation to the direct base"),
          "publisher": N_("; within each bloc of the derivative's own publisher")}


def definition_text(result, lang: str = "en") -> str:
    """``result``'s one-line definition in ``lang`` (the metric's own English one where no translation)."""
    tr = translator(lang)
    template = TEMPLATES.get(result.name)
    if template is None:
        return tr.gettext(result.definition)  # definitions and by-category: marked in metrics
    translated = tr.gettext(template)
    if translated == template:
        return result.definition
    p = result.params
    by = p.get("by")
    ram_reference = (tr.gettext("the {rank}th largest") if p.get("version", 2) == 2
                     else tr.gettext("the median of the {rank} largest")).format(rank=p.get("rank"))
    among = p.get("among")
    return translated.format(
        by=tr.gettext(_BY[by]) if by in _BY else by, n=p.get("n"), version=p.get("version"), rank=p.get("rank"),
        reference=ram_reference,
        start=fmt_date(pd.Timestamp(p["start"]), lang) if p.get("start") else "",
        end=fmt_date(pd.Timestamp(p["end"]), lang) if p.get("end") else "",
        unattributed=tr.gettext(_UNATTRIBUTED[bool(p.get("include_unattributed"))]),
        threshold=(tr.gettext(" with more than {n} downloads").format(n=p["min_downloads"])
                   if p.get("min_downloads") is not None else ""),
        among=tr.gettext(", within each {among} of the model itself").format(
            among=tr.gettext(_BY.get(among, among))) if among else "",
        split=tr.gettext(_SPLIT[p["split"]]) if p.get("split") in _SPLIT else "")


def show_methodology(results, lang: str = "en") -> None:
    """Each metric used: its definition and its coverage in sentences, as a table."""
    tr = translator(lang)
    frame = pd.DataFrame([{"metric": r.name, "definition": definition_text(r, lang),
                           "coverage": coverage_text(r, lang)} for r in results])
    show_html(table_html(frame, {"metric": tr.gettext("Metric"), "definition": tr.gettext("Definition"),
                                 "coverage": tr.gettext("Coverage")}, lang=lang))


def definitions_appendix(defs, lang: str = "en") -> str:
    """``metrics.definitions``: what each definition counts and how it attributes, as an HTML table."""
    tr = translator(lang)
    rows = defs.rows.assign(description=[tr.gettext(d) for d in defs.rows["description"]],
                            attribution=[tr.gettext(_ATTRIBUTIONS.get(a, a)) for a in defs.rows["attribution"]])
    return table_html(rows, {"definition": tr.gettext("Definition"), "description": tr.gettext("What counts"),
                             "attribution": tr.gettext("Attribution")}, lang=lang)


_ATTRIBUTIONS = {"publisher": N_("publisher"), "lineage": N_("lineage")}


def categories_appendix(lang: str = "en") -> str:
    """The model categories with what each holds, as an HTML table."""
    from openbrief.metrics import CATEGORIES

    tr = translator(lang)
    frame = pd.DataFrame({"category": [category_label(c, lang) for c in CATEGORIES],
                          "description": [tr.gettext(d) for d in CATEGORIES.values()]})
    return table_html(frame, {"category": tr.gettext("Category"), "description": tr.gettext("What it holds")},
                      lang=lang)


#: The glossary's terms of art, each with a one-line definition.
GLOSSARY = (
    (N_("open weights"), N_("A model whose trained parameters (weights) anyone can download and run; the licence "
                            "may still restrict use, and training data and code need not be published.")),
    (N_("derivative model"), N_("A model built from another one (its base model): a fine-tune, an adapter, a "
                                "quantised copy or a merge, as its model card declares.")),
    (N_("fine-tuning"), N_("Further training of a base model on new data, to adapt it to a task, a language or a "
                           "style.")),
    (N_("quantisation"), N_("Storing a model's weights with fewer bits, so it is smaller and runs on cheaper "
                            "hardware at some loss of quality.")),
    (N_("foundation model"), N_("A large model trained on broad data that others build on; here, the first ancestor "
                                "of a derivative that an organisation publishes (its root).")),
    (N_("HHI"), N_("Herfindahl–Hirschman index: the sum of the squared percentage shares, from near 0 (spread out) "
                   "to 10,000 (one organisation holds everything).")),
)


def glossary(lang: str = "en") -> str:
    """The glossary of terms of art (open weights, derivative, fine-tuning, quantisation, foundation
    model, HHI) as an HTML table in ``lang``."""
    tr = translator(lang)
    frame = pd.DataFrame([{"term": tr.gettext(t), "definition": tr.gettext(d)} for t, d in GLOSSARY])
    return table_html(frame, {"term": tr.gettext("Term"), "definition": tr.gettext("Definition")}, lang=lang)


__all__ = ["GLOSSARY", "TEMPLATES", "categories_appendix", "definition_text", "definitions_appendix", "glossary",
           "show_methodology"]
