"""The notebook helpers: number formats, tables, key-finding sentences."""
from __future__ import annotations

import pandas as pd
import pytest

from openbrief import brief
from openbrief.brief import findings
from openbrief.metrics import MetricResult


def result(name, rows, coverage=None):
    return MetricResult(name, pd.DataFrame(rows), coverage or {}, f"definition of {name}")


@pytest.mark.parametrize("value, text", [
    (None, "–"), (pd.NA, "–"), (float("nan"), "–"), (0, "0"), (999, "999"), (1234, "1,234"),
    (999_999, "999,999"), (1_234_567, "1.23M"), (2_500_000_000, "2.50B"),
])
def test_fmt_count(value, text):
    assert brief.fmt_count(value) == text


def test_fmt_share_signed_and_dates():
    assert brief.fmt_share(0.12345) == "12.3%" and brief.fmt_share(pd.NA) == "–"
    assert brief.fmt_signed(1500) == "+1,500" and brief.fmt_signed(-2_000_000) == "−2.00M"
    assert brief.fmt_date(pd.Timestamp("2026-08-22T01:15:24Z")) == "2026-08-22"
    assert brief.fmt_date(pd.NaT) == "–"


def test_table_html_escapes_and_marks_missing():
    df = pd.DataFrame({"id": ["<script>x</script>", "b/c"], "n": [1, pd.NA]})
    html = brief.table_html(df, {"id": "Model", "n": "N"}, {"n": brief.fmt_count}, numeric=("n",))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<tr>") == 3 and "–" in html
    assert "No rows." in brief.table_html(df.head(0), {"id": "Model"})


def test_side_by_side_keeps_missing_groups_missing():
    share = result("download-share", {"group": ["CN", "US"], "share": [0.6, 0.4]})
    rel = result("new-releases", {"group": ["US"], "releases": [3]})
    table = brief.side_by_side(["CN", "US", "EU"], share=(share, "share"), releases=(rel, "releases"))
    assert table["share"].tolist()[:2] == [0.6, 0.4] and pd.isna(table.loc[2, "share"])
    assert pd.isna(table.loc[0, "releases"]) and table.loc[1, "releases"] == 3


def test_leading_share_with_change_since_previous():
    now = result("download-share", {"group": ["CN", "US"], "share": [0.55, 0.45]})
    before = result("download-share", {"group": ["US", "CN"], "share": [0.52, 0.48]})
    text = findings.leading_share(now, "bloc", before, pd.Timestamp("2026-08-15T00:00:00Z"),
                                  within=findings.scope("llm"))
    assert text == ("Among generative models (llm), tracked publishers: China holds 55.0% of the rolling 30-day "
                    "downloads, ahead of the United States (45.0%); +7.0 points since 2026-08-15.")
    assert findings.leading_share(result("download-share", {"group": [], "share": []}), "bloc") is None


def test_other_findings():
    top = result("top-models", {"id": ["Qwen/Qwen3-8B"], "org": ["Alibaba"], "bloc": ["CN"],
                                "downloads_30d": [12_224_630]})
    assert findings.top_model(top) == ("Among all models (all), tracked publishers: the most-downloaded model is "
                                       "Qwen/Qwen3-8B (Alibaba, China), with 12.22M downloads in 30 days.")
    rel = result("new-releases", {"group": ["US", "CN"], "releases": [2, 1]})
    assert findings.releases(rel, 7, within=findings.scope("embedding")) == (
        "Among embedding models (embedding), tracked publishers: 3 new models were published in the last 7 days; "
        "2 of them by publishers from the United States.")
    none = result("new-releases", {"group": ["US"], "releases": [0]})
    assert findings.releases(none, 7) == "Among all models (all), tracked publishers: no new model in the last 7 days."
    conc = result("concentration", {"hhi": [3800.0], "top5_share": [1.0]})
    assert findings.concentration(conc, findings.scope("llm-curated")) == (
        "Among first-party generative models (llm-curated), tracked publishers: downloads are concentrated: "
        "the top five organisations hold 100.0% (HHI 3,800 on a 0–10,000 scale).")
    assert findings.key_findings("a", None, "b", "c", "d", "e", "f") == ["a", "b", "c", "d", "e"]


def test_notes_for_missing_data():
    period = result("period-downloads", {}, {"ok": 0, "missing": 381, "models": 382})
    assert "cannot be computed" in brief.period_note(period) and "381 of 382" in brief.period_note(period)
    partial = result("period-downloads", {}, {"ok": 30, "ok_share": 0.5, "models": 60})
    assert "30 of 60 models (50.0%)" in brief.period_note(partial)
    assert brief.period_note(result("period-downloads", {}, {"ok": 60, "ok_share": 1.0, "models": 60})) is None
    assert brief.licence_note(result("openness", {}, {"models": 5, "models_with_license": 0}))
    assert brief.licence_note(result("openness", {}, {"models": 5, "models_with_license": 1})) is None


def test_group_colors_follow_blocs():
    colors = brief.group_colors(["FR", "DE", "CN", "unattributed"], "country")
    assert colors["FR"] == colors["DE"] != colors["CN"]
    assert brief.group_colors(["CN"], "bloc") is None
