"""Pieces the chart functions share: number and date labels, titles, legends, hatch overlays.
"""
from __future__ import annotations

import datetime as _dt
import math
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.colors import to_rgb
from matplotlib.legend_handler import HandlerTuple
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter
from openbrief.brief.chart_style import BLOCS, BLOC_COLORS, BLOC_HATCHES, DEFAULT_SOURCE, HOUSE_RC, _MUTED, _TEXT, _ensure_deterministic_svg, house_rc
from openbrief.brief.labels import short_label
from openbrief.i18n import formats, translator


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def lightness(color: str) -> float:
    """CIE L* (0 black … 100 white) of a colour: its grey level in print."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 116 * y ** (1 / 3) - 16 if y > 216 / 24389 else y * 24389 / 27


def _bloc_key(name: Any) -> str | None:
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return "unattributed"
    s = str(name).strip()
    for b in BLOCS:
        if s.lower() == b.lower():
            return b
    return None


def bloc_color(name: Any, default: str | None = None) -> str:
    """Colour of a bloc (case-insensitive); ``default`` or grey otherwise."""
    key = _bloc_key(name)
    if key is not None:
        return BLOC_COLORS[key]
    return default or BLOC_COLORS["Other"]


def bloc_hatch(name: Any) -> str:
    key = _bloc_key(name)
    return BLOC_HATCHES[key] if key is not None else ""


def _hatch_color(fill: str) -> str:
    """Hatch lines light on dark fills, dark on light fills."""
    return "#ffffffb0" if lightness(fill) < 55 else "#00000080"


def human_number(x: float, pos: Any = None, lang: str = "en") -> str:
    """1234 → '1.2K', 1_234_567 → '1.2M', 3.2e9 → '3.2B', 999_960 → '1M', 0.5 → '0.5'
    (``lang`` "ja": 1_234_567 → '123万', 3.2e9 → '32億'; the units of ``i18n.formats``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    scales = formats.conventions(lang)["chart_units"]

    def short(v: float) -> str:
        s = f"{v:.1f}" if abs(v) < 10 else f"{v:.0f}"
        return s[:-2] if s.endswith(".0") else s

    ax = abs(x)
    if ax == 0:
        return "0"
    if round(ax) >= scales[-1][0]:
        idx = next(i for i, (div, _) in enumerate(scales) if round(ax) >= div)
        div, suffix = scales[idx]
        s = short(x / div)
        if idx > 0 and abs(float(s)) * div >= scales[idx - 1][0]:   # 999.96K rounds to 1000K: say 1M
            div, suffix = scales[idx - 1]
            s = short(x / div)
        return s + suffix
    if ax >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.2g}" if ax < 1 else f"{x:.1f}".rstrip("0").rstrip(".")


def percent_label(share: float) -> str:
    """A share as a label: 0.352 → '35%', 0.042 → '4.2%', 0.0004 → '<0.1%'."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return ""
    p = share * 100
    if p == 0:
        return "0%"
    if abs(p) < 0.1:
        return "<0.1%"
    if abs(p) < 10:
        return f"{p:.1f}%"
    return f"{p:.0f}%"


_pct_axis = FuncFormatter(lambda v, pos: f"{v * 100:.0f}%")
def _num_axis(lang: str) -> FuncFormatter:
    return FuncFormatter(lambda v, pos: human_number(v, pos, lang))


def truncate_label(label: Any, width: int = 38) -> str:
    """Shorten a long label to ``width`` characters, ellipsis at the end.

    For ``org/name`` ids the model name is kept as long as possible and the
    organisation is shortened first (to at most 14 characters), since the
    name says more about the model than the org prefix does.
    """
    s = str(label)
    if len(s) <= width:
        return s
    if "/" in s:
        org, name = s.split("/", 1)
        budget_org = max(6, min(len(org), 14, width - len(name) - 1))
        if len(org) > budget_org:
            org = org[: budget_org - 1] + "…"
        s = f"{org}/{name}"
        if len(s) <= width:
            return s
    return s[: width - 1].rstrip() + "…"


def _is_empty(df: Any, cols: Iterable[str]) -> bool:
    if df is None:
        return True
    try:
        if len(df) == 0:
            return True
    except TypeError:
        return True
    for c in cols:
        if c not in getattr(df, "columns", ()):
            return True
    return False


def _numeric(series):
    import pandas as pd

    return pd.to_numeric(series, errors="coerce")


def _wrap(text: str, fig: Figure, fontsize: float) -> str:
    width_in = fig.get_figwidth()
    chars = max(20, int(width_in * 72 / (fontsize * 0.55)))
    return "\n".join(textwrap.wrap(text, chars)) or text


def _title_text(title: str, as_of: Any, lang: str = "en") -> str:
    as_of_s = _date_str(as_of)
    if not as_of_s:
        return title
    return translator(lang).gettext("{title}, as of {date}").format(title=title, date=as_of_s) if as_of_s not in title else title


def _date_str(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        try:
            if getattr(value, "hour", 0) == 0 and getattr(value, "minute", 0) == 0:
                return value.strftime("%Y-%m-%d")
            return value.strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    return str(value)


def _period_labels(periods: list, lang: str = "en") -> list[str]:
    """Tick labels for periods: month starts as 'Jul' with the year under the
    first one and under each January ('Jul\n2024', 'Aug', …, 'Jan\n2025');
    other dates as ISO dates; anything else as text."""
    import pandas as pd

    try:
        stamps = [pd.Timestamp(p) for p in periods]
    except (TypeError, ValueError):
        return [str(p) for p in periods]
    if not all(isinstance(p, (pd.Timestamp, _dt.date)) or _looks_like_date(p) for p in periods):
        return [str(p) for p in periods]
    if stamps and all(s.day == 1 and s.hour == 0 and s.minute == 0 for s in stamps):
        out, last_year = [], None
        for s in stamps:
            name = formats.month(s.month, f"{s:%b}", lang)
            out.append(f"{name}\n{s.year}" if s.year != last_year else name)
            last_year = s.year
        return out
    return [_date_str(s.to_pydatetime()) for s in stamps]


def _looks_like_date(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 7 and value[:4].isdigit() and value[4] == "-"


def _new_figure(height: float | None = None, width: float | None = None, lang: str = "en") -> Figure:
    _ensure_deterministic_svg()
    with mpl.rc_context(house_rc(lang)):
        w, h = HOUSE_RC["figure.figsize"]
        fig = Figure(figsize=(width or w, height or h), layout="constrained")
    return fig


def _decorate(fig: Figure, title: str, as_of: Any, source: str | None, lang: str = "en") -> None:
    """Title (left-aligned, with the data date) and source line (the default one in ``lang``)."""
    with mpl.rc_context(house_rc(lang)):
        text = _wrap(_title_text(title, as_of, lang), fig, HOUSE_RC["figure.titlesize"])
        fig.suptitle(text, x=0.01, ha="left", fontsize=HOUSE_RC["figure.titlesize"],
                     fontweight="bold", color=_TEXT)
        if source is not None:
            source = translator(lang).gettext(source)
            src = source.format(as_of=_date_str(as_of)) if "{as_of}" in source else source
            src = _wrap(src, fig, 6.5)
            lines = src.count("\n") + 1
            bottom = (6.5 * 1.5 * lines + 4) / 72 / fig.get_figheight()
            fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
            fig.text(0.01, 0.012, src, ha="left", va="bottom", fontsize=6.5, color=_MUTED)
    fig._openbrief = {"title": title, "as_of": _date_str(as_of), "source": source}  # for tests/tools
    _freeze_layout(fig)


def _freeze_layout(fig: Figure) -> None:
    """Solve the constrained layout once and fix it.

    Constrained layout re-solves on every draw, starting from the previous
    solution, so saving the same figure twice gave slightly different
    coordinates. Solved once here and switched off, every save of the figure
    is identical, and so is every figure built from the same data.
    """
    fig.draw_without_rendering()
    fig.set_layout_engine("none")


def empty_figure(*, title: str, as_of: Any, source: str | None = DEFAULT_SOURCE,
                 message: str | None = None, lang: str = "en") -> Figure:
    """A titled figure that says ``message`` (default: "No data" in ``lang``) where the chart would be."""
    fig = _new_figure(height=2.0, lang=lang)
    with mpl.rc_context(house_rc(lang)):
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, translator(lang).gettext("No data") if message is None else message, ha="center",
                va="center", fontsize=11, color=_MUTED, transform=ax.transAxes)
    _decorate(fig, title, as_of, source, lang)
    return fig


def _shares(values, normalize: bool | None):
    """Values as fractions of 1: as given if they already are, else ÷ sum."""
    total = float(values.sum())
    if normalize is None:
        normalize = not (values.min() >= 0 and values.max() <= 1 and total <= 1 + 1e-9)
    if normalize:
        return values / total if total else values * 0.0
    return values


def _style_bar(bar, group: Any, colors: Mapping[str, str] | None) -> None:
    """Bloc fill on ``bar`` plus, for hatched blocs, a hatch overlay on top."""
    fill = (colors or {}).get(group) or bloc_color(group)
    bar.set_facecolor(fill)
    bar.set_edgecolor(_edge_color(fill))
    bar.set_linewidth(0.4)
    if bloc_hatch(group) and bar.axes is not None:
        over = Rectangle(bar.get_xy(), bar.get_width(), bar.get_height())
        _make_overlay(over, group, fill, bar.get_zorder())
        bar.axes.add_patch(over)


def _edge_color(fill: str) -> str:
    return "#ffffff" if lightness(fill) < 90 else "#9a9a9a"


def _make_overlay(patch, group: Any, fill: str, zorder: float):
    """A transparent patch that only draws the bloc's hatch.

    Hatches are SVG/PDF tiling patterns; when the pattern tile also paints the
    fill (matplotlib's default), PDF viewers show hairline seams at the tile
    edges, which read as spurious segment lines across a bar. With the fill
    drawn solid underneath and the pattern transparent, seams are invisible.
    """
    patch.set_facecolor("none")
    patch.set_edgecolor(_hatch_color(fill))  # hatch colour follows the edge colour ...
    patch.set_linewidth(0)                   # ... and the edge itself is not drawn
    patch.set_hatch(bloc_hatch(group))
    patch.set_zorder(zorder + 0.01)
    patch.set_label("_nolegend_")
    patch._openbrief_hatch = True  # lets tests and tools tell overlays from data bars
    return patch


def is_hatch_overlay(artist: Any) -> bool:
    """True for the hatch-only patches drawn over bloc-coloured bars."""
    return bool(getattr(artist, "_openbrief_hatch", False))


def _legend_entries(groups: Iterable[Any], colors: Mapping[str, str] | None = None, lang: str = "en"):
    handles, labels = [], []
    for g in groups:
        fill = (colors or {}).get(g) or bloc_color(g)
        solid = Patch(facecolor=fill, edgecolor=_edge_color(fill), linewidth=0.4)
        if bloc_hatch(g):
            handles.append((solid, _make_overlay(Patch(), g, fill, solid.get_zorder())))
        else:
            handles.append(solid)
        labels.append(short_label(g, lang))
    return handles, labels


def _legend(target, groups: Iterable[Any], lang: str = "en", **kwargs: Any):
    handles, labels = _legend_entries(groups, lang=lang)
    return target.legend(handles=handles, labels=labels,
                         handler_map={tuple: HandlerTuple(ndivide=1, pad=0)}, **kwargs)


def _top_legend(ax, groups: list, lang: str = "en") -> None:
    """Legend in one or two rows between the title and the plot, left-aligned."""
    n = len(groups)
    ncols = n if n <= 8 else math.ceil(n / 2)
    _legend(ax, groups, lang, loc="lower left", bbox_to_anchor=(0, 1.02), ncols=ncols,
            borderaxespad=0, columnspacing=1.2, handletextpad=0.5)


def _group_order(groups: Iterable[Any], weights: Mapping[Any, float] | None = None) -> list:
    """Largest first; 'Other' and 'unattributed' always last."""
    tail_names = ("Other", "unattributed")
    gs = list(dict.fromkeys(groups))
    head = [g for g in gs if _bloc_key(g) not in tail_names]
    tail = [g for name in tail_names for g in gs if _bloc_key(g) == name]
    if weights is not None:
        head.sort(key=lambda g: -float(weights.get(g, 0.0)))
    return head + tail
