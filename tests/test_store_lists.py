"""A loaded snapshot's list columns (issue 15): the same cells as the old reader, each distinct list once.

``store.snapshot.read_parquet`` builds ``base_models``, ``tags`` and ``listed_by`` without a
Python object per row: rows holding equal lists share one list object. These tests compare every
cell and every other column with the reader as it was (written out here), on files of every shape
the store has held, and check the sharing.
"""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openbrief.store import snapshot
from openbrief.store.schema import DERIVATIVE_COLUMNS, INT64_MAX, MODEL_COLUMNS, conform, to_arrow
from openbrief.store.snapshot import LIST_COLUMNS, read_parquet

WHEN = datetime(2026, 8, 22, 1, 15, 24, tzinfo=timezone.utc)

#: Lists of every awkward kind: empty, empty text, null elements, the text "None", control
#: characters (a separator would be one), other scripts, order and repetition.
ODD_LISTS = [
    [], [""], ["", ""], ["a"], ["a", "b"], ["b", "a"], ["a", "a"], ["a", None], [None], [None, None], ["None"],
    ["x\x1fy"], ["x", "y"], ["\x00"], ["\x00", ""], ["日本語", "emoji 🙂"], ["license:mit", "region:us"],
    ["ab"], ["a", "b", "c" * 300],
]


def old_read(path, columns):
    """``read_parquet`` as it was before issue 15: pandas reads the file, each list cell is rebuilt
    (``[str(x) for x in v]``), and times are cast by ``to_datetime`` (as ``conform`` did)."""
    if not path.exists():
        return conform(pd.DataFrame(), columns)
    df = pd.read_parquet(path)
    for col in ("base_models", "tags", "listed_by"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: None if v is None else [str(x) for x in v])
    out = conform(df, columns)
    for name, dtype in columns.items():
        if dtype.startswith("datetime64") and name in df.columns:
            out[name] = pd.to_datetime(df[name], utc=True, errors="coerce").astype(dtype).reset_index(drop=True)
    return out


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same columns, dtypes (time zone object included) and values; list cells equal, of the same types."""
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    lists = [c for c in LIST_COLUMNS if c in want.columns]
    pd.testing.assert_frame_equal(got.drop(columns=lists), want.drop(columns=lists), check_exact=True)
    for name, dtype in want.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            assert repr(got[name].dtype.tz) == repr(dtype.tz), name
    for name in lists:
        for row, (a, b) in enumerate(zip(got[name], want[name])):
            assert type(a) is type(b) and a == b, (name, row, a, b)
            assert a is None or all(type(x) is str for x in a), (name, row, a)


def arrow_cells(path, name) -> list:
    """The cells of a list column as Arrow holds them (null elements as None)."""
    return pq.read_table(path, columns=[name])[name].to_pylist()


def write_ours(path, frame, columns=MODEL_COLUMNS, **options):
    """A file as ``write_snapshot`` writes one (conformed, our Arrow schema, pandas metadata)."""
    conform(frame, columns).to_parquet(path, index=False, schema=to_arrow(columns), **options)
    return path


def many_rows(n=3000, seed=15):
    """``n`` rows drawing their lists from ``ODD_LISTS`` (and missing cells), counts with gaps."""
    rng = np.random.default_rng(seed)
    pool = [*ODD_LISTS, None]

    def pick():  # each cell a list of its own, as the fetch makes them
        return [None if (v := pool[i]) is None else list(v) for i in rng.integers(0, len(pool), n)]

    return pd.DataFrame({
        "snapshot_id": "20260822T011524Z",
        "fetched_at": pd.Timestamp(WHEN),
        "id": [f"org{i % 7}/m{i}" for i in range(n)],
        "namespace": [None if i % 11 == 0 else f"org{i % 7}" for i in range(n)],
        "created_at": [None if i % 5 == 0 else pd.Timestamp(WHEN) - pd.Timedelta(hours=i) for i in range(n)],
        "downloads": [None if i % 3 == 0 else i for i in range(n)],
        "params_total": [INT64_MAX if i % 13 == 0 else None if i % 2 else i * 1000 for i in range(n)],
        "gated": [None if i % 4 else "manual" for i in range(n)],
        "tags": pick(), "base_models": pick(), "listed_by": pick(),
    })


def test_every_cell_is_what_the_old_reader_gave_on_files_as_we_write_them(tmp_path):
    path = write_ours(tmp_path / "models.parquet", many_rows(), row_group_size=700)  # several row groups
    assert pq.ParquetFile(path).metadata.num_row_groups > 1
    assert_same(read_parquet(path, MODEL_COLUMNS), old_read(path, MODEL_COLUMNS))
    derivatives = write_ours(tmp_path / "derivatives.parquet", many_rows(500, seed=3).assign(listed_base="a/b"),
                             DERIVATIVE_COLUMNS)
    assert_same(read_parquet(derivatives, DERIVATIVE_COLUMNS), old_read(derivatives, DERIVATIVE_COLUMNS))


def test_a_null_element_reads_as_the_text_None_as_it_always_did(tmp_path):
    path = write_ours(tmp_path / "m.parquet", pd.DataFrame({"id": ["a/1", "a/2"], "tags": [["x", None], ["None"]]}))
    assert arrow_cells(path, "tags") == [["x", None], ["None"]]  # the file holds a null, not text
    got = read_parquet(path, MODEL_COLUMNS)
    assert list(got["tags"]) == list(old_read(path, MODEL_COLUMNS)["tags"])
    assert got["tags"][0][1] == str(None) and got["tags"][1] == [str(None)]


@pytest.mark.parametrize("name, cells, typ", [
    ("list<null>", [None, [], [None], [None, None], []], pa.list_(pa.null())),
    ("null", [None, None, None], pa.null()),
    ("large_list<large_string>", [["a"], None, [], ["a"], ["", None]], pa.large_list(pa.large_string())),
])
def test_old_list_types_read_as_before(tmp_path, name, cells, typ):
    n = len(cells)
    table = pa.table({"id": [f"o/{i}" for i in range(n)], "downloads": pa.array([1, None] * (n // 2) + [3] * (n % 2)),
                      "tags": pa.array(cells, type=typ), "listed_by": pa.array(cells, type=typ)})
    pq.write_table(table, tmp_path / "old.parquet")  # no pandas metadata: written by another tool
    assert pq.read_schema(tmp_path / "old.parquet").field("tags").type == typ
    got = read_parquet(tmp_path / "old.parquet", MODEL_COLUMNS)
    assert_same(got, old_read(tmp_path / "old.parquet", MODEL_COLUMNS))
    assert got["base_models"].isna().all()  # absent from the file


def test_a_file_without_list_columns_and_an_empty_file(tmp_path):
    table = pa.table({"id": ["a/1", "b/2", None], "downloads": [1, None, 3],
                      "created_at": pa.array([1, None, 2], pa.timestamp("ms"))})  # naive, in ms: an older writer
    pq.write_table(table, tmp_path / "plain.parquet")
    got = read_parquet(tmp_path / "plain.parquet", MODEL_COLUMNS)
    assert_same(got, old_read(tmp_path / "plain.parquet", MODEL_COLUMNS))
    assert got[list(LIST_COLUMNS)].isna().all().all() and len(got) == 3
    empty = write_ours(tmp_path / "empty.parquet", pd.DataFrame(columns=list(MODEL_COLUMNS)))
    assert_same(read_parquet(empty, MODEL_COLUMNS), old_read(empty, MODEL_COLUMNS))
    missing = tmp_path / "absent.parquet"
    assert_same(read_parquet(missing, MODEL_COLUMNS), old_read(missing, MODEL_COLUMNS))


def test_rows_holding_equal_lists_share_one_list_object(tmp_path):
    path = write_ours(tmp_path / "models.parquet", many_rows(), row_group_size=700)
    got = read_parquet(path, MODEL_COLUMNS)
    for name in LIST_COLUMNS:
        held = arrow_cells(path, name)
        groups: dict[tuple, set[int]] = {}
        for row, cell in enumerate(held):
            if cell is None:
                assert got[name][row] is None
            else:
                groups.setdefault(tuple(cell), set()).add(id(got[name][row]))
        assert all(len(objects) == 1 for objects in groups.values()), name  # one object per distinct list ...
        assert len(set().union(*groups.values())) == len(groups), name  # ... and one distinct list per object
        assert len(groups) < len(held) / 10  # (there is sharing to see)


def test_rebuilding_one_cell_leaves_the_rows_sharing_its_list_alone(tmp_path):
    path = write_ours(tmp_path / "models.parquet", many_rows())
    got, want = read_parquet(path, MODEL_COLUMNS), old_read(path, MODEL_COLUMNS)
    row = next(i for i, v in enumerate(want["tags"]) if v == ["a", "b"])
    sharing = [i for i, v in enumerate(got["tags"]) if v is got["tags"][row] and i != row]
    assert sharing
    got.at[row, "tags"] = got.at[row, "tags"] + ["extra"]
    assert got.at[row, "tags"] == ["a", "b", "extra"]
    assert all(got.at[i, "tags"] == ["a", "b"] for i in sharing)
    changed = got["tags"].map(lambda v: v if v is None else [*v, "more"])  # a whole column rebuilt
    assert_same(got.drop(index=row).reset_index(drop=True), want.drop(index=row).reset_index(drop=True))
    assert changed[sharing[0]] == ["a", "b", "more"] and got.at[sharing[0], "tags"] == ["a", "b"]


def test_a_snapshot_reads_back_what_was_written(tmp_path):
    frame = many_rows(400)
    snap = snapshot.write_snapshot(tmp_path, {"models": frame, "derivatives": frame.assign(listed_base="org1/m1")},
                                   {"endpoint": "http://e"}, WHEN)
    assert_same(snap.models, old_read(snap.path / "models.parquet", MODEL_COLUMNS))
    assert_same(snap.derivatives, old_read(snap.path / "derivatives.parquet", DERIVATIVE_COLUMNS))
    for name in LIST_COLUMNS:  # and what was written is what the frame held
        want = [None if v is None else [str(x) for x in v] for v in frame[name]]
        assert list(snap.models[name]) == want


def test_conform_keeps_a_time_column_that_already_has_its_dtype(tmp_path):
    times = pd.Series(pd.to_datetime(["2026-08-22T01:15:24Z", None]).as_unit("us"))
    from_arrow = pa.table({"created_at": pa.array(times)}).to_pandas()["created_at"]  # as a file reads
    for col in (times, from_arrow):
        out = conform(pd.DataFrame({"created_at": col}, copy=False))["created_at"]
        cast = pd.to_datetime(col, utc=True, errors="coerce").astype(MODEL_COLUMNS["created_at"])
        pd.testing.assert_series_equal(out, cast, check_exact=True, check_names=False)
        assert repr(out.dtype.tz) == repr(cast.dtype.tz)
        assert np.shares_memory(out.array._ndarray, col.array._ndarray)  # not copied
