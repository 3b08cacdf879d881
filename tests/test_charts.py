"""House chart style: every chart is a titled, dated, sourced Figure; blocs stay
apart in colour, in greyscale and by hatch; SVG output is reproducible."""
from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys

import matplotlib
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

from openbrief.brief import charts as C

AS_OF = "2025-06-01"


@pytest.fixture(autouse=True)
def _house_style():
    with matplotlib.rc_context():
        C.apply_style(ipython=False)
        yield


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _blocs_df():
    return pd.DataFrame({
        "bloc": ["US", "CN", "EU", "UK", "JP", "KR", "Gulf", "CA", "IN", "IL", "CH", "Other",
                 "unattributed"],
        "downloads": [410e6, 380e6, 90e6, 30e6, 22e6, 18e6, 12e6, 8e6, 6e6, 4e6, 3e6, 40e6, 60e6],
    })


def _models_df(n=20):
    return pd.DataFrame({
        "model": [f"some-very-long-organisation-name-{i}/a-model-with-a-long-name-v{i}-Instruct-GGUF"
                  for i in range(n)],
        "downloads": [1_000_000 * (n - i) + 123 for i in range(n)],
        "bloc": [["US", "CN", "EU", None][i % 4] for i in range(n)],
    })


def _series_df():
    months = pd.date_range("2024-07-01", periods=6, freq="MS")
    rows = [(m, b, v + i) for i, m in enumerate(months)
            for b, v in zip(["US", "CN", "EU", "unattributed"], [40, 30, 10, 5])]
    return pd.DataFrame(rows, columns=["month", "bloc", "downloads"])


def _grouped_df():
    return pd.DataFrame([(task, b, v) for task, vals in
                         {"Text generation": [0.4, 0.45, 0.1], "Embeddings": [0.6, 0.2, 0.15]}.items()
                         for b, v in zip(["US", "CN", "EU"], vals)],
                        columns=["task", "bloc", "share"])


CHARTS = {
    "share_bar": lambda df, **kw: C.share_bar(df, "bloc", "downloads", **kw),
    "ranked_bars": lambda df, **kw: C.ranked_bars(df, "model", "downloads", color_col="bloc", **kw),
    "stacked_share": lambda df, **kw: C.stacked_share(df, "month", "bloc", "downloads", **kw),
    "grouped_bars": lambda df, **kw: C.grouped_bars(df, "task", "bloc", "share", **kw),
}
DATA = {"share_bar": _blocs_df, "ranked_bars": _models_df, "stacked_share": _series_df,
        "grouped_bars": _grouped_df}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_is_titled_dated_and_sourced(name):
    fig = CHARTS[name](DATA[name](), title="Share of downloads", as_of=AS_OF)
    assert isinstance(fig, Figure)
    title = fig.get_suptitle()
    assert "Share of downloads" in title and AS_OF in title
    assert f"Source: Hugging Face Hub via openbrief, snapshot {AS_OF}" in _texts(fig)
    assert fig.axes, "a chart has axes"


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_empty_input_says_no_data(name):
    for empty in (pd.DataFrame(), DATA[name]().iloc[0:0], None):
        fig = CHARTS[name](empty, title="Nothing yet", as_of=AS_OF)
        assert isinstance(fig, Figure)
        assert "No data" in _texts(fig)
        assert AS_OF in fig.get_suptitle()


def test_all_nan_values_say_no_data():
    df = pd.DataFrame({"bloc": ["US", "CN"], "downloads": [float("nan"), None]})
    assert "No data" in _texts(C.share_bar(df, "bloc", "downloads", title="t", as_of=AS_OF))


def test_source_line_can_be_replaced_or_dropped():
    fig = C.share_bar(_blocs_df(), "bloc", "downloads", title="t", as_of=AS_OF, source="Source: test data")
    assert "Source: test data" in _texts(fig)
    fig = C.share_bar(_blocs_df(), "bloc", "downloads", title="t", as_of=AS_OF, source=None)
    assert not any(t.startswith("Source") for t in _texts(fig))


def test_as_of_may_be_a_date():
    fig = C.share_bar(_blocs_df(), "bloc", "downloads", title="t", as_of=dt.date(2025, 6, 1))
    assert "2025-06-01" in fig.get_suptitle()


def test_share_bar_labels_are_percentages_ranked():
    fig = C.share_bar(_blocs_df(), "bloc", "downloads", title="t", as_of=AS_OF)
    texts = _texts(fig)
    total = _blocs_df().downloads.sum()
    assert C.percent_label(410e6 / total) in texts          # US 38%
    assert "38%" in texts and "35%" in texts
    ax = fig.axes[0]
    top_down = [label for _, label in sorted(
        zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())), reverse=True)]
    assert top_down[:3] == ["US", "CN", "EU"]                # ranked, largest on top
    assert top_down[-2:] == ["Other", "unattributed"]        # the remainders at the bottom


def test_share_bar_takes_shares_as_given():
    df = pd.DataFrame({"bloc": ["US", "CN"], "share": [0.30, 0.25]})   # a subset: not normalised
    texts = _texts(C.share_bar(df, "bloc", "share", title="t", as_of=AS_OF))
    assert "30%" in texts and "25%" in texts


def test_ranked_bars_top_n_truncated_labels_and_human_numbers():
    fig = C.ranked_bars(_models_df(20), "model", "downloads", title="Top models", as_of=AS_OF, top=15)
    ax = fig.axes[0]
    labels = [label for _, label in sorted(
        zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())), reverse=True)]
    assert len(labels) == 15
    assert labels[0].startswith("1. ") and labels[-1].startswith("15. ")
    assert all(len(label) <= 4 + 44 for label in labels)
    assert any("…" in label for label in labels)
    assert "20M" in _texts(fig)


def test_ranked_bars_shows_shares_as_percent():
    df = pd.DataFrame({"group": ["Qwen", "meta-llama"], "share": [0.21, 0.18]})
    texts = _texts(C.ranked_bars(df, "group", "share", title="t", as_of=AS_OF))
    assert "21%" in texts and "18%" in texts


def test_stacked_share_normalises_each_period():
    fig = C.stacked_share(_series_df(), "month", "bloc", "downloads", title="t", as_of=AS_OF)
    ax = fig.axes[0]
    heights = {}
    for patch in (p for p in ax.patches if not C.is_hatch_overlay(p)):
        x = round(patch.get_x(), 3)
        heights[x] = heights.get(x, 0) + patch.get_height()
    assert heights and all(abs(h - 1.0) < 1e-9 for h in heights.values())
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["Jul\n2024", "Aug"]
    assert ax.yaxis.get_major_formatter()(0.35, 0) == "35%"


def test_grouped_bars_percent_axis():
    fig = C.grouped_bars(_grouped_df(), "task", "bloc", "share", title="t", as_of=AS_OF)
    assert fig.axes[0].yaxis.get_major_formatter()(0.6, 0) == "60%"
    assert "45%" in _texts(fig)


# ---- palette ------------------------------------------------------------------

def test_every_bloc_has_a_colour_and_a_hatch():
    assert set(C.BLOC_COLORS) == set(C.BLOCS) == set(C.BLOC_HATCHES)
    assert len(C.BLOCS) == 13


def test_bloc_colours_distinct_in_greyscale_and_hatches_distinct():
    lights = {b: C.lightness(c) for b, c in C.BLOC_COLORS.items()}
    gaps = [abs(lights[a] - lights[b]) for a, b in itertools.combinations(C.BLOCS, 2)]
    assert min(gaps) > 5.0, sorted(lights.items(), key=lambda kv: kv[1])
    assert abs(lights["US"] - lights["CN"]) > 15      # the pair every brief compares
    assert len(set(C.BLOC_COLORS.values())) == len(C.BLOCS)
    assert len(set(C.BLOC_HATCHES.values())) == len(C.BLOCS)


def test_bloc_lookup_is_forgiving():
    assert C.bloc_color("us") == C.BLOC_COLORS["US"]
    assert C.bloc_color(None) == C.BLOC_COLORS["unattributed"]
    assert C.bloc_color("Atlantis") == C.BLOC_COLORS["Other"]
    assert C.bloc_hatch("cn") == C.BLOC_HATCHES["CN"]


def test_bars_carry_bloc_colour_and_hatch():
    fig = C.share_bar(_blocs_df(), "bloc", "downloads", title="t", as_of=AS_OF)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    bars = [p for p in ax.patches if not C.is_hatch_overlay(p)]
    overlays = [p for p in ax.patches if C.is_hatch_overlay(p)]
    by_label = dict(zip(labels, bars))
    assert matplotlib.colors.to_hex(by_label["CN"].get_facecolor()) == C.BLOC_COLORS["CN"]
    # the hatch sits on a transparent overlay of the same geometry (no tile seams in PDFs)
    cn = [o for o in overlays if o.get_xy() == by_label["CN"].get_xy()]
    assert len(cn) == 1 and cn[0].get_hatch() == C.BLOC_HATCHES["CN"]
    assert cn[0].get_facecolor()[3] == 0
    assert not any(o.get_xy() == by_label["US"].get_xy() for o in overlays)
    assert len(overlays) == 12                              # every bloc but the US


# ---- formatting helpers ----------------------------------------------------------

@pytest.mark.parametrize("value,text", [
    (0, "0"), (950, "950"), (1_234, "1.2K"), (35_000, "35K"), (1_234_567, "1.2M"),
    (12_000_000, "12M"), (3.2e9, "3.2B"), (999_960, "1M"), (0.5, "0.5"), (-2_500_000, "-2.5M"),
])
def test_human_number(value, text):
    assert C.human_number(value) == text


@pytest.mark.parametrize("share,text", [
    (0.352, "35%"), (0.042, "4.2%"), (0.0004, "<0.1%"), (0, "0%"), (1, "100%"),
])
def test_percent_label(share, text):
    assert C.percent_label(share) == text


def test_truncate_label_keeps_model_name():
    s = "very-long-organisation-name/DeepSeek-R1-Distill-Qwen-32B"
    out = C.truncate_label(s, 40)
    assert len(out) <= 40 and out.endswith("/DeepSeek-R1-Distill-Qwen-32B")
    assert C.truncate_label("short/id", 40) == "short/id"
    long_name = "org/" + "x" * 80
    assert len(C.truncate_label(long_name, 30)) == 30


# ---- fonts and SVG --------------------------------------------------------------

def test_cjk_font_is_found_and_first_in_the_list():
    path = font_manager.findfont(font_manager.FontProperties(family="Noto Sans CJK SC"),
                                 fallback_to_default=False)
    assert "NotoSansCJK" in path, "install Debian fonts-noto-cjk"
    assert matplotlib.rcParams["font.sans-serif"][0] == "Noto Sans CJK SC"
    assert "DejaVu Sans" in matplotlib.rcParams["font.sans-serif"]


def test_svg_keeps_cjk_as_text_with_fallback_fonts():
    df = pd.DataFrame({"task": ["深度求索 DeepSeek", "月之暗面"], "bloc": ["CN", "CN"], "share": [0.3, 0.2]})
    svg = C.figure_to_svg(C.grouped_bars(df, "task", "bloc", "share", title="中文 title", as_of=AS_OF))
    assert "深度求索 DeepSeek" in svg and "中文 title" in svg
    assert "Noto Sans CJK SC" in svg
    assert "<script" not in svg


def _figure_for_determinism():
    return C.ranked_bars(_models_df(8), "model", "downloads", title="Top", as_of=AS_OF, color_col="bloc")


def test_svg_is_deterministic_across_saves_and_figures():
    a = C.figure_to_svg(_figure_for_determinism())
    b = C.figure_to_svg(_figure_for_determinism())
    fig = _figure_for_determinism()
    assert a == b == C.figure_to_svg(fig) == C.figure_to_svg(fig)
    assert "<dc:date>" not in a


def test_svg_is_deterministic_across_processes():
    code = (
        "import sys, pandas as pd\n"
        "sys.path.insert(0, %r)\n"
        "import test_charts as T\n"
        "from openbrief.brief import charts as C\n"
        "C.apply_style(ipython=False)\n"
        "sys.stdout.write(C.figure_to_svg(T._figure_for_determinism()))\n"
    ) % str(__import__("pathlib").Path(__file__).parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONHASHSEED": "123"}).stdout
    assert out == C.figure_to_svg(_figure_for_determinism())


def test_apply_style_sets_deterministic_svg_params():
    assert matplotlib.rcParams["svg.hashsalt"] == C.SVG_HASHSALT
    assert matplotlib.rcParams["svg.fonttype"] == "none"
