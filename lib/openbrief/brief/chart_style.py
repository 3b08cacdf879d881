"""The house chart style: rcParams, fonts (CJK included), deterministic SVG, bloc colours and hatches.
"""
from __future__ import annotations

from typing import Any

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.figure import Figure

from openbrief.i18n import N_, formats



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
DEFAULT_SOURCE = N_("Source: Hugging Face Hub via openbrief, snapshot {as_of}")

#: Fixed salt for the ids matplotlib writes into SVG (clip paths, glyphs).
SVG_HASHSALT = "openbrief"
#: Pass as ``metadata=`` when saving SVG: no date, so two saves are identical.
SVG_METADATA: dict[str, Any] = {"Date": None}

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


def _font_rc(lang: str = "en") -> dict[str, Any]:
    """Sans-serif list of installed families only (no findfont warnings): the language's CJK face
    first (``i18n.formats``: Noto Sans CJK SC for English, JP for Japanese), so Latin, Japanese and
    CJK model names all have glyphs, then DejaVu Sans."""
    have = _available_families()
    families = [f for f in (formats.conventions(lang)["cjk_font"], "DejaVu Sans") if f in have]
    families += [f for f in _CJK_FALLBACKS if f in have and f not in families]
    if "DejaVu Sans" not in families:
        families.append("DejaVu Sans")  # ships with matplotlib
    # named on every text, not through the generic 'sans-serif' (which is looked up in the global
    # rcParams when a figure is saved, so a chart saved outside apply_style() would lose CJK)
    return {"font.family": families, "font.sans-serif": families}


def house_rc(lang: str = "en") -> dict[str, Any]:
    """The full set of rcParams :func:`apply_style` installs (fonts for ``lang``)."""
    rc = dict(HOUSE_RC)
    rc.update(_font_rc(lang))
    return rc


def apply_style(*, ipython: bool = True, lang: str = "en") -> None:
    """Install the house style.

    * rcParams from :data:`HOUSE_RC` plus a font list whose first entries are
      the language's Noto Sans CJK face (SC, JP for ``lang="ja"``: Latin from Source
      Sans; Chinese, Japanese and Korean names render) and DejaVu Sans, restricted
      to fonts matplotlib finds;
    * SVG output that is byte-for-byte reproducible (fixed ``svg.hashsalt``,
      glyphs as paths, no date in the metadata);
    * inside IPython/Jupyter, inline figures as SVG (``metadata={'Date': None}``).
    """
    mpl.rcParams.update(house_rc(lang))
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
