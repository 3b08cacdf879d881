"""House chart style for openbrief briefs (matplotlib only).

Every chart function returns a :class:`matplotlib.figure.Figure` built with the
object-oriented API (no pyplot state, so a figure is shown once: when the cell
returns or ``display``s it). Each figure carries

* a title that says what it shows and the date of the data (``as_of``),
* a small source line at the bottom (``source=``; ``None`` drops it),
* bloc colours from :data:`BLOC_COLORS` (Okabe–Ito hues, each at its own
  lightness, so the blocs stay apart in greyscale) and hatches from
  :data:`BLOC_HATCHES` (so they stay apart even where lightness is close).

``lang`` (every chart function) sets the words the chart adds itself (", as of", the default
source line, "No data", month ticks) from the catalogues, shows country and bloc codes by
their name in that language ('CN' stays 'CN' in English, 中国 in Japanese) and picks the
language's CJK font; titles and axis labels come in already translated.

Empty input never raises: it gives a figure that says "No data". Labels are
shown literally: no mathtext (``text.parse_math`` off), and the SVG escapes
text as XML, so a label can carry no markup.

Call :func:`apply_style` once at the top of a notebook: it sets the house
rcParams, makes SVG output deterministic and, inside IPython, switches inline
figures to SVG.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from openbrief.brief.chart_parts import _bloc_key, _date_str, _decorate, _group_order, _is_empty, _legend, _make_overlay, _new_figure, _num_axis, _numeric, _pct_axis, _period_labels, _shares, _style_bar, _top_legend
from openbrief.brief.chart_style import HOUSE_COLOR, _TEXT, house_rc
from openbrief.brief.labels import short_label
from openbrief.brief.chart_style import BLOCS, BLOC_COLORS, BLOC_HATCHES, DEFAULT_SOURCE, HOUSE_RC, SVG_HASHSALT, SVG_METADATA, apply_style, figure_to_svg  # noqa: F401 - re-exported
from openbrief.brief.chart_parts import bloc_color, bloc_hatch, empty_figure, human_number, is_hatch_overlay, lightness, percent_label, truncate_label  # noqa: F401 - re-exported

__all__ = [
    "BLOCS",
    "BLOC_COLORS",
    "BLOC_HATCHES",
    "DEFAULT_SOURCE",
    "HOUSE_RC",
    "SVG_HASHSALT",
    "SVG_METADATA",
    "apply_style",
    "bloc_color",
    "bloc_hatch",
    "empty_figure",
    "figure_to_svg",
    "grouped_bars",
    "human_number",
    "is_hatch_overlay",
    "lightness",
    "percent_label",
    "ranked_bars",
    "share_bar",
    "stacked_share",
    "truncate_label",
]


# --------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------

def _pivot(df, index_col: str, group_col: str, value_col: str, *, sort: bool):
    """Numeric ``value_col`` summed into an index × group table; ``None`` when nothing is left to draw."""
    if _is_empty(df, (index_col, group_col, value_col)):
        return None
    data = df[[index_col, group_col, value_col]].copy()
    data[value_col] = _numeric(data[value_col])
    data = data.dropna(subset=[value_col])
    if data.empty:
        return None
    return data.pivot_table(index=index_col, columns=group_col, values=value_col,
                            aggfunc="sum", fill_value=0.0, sort=sort)


def share_bar(df, group_col: str, value_col: str, *, title: str, as_of: Any,
              colors: Mapping[str, str] | None = None,
              source: str | None = DEFAULT_SOURCE,
              normalize: bool | None = None, lang: str = "en") -> Figure:
    """Ranked horizontal bars of each group's share, labelled in %.

    ``value_col`` may hold amounts (downloads, counts: shares are computed as
    value ÷ total) or shares already (fractions in [0, 1] summing to ≤ 1 are
    used as they are). ``normalize=True/False`` forces either reading.
    Groups that are blocs get bloc colours and hatches; ``colors`` overrides.
    Duplicate groups are summed.
    """
    if _is_empty(df, (group_col, value_col)):
        return empty_figure(title=title, as_of=as_of, source=source, lang=lang)
    data = df[[group_col, value_col]].copy()
    data[value_col] = _numeric(data[value_col])
    data = data.dropna(subset=[value_col])
    if data.empty or float(data[value_col].abs().sum()) == 0:
        return empty_figure(title=title, as_of=as_of, source=source, lang=lang)
    agg = data.groupby(group_col, sort=False, dropna=False)[value_col].sum()
    shares = _shares(agg, normalize)
    order = _group_order(shares.index, shares.to_dict())
    n = len(order)
    fig = _new_figure(height=max(1.6, 0.8 + 0.215 * n), lang=lang)
    with mpl.rc_context(house_rc(lang)):
        ax = fig.add_subplot()
        ys = list(range(n))[::-1]
        vals = [float(shares[g]) for g in order]
        bars = ax.barh(ys, vals, height=0.68)
        is_blocs = any(_bloc_key(g) for g in order)
        for bar, g in zip(bars, order):
            if is_blocs or colors:
                _style_bar(bar, g, colors)
            else:
                bar.set_facecolor(HOUSE_COLOR)
        ax.set_yticks(ys, [truncate_label(short_label(g, lang)) for g in order])
        vmax = max(vals) if vals else 1
        for y, v in zip(ys, vals):
            ax.text(v + vmax * 0.01, y, percent_label(v), va="center", ha="left",
                    fontsize=7.5, color=_TEXT)
        ax.set_xlim(0, vmax * 1.12 if vmax > 0 else 1)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    _decorate(fig, title, as_of, source, lang)
    return fig


def ranked_bars(df, label_col: str, value_col: str, *, title: str, as_of: Any,
                color_col: str | None = None, top: int = 15,
                source: str | None = DEFAULT_SOURCE,
                value_label: str | None = None, label_width: int = 44,
                value_format: str = "auto", lang: str = "en") -> Figure:
    """The ``top`` rows by ``value_col`` as ranked horizontal bars.

    Labels (often long ``org/name`` ids) are truncated to ``label_width``
    characters and numbered by rank; values are printed at the bar ends in
    human-readable form (1.2M), or as percentages when ``value_format`` is
    'percent' ('auto': when every value lies in [0, 1], i.e. shares). With
    ``color_col`` (a bloc column) bars take bloc colours and hatches and a
    legend lists the blocs shown.
    """
    cols = (label_col, value_col) + ((color_col,) if color_col else ())
    if _is_empty(df, cols):
        return empty_figure(title=title, as_of=as_of, source=source, lang=lang)
    data = df[list(dict.fromkeys(cols))].copy()
    data[value_col] = _numeric(data[value_col])
    data = data.dropna(subset=[value_col])
    if data.empty:
        return empty_figure(title=title, as_of=as_of, source=source, lang=lang)
    if value_format == "auto":
        value_format = "percent" if (data[value_col].min() >= 0 and data[value_col].max() <= 1) else "number"
    fmt = percent_label if value_format == "percent" else partial(human_number, lang=lang)
    data = data.sort_values(value_col, ascending=False, kind="mergesort").head(max(1, int(top)))
    n = len(data)
    fig = _new_figure(height=max(1.8, 1.0 + 0.235 * n), lang=lang)
    with mpl.rc_context(house_rc(lang)):
        ax = fig.add_subplot()
        ys = list(range(n))[::-1]
        vals = [float(v) for v in data[value_col]]
        bars = ax.barh(ys, vals, height=0.68)
        groups = list(data[color_col]) if color_col else [None] * n
        for bar, g in zip(bars, groups):
            if color_col:
                _style_bar(bar, g if g is not None else "unattributed", None)
            else:
                bar.set_facecolor(HOUSE_COLOR)
        labels = [f"{i}. {truncate_label(short_label(l, lang), label_width)}" for i, l in enumerate(data[label_col], 1)]
        ax.set_yticks(ys, labels)
        vmax = max(vals) if vals else 1
        for y, v in zip(ys, vals):
            ax.text(v + abs(vmax) * 0.01, y, fmt(v), va="center", ha="left",
                    fontsize=7, color=_TEXT)
        ax.set_xlim(0, vmax * 1.12 if vmax > 0 else 1)
        ax.xaxis.set_major_formatter(_pct_axis if value_format == "percent" else _num_axis(lang))
        ax.xaxis.grid(True)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        if value_label:
            ax.set_xlabel(value_label)
        if color_col:
            present = _group_order([g if g is not None else "unattributed" for g in groups])
            _top_legend(ax, present, lang)
    _decorate(fig, title, as_of, source, lang)
    return fig


def stacked_share(df, time_col: str, group_col: str, share_col: str, *, title: str,
                  as_of: Any, source: str | None = DEFAULT_SOURCE,
                  normalize: bool | None = None, area: bool | None = None, lang: str = "en") -> Figure:
    """Each group's share over time, stacked to 100 %.

    Periods are stacked bars (or a stacked area when there are more than 24
    periods, or ``area=True``). Per period, values are used as shares when
    they already are fractions summing to ≤ 1, else divided by the period's
    total (``normalize`` forces either). Largest groups sit at the bottom;
    'Other' and 'unattributed' on top.
    """
    table = _pivot(df, time_col, group_col, share_col, sort=True)
    if table is None:
        return empty_figure(title=title, as_of=as_of, source=source, lang=lang)
    if normalize is None:
        sums = table.sum(axis=1)
        normalize = not (table.min().min() >= 0 and table.max().max() <= 1
                         and bool((sums <= 1 + 1e-9).all()))
    if normalize:
        sums = table.sum(axis=1).replace(0, float("nan"))
        table = table.div(sums, axis=0).fillna(0.0)
    order = _group_order(table.columns, table.mean().to_dict())
    table = table[order]
    periods = list(table.index)
    labels = _period_labels(periods, lang)
    use_area = area if area is not None else len(periods) > 24
    fig = _new_figure(height=3.4, lang=lang)
    with mpl.rc_context(house_rc(lang)):
        ax = fig.add_subplot()
        xs = list(range(len(periods)))
        bottom = [0.0] * len(periods)
        if use_area:
            polys = ax.stackplot(xs, *[table[g].to_numpy() for g in order], labels=[str(g) for g in order])
            for poly, g in zip(polys, order):
                fill = bloc_color(g)
                poly.set_facecolor(fill)
                poly.set_edgecolor("white")
                poly.set_linewidth(0.4)
                if bloc_hatch(g):
                    for path in poly.get_paths():
                        ax.add_patch(_make_overlay(PathPatch(path), g, fill, poly.get_zorder()))
        else:
            width = 0.72 if len(periods) > 1 else 0.45
            for g in order:
                vals = table[g].to_numpy()
                bars = ax.bar(xs, vals, width=width, bottom=bottom)
                for bar in bars:
                    _style_bar(bar, g, None)
                bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylim(0, max(1.0, max(bottom) if bottom else 1.0) if not use_area else 1.0)
        ax.yaxis.set_major_formatter(_pct_axis)
        ax.yaxis.grid(True)
        step = max(1, math.ceil(len(xs) / 12))
        ax.set_xticks(xs[::step], labels[::step])
        if len(xs) > 6 and max((len(l) for l in labels), default=0) > 8:
            for t in ax.get_xticklabels():
                t.set_rotation(30)
                t.set_ha("right")
        ax.set_xlim(-0.6, len(xs) - 0.4) if not use_area else ax.set_xlim(0, max(1, len(xs) - 1))
        _legend(fig, order[::-1], lang, loc="outside right upper")
    _decorate(fig, title, as_of, source, lang)
    return fig


def grouped_bars(df, category_col: str, group_col: str, value_col: str, *, title: str,
                 as_of: Any, source: str | None = DEFAULT_SOURCE,
                 value_format: str = "auto", value_label: str | None = None, lang: str = "en") -> Figure:
    """Side-by-side bars: one cluster per category, one bar per group.

    ``value_format``: 'number' (1.2M), 'percent' (fractions shown as 35%) or
    'auto' (percent when every value lies in [0, 1]).
    """
    table = _pivot(df, category_col, group_col, value_col, sort=False)
    if table is None:
        return empty_figure(title=title, as_of=as_of, source=source, lang=lang)
    groups = _group_order(table.columns, table.sum().to_dict())
    cats = list(table.index)
    if value_format == "auto":
        value_format = "percent" if (table.min().min() >= 0 and table.max().max() <= 1) else "number"
    fmt = percent_label if value_format == "percent" else partial(human_number, lang=lang)
    n_g = len(groups)
    fig = _new_figure(height=3.2, lang=lang)
    with mpl.rc_context(house_rc(lang)):
        ax = fig.add_subplot()
        width = min(0.8 / n_g, 0.3)
        label_bars = len(cats) * n_g <= 24
        for i, g in enumerate(groups):
            offs = (i - (n_g - 1) / 2) * width
            xs = [c + offs for c in range(len(cats))]
            vals = table[g].reindex(cats).to_numpy()
            bars = ax.bar(xs, vals, width=width * 0.92)
            for bar in bars:
                _style_bar(bar, g, None)
            if label_bars:
                for x, v in zip(xs, vals):
                    ax.text(x, v, fmt(float(v)), ha="center", va="bottom", fontsize=6.5,
                            color=_TEXT)
        ticks = [truncate_label(short_label(_date_str(c), lang), 24) for c in cats]
        crowded = sum(len(t) for t in ticks) > 80  # labels side by side would run into each other
        ax.set_xticks(range(len(cats)), ticks, rotation=25 if crowded else 0, ha="right" if crowded else "center",
                      rotation_mode="anchor")
        ax.yaxis.set_major_formatter(_pct_axis if value_format == "percent" else _num_axis(lang))
        ax.yaxis.grid(True)
        ax.margins(y=0.12)
        if value_label:
            ax.set_ylabel(value_label)
        _top_legend(ax, groups, lang)
    _decorate(fig, title, as_of, source, lang)
    return fig
