"""Issue 10, part B: every command checks a snapshot before computing on it, ids and fetch times
agree, and a resumed fetch says when it listed what.

Each case runs the real CLI (in-process, or in a subprocess where a traceback could hide) on a
private copy of the module's ``world`` store, or on small snapshots written here.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from clirun import copy_world, one_clear_error, openbrief, run_main, tree
from openbrief.hub import fetch
from openbrief.store import snapshot
from openbrief.errors import SourceError, UsageError
from openbrief.hub.client import Hub
from openbrief.replay import ReplayHub, parse_fault

WHEN = datetime(2026, 11, 20, 6, 0, 0, tzinfo=timezone.utc)


def _models(world) -> pd.DataFrame:
    return snapshot.open_snapshot(world.store, world.snapshot).models


def _rewrite_meta(folder: Path, **changes) -> None:
    """Change ``snapshot.json`` as a tool that does not know openbrief would (files untouched)."""
    meta = json.loads((folder / "snapshot.json").read_text())
    (folder / "snapshot.json").write_text(json.dumps({**meta, **changes}))


def _refused(argv, capsys, store: Path, briefs: Path | None = None) -> str:
    """Exit 2, one clear line, store and briefs folder as they were; return the line."""
    before = (tree(store), tree(briefs) if briefs else None)
    code, out, err = run_main(argv, capsys)
    assert code == 2, err
    line = one_clear_error(err)
    assert (tree(store), tree(briefs) if briefs else None) == before
    return line


# ---------------------------------------------------------------- verify before computing

def test_metrics_refuses_a_snapshot_whose_derivatives_are_gone(world, tmp_path, inproc, capsys):
    """It used to report foundation shares from the 8 models left instead of the 33 (exit 0)."""
    store, _ = copy_world(world, tmp_path)
    (store / world.snapshot / "derivatives.parquet").unlink()
    line = _refused(["metrics", "foundation-share", "--store", store], capsys, store)
    assert f"snapshot {world.snapshot}" in line and "derivatives.parquet is missing" in line
    assert "--snapshot ID" in line  # what to do


DAMAGED_META = {
    "not JSON": ('{"snapshot_id": ', "snapshot.json is not valid JSON"),
    "not an object": ("[1, 2]", "snapshot.json is not a JSON object"),
    "missing keys": ("{}", "snapshot.json names snapshot None"),
    "wrong id": (None, "snapshot.json names snapshot '20260101T000000Z'"),
    "no files": ("files", "snapshot.json does not list the snapshot's files"),
}


@pytest.mark.parametrize("kind", DAMAGED_META)
def test_a_damaged_snapshot_json_is_a_damaged_snapshot_not_a_crash(kind, world, tmp_path, inproc, capsys):
    store, briefs = copy_world(world, tmp_path)
    folder = store / world.snapshot
    text, reason = DAMAGED_META[kind]
    if text is None:
        _rewrite_meta(folder, snapshot_id="20260101T000000Z")
    elif text == "files":
        _rewrite_meta(folder, files={"../../outside.parquet": "0" * 64})
    else:
        (folder / "snapshot.json").write_text(text)

    code, out, err = run_main(["snapshots", "--store", store], capsys)
    assert (code, err) == (0, "")
    assert f"{world.snapshot}      damaged: {reason}" in out
    for argv in (["metrics", "download-share", "--store", store],
                 ["build", "weekly", "--store", store, "--briefs", briefs],
                 ["build", "weekly", "--store", store, "--briefs", briefs, "--snapshot", world.snapshot]):
        assert reason in _refused(argv, capsys, store, briefs)
    code, out, err = run_main(["registry", "unattributed", "--snapshot", "latest", "--store", store], capsys)
    assert code == 2 and reason in err and "Traceback" not in err


def test_the_real_cli_reports_a_damaged_snapshot_json_in_one_line(world, tmp_path):
    store, _ = copy_world(world, tmp_path)
    (store / world.snapshot / "snapshot.json").write_text("not json")
    run = openbrief("snapshots", "--store", store, env=world.env)
    assert (run.returncode, run.stderr) == (0, "")
    assert f"{world.snapshot}      damaged: snapshot.json is not valid JSON" in run.stdout
    for argv in (("snapshots", "verify"), ("metrics", "download-share")):
        run = openbrief(*argv, "--store", store, env=world.env)
        assert run.returncode == 2, run.stderr
        one_clear_error(run.stderr)
        assert "snapshot.json is not valid JSON" in run.stdout + run.stderr


def _deny_reads(monkeypatch, folder: Path) -> None:
    """What a snapshot folder without read permission does: its entries cannot be opened or stat'ed."""
    real_stat, real_read_text = Path.stat, Path.read_text

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "stat", lambda self, **kw: denied(self) if self.parent == folder
                        else real_stat(self, **kw))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **kw: denied(self) if self.parent == folder
                        else real_read_text(self, *a, **kw))


@pytest.mark.parametrize("how", ["chmod", "simulated"])
def test_an_unreadable_snapshot_folder_is_reported_not_a_crash(how, world, tmp_path, inproc, capsys, monkeypatch):
    if how == "chmod" and os.geteuid() == 0:
        pytest.skip("root reads a chmod 000 folder anyway; the 'simulated' case covers it")
    store, briefs = copy_world(world, tmp_path)
    folder = store / world.snapshot
    with monkeypatch.context() as patch:
        if how == "chmod":
            folder.chmod(0)
        else:
            _deny_reads(patch, folder)
        try:
            code, out, err = run_main(["snapshots", "--store", store], capsys)
            assert code == 0, err
            assert f"{world.snapshot}      damaged: snapshot.json cannot be read: Permission denied" in out
            for argv in (["metrics", "download-share", "--store", store],
                         ["build", "weekly", "--store", store, "--briefs", briefs]):
                code, out, err = run_main(argv, capsys)
                assert code == 2
                assert "snapshot.json cannot be read: Permission denied" in one_clear_error(err)
        finally:
            folder.chmod(0o700)  # so that the temporary folder can be removed


def test_metrics_on_a_models_parquet_pyarrow_cannot_read(world, tmp_path, inproc, capsys):
    """Junk where models.parquet was: refused, whether or not snapshot.json was made to match."""
    store, _ = copy_world(world, tmp_path)
    folder = store / world.snapshot
    junk = b"PAR1 not a parquet file PAR1"
    (folder / "models.parquet").write_bytes(junk)
    assert "models.parquet changed since it was written" in _refused(
        ["metrics", "top-models", "--store", store], capsys, store)
    meta = json.loads((folder / "snapshot.json").read_text())
    _rewrite_meta(folder, files={**meta["files"], "models.parquet": hashlib.sha256(junk).hexdigest()},
                  sizes={**meta["sizes"], "models.parquet": len(junk)})
    assert "models.parquet cannot be read" in _refused(["metrics", "top-models", "--store", store], capsys, store)


def test_latest_skips_a_damaged_newest_snapshot_and_says_so(world, tmp_path, inproc, capsys):
    store = tmp_path / "store"
    older = snapshot.write_snapshot(store, {"models": _models(world)}, {"endpoint": "e"}, WHEN)
    newer = snapshot.write_snapshot(store, {"models": _models(world)}, {"endpoint": "e"}, WHEN + timedelta(days=7))
    path = newer.path / "models.parquet"
    path.write_bytes(path.read_bytes()[:-100])  # cut short
    before = tree(store)
    code, out, err = run_main(["metrics", "top-models", "--store", store, "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["snapshot"] == older.id
    assert err.splitlines() == [f"openbrief: warning: skipped damaged snapshot {newer.id} (models.parquet changed "
                                f"since it was written ({path.stat().st_size:,} bytes, snapshot.json says "
                                f"{newer.meta['sizes']['models.parquet']:,}))"]
    assert tree(store) == before


def test_the_size_check_catches_a_truncated_file_without_hashing_and_hashes_once(tmp_path, world, monkeypatch):
    store = tmp_path / "store"
    snap = snapshot.write_snapshot(store, {"models": _models(world)}, {}, WHEN)
    hashed = []
    real = snapshot.sha256_file
    monkeypatch.setattr(snapshot, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))
    snapshot.open_snapshot(store, snap.id)
    snapshot.open_snapshot(store, "latest")
    assert hashed == ["models.parquet"]  # once per process, then cached
    with open(snap.path / "models.parquet", "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(UsageError, match=r"models.parquet changed since it was written \(100 bytes"):
        snapshot.open_snapshot(store, snap.id)
    assert hashed == ["models.parquet"]


def test_snapshots_verify_hashes_everything_and_exits_2_on_damage(world, tmp_path, inproc, capsys):
    store = tmp_path / "store"
    a = snapshot.write_snapshot(store, {"models": _models(world)}, {}, WHEN)
    b = snapshot.write_snapshot(store, {"models": _models(world)}, {}, WHEN + timedelta(days=1))
    code, out, err = run_main(["snapshots", "verify", "--store", store], capsys)
    assert (code, out.splitlines(), err) == (0, [f"{a.id}      ok", f"{b.id}      ok"], "")
    path = b.path / "models.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the sha256 tells
    path.write_bytes(bytes(data))
    code, out, err = run_main(["snapshots", "--store", store], capsys)  # the listing's check is cheap
    assert code == 0 and "damaged" not in out
    code, out, err = run_main(["snapshots", "verify", "--store", store], capsys)
    assert code == 2
    assert out.splitlines() == [f"{a.id}      ok",
                                f"{b.id}      damaged: models.parquet changed since it was written (sha256 mismatch)"]
    assert f"1 of 2 snapshot(s) in {store} are damaged ({b.id})" in one_clear_error(err)


# ---------------------------------------------------------------- ids and time agree

@pytest.mark.parametrize("n", [2, 10])
def test_snapshots_of_the_same_second_sort_as_written(n, world, tmp_path, inproc, capsys):
    store = tmp_path / "store"
    models = _models(world)
    written = [snapshot.write_snapshot(store, {"models": models}, {}, WHEN).id for _ in range(n)]
    assert written == sorted(written) == [s.id for s in snapshot.list_snapshots(store)]
    assert written[1] == f"{written[0]}-002"
    assert snapshot.open_snapshot(store, "latest").id == written[-1]
    code, out, err = run_main(["metrics", "top-models", "--store", store, "--format", "json"], capsys)
    assert (code, json.loads(out)["snapshot"]) == (0, written[-1]), err


def test_a_snapshot_written_second_within_the_same_second_is_still_later(world, tmp_path, inproc, capsys):
    """Two fetches that start in the same second and finish the other way round: the one written last
    is 'latest', and its rows are not 'earlier' than the previous one's (it used to fail every build
    with 'swap the arguments' until the next fetch)."""
    store = tmp_path / "store"
    models = _models(world)
    first = snapshot.write_snapshot(store, {"models": models}, {}, WHEN + timedelta(microseconds=700_000))
    second = snapshot.write_snapshot(store, {"models": models}, {}, WHEN + timedelta(microseconds=300_000))
    code, out, err = run_main(["metrics", "period-downloads", "--store", store, "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["snapshot"] == second.id
    for snap in (first, second):
        assert snap.meta["fetched_at"] == "2026-11-20T06:00:00Z"
        assert set(snap.models["fetched_at"]) == {pd.Timestamp(WHEN)}


def test_old_unpadded_ids_sort_by_number(world, tmp_path):
    store = tmp_path / "store"
    base = snapshot.write_snapshot(store, {"models": _models(world)}, {}, WHEN)
    for n in (2, 10):  # as openbrief wrote them before ids were zero-padded
        shutil.copytree(base.path, store / f"{base.id}-{n}")
        _rewrite_meta(store / f"{base.id}-{n}", snapshot_id=f"{base.id}-{n}")
    assert [s.id for s in snapshot.list_snapshots(store)] == [base.id, f"{base.id}-2", f"{base.id}-10"]
    assert snapshot.write_snapshot(store, {"models": _models(world)}, {}, WHEN).id == f"{base.id}-011"


def test_as_of_only_takes_times_a_snapshot_id_can_carry(replay_hub, tmp_path, inproc, capsys):
    """Year 999 used to be fetched into an id that no command could see; now: 1970 to now only."""
    store = tmp_path / "store"
    for as_of in ("0999-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00"):
        line = _refused(["fetch", "--as-of", as_of, "--store", store, "--endpoint", replay_hub.url, "--orgs", "Acme"],
                        capsys, store)
        assert "--as-of" in line and as_of in line
        assert not store.exists()
    code, out, err = run_main(["fetch", "--as-of", "1970-01-01T00:00:00Z", "--store", store, "--endpoint",
                               replay_hub.url, "--orgs", "Acme,fan", "--quiet"], capsys)
    assert code == 0, err
    code, out, err = run_main(["snapshots", "--store", store], capsys)
    assert code == 0 and out.splitlines()[1].startswith("19700101T000000Z      1970-01-01T00:00:00Z")


# ---------------------------------------------------------------- resume is honest

ORGS = ["Acme", "fan", "quant"]
FETCH = ["--orgs", ",".join(ORGS), "--top-n", "1", "--derivative-bases", "0"]


@pytest.fixture
def failed_fetch(hub_records, inproc, fast_backoff, tmp_path):
    """A fetch that lists Acme (after the Hub refuses one expand), then fails on fan: (hub, store, .partial).

    The Hub's fault is spent by then: the next run succeeds.
    """
    store = tmp_path / "store"
    with ReplayHub(hub_records, page_size=3, faults=[parse_fault("models:3-99:500:times=6")]) as hub:
        with pytest.raises(SourceError):  # one worker, so that the six failures fall on fan's listing
            fetch.run(Hub(hub.url), fetch.Plan(ORGS, top_n=1, derivative_bases=0), store, concurrency=1)
        [partial] = [p for p in (store / ".partial").iterdir() if p.is_dir()]
        assert len(list(partial.glob("*.parquet"))) == 1  # Acme
        yield hub, store, partial


def _age(partial: Path, hours: float) -> str:
    """Make the saved listings ``hours`` old."""
    when = (datetime.now(timezone.utc) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for sidecar in partial.glob("*.json"):
        sidecar.write_text(json.dumps({"listed_at": when}))
    return when


def _meta(out: str) -> dict:
    return json.loads((Path(out.splitlines()[-1]) / "snapshot.json").read_text())


def test_resume_records_when_each_organisation_was_listed(failed_fetch, capsys):
    hub, store, partial = failed_fetch
    earlier = _age(partial, 2)  # a scheduler's retry, two hours later
    code, out, err = run_main(["fetch", "--resume", "--store", store, "--endpoint", hub.url, *FETCH], capsys)
    assert code == 0, err
    meta = _meta(out)
    assert sorted(meta["listed_at"]) == sorted(ORGS) and meta["listed_at"]["Acme"] == earlier
    assert meta["listed_at"]["fan"] > earlier
    assert meta["resumed"] == {"orgs": ["Acme"], "listed_between": [earlier, max(meta["listed_at"].values())]}
    code, out, err = run_main(["fetch", "--store", store, "--endpoint", hub.url, *FETCH], capsys)
    assert code == 0 and "resumed" not in _meta(out) and sorted(_meta(out)["listed_at"]) == sorted(ORGS)


def test_resume_refuses_a_stale_partial_listing(failed_fetch, capsys):
    hub, store, partial = failed_fetch
    when = _age(partial, 7)
    argv = ["fetch", "--store", store, "--endpoint", hub.url, *FETCH]
    line = _refused([*argv, "--resume"], capsys, store)
    assert f"listed from {when}, more than 6 hours ago" in line and "run without --resume" in line
    assert snapshot.list_snapshots(store) == []
    code, out, err = run_main(argv, capsys)  # as the message says
    assert code == 0, err
    assert "resumed" not in _meta(out)
