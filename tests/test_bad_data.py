"""Bad values in the Hub's data are data problems: missing in the snapshot, never summed, never a crash.

Odd records are served by the replay Hub as they are and fetched with the real client
(``openbrief fetch``): a bad count or date becomes missing (never 0), a bad id leaves its
record out, each is listed under ``data_problems`` in ``snapshot.json``, and the fetch
succeeds (exit 0, never "source unavailable, retry"). Metrics on a table that already
holds a negative count leave it out and report it in their coverage.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import httpx2
import pandas as pd
import pytest

from clirun import assert_unchanged, clean_env, error_lines, one_clear_error, openbrief, run_main, tree
from openbrief import metrics
from openbrief.metrics import trends
from openbrief.hub import fetch  # noqa: F401 - fetch imported before capsys (it binds sys.stderr)
from openbrief.hub.client import DataProblems, parse_children
from openbrief.replay.recordings import model_tree_records, trending_day_records
from openbrief.replay import ReplayHub
from openbrief.store.schema import MODEL_COLUMNS, conform
from openbrief.store.snapshot import open_snapshot, write_snapshot

ORGS = "Acme,acme-labs,fan,quant,mix,Odd"
ODD = "Odd/model"

#: (field of the record, raw value, kind of data problem, column that must be missing)
BAD_VALUES = [
    ("downloads", -5, "negative-count", "downloads"),
    ("downloads", 2**70, "count-beyond-int64", "downloads"),
    ("downloads", 12.5, "non-integer-count", "downloads"),
    ("downloads", "12", "non-integer-count", "downloads"),
    ("downloads", True, "non-integer-count", "downloads"),
    ("downloadsAllTime", "abc", "non-integer-count", "downloads_all_time"),
    ("likes", -1, "negative-count", "likes"),
    ("createdAt", "yesterday", "unparsable-date", "created_at"),
    ("createdAt", "2026-13-45T00:00:00Z", "unparsable-date", "created_at"),
]


def odd_record(**fields) -> dict:
    return {"id": ODD, "author": "Odd", "downloads": 70, "downloadsAllTime": 700, "likes": 7,
            "createdAt": "2024-04-01T00:00:00.000Z", "tags": ["license:mit"], **fields}


def fetch_in_process(records, store, capsys):
    with ReplayHub(records, page_size=3) as hub:
        return run_main(["fetch", "--endpoint", hub.url, "--store", store, "--orgs", ORGS, "--quiet"], capsys)


def snapshot_of(out: str):
    snap = open_snapshot(Path(out.strip().splitlines()[-1]).parent)
    return snap, snap.models.set_index("id")


def assert_good_records_intact(models: pd.DataFrame, records: list[dict]) -> None:
    """Every served record with good values is in the snapshot with exactly its values."""
    for record in records:
        row = models.loc[record["id"]]
        for field, column in (("downloads", "downloads"), ("downloadsAllTime", "downloads_all_time"),
                              ("likes", "likes")):
            assert (pd.isna(row[column]) if field not in record else row[column] == record[field]), (record, column)
        created = record.get("createdAt")
        assert pd.isna(row["created_at"]) if created is None else row["created_at"] == pd.Timestamp(created)


# ---------------------------------------------------------------- fetch through the replay Hub

@pytest.mark.parametrize("field, raw, kind, column", BAD_VALUES)
def test_a_bad_value_becomes_missing_and_a_data_problem(field, raw, kind, column, hub_records, inproc, tmp_path,
                                                        capsys):
    code, out, err = fetch_in_process([*hub_records, odd_record(**{field: raw})], tmp_path / "store", capsys)
    assert code == 0, err
    assert "Traceback" not in err and not error_lines(err)
    snap, models = snapshot_of(out)
    assert pd.isna(models.loc[ODD, column])                         # missing, not 0
    untouched = {"downloads": 70, "downloads_all_time": 700, "likes": 7}
    untouched.pop(column, None)
    assert models.loc[ODD, list(untouched)].tolist() == list(untouched.values())
    assert snap.meta["data_problems"] == {
        "total": 1, "kinds": {kind: 1},
        "examples": [{"kind": kind, "id": ODD, "field": field, "raw": repr(raw)}],
    }
    assert_good_records_intact(models, hub_records)


def test_a_null_count_stays_missing_and_is_no_problem(hub_records, inproc, tmp_path, capsys):
    code, out, err = fetch_in_process([*hub_records, odd_record(downloads=None)], tmp_path / "store", capsys)
    assert code == 0, err
    snap, models = snapshot_of(out)
    assert pd.isna(models.loc[ODD, "downloads"]) and models.loc[ODD, "likes"] == 7
    assert snap.meta["data_problems"] == {"total": 0, "kinds": {}, "examples": []}


def test_a_record_with_an_invalid_id_is_left_out_not_a_reason_to_retry(hub_records, inproc, tmp_path, capsys):
    code, out, err = fetch_in_process([*hub_records, odd_record(id="Odd/bad model")], tmp_path / "store", capsys)
    assert code == 0, err
    snap, models = snapshot_of(out)
    assert "Odd/bad model" not in models.index
    assert snap.meta["data_problems"]["examples"] == [
        {"kind": "invalid-id", "id": None, "field": "id", "raw": "'Odd/bad model'"}]
    assert_good_records_intact(models, hub_records)


def test_every_bad_value_at_once_through_the_cli(hub_records, tmp_path):
    """As cron runs it: exit 0, one line about the data problems, no traceback; the snapshot lists them all."""
    odd = [odd_record(id=f"Odd/m{i}", **{field: raw}) for i, (field, raw, _, _) in enumerate(BAD_VALUES)]
    odd += [odd_record(id="Odd/bad model"), odd_record(id="Odd/nothing", downloads=None),
            odd_record(id="Odd/params", safetensors={"parameters": {"BF16": -3}, "total": -3})]
    (tmp_path / "hf").mkdir()
    with ReplayHub([*hub_records, *odd], page_size=4) as hub:
        run = openbrief("fetch", "--endpoint", hub.url, "--store", tmp_path / "store", "--orgs", ORGS, "--quiet",
                        env=clean_env(tmp_path / "hf"))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and not error_lines(run.stderr)
    assert [line for line in run.stderr.splitlines() if "data problems" in line] == [
        "openbrief fetch: data problems 11 (count-beyond-int64 1, invalid-id 1, negative-count 3, "
        "non-integer-count 4, unparsable-date 2): bad values are missing in the snapshot, left-out records and "
        "examples under data_problems in its snapshot.json"]
    snap, models = snapshot_of(run.stdout)
    problems = snap.meta["data_problems"]
    assert problems["kinds"] == {"count-beyond-int64": 1, "invalid-id": 1, "negative-count": 3,
                                 "non-integer-count": 4, "unparsable-date": 2}
    assert {"kind": "negative-count", "id": "Odd/params", "field": "safetensors.total", "raw": "-3"} \
        in problems["examples"]
    for i, (_, _, _, column) in enumerate(BAD_VALUES):
        assert pd.isna(models.loc[f"Odd/m{i}", column]), column
    assert pd.isna(models.loc["Odd/params", "params_total"])
    assert len(models) == len(hub_records) + len(odd) - 1       # all but the record with an invalid id
    # the Parquet file holds the missing values as nulls, never 0
    raw = pd.read_parquet(snap.path / "models.parquet").set_index("id")
    assert raw.loc[[f"Odd/m{i}" for i in range(3)], "downloads"].isna().all()


def test_a_listing_with_no_usable_record_is_bad_data_not_retry(inproc, tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    before = tree(store)
    with ReplayHub([odd_record(id="Odd/bad model"), odd_record(id="Odd/also bad")]) as hub:
        code, out, err = run_main(["fetch", "--endpoint", hub.url, "--store", store, "--orgs", "Odd", "--quiet"],
                                  capsys)
    assert code == 2
    line = one_clear_error(err)
    assert "no usable model" in line and "invalid-id 2" in line and "retrying will not help" in line, line
    assert_unchanged(before, tree(store), allowed_new=".partial")   # the fetch's own progress folder
    assert not list(store.glob("2*")) and not list(store.glob(".tmp-*"))


# ---------------------------------------------------------------- the replay Hub serves odd records unchanged

def test_the_replay_hub_serves_odd_values_as_they_are(hf_home):
    odd = [odd_record(id="Odd/negative", downloads=-5), odd_record(id="Odd/huge", downloads=2**70),
           odd_record(id="Odd/fraction", downloads=12.5), odd_record(id="Odd/text", downloads="abc"),
           odd_record(id="Odd/date", createdAt="yesterday", lastModified=5)]
    with ReplayHub(odd) as hub:
        for sort in ("downloads", "createdAt", "lastModified"):
            got = httpx2.get(f"{hub.url}/api/models", params={"sort": sort, "expand": ["downloads", "createdAt"]})
            assert got.status_code == 200
            assert {r["id"]: (r["downloads"], r["createdAt"]) for r in got.json()} == {
                r["id"]: (r["downloads"], r["createdAt"]) for r in odd}
        by_downloads = httpx2.get(f"{hub.url}/api/models", params={"sort": "downloads"}).json()
        assert [r["id"] for r in by_downloads] == ["Odd/huge", "Odd/date", "Odd/fraction", "Odd/negative",
                                                   "Odd/text"]   # text is no number: last, like a missing count
        assert httpx2.get(f"{hub.url}/api/models/Odd/date").json()["createdAt"] == "yesterday"


# ---------------------------------------------------------------- recordings

def test_recordings_keep_odd_values_as_recorded_and_missing_as_absent(tmp_path):
    trending = tmp_path / "2026-08-22.json"
    trending.write_text(json.dumps({"date": "2026-08-22", "fetched_at": "2026-08-22T09:00:00+09:00", "models": [
        {"id": "a/negative", "downloads": -5, "likes": None, "createdAt": "2026-01-01T00:00:00+00:00"},
        {"id": "a/odd", "downloads": 2**70, "likes": "12", "createdAt": 5, "lastModified": "yesterday"},
    ]}))
    assert trending_day_records(trending) == [
        {"id": "a/negative", "author": "a", "downloads": -5, "createdAt": "2026-01-01T00:00:00Z"},
        {"id": "a/odd", "author": "a", "likes": "12", "downloads": 2**70, "createdAt": 5,
         "lastModified": "yesterday"},
    ]
    tree_file = tmp_path / "tree.json"
    tree_file.write_text(json.dumps({"models": [
        {"model_id": "a/root", "metadata": json.dumps({"downloads": 12.5, "tags": [3, "base_model:finetune:x/y"]})},
    ]}))
    assert model_tree_records(tree_file) == [
        {"id": "a/root", "author": "a", "tags": [3, "base_model:finetune:x/y"], "downloads": 12.5,
         "baseModels": {"relation": "finetune", "models": [{"id": "x/y"}]}}]


@pytest.mark.parametrize("content, problem", [
    ({"models": ["a/b"]}, "models[0] is not a model object with an 'id'"),
    ({"models": [{"likes": 3}]}, "models[0] is not a model object with an 'id'"),
    ({"models": [{"id": 5}]}, "models[0] is not a model object with an 'id'"),
])
def test_recorded_items_without_an_id_are_reported_with_their_index(tmp_path, content, problem):
    path = tmp_path / "day.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=re.escape(f"{path}: {problem}")):
        trending_day_records(path)


def test_recorded_tree_items_without_readable_metadata_or_id_are_reported(tmp_path):
    for models, problem in (([{"model_id": "a/b", "metadata": "[1]"}], "not an object"),
                            (["a/b"], "no readable 'metadata'"),
                            ([{"metadata": "{}"}], "models[0] is not a model object with an 'model_id'")):
        path = tmp_path / "tree.json"
        path.write_text(json.dumps({"models": models}))
        with pytest.raises(ValueError, match=re.escape(problem)):
            model_tree_records(path)


def test_children_counts_with_bad_values_are_missing_and_recorded():
    problems = DataProblems()
    assert parse_children({"finetune": -1, "adapter": 2, "quantized": True, "merge": 0}, "a/b", problems) == \
        {"adapter": 2, "merge": 0, "total": None}
    assert parse_children({"finetune": 1, "adapter": 2, "quantized": 0, "merge": 0, "total": 2**70}, "a/b",
                          problems) == {"finetune": 1, "adapter": 2, "quantized": 0, "merge": 0, "total": 3}
    assert problems.kinds == {"negative-count": 1, "non-integer-count": 1, "count-beyond-int64": 1}
    assert [e["field"] for e in problems.examples] == [
        "childrenModelCount.finetune", "childrenModelCount.quantized", "childrenModelCount.total"]


# ---------------------------------------------------------------- metrics never sum an invalid count

@pytest.fixture
def table() -> pd.DataFrame:
    """A snapshot's attributed models table in which one model holds a negative download count."""
    df = pd.DataFrame({
        "snapshot_id": "20261120T000000Z",
        "id": ["a/x", "a/y", "b/z", "c/w", "c/missing", "c/negative"],
        "org": ["a", "a", "b", "c", "c", "c"],
        "bloc": ["US", "US", "CN", "EU", "EU", "EU"],
        "downloads": pd.array([100, 50, 300, 40, None, -1000], dtype="Int64"),
        "likes": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
        "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
        "license": ["mit", "mit", "llama3", None, "mit", "mit"],
        "fully_open": [True, False, False, False, False, True],
    })
    return df


def test_download_share_leaves_an_invalid_count_out_and_reports_it(table):
    got = metrics.download_share(table, by="bloc")
    valid = table[table["downloads"] >= 0]
    expected = (valid.groupby("bloc")["downloads"].sum() / valid["downloads"].sum()).to_dict()
    assert dict(zip(got.rows["group"], got.rows["share"])) == pytest.approx(expected)
    assert dict(zip(got.rows["group"], got.rows["downloads_30d"])) == valid.groupby("bloc")["downloads"].sum().to_dict()
    assert got.coverage["downloads_30d_total"] == 490
    assert got.coverage["models_with_invalid_downloads"] == 1
    assert got.coverage["models_missing_downloads"] == 1 and got.coverage["models_with_downloads"] == 4


def test_concentration_leaves_an_invalid_count_out_and_reports_it(table):
    got = metrics.concentration(table, by="org", k=(1,))
    valid = table[table["downloads"] >= 0]
    shares = valid.groupby("org")["downloads"].sum() / valid["downloads"].sum()
    assert got.rows.loc[0, "hhi"] == pytest.approx(((100 * shares) ** 2).sum())
    assert got.rows.loc[0, "top1_share"] == pytest.approx(shares.max())
    assert got.rows.loc[0, "downloads_30d"] == 490
    assert got.coverage["models_with_invalid_downloads"] == 1 and got.coverage["models_missing_downloads"] == 1


def test_top_models_and_openness_leave_an_invalid_count_out(table):
    top = metrics.top_models(table, n=10)
    assert list(top.rows["id"]) == ["b/z", "a/x", "a/y", "c/w"]
    assert top.coverage["models_with_invalid_downloads"] == 1 and top.coverage["models_missing_downloads"] == 1
    open_ = metrics.openness(table, by="bloc").rows.set_index("group")
    assert open_.loc["EU", "downloads_30d"] == 40 and open_.loc["EU", "osi_share"] == 0.0
    assert metrics.openness(table).coverage["models_with_invalid_downloads"] == 1


def test_invalid_counts_are_listed_and_appear_in_the_appendix_anomalies(table):
    assert metrics.invalid_counts(table).to_dict("records") == [
        {"id": "c/negative", "column": "downloads", "value": "-1000"}]
    earlier = table.assign(snapshot_id="20261113T000000Z",
                           downloads=pd.array([100, 50, 300, 40, None, 100], dtype="Int64"))
    odd = trends.anomalies(earlier, table)
    assert odd[["id", "kind", "measure"]].to_dict("records") == [
        {"id": "c/negative", "kind": "invalid-count", "measure": "downloads"}]   # not a "drop" of 1,100%
    assert "not a count" in odd.loc[0, "detail"] and odd.attrs["coverage"]["invalid-count"] == 1


def test_a_stored_negative_count_is_never_summed_by_the_export(inproc, tmp_path, capsys):
    """A Parquet snapshot already holding a negative count (older or hand-made): exported as if missing."""
    def frame(last):
        return conform(pd.DataFrame({
            "id": ["Qwen/a", "deepseek-ai/b", "meta-llama/c"], "namespace": ["Qwen", "deepseek-ai", "meta-llama"],
            "downloads": pd.array([500, 300, last], dtype="Int64"), "likes": pd.array([1, 1, 1], dtype="Int64"),
            "query": ["author=Qwen", "author=deepseek-ai", "author=meta-llama"],
        }), MODEL_COLUMNS)

    exported = {}
    for name, last in (("negative", -900), ("missing", None)):
        store = tmp_path / name
        write_snapshot(store, {"models": frame(last)}, {"endpoint": "hand-made"},
                       datetime(2026, 11, 20, tzinfo=timezone.utc))
        code, out, err = run_main(["metrics", "download-share", "--store", store, "--by", "country",
                                   "--format", "json"], capsys)
        assert code == 0, err
        exported[name] = json.loads(out)
    negative, missing = exported["negative"], exported["missing"]
    figures = ("group", "downloads_30d", "share", "models")
    assert [{k: r[k] for k in figures} for r in negative["rows"]] == [{k: r[k] for k in figures} for r in missing["rows"]]
    assert {r["group"]: r["share"] for r in negative["rows"]} == {"CN": 1.0, "US": None}
    assert negative["coverage"]["models_with_invalid_downloads"] == 1
    assert missing["coverage"]["models_with_invalid_downloads"] == 0
    assert negative["coverage"]["downloads_30d_total"] == 800
