"""Japanese briefs: the catalogues, the translated notebooks and template, and real ja builds.

One store with two synthetic snapshots a week apart (so the week-over-week sections appear) is
fetched through the replay Hub with the real client; the weekly, spotlight and compare briefs are
then built once each in Japanese (``-p lang ja``), as a user builds them, and their PDFs read back.
"""
from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from clirun import clean_env, must, one_clear_error, openbrief, run_main
from openbrief import i18n
from openbrief.hub import fetch
from openbrief.hub.client import Hub
from openbrief.render import NOTEBOOKS_DIR, params
from openbrief.render.pdf import notebook_to_html, template_text
from openbrief.render.translate import localized
from openbrief.replay import ReplayHub, synthetic
from openbrief.replay.recordings import write_day_folder

AS_OF = datetime(2026, 11, 20, 6, tzinfo=timezone.utc)
BRIEFS = ("weekly", "spotlight", "compare")
NOTEBOOKS = [NOTEBOOKS_DIR / f"{name}.ipynb" for name in BRIEFS]
#: Characters a Japanese line never starts with (JIS X 4051 gyōtō kinsoku, the common ones).
NO_LINE_START = "。、，．）」』】〕｝・：；？！ー々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
_PLACEHOLDER = re.compile(r"\{\w*\}|%\(\w+\)s|%s|\*\*")


def _ja(text: str) -> bool:
    return bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text))


# ---------------------------------------------------------------- catalogues, no build

def test_every_message_has_a_japanese_translation():
    """The code's messages and the brief notebooks' (markdown cells and tr.gettext in code cells)."""
    missing = i18n.missing("ja", i18n.notebook_messages(NOTEBOOKS))
    assert missing == {}, "missing from locale/ja/*.po:\n" + "\n".join(
        f"{where[0]}: {msgid!r}" for msgid, where in missing.items())


def test_translations_keep_their_placeholders():
    """A translation may drop a placeholder but never invent one (``.format`` would fail at build time)."""
    tr = i18n.translator("ja")
    bad = {}
    for msgid, text in tr._messages.items():
        for string in ([text] if isinstance(text, str) else text):
            extra = set(re.findall(r"\{(\w*)\}", string or "")) - set(re.findall(r"\{(\w*)\}", msgid))
            if extra:
                bad[msgid] = extra
    assert bad == {}


def test_notebook_messages_come_from_markdown_and_code_cells(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## A heading\nSome narrative."),
        nbformat.v4.new_code_cell('x = tr.gettext("Shown {n} times").format(n=2)\ny = "not a message"'),
        nbformat.v4.new_markdown_cell("  "),
    ])
    nbformat.write(nb, tmp_path / "t.ipynb")
    found = i18n.notebook_messages([tmp_path / "t.ipynb"])
    assert found == {"## A heading\nSome narrative.": ["t.ipynb:cell 0"], "Shown {n} times": ["t.ipynb:cell 1"]}


def test_markdown_cells_are_translated_before_execution(tmp_path):
    """``lang=ja``: each markdown cell is replaced by its catalogue translation; code cells stay."""
    source = NOTEBOOKS_DIR / "weekly.ipynb"
    assert localized(source, "en") == source  # English notebooks run as they are
    english = nbformat.read(source, as_version=4)
    japanese = localized(source, "ja")
    tr = i18n.translator("ja")
    for before, after in zip(english.cells, japanese.cells):
        if before.cell_type == "markdown":
            assert after.source == tr.gettext(before.source) and after.source != before.source and _ja(after.source)
        else:
            assert after.source == before.source
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("No translation here.")]),
                   tmp_path / "odd.ipynb")
    assert localized(tmp_path / "odd.ipynb", "ja").cells[0].source == "No translation here."  # falls back


def test_lang_parameter_is_declared_and_checked():
    for name in BRIEFS:
        assert params.defaults(name)["lang"] == "en"
        assert params.validate(name, {"lang": "ja"})["lang"] == "ja"
    with pytest.raises(Exception, match=r"parameter lang: 'xx' is not one of en, ja"):
        params.validate("weekly", {"lang": "xx"})


def test_unknown_language_is_bad_input(capsys, inproc, tmp_path):
    code, _out, err = run_main(["build", "weekly", "-p", "lang", "xx", "--store", tmp_path / "store",
                                "--briefs", tmp_path / "briefs"], capsys)
    assert code == 2
    line = one_clear_error(err)
    assert "lang" in line and "'xx'" in line and all(lang in line for lang in i18n.languages())
    assert not (tmp_path / "briefs").exists()


def _tiny(lang: str | None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 題名\n本文。")])
    nb.metadata["openbrief"] = {"title": "題名", "as_of": "2026年11月20日"}
    if lang:
        nb.metadata["papermill"] = {"parameters": {"lang": lang}}
    return nb


def test_template_words_come_from_the_catalogue():
    tr = i18n.translator("ja")
    text = template_text(_tiny("ja"))
    assert text["lang"] == "ja" and text["kicker"] == tr.gettext("Policy brief") != "Policy brief"
    html = notebook_to_html(_tiny("ja"))
    assert '<html lang="ja">' in html
    assert tr.gettext("As of {date}").format(date="2026年11月20日") in html
    assert "counter(page)" in html and "counter(pages)" in html and '"Page "' not in html
    english = notebook_to_html(_tiny(None))
    assert '<html lang="en">' in english and '"Page " counter(page) " of " counter(pages)' in english
    assert "As of 2026年11月20日" in english and "Policy brief" in english


def test_japanese_counts_align_as_numbers():
    """Table cells such as 1,745万 or +2.1ポイント are numbers (right-aligned), dates are not."""
    from openbrief.render.pdf import postprocess_html

    cells = ["1,745万", "+582万", "1.15億", "+2.1ポイント"]
    body = "".join(f"<tr><td>{c}</td><td>2025年8月12日</td></tr>" for c in cells)
    html = postprocess_html(f"<table><thead><tr><th>数</th><th>日</th></tr></thead><tbody>{body}</tbody></table>")
    assert html.count("ob-num") == len(cells) + 1  # every count and its column's header


# ---------------------------------------------------------------- real builds

@pytest.fixture(scope="module")
def ja_briefs(tmp_path_factory):
    """A two-snapshot store fetched through the replay Hub, and the three briefs built in Japanese."""
    root = tmp_path_factory.mktemp("ja")
    env = clean_env(root / "hf_home")
    days = {}
    for weeks in (0, 1):
        records = synthetic.generate(AS_OF, seed=11, day_offset=7 * weeks)
        for i, r in enumerate(records):  # week two differs: some models rise
            if weeks and i % 4 == 0:
                r["downloads"] = int(r["downloads"] * 1.5)
        days[(AS_OF - timedelta(days=7 * (1 - weeks))).strftime("%Y-%m-%d")] = records
    write_day_folder(days, root / "days")
    with pytest.MonkeyPatch.context() as mp, ReplayHub(root / "days") as hub:
        mp.setenv("HF_HOME", env["HF_HOME"])
        for day in sorted(days):
            plan = fetch.Plan([o for o, _, _ in synthetic.ORGS], top_n=20, derivative_bases=8)
            fetch.run(Hub(f"{hub.url}/@{day}"), plan, root / "store",
                      fetched_at=datetime.fromisoformat(f"{day}T06:00:00+00:00"), extra_meta={"synthetic": True})
    store = root / "store"
    latest = pd.read_parquet(sorted(store.glob("2*/models.parquet"))[-1])
    base = latest.dropna(subset=["children_total"]).sort_values("children_total", ascending=False).iloc[0]["id"]
    extra = {"weekly": (), "spotlight": ("-p", "model", base), "compare": ("-p", "groups", "CN,US")}
    pdfs = {}
    for name in BRIEFS:
        built = must(openbrief("build", name, "--store", store, "--briefs", root / "briefs", "--quiet",
                               "-p", "lang", "ja", *extra[name], env=env))
        pdfs[name] = Path(built.stdout.strip().splitlines()[-1])
    return pdfs


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_section_titles_and_findings_are_japanese(ja_briefs):
    tr = i18n.translator("ja")
    headings = {name: [tr.gettext(c.source).splitlines()[0].lstrip("# ") for c in nbformat.read(
        NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4).cells if c.cell_type == "markdown"] for name in BRIEFS}
    for name, pdf in ja_briefs.items():
        text = " ".join(_text(pdf).split())
        for heading in headings[name]:
            assert _ja(heading) and heading in text, (name, heading)
    weekly = _text(ja_briefs["weekly"])
    box = weekly.split(headings["weekly"][0], 1)[1].split(headings["weekly"][1], 1)[0]
    findings = [line for line in box.splitlines() if line.startswith("•")]
    assert len(findings) >= 3 and all(_ja(f) for f in findings), box


def test_cjk_fonts_are_embedded(ja_briefs):
    for pdf in ja_briefs.values():
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "Noto-Sans-CJK-JP" in fonts and "Noto-Serif-CJK-JP" in fonts, fonts
        assert "CJK-SC" not in fonts  # the Japanese forms of the glyphs, not the Chinese ones


def test_no_english_prose_is_left(ja_briefs):
    """No English message of the catalogues (a literal run longer than 20 characters) in any PDF."""
    from pypdf import PdfReader

    messages = {**i18n.source_messages(), **i18n.notebook_messages(NOTEBOOKS)}
    fragments = {piece.strip() for msgid in messages for piece in _PLACEHOLDER.split(msgid)
                 if len(piece.strip()) > 20}
    for name, pdf in ja_briefs.items():
        text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(pdf).pages).split())
        left = sorted(f for f in fragments if " ".join(f.split()) in text)
        assert left == [], f"{name}: English left: {left}"
        assert "unattributed" not in text, name  # a group label (未帰属), in tables and charts too


def test_dates_pages_and_manifest(ja_briefs):
    day = f"{AS_OF.year}年{AS_OF.month}月{AS_OF.day}日"
    for name, pdf in ja_briefs.items():
        pages = _text(pdf).split("\f")[:-1]
        assert all(day in page for page in pages), name  # masthead on page 1, running header after
        assert all(f"{n} / {len(pages)}" in page for n, page in enumerate(pages, 1)), name
        assert "Page " not in _text(pdf)
        manifest = json.loads((pdf.parent / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["parameters"]["lang"] == "ja"


def test_japanese_line_breaking(ja_briefs):
    """No line starts with a closing bracket, a comma or full stop, or a small kana."""
    for name, pdf in ja_briefs.items():
        bad = [line for line in _text(pdf).splitlines() if line[:1] and line[0] in NO_LINE_START]
        assert bad == [], f"{name}: {bad[:5]}"


def test_markdown_renders_in_japanese_sentences(ja_briefs):
    """No emphasis mark or escape shows literally (CommonMark does not close ``**`` between ）and a
    kana, so a translation puts its bold where it closes)."""
    for name, pdf in ja_briefs.items():
        text = _text(pdf)
        assert "**" not in text and "\\" not in text, name
