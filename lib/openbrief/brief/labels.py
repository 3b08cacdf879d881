"""What groups, categories and scopes are called in a brief, in its language (from the catalogues).

Three forms: :func:`label` names a country, bloc or organisation in a sentence ('China',
'the United States' / 中国, 米国); :func:`short_label` is a chart tick, legend entry or table
cell (the code itself in English: 'CN', 'US'; 中国, 米国 in Japanese); :func:`scope` and
:func:`category_label` name the models a figure counts. Organisation names come from the
registry (``registry.display_name``: an established Japanese form where there is one).
"""
from __future__ import annotations

from openbrief.i18n import N_, translator

#: A country or bloc as a sentence names it.
NAMES = {
    "CN": N_("China"), "US": N_("the United States"), "EU": N_("the European Union"),
    "UK": N_("the United Kingdom"), "GB": N_("the United Kingdom"), "FR": N_("France"), "DE": N_("Germany"),
    "JP": N_("Japan"), "KR": N_("South Korea"), "CA": N_("Canada"), "IN": N_("India"), "IL": N_("Israel"),
    "CH": N_("Switzerland"), "AE": N_("the United Arab Emirates"), "SA": N_("Saudi Arabia"),
    "Gulf": N_("the Gulf states"), "SG": N_("Singapore"), "TW": N_("Taiwan"), "HK": N_("Hong Kong"),
    "NL": N_("the Netherlands"), "unattributed": N_("unattributed publishers"), "Other": N_("other countries"),
}

#: A country or bloc in a chart or a table cell (English keeps the code).
SHORT = {
    "CN": N_("CN"), "US": N_("US"), "EU": N_("EU"), "UK": N_("UK"), "GB": N_("GB"), "FR": N_("FR"),
    "DE": N_("DE"), "JP": N_("JP"), "KR": N_("KR"), "CA": N_("CA"), "IN": N_("IN"), "IL": N_("IL"),
    "CH": N_("CH"), "AE": N_("AE"), "SA": N_("SA"), "Gulf": N_("Gulf"), "SG": N_("SG"), "TW": N_("TW"),
    "HK": N_("HK"), "NL": N_("NL"), "Other": N_("Other"), "rest": N_("Other"),
    "unattributed": N_("unattributed"), "ZZ": N_("ZZ"),
}

#: What each category or universe of ``metrics.SELECTIONS`` is called in a sentence.
SCOPES = {
    "llm": N_("generative models (llm)"), "embedding": N_("embedding models (embedding)"),
    "image-generation": N_("image-generation models (image-generation)"),
    "speech-audio": N_("speech and audio models (speech-audio)"), "vision": N_("vision models (vision)"),
    "other": N_("models of other tasks (other)"), "unknown": N_("models without a pipeline tag (unknown)"),
    "llm-curated": N_("first-party generative models (llm-curated)"), "all": N_("all models (all)"),
}

#: A category in a chart or a table cell (English keeps the name).
CATEGORY_NAMES = {
    "llm": N_("llm"), "embedding": N_("embedding"), "image-generation": N_("image-generation"),
    "speech-audio": N_("speech-audio"), "vision": N_("vision"), "other": N_("other"), "unknown": N_("unknown"),
    "llm-curated": N_("llm-curated"), "all": N_("all"),
}

#: The universes a figure can rest on, as :func:`scope` names them.
TRACKED = N_("tracked publishers")


def label(group, by: str = "bloc", lang: str = "en") -> str:
    """A readable name for a group in a sentence: 'CN' -> 'China' (中国); an organisation by its
    registry name (its Japanese form where one is established)."""
    if by in ("country", "bloc"):
        name = NAMES.get(str(group))
        return translator(lang).gettext(name) if name else str(group)
    return org_name(group, lang)


def short_label(group, lang: str = "en") -> str:
    """A country or bloc code as a chart or table shows it ('CN' / 中国); anything else as it is."""
    name = SHORT.get(str(group))
    return translator(lang).gettext(name) if name else str(group)


def org_name(org, lang: str = "en") -> str:
    """An organisation's name as the brief shows it in ``lang`` (``registry.display_name``);
    'unattributed' as :func:`short_label` names it."""
    from openbrief.registry import display_name

    return short_label(org, lang) if str(org) == "unattributed" else display_name(str(org), lang)


def category_label(category, lang: str = "en") -> str:
    """A category or universe as a chart or table shows it ('llm' / 'llm（言語モデル）')."""
    name = CATEGORY_NAMES.get(str(category))
    return translator(lang).gettext(name) if name else str(category)


def scope(category: str, universe: str = TRACKED, lang: str = "en") -> str:
    """The category and universe a figure rests on: 'generative models (llm), tracked publishers'."""
    tr = translator(lang)
    return tr.gettext("{category}, {universe}").format(category=tr.gettext(SCOPES[category]),
                                                       universe=tr.gettext(universe))


__all__ = ["CATEGORY_NAMES", "NAMES", "SCOPES", "SHORT", "TRACKED", "category_label", "label", "org_name", "scope",
           "short_label"]
