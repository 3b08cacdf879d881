"""PDF briefs: what a reader sees (pdftotext), what must never show, page set-up,
fonts (CJK extracts), determinism, and the nbconvert exporter."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from pypdf import PdfReader

from openbrief.brief import charts
from openbrief.render.pdf import html_to_pdf, html_to_pdf_bytes, notebook_to_html, notebook_to_pdf

pytestmark = pytest.mark.slow

if shutil.which("pdftotext") is None:  # pragma: no cover
    pytest.skip("pdftotext (Debian poppler-utils) is needed", allow_module_level=True)

TITLE = "Open-weight AI adoption: US and China"
AS_OF = "2025-06-01"
NOTICE = "SYNTHETIC DATA — figures are not real"
JUPYTER = Path(sys.executable).with_name("jupyter")

# Things that must never reach the page.
NEVER = {
    "code source": "CODE_SOURCE_MARKER",
    "stderr": "WARNING secret-ish",
    "figure repr": "<Figure size",
    "axes repr": "<Axes",
    "traceback": "Traceback",
    "error name": "ZeroDivisionError",
    "error cell's other output": "ERROR_CELL_OUTPUT",
    "parameters cell output": "PARAMETERS_OUTPUT",
    "injected parameters output": "INJECTED_OUTPUT",
    "removed cell": "REMOVED_CELL_MARKER",
    "removed output": "REMOVED_OUTPUT_MARKER",
    "stdout without show-text": "STDOUT_HIDDEN_MARKER",
    "prompt": "In [",
    "script text": "alert(",
}


def _table_html() -> str:
    rows = []
    for i in range(15):
        rows.append({
            "Model": f"very-long-organisation-name-{i:02d}/a-model-with-an-extremely-long-identifier-{i:02d}-GGUF",
            "Bloc": ["US", "CN", "EU"][i % 3],
            "Downloads": f"{(15 - i) * 1_000_000 + 234_567:,}",
        })
    return pd.DataFrame(rows).to_html(index=False)


def _svg_chart() -> str:
    charts.apply_style(ipython=False)
    df = pd.DataFrame({"bloc": ["US", "CN", "EU", "unattributed"],
                       "downloads": [410e6, 380e6, 90e6, 60e6]})
    fig = charts.share_bar(df, "bloc", "downloads", title="Share of downloads by bloc", as_of=AS_OF)
    return charts.figure_to_svg(fig)


def _cjk_chart() -> str:
    df = pd.DataFrame({"task": ["深度求索 DeepSeek", "月之暗面 Moonshot"], "bloc": ["CN", "CN"],
                       "share": [0.3, 0.2]})
    return charts.figure_to_svg(charts.grouped_bars(df, "task", "bloc", "share",
                                                    title="Chinese labs chart", as_of=AS_OF))


def make_notebook() -> nbformat.NotebookNode:
    svg = _svg_chart()
    long_para = " ".join(["Filler sentence that pushes the brief onto a second page."] * 60)
    cells = [
        new_code_cell("as_of = '2025-01-01'  # CODE_SOURCE_MARKER", metadata={"tags": ["parameters"]},
                      outputs=[new_output("stream", name="stdout", text="PARAMETERS_OUTPUT\n")]),
        new_code_cell("as_of = '2025-06-01'", metadata={"tags": ["injected-parameters"]},
                      outputs=[new_output("display_data", data={"text/html": "<p>INJECTED_OUTPUT</p>"})]),
        new_markdown_cell("# China closes the gap\n\nLead paragraph about 深度求索 DeepSeek and Qwen."),
        new_markdown_cell("## Key findings\n\n- US share **38%** of downloads.\n- China share **35%**."),
        new_code_cell("display(Markdown(f'## Heading from code {as_of}'))  # CODE_SOURCE_MARKER",
                      outputs=[new_output("display_data", data={
                          "text/markdown": f"## Heading from code {AS_OF}",
                          "text/plain": "<IPython.core.display.Markdown object>"})]),
        new_code_cell("fig  # CODE_SOURCE_MARKER", execution_count=3, outputs=[
            new_output("stream", name="stderr", text="WARNING secret-ish token=abc\n"),
            new_output("stream", name="stdout", text="STDOUT_HIDDEN_MARKER\n"),
            new_output("display_data", data={"image/svg+xml": svg,
                                              "text/plain": "<Figure size 640x480 with 1 Axes>"}),
            new_output("execute_result", execution_count=3,
                       data={"text/plain": "<Axes: title={'center': 'x'}>"}),
        ]),
        new_code_cell("plt.show()  # CODE_SOURCE_MARKER",
                      outputs=[new_output("display_data", data={"text/plain": "<Figure size 640x480 with 1 Axes>"})]),
        new_code_cell("1/0  # CODE_SOURCE_MARKER", outputs=[
            new_output("stream", name="stdout", text="ERROR_CELL_OUTPUT\n"),
            new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                       traceback=["Traceback (most recent call last):", "ZeroDivisionError: division by zero"]),
        ]),
        new_markdown_cell("## Top models table"),
        new_code_cell("table  # CODE_SOURCE_MARKER", execution_count=4, outputs=[
            new_output("execute_result", execution_count=4,
                       data={"text/html": _table_html(), "text/plain": "DataFrame repr"})]),
        new_code_cell("cjk chart", outputs=[new_output("display_data", data={"image/svg+xml": _cjk_chart()})]),
        new_code_cell("html with script", outputs=[new_output("display_data", data={"text/html": (
            '<script src="https://cdn.jsdelivr.net/npm/requirejs/require.js"></script>'
            '<link rel="stylesheet" href="https://cdn.example.org/x.css">'
            "<script>alert('x')</script><p>HTML_OUTPUT_KEPT</p>")})]),
        new_code_cell("print(x)", metadata={"tags": ["show-text"]},
                      outputs=[new_output("stream", name="stdout", text="SHOWN_TEXT_MARKER 42\n")]),
        new_markdown_cell("REMOVED_CELL_MARKER", metadata={"tags": ["remove-cell"]}),
        new_code_cell("x", metadata={"tags": ["remove-output"]},
                      outputs=[new_output("display_data", data={"text/html": "<p>REMOVED_OUTPUT_MARKER</p>"})]),
        new_markdown_cell(f"## Discussion\n\n{long_para}\n\nEND_OF_DISCUSSION_MARKER"),
        new_markdown_cell("## Methodology\n\nMethod text with 日本語 and 한국어 names.",
                          metadata={"tags": ["page-break"]}),
        new_raw_cell("RAW_LATEX_NOT_SHOWN", metadata={"raw_mimetype": "text/latex"}),
    ]
    nb = new_notebook(cells=cells, metadata={
        "openbrief": {"title": TITLE, "as_of": AS_OF, "notice": NOTICE},
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def pdf_pages_text(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         check=True).stdout.decode("utf-8")
    pages = out.split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return pages


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("brief")
    nb = make_notebook()
    nb_path = folder / "brief.ipynb"
    nbformat.write(nb, nb_path)
    pdf = notebook_to_pdf(nb_path, folder / "out" / "brief.pdf")
    return {"folder": folder, "nb": nb, "nb_path": nb_path, "pdf": pdf,
            "pages": pdf_pages_text(pdf), "html": notebook_to_html(nb)}


def test_pdf_written_where_asked(rendered):
    pdf = rendered["pdf"]
    assert pdf == rendered["folder"] / "out" / "brief.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in pdf.parent.iterdir()] == ["brief.pdf"]   # no temp files left


def test_expected_content_present(rendered):
    text = "\n".join(rendered["pages"])
    assert "KEY FINDINGS" in text            # callout heading, set in capitals
    for expected in ("China closes the gap", "38%", "35%",
                     f"Heading from code {AS_OF}", "Top models table", "Methodology",
                     "HTML_OUTPUT_KEPT", "SHOWN_TEXT_MARKER 42",
                     "15,234,567", "1,234,567"):                       # table numbers
        assert expected in text, expected
    # chart text is real text (svg.fonttype 'none'): title with date, labels, source
    assert f"Share of downloads by bloc, as of {AS_OF}" in text
    assert f"Source: Hugging Face Hub via openbrief, snapshot {AS_OF}" in text


def test_long_ids_wrap_inside_the_page(rendered):
    reader = PdfReader(rendered["pdf"])
    text = "\n".join(rendered["pages"])
    # the id is split over lines (wrapped), never cut off: its tail is on the page
    assert "identifier-14-GGUF" in text.replace("\n", "")
    width = float(reader.pages[0].mediabox.width)
    assert width == pytest.approx(595.28, abs=1)


@pytest.mark.parametrize("what", sorted(NEVER))
def test_never_shown(rendered, what):
    text = "\n".join(rendered["pages"])
    assert NEVER[what] not in text, what
    assert "RAW_LATEX_NOT_SHOWN" not in text


def test_html_has_no_scripts_or_cdn_links(rendered):
    html = rendered["html"]
    assert "<script" not in html.lower()
    assert "require.js" not in html and "mathjax" not in html.lower()
    assert "cdn.jsdelivr" not in html and "cdn.example.org" not in html
    assert "CODE_SOURCE_MARKER" not in html
    assert "WARNING secret-ish" not in html


def test_pages_are_a4(rendered):
    reader = PdfReader(rendered["pdf"])
    assert len(reader.pages) >= 3
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(595, abs=1)
        assert float(page.mediabox.height) == pytest.approx(842, abs=1)


def test_running_header_footer_and_notice_on_every_page(rendered):
    pages = rendered["pages"]
    n = len(pages)
    assert "POLICY BRIEF" in pages[0] and f"As of {AS_OF}" in pages[0]   # masthead on the cover
    for i, page in enumerate(pages, 1):
        assert f"Page {i} of {n}" in page, i
        assert NOTICE in page, i
        if i > 1:
            assert TITLE in page and f"As of {AS_OF}" in page, i
    assert "Page 1 of" in pages[0]


def test_page_break_tag_starts_a_new_page(rendered):
    pages = rendered["pages"]
    (before,) = [i for i, p in enumerate(pages) if "END_OF_DISCUSSION_MARKER" in p]
    (method,) = [i for i, p in enumerate(pages) if "Methodology" in p]
    assert method == before + 1


def test_cjk_text_extracts(rendered):
    text = "\n".join(rendered["pages"])
    for s in ("深度求索 DeepSeek", "日本語", "한국어"):
        assert s in text, s
    assert "月之暗面 Moonshot" in text          # CJK inside a chart


def test_fonts_are_embedded_subsets(rendered):
    reader = PdfReader(rendered["pdf"])
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font") or {}
        for ref in fonts.values():
            names.add(str(ref.get_object()["/BaseFont"]))
    assert any("NotoSerifCJK" in n or "Noto-Serif-CJK" in n for n in names), names
    assert any("NotoSansCJK" in n or "Noto-Sans-CJK" in n for n in names), names


def test_pdf_metadata(rendered):
    reader = PdfReader(rendered["pdf"])
    meta = reader.metadata
    assert meta.title == TITLE
    assert meta["/CreationDate"].startswith("D:2000") or "SOURCE_DATE_EPOCH" in os.environ


def test_two_renders_are_byte_identical(rendered, tmp_path):
    again = notebook_to_pdf(rendered["nb_path"], tmp_path / "again.pdf")
    assert again.read_bytes() == rendered["pdf"].read_bytes()
    html = rendered["html"]
    assert html_to_pdf_bytes(html) == html_to_pdf_bytes(html)


def _dates(data: bytes) -> tuple[str, str]:
    import io

    meta = PdfReader(io.BytesIO(data)).metadata
    return meta["/CreationDate"], meta["/ModDate"]


def test_source_date_epoch_sets_pdf_dates(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")   # 2023-11-14T22:13:20Z
    data = html_to_pdf_bytes("<h1>Dated</h1>")
    created, modified = _dates(data)
    assert created.startswith("D:20231114221320") and modified.startswith("D:20231114221320")
    assert data == html_to_pdf_bytes("<h1>Dated</h1>")
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert _dates(html_to_pdf_bytes("<h1>Dated</h1>"))[0].startswith("D:20000101000000")


def test_html_to_pdf_overwrites_atomically(tmp_path):
    target = tmp_path / "x.pdf"
    target.write_bytes(b"old")
    html_to_pdf("<p>new</p>", target)
    assert target.read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pdf"]


def test_title_falls_back_to_notebook_name(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# Heading\n\nBody text.")])
    nb_path = tmp_path / "weekly-brief.ipynb"
    nbformat.write(nb, nb_path)
    html = notebook_to_html(nb_path)
    assert "<title>weekly-brief</title>" in html
    assert "As of" not in html                     # no date known: none shown


def test_nbconvert_cli_exporter(rendered, tmp_path):
    nb_path = tmp_path / "brief.ipynb"
    shutil.copy(rendered["nb_path"], nb_path)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    proc = subprocess.run([str(JUPYTER), "nbconvert", "--to", "openbrief-pdf", str(nb_path)],
                          capture_output=True, text=True, env={**env, "PYTHONHASHSEED": "7"},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "brief.pdf"
    assert out.exists()
    pages = pdf_pages_text(out)
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert "CODE_SOURCE_MARKER" not in "".join(pages)
    # another process, another hash seed: the same bytes as the in-process render
    if "SOURCE_DATE_EPOCH" not in os.environ:
        assert out.read_bytes() == rendered["pdf"].read_bytes()


def test_kernel_executed_notebook_gives_svg_charts_and_no_reprs(tmp_path):
    """The real chain: apply_style() in a kernel → SVG outputs → template → PDF."""
    from nbclient import NotebookClient

    setup = ("import sys, pandas as pd\n"
             "from openbrief.brief import charts\n"
             "charts.apply_style()\n"
             "df = pd.DataFrame({'bloc': ['US', 'CN', 'EU'], 'downloads': [5e6, 4e6, 1e6]})")
    cells = [
        new_code_cell(setup),
        new_code_cell("charts.share_bar(df, 'bloc', 'downloads', title='Kernel chart', as_of='2025-06-01')"),
        new_code_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nax"),
        new_code_cell("print('STDERR_FROM_KERNEL', file=sys.stderr)"),
    ]
    nb = new_notebook(cells=cells, metadata={
        "openbrief": {"title": "Kernel brief", "as_of": AS_OF},
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()

    result = nb.cells[1].outputs[0]
    assert "image/svg+xml" in result.data and result.data["text/plain"].startswith("<Figure size")
    svg = result.data["image/svg+xml"]
    assert "<dc:date>" not in svg and "Kernel chart, as of 2025-06-01" in svg
    assert any("image/svg+xml" in o.get("data", {}) for o in nb.cells[2].outputs)   # pyplot figure

    pdf = notebook_to_pdf(nb, tmp_path / "kernel.pdf")
    text = "\n".join(pdf_pages_text(pdf))
    assert "Kernel chart, as of 2025-06-01" in text
    for never in ("<Figure", "<Axes", "STDERR_FROM_KERNEL", "charts.share_bar", "apply_style"):
        assert never not in text, never
