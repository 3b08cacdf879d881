"""Escaping and formatting: every value a brief prints goes through these.
"""
from __future__ import annotations

import html
import math
import re

import pandas as pd

from openbrief.i18n import formats, translator


# ---------------------------------------------------------------- escaping

_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def md_escape(text) -> str:
    """``text`` as Markdown that shows it literally, on one line.

    For anything a user or a data source controls (titles, organisation names,
    model ids, Hub fields) and every sentence built from them: each ASCII
    punctuation character is backslash-escaped (CommonMark), so no link, image,
    HTML tag, entity, emphasis, code span, table cell or math survives, and line
    breaks become spaces, so no heading or list can start.
    """
    return _MD_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


def html_escape(text) -> str:
    """``text`` as HTML text or attribute value that shows it literally (``<>&"'`` escaped)."""
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------- formatting

def _is_missing(x) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and math.isnan(x))


def fmt_count(n, lang: str = "en") -> str:
    """A count the way ``lang`` writes it (``i18n.formats``): en 1234 -> '1,234', 1_234_567 -> '1.23M';
    ja 3504 -> '3,504', 123_456 -> '12.3万', 115_000_000 -> '1.15億'; missing -> '–'."""
    if _is_missing(n):
        return "–"
    return formats.count(float(n), lang)


def fmt_share(x, digits: int = 1, lang: str = "en") -> str:
    """0.1234 -> '12.3%' (the same in every language so far); missing -> '–'."""
    if _is_missing(x):
        return "–"
    return f"{100 * float(x):.{digits}f}%"


def fmt_signed(n, lang: str = "en") -> str:
    """+1.2M / −3,400 (ja: +12.3万); missing -> '–'."""
    if _is_missing(n):
        return "–"
    return ("+" if float(n) >= 0 else formats.MINUS) + fmt_count(abs(float(n)), lang)


def fmt_points(delta, lang: str = "en") -> str:
    """A change in share (0.021) in percentage points: '+2.1 points' / '+2.1ポイント'; missing -> '–'."""
    if _is_missing(delta):
        return "–"
    return formats.points(float(delta), lang)


def fmt_date(ts, lang: str = "en") -> str:
    """A UTC date: '2026-11-27' / '2026年11月27日'; missing -> '–'."""
    if ts is None or ts is pd.NaT or pd.isna(ts):
        return "–"
    t = pd.Timestamp(ts).tz_convert("UTC")
    return formats.date(t.year, t.month, t.day, lang)


def fmt_time(ts, lang: str = "en") -> str:
    """A UTC time: '2026-11-27 06:00 UTC' / '2026年11月27日 06:00（UTC）'."""
    t = pd.Timestamp(ts).tz_convert("UTC")
    return formats.time(t.year, t.month, t.day, t.hour, t.minute, lang)


def table_html(df: pd.DataFrame, columns: dict[str, str], formats: dict | None = None,
               numeric: tuple[str, ...] = (), css_class: str = "ob-table", lang: str = "en") -> str:
    """An HTML table of ``columns`` (name -> header, already in the brief's language), values
    formatted, text escaped; an empty table says so in ``lang``.

    ``css_class="ob-table ob-facts"`` sets an item/value list, every value left-aligned.
    """
    formats = formats or {}
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html_escape(h)}</th>' for c, h in columns.items())
    body = []
    for _, row in df.iterrows():
        cells = []
        for col in columns:
            value = row[col]
            text = formats[col](value) if col in formats else ("–" if _missing(value) else str(value))
            cells.append(f'<td class="{"num" if col in numeric else ""}">{html_escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        empty = translator(lang).gettext("No rows.")
        body.append(f'<tr><td colspan="{len(columns)}">{html_escape(empty)}</td></tr>')
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
