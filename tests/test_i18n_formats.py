"""Numbers and dates in each language's conventions (i18n.formats through brief.fmt)."""
from __future__ import annotations

import pandas as pd
import pytest

from openbrief import brief


def _ja_count(n: int) -> str:
    """Japanese large counts written out independently: three significant figures in 億 or 万."""
    for unit, suffix in ((10 ** 8, "億"), (10 ** 4, "万")):
        if n >= unit:
            value = n / unit
            decimals = 2 if value < 10 else 1 if value < 100 else 0
            return f"{value:,.{decimals}f}{suffix}"
    return f"{n:,}"


@pytest.mark.parametrize("n", [0, 7, 3504, 9_999, 10_000, 123_456, 1_234_567, 12_345_678, 115_000_000,
                               1_752_926_442, 23_456_789_012])
def test_ja_counts_in_man_and_oku(n):
    assert brief.fmt_count(n, lang="ja") == _ja_count(n)


def test_ja_counts_examples_and_rounding_up_to_the_next_unit():
    assert brief.fmt_count(115_000_000, lang="ja") == "1.15億"
    assert brief.fmt_count(123_456, lang="ja") == "12.3万"
    assert brief.fmt_count(3504, lang="ja") == "3,504"
    assert brief.fmt_count(99_996_000, lang="ja") == "1.00億"  # not "10,000万"
    assert brief.fmt_count(pd.NA, lang="ja") == "–"


def test_en_counts_unchanged_by_the_language_parameter():
    for n in (999, 1234, 1_234_567, 2_500_000_000):
        assert brief.fmt_count(n) == brief.fmt_count(n, lang="en")
    assert brief.fmt_count(1_234_567) == f"{1_234_567 / 1e6:.2f}M"


def test_signed_counts():
    assert brief.fmt_signed(-123_456, lang="ja") == "−" + _ja_count(123_456)
    assert brief.fmt_signed(1500, lang="ja") == "+1,500"


@pytest.mark.parametrize("delta", [0.021, -0.0704, 0.0])
def test_points(delta):
    sign = "+" if delta >= 0 else "−"
    value = f"{abs(delta) * 100:.1f}"
    assert brief.fmt_points(delta, lang="ja") == f"{sign}{value}ポイント"
    assert brief.fmt_points(delta) == f"{sign}{value} points"


def test_shares_are_percent_in_both_languages():
    assert brief.fmt_share(0.67, lang="ja") == brief.fmt_share(0.67) == f"{0.67 * 100:.1f}%"


def test_dates_and_times():
    t = pd.Timestamp("2026-11-27T06:05:00Z")
    assert brief.fmt_date(t, lang="ja") == f"{t.year}年{t.month}月{t.day}日"
    assert brief.fmt_date(pd.Timestamp("2026-03-04T00:00Z"), lang="ja") == "2026年3月4日"  # no zero padding
    assert brief.fmt_time(t, lang="ja") == f"{t.year}年{t.month}月{t.day}日 06:05（UTC）"
    assert brief.fmt_date(t) == t.strftime("%Y-%m-%d") and brief.fmt_time(t) == t.strftime("%Y-%m-%d %H:%M UTC")
    assert brief.fmt_date(pd.NaT, lang="ja") == "–"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang must be one of"):
        brief.table_html(pd.DataFrame({"a": []}), {"a": "A"}, lang="xx")


@pytest.mark.parametrize("x", [1234, 12_345, 999_960, 1_234_567, 3.2e9, 99_999_999])
def test_chart_value_labels_in_japanese_units(x):
    from openbrief.brief.charts import human_number

    def short(v):
        s = f"{v:.1f}" if abs(v) < 10 else f"{v:.0f}"
        return s[:-2] if s.endswith(".0") else s

    unit, suffix = next(((u, s) for u, s in ((1e8, "億"), (1e4, "万")) if round(x) >= u), (1, ""))
    expected = short(x / unit) + suffix if unit > 1 else f"{x:,.0f}"
    if suffix == "万" and float(short(x / unit)) >= 1e4:
        expected = short(x / 1e8) + "億"
    assert human_number(x, lang="ja") == expected
