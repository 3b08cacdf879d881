"""Each metric's coverage in plain sentences (brief.coverage_text), in English and Japanese."""
from __future__ import annotations

import copy

import pandas as pd
import pytest

from openbrief import brief, metrics
from openbrief.metrics import MetricResult
from test_metrics import models_frame

START, END = pd.Timestamp("2026-07-01T00:00Z"), pd.Timestamp("2026-08-01T00:00Z")


@pytest.fixture
def complete() -> pd.DataFrame:
    """Every model attributed, with a download count and a creation date in the window."""
    return models_frame([
        {"id": f"meta-llama/M{i}", "downloads": 100 + i, "org": "Meta", "bloc": "US", "country": "US",
         "org_type": "big tech", "created_at": "2026-07-10T00:00:00Z", "license": "mit"} for i in range(4)
    ] + [{"id": "Qwen/Q", "downloads": 50, "org": "Alibaba", "bloc": "CN", "country": "CN", "org_type": "big tech",
          "created_at": "2026-07-20T00:00:00Z", "license": "apache-2.0", "base_models": ["meta-llama/M0"],
          "base_id": "meta-llama/M0", "base_org": "Meta", "base_bloc": "US", "base_country": "US"}])


@pytest.fixture
def gappy() -> pd.DataFrame:
    """Missing and invalid download counts, unattributed namespaces, missing creation dates and bases."""
    return models_frame([
        {"id": "meta-llama/A", "downloads": 400, "org": "Meta", "bloc": "US", "country": "US",
         "created_at": "2026-07-10T00:00:00Z"},
        {"id": "Qwen/B", "downloads": 300, "org": "Alibaba", "bloc": "CN", "country": "CN",
         "created_at": "2026-07-12T00:00:00Z", "base_models": ["someone/X"], "base_id": "someone/X"},
        {"id": "someone/C", "downloads": 100, "created_at": "2026-07-15T00:00:00Z"},
        {"id": "someone/D", "downloads": None},
        {"id": "mistralai/E", "downloads": None, "org": "Mistral", "bloc": "EU", "country": "FR"},
        {"id": "odd/F", "downloads": -5},
    ])


def _counts(frame: pd.DataFrame) -> dict:
    """What the sentences should report, counted from the table itself."""
    downloads = frame["downloads"]
    valid = downloads.notna() & (downloads >= 0)
    unattributed = frame["bloc"] == "unattributed"
    total = downloads[valid].sum()
    return {"n": len(frame), "k": int(valid.sum()), "missing": int(downloads.isna().sum()),
            "invalid": int((downloads < 0).sum()), "u": int(unattributed.sum()),
            "u_share": brief.fmt_share(downloads[valid & unattributed].sum() / total)}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_download_share_without_missing_data(complete, lang):
    c = _counts(complete)
    text = brief.coverage_text(metrics.download_share(complete), lang)
    expected = {"en": f"{c['n']} models, all with a 30-day download count; none unattributed.",
                "ja": f"{c['n']}モデルが対象で、すべてに30日間のダウンロード数があります。未帰属のモデルはありません。"}
    assert text == expected[lang]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_download_share_with_missing_data(gappy, lang):
    c = _counts(gappy)
    assert c["missing"] and c["invalid"] and c["u"]
    text = brief.coverage_text(metrics.download_share(gappy), lang)
    expected = {
        "en": (f"{c['n']} models, {c['k']} of them with a 30-day download count ({c['missing']} without one and "
               f"{c['invalid']} with an invalid count, left out); {c['u']} unattributed ({c['u_share']} of the "
               "downloads)."),
        "ja": (f"{c['n']}モデルが対象で、うち{c['k']}モデルに30日間のダウンロード数があります（数値のない{c['missing']}モデル、"
               f"数値が無効な{c['invalid']}モデルは除外）。{c['u']}モデルが未帰属です（ダウンロードの{c['u_share']}）。"),
    }
    assert text == expected[lang]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_new_releases_with_and_without_creation_dates(complete, gappy, lang):
    whole = brief.coverage_text(metrics.new_releases(complete, START, END), lang)
    n = len(complete)
    assert whole == {"en": f"{n} of {n} models created in the window; all with a creation date.",
                     "ja": f"{n}モデルのうち{n}モデルが期間内に作成されました。すべてに作成日があります。"}[lang]
    created = gappy["created_at"]
    in_window, undated = int(((created >= START) & (created < END)).sum()), int(created.isna().sum())
    part = brief.coverage_text(metrics.new_releases(gappy, START, END), lang)
    assert part == {"en": f"{in_window} of {len(gappy)} models created in the window; {undated} without a creation "
                          "date (left out).",
                    "ja": f"{len(gappy)}モデルのうち{in_window}モデルが期間内に作成されました。作成日のない{undated}モデルは"
                          "除外しています。"}[lang]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_foundation_share_says_what_declares_no_base(gappy, lang):
    created = gappy["created_at"]
    in_window = (created >= START) & (created < END)
    declaring = int((in_window & gappy["base_id"].notna()).sum())
    total, undated = int(in_window.sum()), int(created.isna().sum())
    unattributed = int((in_window & gappy["base_id"].notna() & gappy["base_bloc"].isna()).sum())
    text = brief.coverage_text(metrics.foundation_share(gappy, START, END), lang)
    expected = {
        "en": (f"{total} models created in the window, {declaring} of them declaring a base model (the other "
               f"{total - declaring} left out); the owner of {unattributed} of their bases is unattributed. "
               f"{undated} models without a creation date are left out."),
        "ja": (f"期間内に作成された{total}モデルのうち{declaring}モデルがベースモデルを申告しています（残る{total - declaring}"
               f"モデルは除外）。うち{unattributed}件はベースモデルの所有者が未帰属です。作成日のない{undated}モデルは除外しています。"),
    }
    assert text == expected[lang]


def test_counts_in_sentences_follow_the_language():
    cov = {"models": 123_456, "models_with_downloads": 123_456, "unattributed_models": 0}
    result = MetricResult("download-share", pd.DataFrame(), cov, "")
    assert brief.coverage_text(result, "ja").startswith(brief.fmt_count(123_456, lang="ja") + "モデル")
    assert brief.coverage_text(result).startswith(brief.fmt_count(123_456) + " models")


def test_one_model_is_singular():
    result = MetricResult("top-models", pd.DataFrame(), {"models": 1, "models_with_downloads": 1}, "")
    assert brief.coverage_text(result) == "1 model, all with a 30-day download count."


def test_unknown_metric_gets_a_generic_sentence():
    cov = {"models": 3, "widgets_dropped": 2, "kinds": ["a", "b"]}
    result = MetricResult("something-new", pd.DataFrame(), cov, "")
    assert brief.coverage_text(result) == "3 models; other counts: widgets dropped: 2; kinds: a, b."
    assert brief.coverage_text(result, "ja") == "3モデル。その他の集計値は次のとおりです：widgets dropped: 2; kinds: a, b。"


def _every_metric(frame: pd.DataFrame) -> list[MetricResult]:
    with_roots = frame.assign(lineage_status=["no-base", "resolved"] + ["no-base"] * (len(frame) - 2),
                              root_bloc=frame["base_bloc"], lineage_depth=1)
    return [metrics.download_share(frame), metrics.top_models(frame), metrics.concentration(frame),
            metrics.openness(frame), metrics.new_releases(frame, START, END),
            metrics.foundation_share(frame, START, END), metrics.root_foundations(with_roots, START, END),
            metrics.derivatives(frame, None), metrics.period_downloads(frame, frame, by="bloc"),
            metrics.by_category(frame), metrics.definitions(frame),
            metrics.relative_adoption(frame[["id", "created_at", "downloads_all_time", "params_total",
                                             "snapshot_id", "fetched_at"]])]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_metric_reads_as_sentences_and_keeps_its_counters(gappy, lang):
    for result in _every_metric(gappy):
        before = copy.deepcopy(result.coverage)
        text = brief.coverage_text(result, lang)
        assert result.coverage == before  # the raw counters stay as they are, for exports and manifest.json
        assert text and "_" not in text and "other counts" not in text, (result.name, text)
        assert text.endswith("." if lang == "en" else "。"), (result.name, text)
        if lang == "ja":
            assert not any(w in text for w in (" models", " of them", "left out", "unattributed")), (result.name, text)


def test_duplicate_rows_are_said(gappy):
    twice = pd.concat([gappy, gappy.head(2)], ignore_index=True)
    assert brief.coverage_text(metrics.download_share(twice)).endswith(". 2 duplicate rows dropped.")
    assert brief.coverage_text(metrics.download_share(twice), "ja").endswith("。重複する2行を除外しています。")
