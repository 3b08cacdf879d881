"""Tests of openbrief.metrics on small hand-built frames; every expected value is worked out here."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from openbrief import metrics as M
from openbrief import registry
from openbrief.store.schema import MODEL_COLUMNS, conform

UTC = "UTC"
T0 = pd.Timestamp("2026-08-01T06:00:00Z")

ATTRIBUTION_DEFAULTS = {
    "org": "unattributed", "country": "unattributed", "bloc": "unattributed",
    "org_type": "unattributed", "fully_open": False, "is_intermediary": False,
    "base_id": None, "base_org": None, "base_country": None, "base_bloc": None,
}


def models_frame(records: list[dict], snapshot: str = "2026-08-01", fetched_at=T0) -> pd.DataFrame:
    """A models table with schema dtypes plus the registry's attribution columns."""
    raw = pd.DataFrame([{**ATTRIBUTION_DEFAULTS, **r} for r in records])
    df = conform(raw.assign(snapshot_id=snapshot, fetched_at=fetched_at) if len(raw) else raw)
    for name, default in ATTRIBUTION_DEFAULTS.items():
        values = raw[name] if name in raw.columns else pd.Series([default] * len(raw), dtype="object")
        df[name] = values.reset_index(drop=True)
    if "namespace" not in raw.columns and len(df):
        df["namespace"] = df["id"].str.split("/").str[0]
    for col in ("base_id", "base_org", "base_country", "base_bloc", "org", "country", "bloc", "org_type"):
        df[col] = df[col].astype("string")
    df["fully_open"] = df["fully_open"].astype("boolean")
    df["is_intermediary"] = df["is_intermediary"].astype("boolean")
    return df


def assert_unchanged(func, *args, **kwargs):
    """Call ``func`` and check that it left every DataFrame argument as it was."""
    frames = [a for a in args if isinstance(a, pd.DataFrame)]
    copies = [f.copy(deep=True) for f in frames]
    result = func(*args, **kwargs)
    for before, after in zip(copies, frames):
        pd.testing.assert_frame_equal(before, after)
    return result


def row(result: M.MetricResult, key: str, value) -> pd.Series:
    hits = result.rows[result.rows[key] == value]
    assert len(hits) == 1, f"expected one row with {key}={value!r}, got {len(hits)}"
    return hits.iloc[0]


# --------------------------------------------------------------------------- download share


@pytest.fixture
def share_models() -> pd.DataFrame:
    return models_frame([
        {"id": "meta-llama/A", "downloads": 200, "org": "Meta", "bloc": "US", "country": "US"},
        {"id": "google/B", "downloads": 100, "org": "Google", "bloc": "US", "country": "US"},
        {"id": "Qwen/C", "downloads": 100, "org": "Alibaba", "bloc": "CN", "country": "CN"},
        {"id": "someone/D", "downloads": 50},  # unattributed
        {"id": "mistralai/E", "downloads": None, "org": "Mistral", "bloc": "EU", "country": "FR"},
    ])


def test_download_share_by_bloc(share_models):
    r = assert_unchanged(M.download_share, share_models, by="bloc")
    assert r.name == "download-share"
    assert list(r.rows.columns) == ["group", "downloads_30d", "share", "models", "models_missing_downloads"]
    total = 200 + 100 + 100 + 50
    assert list(r.rows["group"]) == ["US", "CN", "unattributed", "EU"]  # desc, NA last
    us = row(r, "group", "US")
    assert us["downloads_30d"] == 300 and us["models"] == 2
    assert us["share"] == pytest.approx(300 / total)
    assert row(r, "group", "CN")["share"] == pytest.approx(100 / total)
    assert row(r, "group", "unattributed")["share"] == pytest.approx(50 / total)
    eu = row(r, "group", "EU")
    assert pd.isna(eu["downloads_30d"]) and pd.isna(eu["share"])  # never summed as 0
    assert eu["models"] == 0 and eu["models_missing_downloads"] == 1
    assert r.rows["share"].sum() == pytest.approx(1.0)
    c = r.coverage
    assert c["models"] == 5 and c["models_with_downloads"] == 4 and c["models_missing_downloads"] == 1
    assert c["models_with_downloads_share"] == pytest.approx(4 / 5)
    assert c["downloads_30d_total"] == total
    assert c["unattributed_models"] == 1 and c["unattributed_downloads_30d"] == 50
    assert "30-day rolling" in r.definition or "rolling 30-day" in r.definition


def test_download_share_ties_sorted_by_group_and_by_org(share_models):
    r = M.download_share(share_models, by="org")
    # Alibaba and Google both have 100: tie broken alphabetically
    assert list(r.rows["group"]) == ["Meta", "Alibaba", "Google", "unattributed", "Mistral"]
    assert row(r, "group", "Meta")["share"] == pytest.approx(200 / 450)


def test_download_share_zero_total_gives_na_shares():
    df = models_frame([
        {"id": "a/x", "downloads": 0, "bloc": "US"},
        {"id": "b/y", "downloads": 0, "bloc": "CN"},
    ])
    r = M.download_share(df)
    assert r.rows["share"].isna().all()
    assert list(r.rows["downloads_30d"]) == [0, 0]
    assert list(r.rows["group"]) == ["CN", "US"]


def test_download_share_empty_input():
    r = M.download_share(models_frame([]))
    assert r.rows.empty
    assert list(r.rows.columns) == ["group", "downloads_30d", "share", "models", "models_missing_downloads"]
    assert r.coverage["models"] == 0 and r.coverage["models_with_downloads_share"] is None


def test_download_share_duplicates_and_guards(share_models):
    doubled = pd.concat([share_models, share_models.iloc[[0]]], ignore_index=True)
    r = M.download_share(doubled)
    assert row(r, "group", "US")["downloads_30d"] == 300  # the repeated model counted once
    assert r.coverage["duplicate_ids_dropped"] == 1
    mixed = pd.concat([share_models, share_models.assign(snapshot_id="2026-08-08")], ignore_index=True)
    with pytest.raises(ValueError, match="snapshots"):
        M.download_share(mixed)
    with pytest.raises(ValueError, match="registry.attribute"):
        M.download_share(share_models.drop(columns="bloc"))


# --------------------------------------------------------------------------- period downloads


@pytest.fixture
def two_snapshots() -> tuple[pd.DataFrame, pd.DataFrame]:
    earlier = models_frame([
        {"id": "u/a", "downloads_all_time": 100, "bloc": "US"},
        {"id": "u/b", "downloads_all_time": 50, "bloc": "US"},
        {"id": "c/c", "downloads_all_time": None, "bloc": "CN"},
        {"id": "c/d", "downloads_all_time": 500, "bloc": "CN"},
        {"id": "x/gone", "downloads_all_time": 10, "bloc": "EU"},
    ], snapshot="2026-08-01", fetched_at=pd.Timestamp("2026-08-01T00:00:00Z"))
    later = models_frame([
        {"id": "u/a", "downloads_all_time": 160, "bloc": "US"},
        {"id": "u/b", "downloads_all_time": 40, "bloc": "US"},     # fell: anomaly
        {"id": "c/c", "downloads_all_time": 70, "bloc": "CN"},     # earlier missing
        {"id": "c/d", "downloads_all_time": None, "bloc": "CN"},   # later missing
        {"id": "c/e", "downloads_all_time": 30, "bloc": "CN"},     # new
    ], snapshot="2026-08-08", fetched_at=pd.Timestamp("2026-08-08T12:00:00Z"))
    return earlier, later


def test_period_downloads_per_model(two_snapshots):
    earlier, later = two_snapshots
    r = assert_unchanged(M.period_downloads, earlier, later)
    assert list(r.rows.columns) == [
        "id", "all_time_earlier", "all_time_later", "difference", "downloads_period", "status"]
    status = dict(zip(r.rows["id"], r.rows["status"]))
    assert status == {"u/a": "ok", "u/b": "negative", "c/c": "missing", "c/d": "missing", "c/e": "new"}
    a = row(r, "id", "u/a")
    assert a["downloads_period"] == 160 - 100
    b = row(r, "id", "u/b")
    assert b["difference"] == 40 - 50 and pd.isna(b["downloads_period"])  # never shown as growth
    e = row(r, "id", "c/e")
    assert pd.isna(e["downloads_period"]) and pd.isna(e["all_time_earlier"])
    assert r.rows["id"].iloc[0] == "u/a"
    c = r.coverage
    assert (c["ok"], c["missing"], c["negative"], c["new"]) == (1, 2, 1, 1)
    assert c["only_in_earlier"] == 1 and c["models"] == 5 and c["models_earlier"] == 5
    assert c["downloads_period_total"] == 60
    assert c["negative_difference_total"] == -10
    assert c["span_days"] == pytest.approx(7.5)  # 1 Aug 00:00 -> 8 Aug 12:00
    assert c["ok_share"] == pytest.approx(1 / 5)
    # later cumulative of ok models over later cumulative of all models with a later value
    assert c["all_time_covered_share"] == pytest.approx(160 / (160 + 40 + 70 + 30))
    assert c["earlier_snapshot"] == "2026-08-01" and c["later_fetched_at"] == "2026-08-08T12:00:00Z"


def test_period_downloads_by_group(two_snapshots):
    earlier, later = two_snapshots
    r = M.period_downloads(earlier, later, by="bloc")
    assert list(r.rows.columns) == ["group", "downloads_period", "share", "models", "ok", "missing", "negative", "new"]
    us = row(r, "group", "US")
    assert us["downloads_period"] == 60 and us["share"] == pytest.approx(60 / 60)
    assert (us["models"], us["ok"], us["negative"]) == (2, 1, 1)
    cn = row(r, "group", "CN")
    assert pd.isna(cn["downloads_period"]) and pd.isna(cn["share"])  # no ok row: missing, not 0
    assert (cn["models"], cn["ok"], cn["missing"], cn["new"]) == (3, 0, 2, 1)
    assert list(r.rows["group"]) == ["US", "CN"]


def test_period_downloads_guards(two_snapshots):
    earlier, later = two_snapshots
    with pytest.raises(ValueError, match="swap"):
        M.period_downloads(later, earlier)
    empty = M.period_downloads(models_frame([]), models_frame([]), by="bloc")
    assert empty.rows.empty and empty.coverage["models"] == 0 and empty.coverage["span_days"] is None


# --------------------------------------------------------------------------- new releases


@pytest.fixture
def release_models() -> pd.DataFrame:
    return models_frame([
        {"id": "u/start", "created_at": "2026-01-01T00:00:00Z", "bloc": "US"},   # in: start inclusive
        {"id": "u/late", "created_at": "2026-01-31T23:59:59Z", "bloc": "US"},    # in
        {"id": "c/a", "created_at": "2026-01-15T00:00:00Z", "bloc": "CN"},       # in
        {"id": "c/end", "created_at": "2026-02-01T00:00:00Z", "bloc": "CN"},     # out: end exclusive
        {"id": "e/old", "created_at": "2025-12-31T23:59:59Z", "bloc": "EU"},     # out
        {"id": "z/none", "created_at": None},                                    # missing
    ])


def test_new_releases_window(release_models):
    r = assert_unchanged(M.new_releases, release_models, "2026-01-01", "2026-02-01")
    assert list(r.rows.columns) == ["group", "releases", "ids"]
    assert list(r.rows["group"]) == ["US", "CN", "EU", "unattributed"]
    assert list(r.rows["releases"]) == [2, 1, 0, 0]
    assert row(r, "group", "US")["ids"] == ["u/late", "u/start"]
    c = r.coverage
    assert c["models"] == 6 and c["models_missing_created_at"] == 1 and c["models_with_created_at"] == 5
    assert c["releases"] == 3
    assert r.params["start"] == "2026-01-01T00:00:00Z" and r.params["end"] == "2026-02-01T00:00:00Z"


def test_new_releases_timezones_and_guards(release_models):
    # 2026-01-01T01:00+01:00 is midnight UTC: the same window
    r = M.new_releases(release_models, pd.Timestamp("2026-01-01T01:00:00+01:00"), "2026-02-01", by="country")
    assert r.coverage["releases"] == 3
    with pytest.raises(ValueError, match="empty window"):
        M.new_releases(release_models, "2026-02-01", "2026-02-01")
    empty = M.new_releases(models_frame([]), "2026-01-01", "2026-02-01")
    assert empty.rows.empty and empty.coverage["releases"] == 0


# --------------------------------------------------------------------------- derivatives


@pytest.fixture
def tree() -> tuple[pd.DataFrame, pd.DataFrame]:
    models = models_frame([
        {"id": "org/Base", "downloads": 1000, "children_finetune": 10, "children_adapter": 5,
         "children_quantized": 3, "children_merge": 1, "children_total": 19},
        {"id": "org/Other", "downloads": 10},
        {"id": "org/Sum", "children_finetune": 2, "children_adapter": 0,
         "children_quantized": 1, "children_merge": 0, "children_total": None},
    ])
    derivs = models_frame([
        {"id": "a/ft", "downloads": 100, "base_models": ["org/Base"], "base_relation": "finetune", "listed_base": "org/Base"},
        {"id": "b/q", "downloads": None, "base_models": ["org/Base"], "base_relation": "quantized", "listed_base": "org/Base"},
        {"id": "c/ad", "downloads": 7, "base_models": ["org/Base", "org/Other"], "base_relation": "adapter", "listed_base": "org/Base"},
        {"id": "d/norel", "downloads": 1, "base_models": ["org/Base"], "base_relation": None, "listed_base": "org/Base"},
        {"id": "a/ft", "downloads": 100, "base_models": ["org/Base"], "base_relation": "finetune", "listed_base": "org/Base"},
        {"id": "e/self", "downloads": 3, "base_models": ["e/self"], "base_relation": "finetune", "listed_base": "org/Base"},
    ])
    derivs["listed_base"] = pd.Series(["org/Base"] * 6, dtype="string")
    return models, derivs


def test_derivatives_both_sources(tree):
    models, derivs = tree
    r = assert_unchanged(M.derivatives, models, derivs)
    assert list(r.rows.columns) == [
        "base", "finetune", "adapter", "quantized", "merge", "total", "source", "listed_downloads_30d"]
    hub = r.rows[(r.rows["base"] == "org/Base") & (r.rows["source"] == "childrenModelCount")].iloc[0]
    assert (hub["finetune"], hub["adapter"], hub["quantized"], hub["merge"], hub["total"]) == (10, 5, 3, 1, 19)
    assert pd.isna(hub["listed_downloads_30d"])
    listed = r.rows[(r.rows["base"] == "org/Base") & (r.rows["source"] == "listed")].iloc[0]
    # a/ft finetune (once), b/q quantized, c/ad adapter, d/norel relation unknown -> total only
    assert (listed["finetune"], listed["adapter"], listed["quantized"], listed["merge"]) == (1, 1, 1, 0)
    assert listed["total"] == 4
    assert listed["listed_downloads_30d"] == 100 + 7 + 1  # b/q has no count: left out
    other = r.rows[(r.rows["base"] == "org/Other") & (r.rows["source"] == "listed")].iloc[0]
    assert (other["adapter"], other["total"], other["listed_downloads_30d"]) == (1, 1, 7)
    hub_sum = r.rows[(r.rows["base"] == "org/Sum") & (r.rows["source"] == "childrenModelCount")].iloc[0]
    assert hub_sum["total"] == 2 + 0 + 1 + 0  # total missing, all relations known
    assert not ((r.rows["base"] == "org/Other") & (r.rows["source"] == "childrenModelCount")).any()
    assert list(zip(r.rows["base"], r.rows["source"])) == [
        ("org/Base", "childrenModelCount"), ("org/Base", "listed"),
        ("org/Other", "listed"), ("org/Sum", "childrenModelCount")]
    c = r.coverage
    assert c["direct_children_only"] is True and "direct children only" in r.definition
    assert c["listed_relation_unknown"] == 1 and c["self_references_dropped"] == 1
    assert c["listed_links"] == 5  # a/ft, b/q, c/ad x2, d/norel
    assert c["listed_links_missing_downloads"] == 1 and c["duplicate_ids_dropped"] == 1


def test_derivatives_bases_filter_and_threshold(tree):
    models, derivs = tree
    r = M.derivatives(models, derivs, bases=["org/Other"])
    assert list(r.rows["source"]) == ["childrenModelCount", "listed"]
    hub = r.rows.iloc[0]
    assert hub["base"] == "org/Other" and pd.isna(hub["finetune"]) and pd.isna(hub["total"])
    assert r.rows.iloc[1]["total"] == 1
    # ATOM-style threshold: only children with more than 5 downloads
    t = M.derivatives(models, derivs, bases=["org/Base"], min_downloads=5)
    listed = t.rows[t.rows["source"] == "listed"].iloc[0]
    assert (listed["finetune"], listed["adapter"], listed["quantized"], listed["total"]) == (1, 1, 0, 2)
    assert listed["listed_downloads_30d"] == 100 + 7
    assert t.coverage["listed_links_below_min_downloads"] == 5 - 3  # b/q (NA) and d/norel (1)


def test_derivatives_unknown_base_raises_with_hint(tree):
    models, derivs = tree
    with pytest.raises(ValueError, match=r"'org/base'.*did you mean 'org/Base'"):
        M.derivatives(models, derivs, bases=["org/base"])


def test_derivatives_models_only_and_empty():
    models = models_frame([
        {"id": "org/Base", "downloads": 5},
        {"id": "x/child", "downloads": 2, "base_models": ["org/Base"], "base_relation": "merge"},
    ])
    r = M.derivatives(models)
    assert len(r.rows) == 1
    only = r.rows.iloc[0]
    assert (only["base"], only["source"], only["merge"], only["total"], only["listed_downloads_30d"]) == (
        "org/Base", "listed", 1, 1, 2)
    empty = M.derivatives(models_frame([]))
    assert empty.rows.empty and empty.coverage["fetched_models"] == 0


# --------------------------------------------------------------------------- foundation share


@pytest.fixture
def lineage() -> pd.DataFrame:
    inside = "2026-03-10T00:00:00Z"
    return models_frame([
        {"id": "us/a", "created_at": inside, "bloc": "US", "base_id": "Qwen/Q", "base_bloc": "CN", "base_country": "CN"},
        {"id": "us/b", "created_at": inside, "bloc": "US", "base_id": "meta/L", "base_bloc": "US", "base_country": "US"},
        {"id": "cn/c", "created_at": inside, "bloc": "CN", "base_id": "Qwen/Q", "base_bloc": "CN", "base_country": "CN",
         "is_intermediary": False},
        {"id": "q/d", "created_at": inside, "base_id": "who/X", "base_bloc": "unattributed",
         "base_country": "unattributed", "is_intermediary": True},
        {"id": "us/nobase", "created_at": inside, "bloc": "US"},
        {"id": "us/old", "created_at": "2025-01-01T00:00:00Z", "bloc": "US", "base_id": "meta/L", "base_bloc": "US"},
        {"id": "us/nodate", "created_at": None, "bloc": "US", "base_id": "meta/L", "base_bloc": "US"},
    ])


def test_foundation_share(lineage):
    r = assert_unchanged(M.foundation_share, lineage, "2026-03-01", "2026-04-01")
    assert list(r.rows.columns) == ["group", "models", "share"]
    declaring = 4  # us/a, us/b, cn/c, q/d
    assert list(r.rows["group"]) == ["CN", "US", "unattributed"]
    assert row(r, "group", "CN")["share"] == pytest.approx(2 / declaring)
    assert row(r, "group", "US")["share"] == pytest.approx(1 / declaring)
    assert row(r, "group", "unattributed")["models"] == 1
    c = r.coverage
    assert c["created_in_window"] == 5 and c["in_window_declaring_base"] == 4
    assert c["in_window_declaring_base_share"] == pytest.approx(4 / 5)
    assert c["models_missing_created_at"] == 1 and c["base_unattributed"] == 1
    assert c["declaring_by_intermediaries"] == 1


def test_foundation_share_among_own_bloc(lineage):
    r = M.foundation_share(lineage, "2026-03-01", "2026-04-01", by="country", among="bloc")
    assert list(r.rows.columns) == ["among", "group", "models", "share"]
    us = r.rows[r.rows["among"] == "US"]
    # US-made models declaring a base: us/a (CN base), us/b (US base) -> 1/2 each
    assert dict(zip(us["group"], us["share"])) == {"CN": pytest.approx(1 / 2), "US": pytest.approx(1 / 2)}
    cn = r.rows[r.rows["among"] == "CN"]
    assert list(cn["share"]) == [pytest.approx(1.0)]


def test_foundation_share_empty_window(lineage):
    r = M.foundation_share(lineage, "2030-01-01", "2030-02-01")
    assert r.rows.empty and r.coverage["created_in_window"] == 0
    assert r.coverage["in_window_declaring_base_share"] is None


# --------------------------------------------------------------------------- concentration


@pytest.fixture
def org_models() -> pd.DataFrame:
    return models_frame([
        {"id": "a/1", "downloads": 30, "org": "A"},
        {"id": "a/2", "downloads": 20, "org": "A"},
        {"id": "b/1", "downloads": 30, "org": "B"},
        {"id": "c/1", "downloads": 20, "org": "C"},
        {"id": "u/1", "downloads": 100},               # unattributed
        {"id": "c/2", "downloads": None, "org": "C"},  # missing
    ])


def test_concentration_hhi_known_shares(org_models):
    r = assert_unchanged(M.concentration, org_models)
    assert list(r.rows.columns) == ["hhi", "top1_share", "top5_share", "top10_share", "groups", "downloads_30d"]
    one = r.rows.iloc[0]
    # A 50, B 30, C 20 of 100 -> 50^2 + 30^2 + 20^2
    assert one["hhi"] == pytest.approx(2500 + 900 + 400)
    assert one["top1_share"] == pytest.approx(50 / 100)
    assert one["top5_share"] == pytest.approx(1.0) and one["top10_share"] == pytest.approx(1.0)
    assert one["groups"] == 3 and one["downloads_30d"] == 100
    c = r.coverage
    assert c["groups_fewer_than_k"] == [5, 10]
    assert c["unattributed_models"] == 1 and c["unattributed_downloads_30d"] == 100
    assert c["unattributed_downloads_share"] == pytest.approx(100 / 200)
    assert c["models_missing_downloads"] == 1
    assert "excluded" in r.definition


def test_concentration_with_unattributed_and_custom_k(org_models):
    r = M.concentration(org_models, k=(2,), include_unattributed=True)
    one = r.rows.iloc[0]
    # unattributed 100, A 50, B 30, C 20 of 200
    expected = (100 * 100 / 200) ** 2 + (100 * 50 / 200) ** 2 + (100 * 30 / 200) ** 2 + (100 * 20 / 200) ** 2
    assert expected == pytest.approx(2500 + 625 + 225 + 100)
    assert one["hhi"] == pytest.approx(expected)
    assert one["top2_share"] == pytest.approx((100 + 50) / 200)
    assert r.coverage["groups_fewer_than_k"] == []


def test_concentration_single_group_zero_and_empty():
    one = M.concentration(models_frame([{"id": "a/1", "downloads": 5, "org": "A"}])).rows.iloc[0]
    assert one["hhi"] == pytest.approx(10_000) and one["top1_share"] == pytest.approx(1.0)
    zero = M.concentration(models_frame([{"id": "a/1", "downloads": 0, "org": "A"}])).rows.iloc[0]
    assert pd.isna(zero["hhi"]) and pd.isna(zero["top1_share"])
    empty = M.concentration(models_frame([]))
    assert pd.isna(empty.rows.iloc[0]["hhi"]) and empty.rows.iloc[0]["groups"] == 0
    with pytest.raises(ValueError):
        M.concentration(models_frame([]), k=(0,))


# --------------------------------------------------------------------------- openness


@pytest.mark.parametrize("licence, tier", [
    ("apache-2.0", "osi"), ("mit", "osi"), ("MIT", "osi"), ("license:mit", "osi"),
    ("bsd-2-clause", "osi"), ("bsd-3-clause", "osi"), ("isc", "osi"), ("mpl-2.0", "osi"),
    ("lgpl-3.0", "osi"), ("lgpl-2.1", "osi"), ("gpl-3.0", "osi"), ("agpl-3.0", "osi"),
    ("cc-by-4.0", "open_non_osi"), ("cc-by-sa-4.0", "open_non_osi"), ("cc0-1.0", "open_non_osi"),
    ("odc-by", "open_non_osi"), ("bsd-3-clause-clear", "open_non_osi"), ("lgpl-lr", "open_non_osi"),
    ("llama2", "open_weight_restricted"), ("llama3", "open_weight_restricted"),
    ("llama3.1", "open_weight_restricted"), ("llama3.2", "open_weight_restricted"),
    ("llama3.3", "open_weight_restricted"), ("llama4", "open_weight_restricted"),
    ("gemma", "open_weight_restricted"), ("deepseek", "open_weight_restricted"),
    ("qwen", "open_weight_restricted"), ("tongyi-qianwen", "open_weight_restricted"),
    ("other", "open_weight_restricted"), ("openrail", "open_weight_restricted"),
    ("openrail++", "open_weight_restricted"), ("creativeml-openrail-m", "open_weight_restricted"),
    ("bigscience-openrail-m", "open_weight_restricted"), ("cc-by-nc-4.0", "open_weight_restricted"),
    ("cc-by-nc-sa-4.0", "open_weight_restricted"), ("cc-by-nd-4.0", "open_weight_restricted"),
    ("custom", "open_weight_restricted"), ("some-new-licence", "open_weight_restricted"),
    (None, "unknown"), (pd.NA, "unknown"), (float("nan"), "unknown"), ("", "unknown"), ("unknown", "unknown"),
])
def test_license_tier(licence, tier):
    assert M.license_tier(licence) == tier


def test_openness_by_bloc():
    df = models_frame([
        {"id": "us/osi", "license": "apache-2.0", "downloads": 100, "bloc": "US", "fully_open": True},
        {"id": "us/llama", "license": "llama3.1", "downloads": 300, "bloc": "US"},
        {"id": "us/none", "license": None, "downloads": None, "bloc": "US"},
        {"id": "cn/mit", "license": "mit", "downloads": 50, "bloc": "CN"},
        {"id": "cn/qwen", "license": "qwen", "downloads": 150, "bloc": "CN"},
        {"id": "eu/ccby", "license": "cc-by-4.0", "downloads": 0, "bloc": "EU", "fully_open": None},
    ])
    r = assert_unchanged(M.openness, df)
    assert list(r.rows.columns) == [
        "group", "models", "osi", "open_non_osi", "open_weight_restricted", "unknown", "fully_open",
        "downloads_30d", "osi_share", "open_non_osi_share", "open_weight_restricted_share",
        "unknown_share", "fully_open_share"]
    assert list(r.rows["group"]) == ["US", "CN", "EU"]
    us = row(r, "group", "US")
    assert (us["models"], us["osi"], us["open_weight_restricted"], us["unknown"], us["fully_open"]) == (3, 1, 1, 1, 1)
    assert us["downloads_30d"] == 400
    assert us["osi_share"] == pytest.approx(100 / (100 + 300))
    assert us["open_weight_restricted_share"] == pytest.approx(300 / (100 + 300))
    assert us["unknown_share"] == pytest.approx(0.0)  # its only model has no download count
    assert us["fully_open_share"] == pytest.approx(100 / 400)
    cn = row(r, "group", "CN")
    assert cn["osi_share"] == pytest.approx(50 / 200) and cn["open_weight_restricted_share"] == pytest.approx(150 / 200)
    eu = row(r, "group", "EU")
    assert eu["open_non_osi"] == 1 and pd.isna(eu["open_non_osi_share"])  # zero downloads: no share
    c = r.coverage
    assert c["tier_models"] == {"osi": 2, "open_non_osi": 1, "open_weight_restricted": 2, "unknown": 1}
    assert c["tier_downloads_share"]["osi"] == pytest.approx((100 + 50) / 600)
    assert c["models_missing_downloads"] == 1 and c["fully_open_missing"] == 1
    assert c["fully_open_downloads_share"] == pytest.approx(100 / 600)


def test_openness_empty():
    r = M.openness(models_frame([]))
    assert r.rows.empty and r.coverage["tier_models"]["osi"] == 0


# --------------------------------------------------------------------------- size classes


@pytest.mark.parametrize("params, label", [
    (0, "<1B"), (999_999_999, "<1B"), (1_000_000_000, "1-9B"), (9_999_999_999, "1-9B"),
    (10_000_000_000, "10-99B"), (99_999_999_999, "10-99B"), (100_000_000_000, "100-249B"),
    (249_999_999_999, "100-249B"), (250_000_000_000, "250B+"), (1_000_000_000_000, "250B+"),
])
def test_size_class_boundaries(params, label):
    assert M.size_class(params) == label


@pytest.mark.parametrize("params", [None, pd.NA, float("nan"), -5])
def test_size_class_missing(params):
    assert M.size_class(params) is pd.NA


# --------------------------------------------------------------------------- relative adoption


def history_rows(model_id, created, points, params=7_000_000_000):
    """Snapshot rows of one model: points = [(day, cumulative)], fetched 1 hour into that day."""
    created = pd.Timestamp(created)
    return [
        {"snapshot_id": f"s{day}", "fetched_at": created + pd.Timedelta(days=day, hours=1), "id": model_id,
         "created_at": created, "downloads_all_time": cum, "params_total": params}
        for day, cum in points
    ]


def make_history(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["downloads_all_time"] = df["downloads_all_time"].astype("Int64")
    df["params_total"] = df["params_total"].astype("Int64")
    return df


@pytest.fixture
def eleven_models() -> pd.DataFrame:
    rows = []
    for i in range(11):  # m00..m10, all 1-9B, all created the same day
        rows += history_rows(f"org/m{i:02d}", "2026-01-01T00:00:00Z", [(10, 100 * (i + 1)), (20, 300 * (i + 1))])
    return make_history(rows)


def test_relative_adoption_v2_by_hand(eleven_models):
    r = assert_unchanged(M.relative_adoption, eleven_models)
    assert list(r.rows.columns) == ["id", "size_class", "day", "cumulative", "reference", "ram"]
    assert len(r.rows) == 22 and set(r.rows["size_class"]) == {"1-9B"}
    day10 = sorted((100 * (i + 1) for i in range(11)), reverse=True)  # 1100, 1000, ..., 100
    reference10 = day10[9]
    assert reference10 == 200
    top = r.rows[(r.rows["id"] == "org/m10") & (r.rows["day"] == 10)].iloc[0]
    assert top["cumulative"] == 1100 and top["reference"] == pytest.approx(200)
    assert top["ram"] == pytest.approx(1100 / 200)
    low = r.rows[(r.rows["id"] == "org/m00") & (r.rows["day"] == 20)].iloc[0]
    assert low["ram"] == pytest.approx(300 / sorted((300 * (i + 1) for i in range(11)), reverse=True)[9])
    assert low["ram"] == pytest.approx(300 / 600)
    assert r.coverage["class_models"]["1-9B"] == 11 and "1-9B" not in r.coverage["classes_below_rank"]
    assert r.coverage["points_with_ram"] == 22 and r.coverage["models_with_ram"] == 11


def test_relative_adoption_v1_median(eleven_models):
    r = M.relative_adoption(eleven_models, version=1)
    top10 = sorted((100 * (i + 1) for i in range(11)), reverse=True)[:10]  # 1100 .. 200
    median = (top10[4] + top10[5]) / 2
    assert median == (700 + 600) / 2
    one = r.rows[(r.rows["id"] == "org/m03") & (r.rows["day"] == 10)].iloc[0]
    assert one["reference"] == pytest.approx(median) and one["ram"] == pytest.approx(400 / 650)
    assert "median" in r.definition


def test_relative_adoption_interpolates_model_curves(eleven_models):
    rows = []
    for k in range(1, 11):  # ten models seen on days 2 and 22 only
        rows += history_rows(f"org/k{k:02d}", "2026-01-01T00:00:00Z", [(2, 10 * k), (22, 30 * k)])
    rows += history_rows("org/late", "2026-01-11T00:00:00Z", [(12, 500)])  # seen on day 12 only
    r = M.relative_adoption(make_history(rows))
    # day 12: each k-model interpolated to 10k + (30k - 10k) * 10/20 = 20k -> 20..200, plus late 500
    values = sorted([20 * k for k in range(1, 11)] + [500], reverse=True)
    assert values[9] == 40
    late = r.rows[r.rows["id"] == "org/late"].iloc[0]
    assert late["day"] == 12 and late["reference"] == pytest.approx(40) and late["ram"] == pytest.approx(500 / 40)
    first = r.rows[(r.rows["id"] == "org/k05") & (r.rows["day"] == 2)].iloc[0]
    assert first["reference"] == pytest.approx(10)  # only the ten k-models at day 2: smallest is 10


def test_relative_adoption_reference_interpolated_across_days():
    rows = (
        history_rows("o/A", "2026-01-01T00:00:00Z", [(0, 100), (10, 200)])
        + history_rows("o/B", "2026-01-01T00:00:00Z", [(0, 50), (10, 150)])
        + history_rows("o/C", "2026-01-01T00:00:00Z", [(20, 300), (30, 500)])
        + history_rows("o/D", "2026-01-01T00:00:00Z", [(20, 250), (30, 450)])
        + history_rows("o/E", "2026-01-01T00:00:00Z", [(15, 120)])
    )
    r = M.relative_adoption(make_history(rows), rank=2)
    # 2nd largest: day 10 -> 150, day 15 -> only E (undefined), day 20 -> 250
    expected_reference = 150 + (250 - 150) * (15 - 10) / (20 - 10)
    e = r.rows[r.rows["id"] == "o/E"].iloc[0]
    assert e["reference"] == pytest.approx(expected_reference)
    assert e["ram"] == pytest.approx(120 / expected_reference)


def test_relative_adoption_reference_made_monotonic():
    rows = (
        history_rows("o/A", "2026-01-01T00:00:00Z", [(0, 100), (10, 90)])   # cumulative fell: anomaly
        + history_rows("o/B", "2026-01-01T00:00:00Z", [(0, 80), (10, 70)])
    )
    r = M.relative_adoption(make_history(rows), rank=2)
    a10 = r.rows[(r.rows["id"] == "o/A") & (r.rows["day"] == 10)].iloc[0]
    assert a10["reference"] == pytest.approx(max(80, 70))  # raw 70 < 80 on day 0: kept at 80
    assert a10["ram"] == pytest.approx(90 / 80)


def test_relative_adoption_missing_values_and_small_classes(eleven_models):
    extra = make_history(
        history_rows("org/noparams", "2026-01-01T00:00:00Z", [(10, 5)], params=None)
        + history_rows("org/big", "2026-01-01T00:00:00Z", [(10, 5), (20, 9)], params=300_000_000_000)
        + history_rows("org/nodl", "2026-01-01T00:00:00Z", [(10, None)])
    )
    nodate = pd.DataFrame([{"snapshot_id": "s10", "fetched_at": pd.Timestamp("2026-01-11T01:00:00Z"),
                            "id": "org/nodate", "created_at": pd.NaT, "downloads_all_time": 3,
                            "params_total": 2_000_000_000}])
    same_day = eleven_models[(eleven_models["id"] == "org/m00") & (eleven_models["snapshot_id"] == "s10")].assign(
        snapshot_id="s10b", fetched_at=pd.Timestamp("2026-01-11T05:00:00Z"), downloads_all_time=150)
    history = pd.concat([eleven_models, extra, nodate, same_day], ignore_index=True)
    r = M.relative_adoption(history)
    c = r.coverage
    assert c["models"] == 11 + 4
    assert c["models_missing_params"] == 1 and c["models_missing_created_at"] == 1
    assert c["models_without_downloads_all_time"] == 1 and c["rows_missing_downloads_all_time"] == 1
    assert c["class_models"]["250B+"] == 1 and "250B+" in c["classes_below_rank"]
    assert c["rows_same_day_dropped"] == 1
    big = r.rows[r.rows["id"] == "org/big"]
    assert len(big) == 2 and big["reference"].isna().all() and big["ram"].isna().all()
    assert "org/noparams" not in set(r.rows["id"]) and "org/nodate" not in set(r.rows["id"])
    # m00's later same-day snapshot (150) is used: day 10 values 150, 200..1100 -> 10th largest 200
    m00 = r.rows[(r.rows["id"] == "org/m00") & (r.rows["day"] == 10)].iloc[0]
    assert m00["cumulative"] == 150 and m00["ram"] == pytest.approx(150 / 200)
    assert list(r.rows["size_class"].unique()) == ["1-9B", "250B+"]


def test_relative_adoption_empty_and_guards():
    empty = pd.DataFrame({
        "snapshot_id": pd.Series(dtype="string"), "fetched_at": pd.Series(dtype="datetime64[us, UTC]"),
        "id": pd.Series(dtype="string"), "created_at": pd.Series(dtype="datetime64[us, UTC]"),
        "downloads_all_time": pd.Series(dtype="Int64"), "params_total": pd.Series(dtype="Int64"),
    })
    r = M.relative_adoption(empty)
    assert r.rows.empty and list(r.rows.columns) == ["id", "size_class", "day", "cumulative", "reference", "ram"]
    assert r.coverage["models"] == 0 and r.coverage["classes_below_rank"] == ["<1B", "1-9B", "10-99B", "100-249B", "250B+"]
    with pytest.raises(ValueError, match="version"):
        M.relative_adoption(empty, version=3)


# --------------------------------------------------------------------------- top models


def test_top_models_ties_and_missing():
    df = models_frame([
        {"id": "b/two", "downloads": 50, "likes": 1, "org": "B", "bloc": "US", "created_at": "2026-01-02T03:04:05Z"},
        {"id": "a/one", "downloads": 50, "likes": 2, "org": "A", "bloc": "CN"},
        {"id": "c/big", "downloads": 99, "likes": None, "org": "C", "bloc": "EU"},
        {"id": "d/none", "downloads": None, "likes": 7},
    ])
    r = assert_unchanged(M.top_models, df, n=2)
    assert list(r.rows.columns) == ["id", "org", "bloc", "downloads_30d", "likes", "created_at"]
    assert list(r.rows["id"]) == ["c/big", "a/one"]
    every = M.top_models(df, n=15)
    assert list(every.rows["id"]) == ["c/big", "a/one", "b/two"]
    assert every.coverage["models_missing_downloads"] == 1
    assert M.top_models(models_frame([])).rows.empty


# --------------------------------------------------------------------------- registry and JSON


def test_metrics_registry_names():
    assert set(M.METRICS) == {
        "download-share", "period-downloads", "new-releases", "derivatives", "foundation-share",
        "concentration", "openness", "relative-adoption", "top-models", "definitions", "root-foundations",
        "origin-shares"}
    assert M.METRICS["download-share"] is M.download_share
    for name, func in M.METRICS.items():
        assert func.__doc__ and "missing" in func.__doc__.lower(), name


def test_to_json_download_share(share_models):
    out = M.to_json(M.download_share(share_models), "2026-08-01", "bloc")
    assert list(out) == ["metric", "snapshot", "by", "coverage", "rows"]
    assert out["metric"] == "download-share" and out["snapshot"] == "2026-08-01" and out["by"] == "bloc"
    assert len(out["rows"]) == 4
    us = next(r for r in out["rows"] if r["group"] == "US")
    assert us["downloads_30d"] == 300 and type(us["downloads_30d"]) is int
    assert us["share"] == pytest.approx(300 / 450)
    eu = next(r for r in out["rows"] if r["group"] == "EU")
    assert eu["downloads_30d"] is None and eu["share"] is None
    assert type(out["coverage"]["models"]) is int
    json.dumps(out, allow_nan=False)


def test_to_json_derivatives_and_timestamps(tree):
    models, derivs = tree
    out = M.to_json(M.derivatives(models, derivs), "snap")
    for r in out["rows"]:
        assert {"base", "finetune", "adapter", "quantized", "merge", "total"} <= set(r)
    assert out["by"] is None
    first = out["rows"][0]
    assert (first["base"], first["finetune"], first["total"]) == ("org/Base", 10, 19)
    assert first["listed_downloads_30d"] is None
    tops = M.to_json(M.top_models(models_frame([
        {"id": "a/x", "downloads": np.int64(5), "created_at": "2026-01-02T03:04:05Z", "org": "A", "bloc": "US"}])), "s")
    assert tops["rows"][0]["created_at"] == "2026-01-02T03:04:05Z"
    assert tops["rows"][0]["likes"] is None
    json.dumps(tops, allow_nan=False)
    assert M.to_json(M.new_releases(models_frame([{"id": "a/x", "created_at": "2026-01-02T00:00:00Z"}]),
                                    "2026-01-01", "2026-02-01"), "s")["rows"][0]["ids"] == ["a/x"]


def test_result_is_frozen(share_models):
    r = M.download_share(share_models)
    with pytest.raises(Exception):
        r.name = "x"


def test_every_metric_serialises_to_strict_json(share_models, two_snapshots, tree, lineage, eleven_models):
    earlier, later = two_snapshots
    models, derivs = tree
    rooted = M.with_roots(registry.attribute(conform(pd.DataFrame([
        {"id": "Qwen/Q", "snapshot_id": "s", "downloads": 5, "created_at": "2025-01-01T00:00:00Z"},
        {"id": "who/ft", "snapshot_id": "s", "downloads": None, "created_at": "2026-03-10T00:00:00Z",
         "base_models": ["Qwen/Q"], "base_relation": "finetune"}]))))
    results = [
        M.download_share(share_models), M.period_downloads(earlier, later),
        M.period_downloads(earlier, later, by="bloc"),
        M.new_releases(lineage, "2026-03-01", "2026-04-01"), M.derivatives(models, derivs),
        M.foundation_share(lineage, "2026-03-01", "2026-04-01", among="bloc"),
        M.concentration(share_models), M.openness(share_models), M.relative_adoption(eleven_models),
        M.top_models(share_models), M.definitions(share_models),
        M.root_foundations(rooted, "2026-03-01", "2026-04-01"), M.origin_shares(rooted),
    ]
    assert {r.name for r in results} == set(M.METRICS)
    for r in results:
        out = M.to_json(r, "2026-08-01")
        assert len(out["rows"]) == len(r.rows), r.name
        text = json.dumps(out, allow_nan=False)
        assert "NaN" not in text and "<NA>" not in text, r.name
        assert r.definition and isinstance(r.params, dict)


def test_derivatives_accept_arrays_from_parquet():
    # pyarrow reads list columns back as numpy arrays
    models = models_frame([{"id": "org/Base", "downloads": 5}])
    child = models_frame([{"id": "x/c", "downloads": 4, "base_relation": "adapter"}])
    child["base_models"] = pd.Series([np.array(["org/Base"], dtype=object)], dtype="object")
    r = M.derivatives(models, child, bases="org/Base")
    listed = r.rows[r.rows["source"] == "listed"].iloc[0]
    assert (listed["adapter"], listed["total"], listed["listed_downloads_30d"]) == (1, 1, 4)


def test_derivatives_by_base_prefers_the_hub_count_and_keeps_listed_figures():
    rows = pd.DataFrame([
        {"base": "a/x", "finetune": 3, "adapter": 1, "quantized": 0, "merge": 0, "total": 4,
         "source": "childrenModelCount", "listed_downloads_30d": pd.NA},
        {"base": "a/x", "finetune": 1, "adapter": 0, "quantized": 0, "merge": 0, "total": 1,
         "source": "listed", "listed_downloads_30d": 70},
        {"base": "b/y", "finetune": pd.NA, "adapter": pd.NA, "quantized": pd.NA, "merge": pd.NA, "total": pd.NA,
         "source": "childrenModelCount", "listed_downloads_30d": pd.NA},
        {"base": "b/y", "finetune": 0, "adapter": 0, "quantized": 2, "merge": 0, "total": 2,
         "source": "listed", "listed_downloads_30d": 9},
    ])
    one = M.derivatives_by_base(M.MetricResult("derivatives", rows, {"models": 2}, "d"))
    assert one.rows["base"].tolist() == ["a/x", "b/y"]
    a, b = one.rows.iloc[0], one.rows.iloc[1]
    assert (a["finetune"], a["total"], a["source"], a["listed_total"], a["listed_downloads_30d"]) == (
        3, 4, "childrenModelCount", 1, 70)
    assert (b["quantized"], b["total"], b["source"], b["listed_total"]) == (2, 2, "listed", 2)
    assert one.coverage == {"models": 2}
