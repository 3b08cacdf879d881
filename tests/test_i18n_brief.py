"""brief/ in Japanese: catalogue coverage of brief/ and metrics/, charts without missing glyphs, the
glossary, findings and tables from the catalogues (English output is covered by test_brief*.py)."""
from __future__ import annotations

import warnings

import matplotlib as mpl
import pandas as pd
import pytest
from matplotlib.figure import Figure

from openbrief import brief, i18n, metrics
from openbrief.brief import charts, findings, labels
from openbrief.brief import foundations as whole_hub
from openbrief.metrics import MetricResult

JAPANESE = "日本語のラベル：中国、米国、欧州"
CJK_MODEL = "zai-org/智谱-GLM-4.5-中文版"


def test_every_message_of_brief_and_metrics_has_a_japanese_translation():
    marked = i18n.source_messages()
    ours = {m: where for m, where in marked.items()
            if any(w.startswith(("brief/", "metrics/")) for w in where)}
    assert len(ours) > 200  # the extractor finds brief/'s and metrics/' messages at all
    missing = i18n.missing("ja")
    assert {m: w for m, w in missing.items() if m in ours} == {}


def test_the_catalogue_is_read_and_falls_back_to_english():
    tr = i18n.translator("ja")
    assert tr.gettext(labels.SCOPES["llm"]) == "生成モデル（llm）"
    assert tr.gettext("a message no catalogue has") == "a message no catalogue has"
    assert tr.ngettext("{n} model", "{n} models", 2).format(n=2) == "2モデル"


def _glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_the_glyph_check_can_fail():
    def latin_only():
        with mpl.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
            fig = Figure()
            fig.text(0.1, 0.5, JAPANESE)
            fig.draw_without_rendering()
    assert _glyph_warnings(latin_only)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_charts_render_japanese_and_cjk_names_without_missing_glyphs(lang):
    frame = pd.DataFrame({"group": ["CN", "US", "EU", "unattributed"], "share": [0.4, 0.3, 0.2, 0.1]})
    ranked = pd.DataFrame({"id": [CJK_MODEL, "Qwen/通义千问-7B"], "downloads": [900, 800], "bloc": ["CN", "CN"]})
    months = pd.DataFrame({"t": pd.to_datetime(["2026-07-01", "2026-08-01"] * 2, utc=True),
                           "group": ["CN", "CN", "US", "US"], "share": [0.6, 0.5, 0.4, 0.5]})
    title = JAPANESE if lang == "ja" else "Downloads"

    def draw():
        figs = [charts.share_bar(frame, "group", "share", title=title, as_of="2026年11月27日", lang=lang),
                charts.ranked_bars(ranked, "id", "downloads", color_col="bloc", title=title, as_of="2026-11-27",
                                   value_label=JAPANESE, lang=lang),
                charts.stacked_share(months, "t", "group", "share", title=title, as_of="2026-11-27", lang=lang),
                charts.empty_figure(title=title, as_of="2026-11-27", lang=lang)]
        for fig in figs:
            charts.figure_to_svg(fig)
        draw.figs = figs

    assert _glyph_warnings(draw) == []  # even without apply_style(): the fonts are named on each text
    with mpl.rc_context():
        charts.apply_style(ipython=False, lang=lang)
        assert _glyph_warnings(draw) == []
        svg = charts.figure_to_svg(draw.figs[0])
    if lang == "ja":
        assert "中国" in svg and "未帰属" in svg and "出典" in svg and "Noto Sans CJK JP" in svg
        assert "データなし" in charts.figure_to_svg(draw.figs[3])
        assert "7月" in charts.figure_to_svg(draw.figs[2])
    else:
        assert ">CN<" in svg or "CN" in svg
        assert "Source: Hugging Face Hub" in svg and "中国" not in svg


def test_glossary_in_both_languages():
    ja, en = brief.glossary("ja"), brief.glossary("en")
    for term in ("オープンウェイト", "派生モデル", "ファインチューニング", "量子化", "基盤モデル", "HHI"):
        assert f">{term}<" in ja
    assert en.count("<tr>") == ja.count("<tr>") == len(brief.methodology.GLOSSARY) + 1
    assert ">open weights<" in en and "オープンウェイト" not in en


def _result(name, rows, coverage=None, params=None):
    return MetricResult(name, pd.DataFrame(rows), coverage or {}, f"definition of {name}", params or {})


def test_findings_in_japanese_use_japanese_names_and_formats():
    now = _result("download-share", {"group": ["CN", "US"], "share": [0.55, 0.45]})
    before = _result("download-share", {"group": ["US", "CN"], "share": [0.52, 0.48]})
    since = pd.Timestamp("2026-08-15T00:00:00Z")
    text = findings.leading_share(now, "bloc", before, since, within=findings.scope("llm", lang="ja"), lang="ja")
    assert text == (f"生成モデル（llm）、追跡対象の公開者では、中国が直近30日間のダウンロードの{brief.fmt_share(0.55)}を占めて"
                    f"います（2位は米国の{brief.fmt_share(0.45)}）。{brief.fmt_date(since, 'ja')}からの変化は"
                    f"{brief.fmt_points(0.55 - 0.48, 'ja')}です。")
    top = _result("top-models", {"id": ["Qwen/Q"], "org": ["Alibaba"], "bloc": ["CN"], "downloads_30d": [123_456]})
    assert f"{brief.fmt_count(123_456, lang='ja')}です。" in findings.top_model(top, lang="ja")


def test_foundations_sentence_in_japanese():
    numbers = {"new_derivatives": 1204, "bloc_shares": {"CN": 0.6, "US": 0.3, "unattributed": 0.1},
               "untraced_share": 0.1, "top_family": "Qwen", "top_family_share": 0.4,
               "us_on_chinese_roots_share": 0.25, "us_derivatives": 80}
    ja = whole_hub.foundations_sentence(numbers, lang="ja")
    assert ja.startswith("期間中の新しいモデルのうちベースモデルを申告した1,204件では、中国のルートが60.0%、米国のルートが30.0%を占めます")
    assert ja.endswith("。") and "Chinese" not in ja
    en = whole_hub.foundations_sentence(numbers)
    assert en.startswith("Of the 1,204 new models of the period that declare a base model, 60.0% are built on "
                         "Chinese roots and 30.0% on American roots")


def test_tables_and_methodology_in_japanese():
    period = _result("period-downloads", {"group": ["CN"], "downloads_period": [1_150_000], "share": [1.0], "ok": [3],
                                          "missing": [0], "negative": [0], "new": [1]})
    html = brief.period_table(period, lang="ja")
    assert "<th" in html and ">地域<" in html and ">中国<" in html and ">115万<" in html
    assert "該当する行はありません。" in brief.table_html(pd.DataFrame({"a": []}), {"a": "A"}, lang="ja")
    share = metrics.download_share(pd.DataFrame({"id": ["a/b"], "downloads": [5], "bloc": ["CN"]}))
    assert brief.definition_text(share, "en") == share.definition
    assert brief.definition_text(share, "ja").startswith("地域別のダウンロード・シェア")
    defs_html = brief.categories_appendix("ja")
    assert "言語モデル（llm）" in defs_html and "<script" not in defs_html


def test_brief_and_metrics_catalogues_agree_with_the_other_domains():
    from babel.messages.pofile import read_po

    def messages(name):
        with (i18n.LOCALE_DIR / "ja" / f"{name}.po").open("rb") as fh:
            return {m.id: m.string for m in read_po(fh) if m.id}

    ours = {**messages("brief"), **messages("metrics")}
    for other in ("notebooks", "render"):
        clashes = {k: (ours[k], v) for k, v in messages(other).items() if k in ours and ours[k] != v}
        assert clashes == {}, other
