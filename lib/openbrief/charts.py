"""House chart style for openbrief briefs (matplotlib only).

Every chart function returns a :class:`matplotlib.figure.Figure` built with the
object-oriented API (no pyplot state, so a figure is shown once: when the cell
returns or ``display``s it). Each figure carries

* a title that says what it shows and the date of the data (``as_of``),
* a small source line at the bottom (``source=``; ``None`` drops it),
* bloc colours from :data:`BLOC_COLORS` (Okabe–Ito hues, each at its own
  lightness, so the blocs stay apart in greyscale) and hatches from
  :data:`BLOC_HATCHES` (so they stay apart even where lightness is close).

Empty input never raises: it gives a figure that says "No data". Labels are
shown literally: no mathtext (``text.parse_math`` off), and the SVG escapes
text as XML, so a label can carry no markup.

Call :func:`apply_style` once at the top of a notebook: it sets the house
rcParams, makes SVG output deterministic and, inside IPython, switches inline
figures to SVG.
"""
from __future__ import annotations

import datetime as _dt
import math
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.colors import to_rgb
from matplotlib.legend_handler import HandlerTuple
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.ticker import FuncFormatter

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
# Palette
# --------------------------------------------------------------------------

#: The blocs the kit attributes organisations to, in display order.
BLOCS: tuple[str, ...] = (
    "US", "CN", "EU", "UK", "JP", "KR", "Gulf", "CA", "IN", "IL", "CH",
    "Other", "unattributed",
)

#: One colour per bloc. Hues are Okabe–Ito (plus Tol's indigo, wine and teal
#: for the extra blocs), each mixed towards black or white to sit on its own
#: CIE L* step (17 … 96, ~6.6 apart), so that no two blocs share a grey level.
#: The L* of each is noted; :func:`lightness` computes it.
BLOC_COLORS: dict[str, str] = {
    "US": "#004b75",            # blue            L*=30.2
    "CN": "#c35600",            # vermillion      L*=49.8
    "EU": "#56b4e8",            # sky blue        L*=69.8
    "UK": "#cf80ac",            # reddish purple  L*=63.1
    "JP": "#f0e548",            # yellow          L*=89.4
    "KR": "#006348",            # bluish green    L*=36.7
    "Gulf": "#f1c971",          # orange          L*=82.7
    "CA": "#671a40",            # wine            L*=23.6
    "IN": "#3c9687",            # teal            L*=56.6
    "IL": "#281b6b",            # indigo          L*=17.0
    "CH": "#a14191",            # purple          L*=43.4
    "Other": "#bcbcbc",         # grey            L*=76.2
    "unattributed": "#f3f3f3",  # near white      L*=95.8
}

#: One matplotlib hatch per bloc; all distinct. The two largest blocs get the
#: plainest marks (US solid, CN diagonal) so big bars stay calm. Line hatches
#: only, bar a few sparse dots/stars: dense circle hatches ('ooo', '...') cost
#: 150-300 KB of SVG each.
BLOC_HATCHES: dict[str, str] = {
    "US": "",
    "CN": "////",
    "EU": "\\\\\\\\",
    "UK": "xxx",
    "JP": ".",
    "KR": "---",
    "Gulf": "|||",
    "CA": "-\\\\",
    "IN": "+++",
    "IL": "*",
    "CH": "|//",
    "Other": "-//",
    "unattributed": "./",
}

#: Colour for series that are not blocs (single-series charts).
HOUSE_COLOR = "#004b75"
_TEXT = "#1a1a1a"
_MUTED = "#5c5c5c"
_GRID = "#d9d9d9"

#: Default source line; ``{as_of}`` is filled in.
DEFAULT_SOURCE = "Source: Hugging Face Hub via openbrief, snapshot {as_of}"

#: Fixed salt for the ids matplotlib writes into SVG (clip paths, glyphs).
SVG_HASHSALT = "openbrief"
#: Pass as ``metadata=`` when saving SVG: no date, so two saves are identical.
SVG_METADATA: dict[str, Any] = {"Date": None}

_SANS_PREFERENCE = ("Noto Sans CJK SC", "DejaVu Sans")
_CJK_FALLBACKS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK KR",
                  "Noto Sans CJK TC")

# Sizes are in points and meant to be printed at 100 %: a figure 6.7 in wide
# fills the A4 text block (174 mm), so 8 pt in the chart is 8 pt on paper.
HOUSE_RC: dict[str, Any] = {
    "figure.figsize": (6.7, 3.4),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.0,
    "axes.labelcolor": _MUTED,
    "axes.edgecolor": "#8c8c8c",
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.axisbelow": True,
    "axes.prop_cycle": mpl.cycler(color=[BLOC_COLORS[b] for b in BLOCS]),
    "grid.color": _GRID,
    "grid.linewidth": 0.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "xtick.color": _MUTED,
    "ytick.color": _MUTED,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.major.width": 0.5,
    "ytick.major.width": 0.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "legend.handlelength": 1.2,
    "legend.handleheight": 1.0,
    "hatch.linewidth": 0.6,
    "figure.titlesize": 10.0,
    "figure.titleweight": "bold",
    "text.color": _TEXT,
    "text.parse_math": False,         # labels are data (org names, model ids): '$' is a dollar sign, never mathtext
    "axes.unicode_minus": True,
    "svg.fonttype": "none",
    "svg.hashsalt": SVG_HASHSALT,     # stable ids
    "svg.image_inline": True,
    "pdf.fonttype": 42,
}


def _available_families() -> set[str]:
    return {f.name for f in font_manager.fontManager.ttflist}


def _font_rc() -> dict[str, Any]:
    """Sans-serif list of installed families only (no findfont warnings)."""
    have = _available_families()
    families = [f for f in _SANS_PREFERENCE if f in have]
    families += [f for f in _CJK_FALLBACKS if f in have and f not in families]
    if "DejaVu Sans" not in families:
        families.append("DejaVu Sans")  # ships with matplotlib
    return {"font.family": "sans-serif", "font.sans-serif": families}


def house_rc() -> dict[str, Any]:
    """The full set of rcParams :func:`apply_style` installs."""
    rc = dict(HOUSE_RC)
    rc.update(_font_rc())
    return rc


def apply_style(*, ipython: bool = True) -> None:
    """Install the house style.

    * rcParams from :data:`HOUSE_RC` plus a font list whose first entries are
      Noto Sans CJK SC (Latin from Source Sans; Chinese, Japanese and Korean
      names render) and DejaVu Sans, restricted to fonts matplotlib finds;
    * SVG output that is byte-for-byte reproducible (fixed ``svg.hashsalt``,
      glyphs as paths, no date in the metadata);
    * inside IPython/Jupyter, inline figures as SVG (``metadata={'Date': None}``).
    """
    mpl.rcParams.update(house_rc())
    if ipython:
        _set_inline_svg()


def _set_inline_svg() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipykernel
        return
    if get_ipython() is None:
        return
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover
        return
    set_matplotlib_formats("svg", metadata=dict(SVG_METADATA))


def _ensure_deterministic_svg() -> None:
    """Chart functions call this: stable SVG even if apply_style() was skipped."""
    if mpl.rcParams["svg.hashsalt"] is None:
        mpl.rcParams["svg.hashsalt"] = SVG_HASHSALT


def figure_to_svg(fig: Figure, **kwargs: Any) -> str:
    """SVG text of ``fig``, deterministic (no date, fixed hash salt)."""
    import io

    _ensure_deterministic_svg()
    buf = io.StringIO()
    kwargs.setdefault("metadata", dict(SVG_METADATA))
    kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(buf, format="svg", **kwargs)
    return buf.getvalue()


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


def human_number(x: float, pos: Any = None) -> str:
    """1234 → '1.2K', 1_234_567 → '1.2M', 3.2e9 → '3.2B', 999_960 → '1M', 0.5 → '0.5'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    scales = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))

    def short(v: float) -> str:
        s = f"{v:.1f}" if abs(v) < 10 else f"{v:.0f}"
        return s[:-2] if s.endswith(".0") else s

    ax = abs(x)
    if ax == 0:
        return "0"
    if round(ax) >= 1000:
        idx = next(i for i, (div, _) in enumerate(scales) if round(ax) >= div)
        div, suffix = scales[idx]
        s = short(x / div)
        if abs(float(s)) >= 1000 and idx > 0:   # 999.96K rounds to 1000K: say 1M
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
_num_axis = FuncFormatter(human_number)


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


def _title_text(title: str, as_of: Any) -> str:
    as_of_s = _date_str(as_of)
    if not as_of_s:
        return title
    return f"{title}, as of {as_of_s}" if as_of_s not in title else title


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


def _period_labels(periods: list) -> list[str]:
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
            out.append(f"{s:%b}\n{s.year}" if s.year != last_year else f"{s:%b}")
            last_year = s.year
        return out
    return [_date_str(s.to_pydatetime()) for s in stamps]


def _looks_like_date(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 7 and value[:4].isdigit() and value[4] == "-"


def _new_figure(height: float | None = None, width: float | None = None) -> Figure:
    _ensure_deterministic_svg()
    with mpl.rc_context(house_rc()):
        w, h = HOUSE_RC["figure.figsize"]
        fig = Figure(figsize=(width or w, height or h), layout="constrained")
    return fig


def _decorate(fig: Figure, title: str, as_of: Any, source: str | None) -> None:
    """Title (left-aligned, with the data date) and source line."""
    with mpl.rc_context(house_rc()):
        text = _wrap(_title_text(title, as_of), fig, HOUSE_RC["figure.titlesize"])
        fig.suptitle(text, x=0.01, ha="left", fontsize=HOUSE_RC["figure.titlesize"],
                     fontweight="bold", color=_TEXT)
        if source is not None:
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
                 message: str = "No data") -> Figure:
    """A titled figure that says ``message`` where the chart would be."""
    fig = _new_figure(height=2.0)
    with mpl.rc_context(house_rc()):
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color=_MUTED,
                transform=ax.transAxes)
    _decorate(fig, title, as_of, source)
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


def _legend_entries(groups: Iterable[Any], colors: Mapping[str, str] | None = None):
    handles, labels = [], []
    for g in groups:
        fill = (colors or {}).get(g) or bloc_color(g)
        solid = Patch(facecolor=fill, edgecolor=_edge_color(fill), linewidth=0.4)
        if bloc_hatch(g):
            handles.append((solid, _make_overlay(Patch(), g, fill, solid.get_zorder())))
        else:
            handles.append(solid)
        labels.append(str(g))
    return handles, labels


def _legend(target, groups: Iterable[Any], **kwargs: Any):
    handles, labels = _legend_entries(groups)
    return target.legend(handles=handles, labels=labels,
                         handler_map={tuple: HandlerTuple(ndivide=1, pad=0)}, **kwargs)


def _top_legend(ax, groups: list) -> None:
    """Legend in one or two rows between the title and the plot, left-aligned."""
    n = len(groups)
    ncols = n if n <= 8 else math.ceil(n / 2)
    _legend(ax, groups, loc="lower left", bbox_to_anchor=(0, 1.02), ncols=ncols,
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
              normalize: bool | None = None) -> Figure:
    """Ranked horizontal bars of each group's share, labelled in %.

    ``value_col`` may hold amounts (downloads, counts: shares are computed as
    value ÷ total) or shares already (fractions in [0, 1] summing to ≤ 1 are
    used as they are). ``normalize=True/False`` forces either reading.
    Groups that are blocs get bloc colours and hatches; ``colors`` overrides.
    Duplicate groups are summed.
    """
    if _is_empty(df, (group_col, value_col)):
        return empty_figure(title=title, as_of=as_of, source=source)
    data = df[[group_col, value_col]].copy()
    data[value_col] = _numeric(data[value_col])
    data = data.dropna(subset=[value_col])
    if data.empty or float(data[value_col].abs().sum()) == 0:
        return empty_figure(title=title, as_of=as_of, source=source)
    agg = data.groupby(group_col, sort=False, dropna=False)[value_col].sum()
    shares = _shares(agg, normalize)
    order = _group_order(shares.index, shares.to_dict())
    n = len(order)
    fig = _new_figure(height=max(1.6, 0.8 + 0.215 * n))
    with mpl.rc_context(house_rc()):
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
        ax.set_yticks(ys, [truncate_label(g) for g in order])
        vmax = max(vals) if vals else 1
        for y, v in zip(ys, vals):
            ax.text(v + vmax * 0.01, y, percent_label(v), va="center", ha="left",
                    fontsize=7.5, color=_TEXT)
        ax.set_xlim(0, vmax * 1.12 if vmax > 0 else 1)
        ax.xaxis.set_visible(False)
        ax.spines["bottom"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    _decorate(fig, title, as_of, source)
    return fig


def ranked_bars(df, label_col: str, value_col: str, *, title: str, as_of: Any,
                color_col: str | None = None, top: int = 15,
                source: str | None = DEFAULT_SOURCE,
                value_label: str | None = None, label_width: int = 44,
                value_format: str = "auto") -> Figure:
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
        return empty_figure(title=title, as_of=as_of, source=source)
    data = df[list(dict.fromkeys(cols))].copy()
    data[value_col] = _numeric(data[value_col])
    data = data.dropna(subset=[value_col])
    if data.empty:
        return empty_figure(title=title, as_of=as_of, source=source)
    if value_format == "auto":
        value_format = "percent" if (data[value_col].min() >= 0 and data[value_col].max() <= 1) else "number"
    fmt = percent_label if value_format == "percent" else human_number
    data = data.sort_values(value_col, ascending=False, kind="mergesort").head(max(1, int(top)))
    n = len(data)
    fig = _new_figure(height=max(1.8, 1.0 + 0.235 * n))
    with mpl.rc_context(house_rc()):
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
        labels = [f"{i}. {truncate_label(l, label_width)}" for i, l in enumerate(data[label_col], 1)]
        ax.set_yticks(ys, labels)
        vmax = max(vals) if vals else 1
        for y, v in zip(ys, vals):
            ax.text(v + abs(vmax) * 0.01, y, fmt(v), va="center", ha="left",
                    fontsize=7, color=_TEXT)
        ax.set_xlim(0, vmax * 1.12 if vmax > 0 else 1)
        ax.xaxis.set_major_formatter(_pct_axis if value_format == "percent" else _num_axis)
        ax.xaxis.grid(True)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        if value_label:
            ax.set_xlabel(value_label)
        if color_col:
            present = _group_order([g if g is not None else "unattributed" for g in groups])
            _top_legend(ax, present)
    _decorate(fig, title, as_of, source)
    return fig


def stacked_share(df, time_col: str, group_col: str, share_col: str, *, title: str,
                  as_of: Any, source: str | None = DEFAULT_SOURCE,
                  normalize: bool | None = None, area: bool | None = None) -> Figure:
    """Each group's share over time, stacked to 100 %.

    Periods are stacked bars (or a stacked area when there are more than 24
    periods, or ``area=True``). Per period, values are used as shares when
    they already are fractions summing to ≤ 1, else divided by the period's
    total (``normalize`` forces either). Largest groups sit at the bottom;
    'Other' and 'unattributed' on top.
    """
    table = _pivot(df, time_col, group_col, share_col, sort=True)
    if table is None:
        return empty_figure(title=title, as_of=as_of, source=source)
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
    labels = _period_labels(periods)
    use_area = area if area is not None else len(periods) > 24
    fig = _new_figure(height=3.4)
    with mpl.rc_context(house_rc()):
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
        _legend(fig, order[::-1], loc="outside right upper")
    _decorate(fig, title, as_of, source)
    return fig


def grouped_bars(df, category_col: str, group_col: str, value_col: str, *, title: str,
                 as_of: Any, source: str | None = DEFAULT_SOURCE,
                 value_format: str = "auto", value_label: str | None = None) -> Figure:
    """Side-by-side bars: one cluster per category, one bar per group.

    ``value_format``: 'number' (1.2M), 'percent' (fractions shown as 35%) or
    'auto' (percent when every value lies in [0, 1]).
    """
    table = _pivot(df, category_col, group_col, value_col, sort=False)
    if table is None:
        return empty_figure(title=title, as_of=as_of, source=source)
    groups = _group_order(table.columns, table.sum().to_dict())
    cats = list(table.index)
    if value_format == "auto":
        value_format = "percent" if (table.min().min() >= 0 and table.max().max() <= 1) else "number"
    fmt = percent_label if value_format == "percent" else human_number
    n_g = len(groups)
    fig = _new_figure(height=3.2)
    with mpl.rc_context(house_rc()):
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
        ax.set_xticks(range(len(cats)), [truncate_label(_date_str(c), 24) for c in cats])
        ax.yaxis.set_major_formatter(_pct_axis if value_format == "percent" else _num_axis)
        ax.yaxis.grid(True)
        ax.margins(y=0.12)
        if value_label:
            ax.set_ylabel(value_label)
        _top_legend(ax, groups)
    _decorate(fig, title, as_of, source)
    return fig
