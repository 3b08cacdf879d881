"""Escaping and formatting: every value a brief prints goes through these.
"""
from __future__ import annotations

import html
import math
import re

import pandas as pd



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

def fmt_count(n) -> str:
    """1234 -> '1,234'; 1_234_567 -> '1.23M'; missing -> '–'."""
    if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)):
        return "–"
    n = float(n)
    for limit, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(n) >= limit:
            return f"{n / limit:.2f}{suffix}"
    return f"{n:,.0f}"


def fmt_share(x, digits: int = 1) -> str:
    """0.1234 -> '12.3%'; missing -> '–'."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.{digits}f}%"


def fmt_signed(n) -> str:
    """+1.2M / −3,400; missing -> '–'."""
    if n is None or n is pd.NA or (isinstance(n, float) and math.isnan(n)):
        return "–"
    return ("+" if float(n) >= 0 else "−") + fmt_count(abs(float(n)))


def fmt_date(ts) -> str:
    if ts is None or ts is pd.NaT or pd.isna(ts):
        return "–"
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d")


def fmt_time(ts) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def table_html(df: pd.DataFrame, columns: dict[str, str], formats: dict | None = None,
               numeric: tuple[str, ...] = (), css_class: str = "ob-table") -> str:
    """An HTML table of ``columns`` (name -> header), values formatted, text escaped.

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
        body.append(f'<tr><td colspan="{len(columns)}">No rows.</td></tr>')
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
