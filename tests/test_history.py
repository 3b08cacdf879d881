"""History: snapshots read as one table, trends, anomalies and retention, on hand-built stores."""
import json
import logging
import shutil
import warnings
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from openbrief import metrics
from openbrief.store import history
from openbrief.store import retention
from openbrief.metrics import trends
from openbrief.store import snapshot
from openbrief.errors import LockedError, UsageError
from openbrief.store.schema import DERIVATIVE_COLUMNS, MODEL_COLUMNS


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def write(store, when, rows, derivatives=None):
    tables = {"models": pd.DataFrame(rows)}
    if derivatives is not None:
        tables["derivatives"] = pd.DataFrame(derivatives)
    return snapshot.write_snapshot(store, tables, {"endpoint": "https://hub.test"}, when)


def model(i, downloads=None, all_time=None, **extra):
    return {"id": i, "namespace": i.split("/")[0], "query": f"author={i.split('/')[0]}",
            "downloads": downloads, "downloads_all_time": all_time, **extra}


def one(rows, sid="S"):
    """A single-snapshot models table (no store), as movers/anomalies take them."""
    return pd.DataFrame(rows).assign(snapshot_id=sid)


@pytest.fixture
def store(tmp_path):
    """Three weekly snapshots, the second fetched at 10:00 on Monday 12 January 2026."""
    root = tmp_path / "store"
    write(root, utc(2026, 1, 5, 1, 0, 0), [model("Qwen/a", 10, 100, tags=["license:mit"]), model("mistralai/b", 5, 50)])
    write(root, utc(2026, 1, 12, 10, 0, 0), [model("Qwen/a", 20, 130), model("mistralai/b", None, None),
                                             model("meta-llama/c", 7, 7, base_models=["Qwen/a"])])
    write(root, utc(2026, 1, 19, 23, 59, 59), [model("Qwen/a", 30, 170, tags=["x", "y"])])
    return root


# --------------------------------------------------------------------------- load_history


def test_load_history_is_every_snapshot_as_one_table(store):
    snaps = snapshot.list_snapshots(store)
    got = history.load_history(store)
    assert list(got.columns) == list(MODEL_COLUMNS)
    assert got.dtypes.astype(str).to_dict() == MODEL_COLUMNS | {"base_models": "object", "tags": "object"}
    assert got["snapshot_id"].tolist() == [snaps[0].id] * 2 + [snaps[1].id] * 3 + [snaps[2].id]
    assert got["fetched_at"].is_monotonic_increasing
    expected = pd.concat([s.models for s in snaps], ignore_index=True)
    pdt.assert_frame_equal(got, expected)  # same values and dtypes as Snapshot.models, lists included
    assert got.loc[0, "tags"] == ["license:mit"] and got.loc[4, "base_models"] == ["Qwen/a"]
    assert got.loc[3, "downloads"] is pd.NA  # missing stays missing


def test_load_history_range_is_inclusive_and_accepts_dates_ids_and_times(store):
    ids = [s.id for s in snapshot.list_snapshots(store)]

    def loaded(**kw):
        return history.load_history(store, columns=["id"], **kw)["snapshot_id"].unique().tolist()

    assert loaded(start="2026-01-12") == ids[1:]                         # a date: from its first instant
    assert loaded(end=date(2026, 1, 12)) == ids[:2]                      # ... to its last
    assert loaded(end="2026-01-12") == ids[:2]
    assert loaded(start=ids[1], end=ids[1]) == [ids[1]]                  # snapshot ids, inclusive
    assert loaded(start=utc(2026, 1, 12, 10, 0, 0), end=utc(2026, 1, 19, 23, 59, 59)) == ids[1:]
    assert loaded(start=datetime(2026, 1, 12, 10, 0, 1)) == ids[2:]      # naive = UTC
    assert loaded(end=pd.Timestamp("2026-01-12T10:00:00.5Z")) == ids[:2]  # to the second
    # a row's own fetched_at (microseconds) as a bound finds its snapshot
    row_time = history.load_history(store, start=ids[1], end=ids[1])["fetched_at"].iloc[0]
    assert loaded(start=row_time, end=row_time) == [ids[1]]
    assert loaded(start="2026-02-01") == []
    with pytest.raises(ValueError, match="empty range"):
        history.load_history(store, start="2026-01-19", end="2026-01-05")
    with pytest.raises(ValueError, match="snapshot id"):
        history.load_history(store, start="last tuesday")


def test_load_history_reads_only_the_columns_asked(store, monkeypatch):
    asked = []
    real = history.pads.dataset

    def spy(*args, **kwargs):
        ds = real(*args, **kwargs)
        return type("Spy", (), {"to_table": lambda self, columns=None: (asked.append(columns), ds.to_table(columns=columns))[1]})()

    monkeypatch.setattr(history.pads, "dataset", spy)
    got = history.load_history(store, columns=["downloads", "id", "snapshot_id"])
    assert asked == [["snapshot_id", "fetched_at", "downloads", "id"]]
    assert list(got.columns) == ["snapshot_id", "fetched_at", "downloads", "id"]
    assert got.dtypes.astype(str).tolist() == ["string", "datetime64[us, UTC]", "Int64", "string"]
    assert got["downloads"].tolist()[:2] == [10, 5]
    with pytest.raises(ValueError, match="unknown column"):
        history.load_history(store, columns=["downloads", "downloads_7d"])
    with pytest.raises(ValueError, match="unknown table"):
        history.load_history(store, table="datasets")


def test_load_history_ignores_what_is_not_a_complete_snapshot(store, caplog):
    first = snapshot.list_snapshots(store)[0]
    # a write in progress, a removal in progress, a lookalike without snapshot.json, stray files
    shutil.copytree(first.path, store / ".tmp-20260120T000000Z-x1y2")
    shutil.copytree(first.path, store / ".trash-20260101T000000Z")
    (store / "20260121T000000Z").mkdir()
    shutil.copy(first.path / "models.parquet", store / "20260121T000000Z" / "models.parquet")
    (store / "notes").mkdir()
    (store / "README.txt").write_text("not a snapshot")
    # a damaged snapshot: snapshot.json says models.parquet, the file is gone
    damaged = store / "20260122T000000Z"
    shutil.copytree(first.path, damaged)
    meta = json.loads((damaged / "snapshot.json").read_text())
    (damaged / "snapshot.json").write_text(json.dumps({**meta, "snapshot_id": damaged.name,
                                                       "fetched_at": "2026-01-22T00:00:00Z"}))
    (damaged / "models.parquet").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning leaks into a notebook or a test's output
        with caplog.at_level(logging.INFO, logger="openbrief.store.history"):
            got = history.load_history(store, columns=["id"])
    assert got["snapshot_id"].nunique() == 3 and len(got) == 6
    why = [{"snapshot": "20260121T000000Z", "reason": "snapshot.json is missing"},
           {"snapshot": damaged.name, "reason": "models.parquet is missing"}]
    assert got.attrs["skipped"] == why == history.skipped_snapshots(store)
    assert [s.id for s in history.select_snapshots(store)] == sorted(set(got["snapshot_id"]))
    assert "20260122T000000Z is damaged (models.parquet is missing): skipped" in caplog.text
    assert history.load_history(store, end="2026-01-20", columns=["id"]).attrs["skipped"] == []  # out of range


def test_load_history_unifies_files_where_a_list_column_was_all_missing(tmp_path):
    write(tmp_path, utc(2026, 3, 1), [model("Qwen/a", 1, 1)])  # tags all None: written as Arrow 'null'
    write(tmp_path, utc(2026, 3, 8), [model("Qwen/a", 2, 2, tags=["a", "b"], base_models=["x/y"]), model("Qwen/b", 1, 1)])
    got = history.load_history(tmp_path, columns=["tags", "base_models"])
    assert got["tags"].tolist() == [None, ["a", "b"], None]
    assert got["base_models"].tolist() == [None, ["x/y"], None]


def test_load_history_of_derivatives_and_of_nothing(tmp_path, store):
    write(tmp_path, utc(2026, 3, 1), [model("Qwen/a", 1, 1)])
    later = write(tmp_path, utc(2026, 3, 8), [model("Qwen/a", 1, 1)],
                  derivatives=[{**model("fan/a-GGUF", 3, 3), "listed_base": "Qwen/a"}])
    got = history.load_history(tmp_path, table="derivatives")
    assert list(got.columns) == list(DERIVATIVE_COLUMNS)
    assert got["snapshot_id"].tolist() == [later.id] and got["listed_base"].tolist() == ["Qwen/a"]

    for empty in (history.load_history(tmp_path / "nowhere"),
                  history.load_history(store, start="2027-01-01", columns=["downloads"])):
        assert len(empty) == 0
    assert list(empty.columns) == ["snapshot_id", "fetched_at", "downloads"]
    assert empty.dtypes.astype(str).tolist() == ["string", "datetime64[us, UTC]", "Int64"]


# --------------------------------------------------------------------------- movers, new_to_top


def test_movers_up_and_down_with_ties_broken_by_id():
    earlier = one([
        {"id": "b/B", "downloads": 100}, {"id": "a/A", "downloads": 100}, {"id": "c/C", "downloads": 50},
        {"id": "e/E", "downloads": 400}, {"id": "d/D", "downloads": 200}, {"id": "f/F", "downloads": 100},
        {"id": "g/gone", "downloads": 9999}, {"id": "i/na", "downloads": None}, {"id": "j/crash", "downloads": 1000},
        {"id": "z/zero", "downloads": 0},
    ], "E")
    later = one([
        {"id": "a/A", "downloads": 300}, {"id": "b/B", "downloads": 300}, {"id": "c/C", "downloads": 60},
        {"id": "d/D", "downloads": 150}, {"id": "e/E", "downloads": 350}, {"id": "f/F", "downloads": 100},
        {"id": "h/new", "downloads": 5000}, {"id": "i/na", "downloads": 70}, {"id": "j/crash", "downloads": 100},
        {"id": "z/zero", "downloads": 5},
    ], "L")
    got = trends.movers(earlier, later, n=2)
    assert list(got.columns) == ["direction", "id", "downloads_before", "downloads_after", "change", "change_share"]
    assert got[["direction", "id", "change"]].values.tolist() == [
        ["up", "a/A", 200], ["up", "b/B", 200], ["down", "d/D", -50], ["down", "e/E", -50]]
    assert got["change_share"].tolist() == [2.0, 2.0, -0.25, -0.125]
    cov = got.attrs["coverage"]
    assert cov == {"models_compared": 7, "up": 4, "down": 2, "unchanged": 1, "only_in_earlier": 1,
                   "only_in_later": 1, "missing_downloads": 1, "anomalies_excluded": 1,
                   "earlier_snapshot": "E", "later_snapshot": "L", "n": 2}
    # a tie at the cut: the smaller id wins
    assert trends.movers(earlier, later, n=1)["id"].tolist() == ["a/A", "d/D"]
    # the crash (-90%) is an anomaly: listed by anomalies(), shown as a mover only when asked
    loose = trends.movers(earlier, later, n=1, exclude_anomalies=False)
    assert loose["id"].tolist() == ["a/A", "j/crash"]
    everything = trends.movers(earlier, later, n=10)
    assert everything.loc[everything["id"] == "z/zero", "change_share"].isna().all()  # from 0: no ratio
    assert trends.movers(earlier, later, n=0).empty
    with pytest.raises(ValueError, match="whole number"):
        trends.movers(earlier, later, n=-1)
    with pytest.raises(ValueError, match="mixes 2 snapshots"):
        trends.movers(pd.concat([earlier, later]), later)


def test_new_to_top():
    earlier = one([{"id": "x/1", "downloads": 900}, {"id": "x/2", "downloads": 800},
                   {"id": "x/3", "downloads": 100}, {"id": "x/4", "downloads": None}])
    later = one([{"id": "x/1", "downloads": 100}, {"id": "x/2", "downloads": 800},
                 {"id": "x/3", "downloads": 850}, {"id": "x/4", "downloads": None}, {"id": "x/5", "downloads": 850}])
    assert trends.new_to_top(earlier, later, n=2) == ["x/3", "x/5"]  # tie at 850: by id
    assert trends.new_to_top(earlier, later, n=3) == ["x/5"]  # x/3 was 3rd before
    assert trends.new_to_top(later, later, n=3) == []
    assert trends.new_to_top(earlier.iloc[:0], later, n=1) == ["x/3"]


# --------------------------------------------------------------------------- share over time, period


def test_share_over_time_is_download_share_per_snapshot(store):
    hist = history.load_history(store, columns=["id", "downloads"])
    hist["bloc"] = hist["id"].map({"Qwen/a": "CN", "mistralai/b": "EU", "meta-llama/c": None})
    got = trends.share_over_time(hist, by="bloc")
    assert list(got.columns)[:5] == ["fetched_at", "snapshot_id", "group", "downloads_30d", "share"]
    for sid, part in hist.groupby("snapshot_id", sort=False):
        expected = metrics.download_share(part, by="bloc").rows
        mine = got[got["snapshot_id"] == sid].drop(columns=["fetched_at", "snapshot_id"]).reset_index(drop=True)
        pdt.assert_frame_equal(mine[list(expected.columns)], expected)
        assert got.attrs["coverage"][sid] == metrics.download_share(part, by="bloc").coverage
    assert got["fetched_at"].is_monotonic_increasing
    first = got[got["snapshot_id"] == hist["snapshot_id"].iloc[0]]
    assert first.set_index("group")["share"].round(4).to_dict() == {"CN": 0.6667, "EU": 0.3333}
    assert trends.share_over_time(hist.iloc[:0]).empty


def test_share_over_time_in_one_pass_equals_download_share_per_snapshot():
    rng = np.random.default_rng(7)
    n = 3000
    hist = pd.DataFrame({
        "snapshot_id": rng.choice(["s1", "s2", "s3", "s4"], n),
        "id": [f"ns{i % 40}/m{i % 700}" for i in range(n)],  # duplicate ids within a snapshot
        "downloads": pd.array(rng.choice([None, -5, 0, 3, 50, 10_000], n), dtype="Int64"),
        "bloc": rng.choice(["CN", "US", "EU", None], n),
    })
    hist.loc[hist["snapshot_id"] == "s4", "downloads"] = pd.NA  # a snapshot with no count at all
    when = {"s1": "2026-01-08", "s2": "2026-01-01", "s3": "2026-01-15", "s4": "2026-01-01"}
    hist["fetched_at"] = pd.to_datetime(hist["snapshot_id"].map(when), utc=True)
    got = trends.share_over_time(hist, by="bloc")
    assert list(dict.fromkeys(got["snapshot_id"])) == ["s2", "s4", "s1", "s3"]  # by fetched_at, then id
    for sid, part in hist.groupby("snapshot_id"):
        expected = metrics.download_share(part, by="bloc")
        mine = got[got["snapshot_id"] == sid].drop(columns=["fetched_at", "snapshot_id"]).reset_index(drop=True)
        pdt.assert_frame_equal(mine[list(expected.rows.columns)], expected.rows.reset_index(drop=True))
        assert got.attrs["coverage"][sid] == expected.coverage
        assert got.attrs["definition"] == expected.definition


def test_share_over_time_with_the_shipped_registry(store):
    from openbrief.registry import attribute

    hist = attribute(history.load_history(store))
    got = trends.share_over_time(hist, by="bloc")
    last = got[got["snapshot_id"] == hist["snapshot_id"].iloc[-1]]
    assert last[["group", "share"]].values.tolist() == [["CN", 1.0]]
    with pytest.raises(ValueError, match="country"):
        trends.share_over_time(history.load_history(store), by="country")


def test_period_summary_is_period_downloads(store):
    a, b = (s.models for s in snapshot.list_snapshots(store)[:2])
    got = trends.period_summary(a, b, by=None)
    assert got.name == "period-downloads"
    pdt.assert_frame_equal(got.rows, metrics.period_downloads(a, b).rows)
    assert dict(zip(got.rows["id"], got.rows["status"])) == {"Qwen/a": "ok", "mistralai/b": "missing", "meta-llama/c": "new"}


# --------------------------------------------------------------------------- anomalies


def test_anomaly_rules():
    earlier = one([
        model("q/half", 100, 1000), model("q/more", 100, 1000), model("q/na-after", 100, None),
        model("q/na-before", None, 1000), model("q/from-zero", 0, 0), model("q/reset", 500, 1000),
        model("q/gone", 42, 4200), model("q/gone-na"), model("q/dup", 10, 10), model("q/dup", 10, 10),
        model("dropped-org/m", 7, 7),
    ], "E")
    later = one([
        model("q/half", 50, 1050), model("q/more", 49, 1049), model("q/na-after", None, 1000),
        model("q/na-before", 1, None), model("q/from-zero", 0, 0), model("q/reset", 500, 990),
        model("q/dup", 10, 10), model("q/new", 1, 1),
    ], "L")
    got = trends.anomalies(earlier, later)
    assert list(got.columns) == ["id", "kind", "detail", "before", "after", "measure", "earlier_snapshot", "later_snapshot"]
    assert got[["id", "kind", "before", "after"]].astype(object).where(got[["id", "kind", "before", "after"]].notna(), None).values.tolist() == [
        ["q/more", "drop>50%", 100, 49],                   # 51% fall; exactly 50% (q/half) is not one
        ["q/reset", "negative-cumulative", 1000, 990],
        ["q/gone", "vanished", 42, None],
        ["q/gone-na", "vanished", None, None],
    ]
    assert got.loc[0, "detail"] == "30-day downloads fell 51% (100 to 49)"
    assert got.loc[2, "detail"] == "absent from the later snapshot (deleted, renamed or gated)"
    assert set(got["earlier_snapshot"]) == {"E"} and set(got["later_snapshot"]) == {"L"}
    cov = got.attrs["coverage"]
    assert cov["not_queried"] == 1  # 'author=dropped-org' did not run in the later snapshot: not vanished
    assert (cov["drop>50%"], cov["negative-cumulative"], cov["vanished"]) == (1, 1, 2)
    # the queries the later snapshot ran, from its snapshot.json: the org was asked and had nothing
    asked = trends.anomalies(earlier, later, later_queries=["author=q", "author=dropped-org"])
    assert asked.loc[asked["kind"] == "vanished", "id"].tolist() == ["q/gone", "dropped-org/m", "q/gone-na"]
    assert asked.attrs["coverage"]["not_queried"] == 0


def test_missing_values_never_make_anomalies():
    earlier = one([model("q/a", None, None), model("q/b", 100, 100)])
    later = one([model("q/a", 0, 0), model("q/b", None, None)])
    assert trends.anomalies(earlier, later).empty
    # without a query column every absent model is vanished; without downloads_all_time nothing is negative
    bare = trends.anomalies(pd.DataFrame({"id": ["a", "b"], "downloads": [10, 10]}),
                             pd.DataFrame({"id": ["a"], "downloads": [4]}))
    assert bare[["id", "kind"]].values.tolist() == [["a", "drop>50%"], ["b", "vanished"]]


def test_history_anomalies_runs_over_consecutive_pairs(store):
    write(store, utc(2026, 1, 26), [model("Qwen/a", 3, 160)])  # -90% and a negative cumulative
    hist = history.load_history(store)
    got = trends.history_anomalies(hist)
    ids = [s.id for s in snapshot.list_snapshots(store)]
    # the third snapshot listed only author=Qwen: mistralai/b and meta-llama/c were not looked for
    assert got[["earlier_snapshot", "later_snapshot", "id", "kind"]].values.tolist() == [
        [ids[2], ids[3], "Qwen/a", "drop>50%"],
        [ids[2], ids[3], "Qwen/a", "negative-cumulative"],
    ]
    write(store, utc(2026, 2, 2), [model("Qwen/b", 1, 1)])  # Qwen/a is gone, its query ran
    got = trends.history_anomalies(history.load_history(store))
    assert got[["id", "kind"]].values.tolist()[-1] == ["Qwen/a", "vanished"]
    assert trends.history_anomalies(hist[hist["snapshot_id"] == ids[0]]).empty


# --------------------------------------------------------------------------- retention

# Mon 1 Jun 2026 is in ISO week 23, Mon 8 Jun in week 24, Mon 15 Jun in week 25.
TIMES = {
    "S1": utc(2026, 6, 1, 10), "S2": utc(2026, 6, 3, 10),                             # W23
    "S3": utc(2026, 6, 8, 10), "S4": utc(2026, 6, 10, 8), "S5": utc(2026, 6, 10, 20),  # W24
    "S6": utc(2026, 6, 11, 10),                                                        # W24
    "S7": utc(2026, 6, 15, 9), "S8": utc(2026, 6, 15, 18),                             # W25
}
ID = {k: snapshot.snapshot_id_for(v) for k, v in TIMES.items()}
NAME = {v: k for k, v in ID.items()}
NOW = utc(2026, 6, 16)


@pytest.fixture
def weeks(tmp_path):
    root = tmp_path / "store"
    for when in TIMES.values():
        write(root, when, [model("Qwen/a", 1, 1)])
    (tmp_path / "briefs").mkdir()
    return root, tmp_path / "briefs"


def manifest(briefs, folder, snapshot_id, **extra):
    path = briefs / folder
    path.mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"notebook": "weekly", "snapshot": {"id": snapshot_id},
                                                    "parameters": {"snapshot": snapshot_id}, **extra}))


def names(ids):
    return sorted(NAME[i] for i in ids)


@pytest.mark.parametrize("weekly, daily, kept", [
    (0, 0, ["S8"]),                            # the newest is always kept
    (0, 1, ["S8"]),
    (0, 2, ["S6", "S8"]),                      # days 15 Jun (S8, newer than S7), 11 Jun
    (0, 3, ["S5", "S6", "S8"]),                # ... 10 Jun: S5 (20:00), not S4 (08:00)
    (2, 0, ["S6", "S8"]),                      # W25 -> S8, W24 -> S6
    (3, 0, ["S2", "S6", "S8"]),                # W23 -> S2
    (3, 3, ["S2", "S5", "S6", "S8"]),
    (10, 10, ["S1", "S2", "S3", "S5", "S6", "S8"]),  # 6 days, 3 weeks have snapshots: S4, S7 go
])
def test_prune_plan_daily_and_weekly_rules(weeks, weekly, daily, kept):
    store, briefs = weeks
    plan = retention.prune_plan(store, briefs, keep_weekly=weekly, keep_daily=daily, now=NOW)
    assert names(plan.keep) == kept
    assert sorted(names(plan.keep) + names(plan.remove)) == sorted(TIMES)
    assert set(plan.reasons) == set(ID.values())
    assert plan.removed == [] and plan.dry_run


def test_prune_plan_reasons(weeks):
    store, briefs = weeks
    plan = retention.prune_plan(store, briefs, keep_weekly=3, keep_daily=2, now=NOW)
    assert plan.reasons[ID["S8"]] == ("newest snapshot; newest of UTC day 2026-06-15 (daily 1 of 2); "
                                      "newest of ISO week 2026-W25 (weekly 1 of 3)")
    assert plan.reasons[ID["S2"]] == "newest of ISO week 2026-W23 (weekly 3 of 3)"
    assert plan.reasons[ID["S7"]].startswith("not the newest of one of the last 2 UTC day(s) or 3 ISO week(s)")


def test_prune_plan_keeps_what_briefs_refer_to(weeks):
    store, briefs = weeks
    manifest(briefs, f"weekly-{ID['S1']}-20260601T120000Z", ID["S1"])
    manifest(briefs, f"archive/2026/weekly-{ID['S4']}-20260610T120000Z", ID["S4"])  # any depth
    manifest(briefs, "compare-x", ID["S6"], snapshots=[ID["S7"], {"id": ID["S2"]}])  # all it read
    manifest(briefs, f"_failed/weekly-{ID['S3']}", ID["S3"])  # failed builds protect nothing
    broken = briefs / f"weekly-{ID['S5']}-20260611T000000Z"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    plan = retention.prune_plan(store, briefs, keep_weekly=0, keep_daily=0, now=NOW)
    assert names(plan.keep) == ["S1", "S2", "S4", "S5", "S6", "S7", "S8"]
    assert names(plan.remove) == ["S3"]
    assert plan.reasons[ID["S1"]] == f"used by brief(s) weekly-{ID['S1']}-20260601T120000Z/manifest.json"
    assert len(plan.warnings) == 1 and "could not be read" in plan.warnings[0] and ID["S5"] in plan.warnings[0]


def test_prune_plan_now_and_no_briefs_folder(weeks):
    store, briefs = weeks
    plan = retention.prune_plan(store, briefs / "missing", keep_weekly=0, keep_daily=1, now=utc(2026, 6, 15, 12))
    # S8 was fetched after 'now': kept, not counted; S7 is then the newest
    assert names(plan.keep) == ["S7", "S8"]
    assert "after 2026-06-15T12:00:00Z" in plan.reasons[ID["S8"]]
    assert plan.reasons[ID["S7"]].startswith("newest snapshot")


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True, None])
def test_invalid_counts(weeks, bad):
    store, briefs = weeks
    for kwargs in ({"keep_weekly": bad, "keep_daily": 1}, {"keep_weekly": 1, "keep_daily": bad}):
        with pytest.raises(ValueError, match="whole number") as err:
            retention.prune_plan(store, briefs, **kwargs)
        assert isinstance(err.value, UsageError)  # exit code 2 in the CLI
        with pytest.raises(ValueError):
            retention.prune(store, briefs, **kwargs)
    assert len(snapshot.list_snapshots(store)) == len(TIMES)


def test_dry_run_removes_nothing(weeks):
    store, briefs = weeks
    before = sorted(p.name for p in store.iterdir())
    plan = retention.prune(store, briefs, keep_weekly=1, keep_daily=1, dry_run=True, now=NOW)
    assert names(plan.remove) == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"] and plan.removed == []
    assert sorted(p.name for p in store.iterdir()) == before
    assert plan.summary().splitlines()[0].startswith("would remove 7 snapshot(s)")


def test_prune_removes_by_the_rule(weeks):
    store, briefs = weeks
    manifest(briefs, f"weekly-{ID['S3']}-x", ID["S3"])
    (store / ".tmp-20260616T000000Z-abc").mkdir()            # a fetch's temporary folder: not ours
    (store / ".trash-20260101T000000Z").mkdir()               # left by an interrupted prune: cleaned
    plan = retention.prune(store, briefs, keep_weekly=2, keep_daily=1, now=NOW)
    assert not plan.dry_run
    assert names(plan.removed) == ["S1", "S2", "S4", "S5", "S7"] == names(plan.remove)
    assert names(s.id for s in snapshot.list_snapshots(store)) == ["S3", "S6", "S8"]
    assert sorted(p.name for p in store.iterdir() if p.name.startswith(".")) == [".lock", ".tmp-20260616T000000Z-abc"]
    text = plan.summary()
    assert text.splitlines()[0].startswith("removed 5 snapshot(s)")
    assert f"removed {ID['S1']}: not the newest" in text and f"kept {ID['S3']}: used by brief(s)" in text
    assert set(history.load_history(store, columns=["id"])["snapshot_id"]) == {ID["S3"], ID["S6"], ID["S8"]}
    # pruning again with the same rule removes nothing
    assert retention.prune(store, briefs, keep_weekly=2, keep_daily=1, now=NOW).removed == []


def test_prune_waits_for_locks(weeks):
    store, briefs = weeks
    with snapshot.store_lock(store):
        with pytest.raises(LockedError, match="store"):
            retention.prune(store, briefs, keep_weekly=0, keep_daily=0, lock_timeout=0)
    from filelock import FileLock

    with FileLock(str(briefs / ".lock")):  # a brief is being built
        with pytest.raises(LockedError, match="briefs folder"):
            retention.prune(store, briefs, keep_weekly=0, keep_daily=0, lock_timeout=0)
    assert len(snapshot.list_snapshots(store)) == len(TIMES)
