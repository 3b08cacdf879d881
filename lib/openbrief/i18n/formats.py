"""How numbers and dates are written in each language: one table of conventions per language code.

``brief.fmt`` formats every value a brief prints with these (words and sentences come from the
catalogues; only the shape of numbers, dates and the chart font differ here). Adding a language
is adding an entry to :data:`CONVENTIONS`.

* ``units``: large counts, largest unit first: ``(limit, suffix, digits)``; ``digits`` is
  the number of decimals, or ``None`` for three significant figures (1.15億, 12.3万, 123万).
  Below the smallest limit a count is written in full with thousands separators (3,504).
* ``date``: ``strftime``-like, with ``{y}``, ``{m}``, ``{d}`` (not zero-padded) and
  ``{mm}``, ``{dd}`` (zero-padded); ``time`` adds ``{date}``, ``{HH}``, ``{MM}``.
* ``month``: a chart's month tick (``{m}``, or ``{b}``: the English abbreviation).
* ``chart_units``: the short units of a chart's value labels and axes (1.2M / 120万), largest first.
* ``points``: a change in share, ``{value}`` being percentage points with one decimal.
* ``cjk_font``: the CJK face the charts put first (Japanese glyph shapes for Japanese).

May import: nothing from openbrief (part of the i18n leaf).
"""
from __future__ import annotations

import math

CONVENTIONS: dict[str, dict] = {
    "en": {
        "units": ((1e9, "B", 2), (1e6, "M", 2)),
        "date": "{y}-{mm}-{dd}",
        "time": "{date} {HH}:{MM} UTC",
        "month": "{b}",
        "chart_units": ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")),
        "points": "{value} points",
        "cjk_font": "Noto Sans CJK SC",
    },
    "ja": {
        "units": ((1e8, "億", None), (1e4, "万", None)),
        "date": "{y}年{m}月{d}日",
        "time": "{date} {HH}:{MM}（UTC）",
        "month": "{m}月",
        "chart_units": ((1e12, "兆"), (1e8, "億"), (1e4, "万")),
        "points": "{value}ポイント",
        "cjk_font": "Noto Sans CJK JP",
    },
}

MINUS = "−"  # U+2212, the typographic minus every brief prints


def conventions(lang: str) -> dict:
    """The conventions of ``lang`` (English's for a language without its own entry)."""
    return CONVENTIONS.get(lang, CONVENTIONS["en"])


def count(n: float, lang: str = "en") -> str:
    """A count the way ``lang`` writes it: 1.23M / 1.15億, 12.3万; in full below the smallest unit."""
    units = conventions(lang)["units"]
    for i, (limit, suffix, digits) in enumerate(units):
        if abs(n) < limit:
            continue
        value = n / limit
        if digits is not None:
            return f"{value:.{digits}f}{suffix}"
        places = max(0, 2 - int(math.floor(math.log10(abs(value)))))
        if i > 0 and abs(round(value, places)) * limit >= units[i - 1][0]:
            return count(math.copysign(units[i - 1][0], n), lang)  # 9,999.6万 is 1.00億
        return f"{value:,.{places}f}{suffix}"
    return f"{n:,.0f}"


def points(delta: float, lang: str = "en") -> str:
    """A change in share (0.021) as signed percentage points: '+2.1 points' / '+2.1ポイント'."""
    sign = "+" if delta >= 0 else MINUS
    return sign + conventions(lang)["points"].format(value=f"{abs(100 * delta):.1f}")


def date(year: int, month: int, day: int, lang: str = "en") -> str:
    """A calendar date: '2026-11-27' / '2026年11月27日'."""
    return conventions(lang)["date"].format(y=year, m=month, d=day, mm=f"{month:02d}", dd=f"{day:02d}")


def time(year: int, month: int, day: int, hour: int, minute: int, lang: str = "en") -> str:
    """A UTC time: '2026-11-27 06:00 UTC' / '2026年11月27日 06:00（UTC）'."""
    return conventions(lang)["time"].format(date=date(year, month, day, lang), HH=f"{hour:02d}", MM=f"{minute:02d}")


def month(month_number: int, abbreviation: str, lang: str = "en") -> str:
    """A month tick on a chart: 'Jul' / '7月' (``abbreviation``: the English one)."""
    return conventions(lang)["month"].format(m=month_number, b=abbreviation)


__all__ = ["CONVENTIONS", "MINUS", "conventions", "count", "date", "month", "points", "time"]
