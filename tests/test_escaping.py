"""Nothing a user or a data source controls becomes live HTML, and the PDF renderer reads no file (issue 10, A).

Titles, organisation names from a registry override, model ids and Hub fields carry markup
(an attachment link to the real Hub token file, images and links to ``/etc/passwd``, ``<script>``,
Markdown emphasis, mathtext). Every brief is built once on a snapshot that holds them all, through
the replay Hub and the real CLI; the PDFs must show the text literally, embed nothing and hold no
token or ``/etc/passwd`` line, even in their compressed streams. Unit tests pin the escaping helpers,
the renderer's URL fetcher, the charts and the secret scan.
"""
from __future__ import annotations

import base64
import csv
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import matplotlib as mpl
import pandas as pd
import pytest
import weasyprint
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_notebook, new_output
from pypdf import PdfReader

from openbrief import brief, render
from openbrief.brief import charts
from openbrief.render import pdf
from openbrief.replay import synthetic
from openbrief.errors import RenderError
from openbrief.replay.recordings import write_jsonl
from openbrief.registry import SHIPPED
from openbrief.replay import ReplayHub
from clirun import ENV_TOKEN, FETCH_ARGS, FILE_TOKEN, TOKENS, clean_env, must, openbrief, token_leaks

pytestmark = pytest.mark.slow

PASSWD_LINE = "root:x:0:0"  # the first line of every /etc/passwd
MARKUP = ['<img src=file:///etc/passwd>', '<script>alert(1)</script>', '[x](file:///etc/passwd)',
          '![x](file:///etc/passwd)', '*em* __strong__ `code` | cell |', '$\\foo$ &amp;', '# not a heading',
          '<a rel="attachment" href="file:///etc/passwd">A</a>', '<link rel=attachment href=file:///etc/passwd>']
#: Organisation names given by a registry override (no comma: each can be a compare group). ``MATH_ORG``
#: (tiiuae, the smallest publisher, so outside the weekly's top-10 chart) is mathtext in a chart label.
ORG = "Ali <img src=file:///etc/passwd> [x](file:///etc/passwd) ![y](file:///etc/passwd) *e*"
MATH_ORG = "TII $\\foo$"
OVERRIDES = {"Qwen": ORG, "tiiuae": MATH_ORG}
#: A valid Hub id that is Markdown emphasis (a listing's ids with other markup are left out of a
#: snapshot: not Hub repo ids); the most-downloaded model, so key findings name it.
TOP_ID = "Qwen/__init__"
LICENCE = "<img src=file:///etc/passwd>"


def _squeezed(text: str) -> str:
    """Text without whitespace: lines of a PDF break at spaces and after '/'."""
    return "".join(text.split())


def pdf_text(path: Path) -> str:
    run = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return run.stdout.decode("utf-8")


def embedded(path: Path) -> list[str]:
    """What a PDF embeds or links to outside itself: attached files, file-attachment annotations, file: links."""
    reader = PdfReader(path)
    found = [f"embedded file {name}" for name in reader.attachments]
    for page in reader.pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            uri = str((annot.get("/A") or {}).get("/URI", ""))
            if annot.get("/Subtype") == "/FileAttachment":
                found.append("file attachment annotation")
            elif uri and not uri.startswith(("http:", "https:")):
                found.append(f"link to {uri}")
    return found


# ---------------------------------------------------------------- every brief, built on hostile data

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A snapshot whose top model's id, licence and Hub fields carry markup, a registry override naming
    the owners of Qwen and tiiuae (``OVERRIDES``), and the Hub token in the environment and in ``$HF_HOME/token``."""
    root = tmp_path_factory.mktemp("hostile")
    hf_home = root / "hf_home"
    hf_home.mkdir()
    (hf_home / "token").write_text(FILE_TOKEN)
    env = clean_env(hf_home, HF_TOKEN=ENV_TOKEN)
    records = synthetic.generate(datetime(2026, 11, 20, tzinfo=timezone.utc), seed=3)
    records.append({"id": TOP_ID, "author": "Qwen", "createdAt": "2026-11-18T00:00:00.000Z",
                    "downloads": 90_000_000, "downloadsAllTime": 90_000_000, "likes": 5,
                    "pipeline_tag": "<script>alert(1)</script>", "library_name": "[x](file:///etc/passwd)",
                    "tags": [f"license:{LICENCE}"],
                    "safetensors": {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000}})
    registry = root / "override.csv"
    with open(SHIPPED, newline="", encoding="utf-8") as fh:
        shipped = list(csv.DictReader(line for line in fh if line.strip() and not line.startswith("#")))
    with open(registry, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(shipped[0]))
        writer.writeheader()
        writer.writerows({**row, "organisation": OVERRIDES[row["namespace"]]}
                         for row in shipped if row["namespace"] in OVERRIDES)
    w = SimpleNamespace(root=root, env=env, hf_home=hf_home, registry=registry, store=root / "store",
                        briefs=root / "briefs", logs=root / "logs")
    with ReplayHub(write_jsonl(records, root / "records.jsonl"), page_size=25) as hub:
        must(openbrief("fetch", "--endpoint", hub.url, "--store", w.store, "--quiet", *FETCH_ARGS, env=env,
                       log=w.logs / "fetch"))
    yield w


#: Each brief with hostile parameters (titles are at most 120 characters), and what its PDF must show.
BRIEFS = {
    "weekly": (lambda w: ["-p", "category", "all",  # the hostile pipeline tag makes the top model 'other'
                          "-p", "title", f'<a rel="attachment" href="{(w.hf_home / "token").as_uri()}">T</a> *w*'],
               lambda w: ['<a rel="attachment" href="file:', f"{TOP_ID} ({ORG}, China)", "*w*"]),
    "spotlight": (lambda w: ["-p", "model", TOP_ID, "-p", "title", "<script>alert(1)</script> [x](file:///etc/passwd) "
                             "![y](file:///etc/passwd)"],
                  lambda w: ["<script>alert(1)</script> [x](file:///etc/passwd) ![y](file:///etc/passwd): "
                             f"{TOP_ID}", ORG, LICENCE]),
    "compare": (lambda w: ["-p", "by", "org", "-p", "groups", f"{ORG},{MATH_ORG}", "-p", "title",
                           "<img src=file:///etc/passwd> $\\foo$ `c` &amp;"],
                lambda w: ["<img src=file:///etc/passwd> $\\foo$ `c` &amp;", f"{ORG}, {MATH_ORG}"]),
}


@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_every_brief_shows_hostile_text_literally_and_embeds_nothing(hostile, name):
    args, shown = BRIEFS[name]
    run = openbrief("build", name, "--store", hostile.store, "--briefs", hostile.briefs, "--quiet",
                    "-p", "registry", hostile.registry, *args(hostile), env=hostile.env, log=hostile.logs / name)
    assert run.returncode == 0, run.stderr  # text is data: a build on it succeeds
    path = Path(run.stdout.strip().splitlines()[-1])
    text = _squeezed(pdf_text(path))
    for literal in shown(hostile):
        assert _squeezed(literal) in text, literal
    assert embedded(path) == []
    assert not render.holds_secret(path, [*TOKENS, PASSWD_LINE])  # decompressed streams included
    assert token_leaks(path.parent) == []


# ---------------------------------------------------------------- escaping helpers

def _rendered(markdown: str = "", html: str = "", **meta) -> BeautifulSoup:
    """A notebook output (Markdown or HTML) through the brief's own nbconvert template."""
    data = {"text/markdown": markdown} if markdown else {"text/html": html}
    nb = new_notebook(cells=[new_code_cell("x", outputs=[new_output("display_data", data=data)])],
                      metadata={"openbrief": meta})
    return BeautifulSoup(pdf.notebook_to_html(nb), features="html.parser")


@pytest.mark.parametrize("text", MARKUP)
def test_md_escape_shows_markdown_and_html_literally(text):
    section = _rendered(markdown=f"{brief.md_escape(text)}\n\nnext").find("main")
    assert [t.name for t in section.find_all(True)] == ["section", "div", "p", "p"]  # no a, img, em, code, h1...
    assert section.find("p").get_text() == text


def test_md_escape_keeps_text_on_one_line():
    section = _rendered(markdown=brief.md_escape("a\n\n# b\n- c")).find("main")
    assert [t.name for t in section.find_all(True)] == ["section", "div", "p"]
    assert section.get_text(strip=True) == "a # b - c"


@pytest.mark.parametrize("text", MARKUP)
def test_html_escape_shows_text_and_attributes_literally(text):
    section = _rendered(html=f'<p title="{brief.html_escape(text)}">{brief.html_escape(text)}</p>').find("main")
    assert [t.name for t in section.find_all(True)] == ["section", "div", "p"]
    assert section.find("p").get_text() == text and section.find("p")["title"] == text


def test_running_header_strings_cannot_be_ended():
    title = 'A\f"B</style><link rel=attachment href=file:///etc/passwd>'
    html = str(_rendered(html="<p>x</p>", title=title, as_of="2026-11-20"))
    assert 'content: "A \\"B\\3c /style>\\3c link rel=attachment href=file:///etc/passwd>";' in html
    assert html.count("<link") == 0


def test_chart_labels_are_literal_text_never_mathtext_or_markup():
    labels = ["$\\foo$ costs $5", "<script>alert(1)</script>", "Qwen/__init__"]
    frame = pd.DataFrame({"label": labels, "value": [0.5, 0.3, 0.2]})
    with mpl.rc_context(charts.house_rc()):  # as in a notebook: text as SVG <text>, not glyph paths
        svg = charts.figure_to_svg(charts.ranked_bars(frame, "label", "value", title="Top $x$ <b>",
                                                      as_of="2026-11-20"))
    shown = "".join(ElementTree.fromstring(svg).itertext())
    for label in [*labels, "Top $x$ <b>"]:
        assert label in shown


# ---------------------------------------------------------------- the renderer's URL fetcher

def test_url_fetcher_serves_data_urls_which_is_all_the_template_needs():
    assert pdf.url_fetcher().fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for path in (Path(pdf.TEMPLATE_DIR) / pdf.TEMPLATE_NAME).iterdir():
        assert "url(" not in path.read_text(), path  # the stylesheet is inlined and fetches nothing


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.org/x.css",
                                 "ftp://127.0.0.1/x", "token", "../etc/passwd",
                                 (Path(pdf.TEMPLATE_DIR) / pdf.TEMPLATE_NAME / "style.css").as_uri()])
def test_url_fetcher_refuses_everything_else(url):
    with pytest.raises(ValueError):
        pdf.url_fetcher().fetch(url)


def test_rendering_reads_no_file_and_refused_urls_render_nothing(tmp_path):
    token = tmp_path / "token"
    token.write_text(FILE_TOKEN)
    svg = (b"<svg xmlns='http://www.w3.org/2000/svg' width='200' height='20'>"
           b"<text x='0' y='15'>DATA_URL_SHOWN</text></svg>")
    chart = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    html = (f'<html><head><link rel="attachment" href="{token.as_uri()}"><style>@import url(file:///etc/passwd);'
            f'body {{ background: url({token.as_uri()}) }}</style></head><body>'
            f'<p><a rel="attachment" href="{token.as_uri()}">T</a> <a rel="attachment" href="token">R</a></p>'
            f'<img src="file:///etc/passwd"><img src="token"><img src="http://127.0.0.1:9/x.png">'
            f'<img src="{chart}"></body></html>')
    out = tmp_path / "x.pdf"
    pdf.html_to_pdf(html, out, base_url=tmp_path.as_uri() + "/")
    assert embedded(out) == []
    assert not render.holds_secret(out, [FILE_TOKEN, PASSWD_LINE])
    assert "DATA_URL_SHOWN" in pdf_text(out)


# ---------------------------------------------------------------- the secret scan

def _leaky_pdfs(folder: Path) -> dict[str, Path]:
    """PDFs holding FILE_TOKEN only compressed: an attachment, an embedded file, a link in an object stream."""
    token = folder / "token"
    token.write_text(FILE_TOKEN)
    made = {
        "attachment": f'<a rel="attachment" href="{token.as_uri()}">T</a>',
        "embedded": f'<link rel="attachment" href="{token.as_uri()}"><p>x</p>',
        "stream": f'<a href="https://example.org/?t={FILE_TOKEN}">x</a>',
    }
    paths = {}
    for kind, html in made.items():
        paths[kind] = folder / kind / f"{kind}.pdf"
        paths[kind].parent.mkdir()
        paths[kind].write_bytes(weasyprint.HTML(string=html).write_pdf())  # WeasyPrint's own fetcher reads file:
    token.unlink()
    return paths


def test_assert_no_secrets_reads_compressed_streams_and_attachments(tmp_path, hf_home, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FILE_TOKEN)
    pdfs = _leaky_pdfs(tmp_path)
    assert embedded(pdfs["attachment"]) and embedded(pdfs["embedded"])  # the leaks are real
    for kind, path in pdfs.items():
        assert FILE_TOKEN.encode() not in path.read_bytes(), kind  # invisible to a scan of raw bytes
        with pytest.raises(RenderError, match=f"{kind}.pdf would contain a credential"):
            render.assert_no_secrets(path.parent)
    assert not render.holds_secret(pdfs["stream"], [ENV_TOKEN])
