"""Executed notebook → HTML (our nbconvert template) → PDF (WeasyPrint).

Public API::

    notebook_to_html(nb, *, resources=None) -> str
    html_to_pdf(html, pdf_path, *, base_url=None) -> None
    html_to_pdf_bytes(html, *, base_url=None) -> bytes
    notebook_to_pdf(nb, pdf_path) -> Path

Determinism: the same HTML gives the same PDF bytes. WeasyPrint 70 writes no
dates unless the HTML declares them, but we set ``/CreationDate`` and
``/ModDate`` ourselves (from ``SOURCE_DATE_EPOCH`` when set, else
:data:`FIXED_EPOCH`) so every PDF carries the same, explicit value; the trailer
``/ID`` is the MD5 of the PDF's objects (``pdf_identifier=True``), so it only
changes when the content does. Font subsets are named from a hash of the font
description (stable across processes).

Nothing outside the HTML is read: the renderer's URL fetcher
(:func:`url_fetcher`) serves ``data:`` URLs only (every chart and image is
embedded as one; the template inlines its stylesheet) and refuses ``file:``,
``http(s):``, ``ftp:`` and relative URLs, which then render nothing, so no
image, stylesheet or ``rel="attachment"`` link can put a local file into a PDF.
``<script>`` tags and remote ``<link>``s are stripped before rendering.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import nbformat

__all__ = [
    "FIXED_EPOCH",
    "TEMPLATE_DIR",
    "TEMPLATE_NAME",
    "build_timestamp",
    "exported_html",
    "html_exporter",
    "html_to_pdf",
    "html_to_pdf_bytes",
    "notebook_to_html",
    "notebook_to_pdf",
    "postprocess_html",
    "url_fetcher",
]

#: Folder holding nbconvert template folders (``extra_template_basedirs``).
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: The template folder's name.
TEMPLATE_NAME = "openbrief"
#: Date written into PDFs when ``SOURCE_DATE_EPOCH`` is not set: 2000-01-01T00:00:00Z.
FIXED_EPOCH = 946684800

_QUIET_LOGGERS = ("weasyprint", "weasyprint.progress", "fontTools", "fontTools.subset",
                  "fontTools.ttLib", "PIL")


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

def html_exporter(**traits: Any):
    """An ``HTMLExporter`` on the openbrief template, inputs and prompts excluded."""
    from nbconvert import HTMLExporter

    options: dict[str, Any] = dict(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        embed_images=True,
        sanitize_html=False,
    )
    options.update(traits)
    return HTMLExporter(**options)


def _as_notebook(nb: nbformat.NotebookNode | str | os.PathLike) -> tuple[nbformat.NotebookNode, dict]:
    if isinstance(nb, (str, os.PathLike)):
        path = Path(nb)
        node = nbformat.read(path, as_version=4)
        return node, {"metadata": {"name": path.stem, "path": str(path.parent)}}
    return nb, {"metadata": {"name": ""}}


def template_text(nb: nbformat.NotebookNode) -> dict:
    """The template's own words in the brief's language (``render.po``), and that language.

    The language is the notebook's ``metadata.openbrief.lang`` or its papermill parameter ``lang``
    (English when neither names a language with a catalogue). ``page`` is the "Page X of Y" text
    as pieces for CSS ``content``: ``("text", "Page ")``, ``("counter", "page")``, ...
    """
    from openbrief import i18n

    meta = nb.metadata
    lang = ((meta.get("openbrief") or {}).get("lang")
            or ((meta.get("papermill") or {}).get("parameters") or {}).get("lang"))
    lang = lang if lang in i18n.languages() else i18n.SOURCE_LANG
    tr = i18n.translator(lang)
    pieces = re.split(r"\{(page|pages)\}", tr.gettext("Page {page} of {pages}"))
    page = [("counter" if i % 2 else "text", piece) for i, piece in enumerate(pieces) if piece]
    return {"lang": lang, "kicker": tr.gettext("Policy brief"), "as_of": tr.gettext("As of {date}"), "page": page}


def notebook_to_html(nb: nbformat.NotebookNode | str | os.PathLike, *,
                     resources: dict | None = None) -> str:
    """Render a notebook (node or path) to self-contained, script-free HTML in the brief's language."""
    return postprocess_html(exported_html(nb, resources=resources))


def exported_html(nb: nbformat.NotebookNode | str | os.PathLike, *, resources: dict | None = None) -> str:
    """nbconvert's HTML of a notebook on the openbrief template, before :func:`postprocess_html`:
    what :func:`html_to_pdf_bytes` takes (it post-processes every HTML itself, once)."""
    node, res = _as_notebook(nb)
    if resources:
        merged = dict(res)
        merged.update(resources)
        merged["metadata"] = {**res.get("metadata", {}), **(resources.get("metadata") or {})}
        res = merged
    res = {**res, "openbrief_text": template_text(node)}
    html, _ = html_exporter().from_notebook_node(node, resources=res)
    return html


_SCRIPT_RE = re.compile(r"<script\b[^>]*>.*?</script\s*>|<script\b[^>]*/>", re.I | re.S)
_REMOTE_LINK_RE = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)
_NUM_RE = re.compile(
    r"^[\s(]*[-+−]?[$€£¥]?\s?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s?"
    r"(%|[KMBT]|k|pp|x|×|万|億|ポイント)?[)\s]*$"  # ja counts: 12.3万, 1.15億
)


_SHORT_CELL = 16  # characters; shorter cells are kept on one line


_LONG_WORD = 24


def postprocess_html(html: str) -> str:
    """Strip scripts and remote links; right-align numeric table cells.

    Applied to every brief, whatever produced the HTML, so nothing in a
    notebook output (plotly, widgets, MathJax loaders) can reach the network
    or differ offline.
    """
    html = _SCRIPT_RE.sub("", html)
    html = _REMOTE_LINK_RE.sub("", html)
    html = re.sub(r"<script\b[^>]*>", "", html, flags=re.I)  # unterminated leftovers
    return _mark_numeric_cells(html)


def _mark_numeric_cells(html: str) -> str:
    if "<td" not in html:
        return html
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, features="html.parser")
    changed = False
    for table in soup.find_all("table"):
        rows = table.find_all("tr")
        for row in rows:
            for cell in row.find_all(["td", "th"], recursive=False):
                text = cell.get_text(" ", strip=True)
                if cell.name == "td" and text and _NUM_RE.match(text):
                    changed |= _add_class(cell, "ob-num")
                elif len(text) <= _SHORT_CELL and cell.parent.parent.name != "thead":
                    changed |= _add_class(cell, "ob-short")
                elif any(len(word) > _LONG_WORD for word in text.split()):
                    # only cells with long unbroken tokens (model ids) may break anywhere: that
                    # rule makes WeasyPrint measure every character, slow on prose cells
                    changed |= _add_class(cell, "ob-long")
        # header cells above numeric columns align with them
        body_rows = [r for r in rows if r.find("td", recursive=False)]
        if not body_rows:
            continue
        width = max(len(r.find_all(["td", "th"], recursive=False)) for r in body_rows)
        numeric_cols = set()
        for i in range(width):
            cells = [r.find_all(["td", "th"], recursive=False) for r in body_rows]
            col = [c[i] for c in cells if len(c) > i]
            tds = [c for c in col if c.name == "td"]
            if tds and all("ob-num" in (c.get("class") or []) or not c.get_text(strip=True) for c in tds) \
                    and any("ob-num" in (c.get("class") or []) for c in tds):
                numeric_cols.add(i)
        thead = table.find("thead")
        if thead and numeric_cols:
            for hrow in thead.find_all("tr"):
                hcells = hrow.find_all(["th", "td"], recursive=False)
                if len(hcells) == width:
                    for i in numeric_cols:
                        changed |= _add_class(hcells[i], "ob-num")
    return str(soup) if changed else html


def _add_class(tag, name: str) -> bool:
    classes = list(tag.get("class") or [])
    if name in classes:
        return False
    tag["class"] = [*classes, name]
    return True


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------

def build_timestamp() -> _dt.datetime:
    """The date written into PDFs: ``SOURCE_DATE_EPOCH`` if set, else FIXED_EPOCH."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    try:
        epoch = int(raw) if raw else FIXED_EPOCH
    except ValueError:
        epoch = FIXED_EPOCH
    return _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)


@contextlib.contextmanager
def quiet_renderer(level: int = logging.ERROR) -> Iterator[None]:
    """Silence WeasyPrint's (many, harmless) CSS warnings and fontTools chatter."""
    saved = []
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        if logger.getEffectiveLevel() < level:
            logger.setLevel(level)
    try:
        yield
    finally:
        for logger, lvl in saved:
            logger.setLevel(lvl)


_log = logging.getLogger(__name__)
_checked_subsetter = False


def _check_font_subsetter() -> None:
    """Warn once when HarfBuzz-subset is missing.

    WeasyPrint then subsets fonts with fontTools, which takes 4–7 s per Noto
    CJK face (a brief embeds 4–6 faces: ~20 s instead of ~1.5 s). Debian
    package: libharfbuzz-subset0.
    """
    global _checked_subsetter
    if _checked_subsetter:
        return
    _checked_subsetter = True
    try:
        from weasyprint.text.ffi import harfbuzz_subset
    except ImportError:  # pragma: no cover - other WeasyPrint versions
        return
    if harfbuzz_subset is None:
        _log.warning("HarfBuzz-subset not found: PDF rendering falls back to fontTools and is "
                     "~10x slower with the CJK fonts (install Debian package libharfbuzz-subset0)")


def url_fetcher():
    """WeasyPrint's fetcher for a brief: ``data:`` URLs only.

    Any other URL (``file:``, ``http(s):``, ``ftp:``, relative) raises inside
    WeasyPrint, which logs it and renders nothing in its place; the build goes on.
    """
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


def html_to_pdf_bytes(html: str, *, base_url: str | os.PathLike | None = None) -> bytes:
    """Render HTML to PDF bytes, deterministically, offline and reading no file (see :func:`url_fetcher`)."""
    import weasyprint

    _check_font_subsetter()
    stamp = build_timestamp().strftime("%Y-%m-%dT%H:%M:%SZ")
    html = postprocess_html(html)
    with quiet_renderer():
        document = weasyprint.HTML(
            string=html,
            base_url=str(base_url) if base_url is not None else None,
            url_fetcher=url_fetcher(),
        ).render()
        document.metadata.created = stamp
        document.metadata.modified = stamp
        return document.write_pdf(pdf_identifier=True)


def html_to_pdf(html: str, pdf_path: str | os.PathLike, *,
                base_url: str | os.PathLike | None = None) -> None:
    """Render HTML to ``pdf_path`` (written atomically: temp file + os.replace)."""
    data = html_to_pdf_bytes(html, base_url=base_url)
    _atomic_write(Path(pdf_path), data)


def _atomic_write(path: Path, data: bytes) -> None:
    from openbrief.store.snapshot import current_umask

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600, made what open() would give
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def notebook_to_pdf(nb: nbformat.NotebookNode | str | os.PathLike,
                    pdf_path: str | os.PathLike) -> Path:
    """Notebook (node or path) → PDF brief at ``pdf_path``; returns the path.

    Relative links resolve against the notebook's folder when a path is given,
    else against the PDF's folder. The renderer fetches nothing from either
    (:func:`url_fetcher`); images in markdown cells reach the PDF only as the
    ``data:`` URLs nbconvert embeds (``embed_images``).
    """
    pdf_path = Path(pdf_path)
    if isinstance(nb, (str, os.PathLike)):
        base = Path(nb).resolve().parent
    else:
        base = pdf_path.resolve().parent
    html_to_pdf(exported_html(nb), pdf_path, base_url=base.as_uri() + "/")
    return pdf_path
