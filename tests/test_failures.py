"""Input/output failures, interrupted runs and file modes (issue 10).

Every case ends in one line ``openbrief: error: ...`` with its documented exit code (2 bad
input, 7 a write that failed, 128 + the signal for SIGINT/SIGTERM) and leaves the store and
the briefs folder as they were. Read-only folders are real: a read-only bind mount in a
private mount namespace (``unshare``); unwritable ones too: the run is another user's
(``setpriv``, when the tests run as root, since root writes through any mode).

Signals go to a real ``openbrief`` subprocess, started by a small script (``CHILD``) that
uses tiny notebooks whose cell sleeps, and makes Parquet writes into a temporary snapshot
folder hang, so that the signal arrives while a kernel runs or a snapshot is half-written.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from openbrief import render
from openbrief.cli.build import build as build_brief
from openbrief.hub import fetch
from openbrief.errors import ExecutionError
from openbrief.hub.client import Hub
from openbrief.replay.recordings import write_jsonl
from openbrief.store.snapshot import list_snapshots
from clirun import (
    FAILED_DIR,
    assert_unchanged,
    clean_env,
    copy_world,
    one_clear_error,
    published,
    run_main,
    temp_leftovers,
    tiny_notebooks,
    tree,
    wait_for,
)

pytestmark = pytest.mark.slow

REPLAY_ORGS = ("--orgs", "Acme,fan", "--top-n", "2", "--derivative-bases", "1")
STORE_SKIP = (".lock", ".partial")  # what a fetch may leave in the store: its lock, its progress for --resume

CHILD = '''\
"""openbrief's CLI with the tiny notebooks of argv[1]; a Parquet write into a temporary
snapshot folder writes argv[2] and then hangs."""
import sys
import time
from pathlib import Path

import pandas as pd

from openbrief import cli
from openbrief.cli import build

build.build.__kwdefaults__["notebooks_dir"] = Path(sys.argv[1])
marker = Path(sys.argv[2])
write = pd.DataFrame.to_parquet


def hanging_write(self, path, *args, **kwargs):
    write(self, path, *args, **kwargs)
    if Path(path).parent.name.startswith(".tmp-"):
        marker.write_text(str(path))
        time.sleep(600)


pd.DataFrame.to_parquet = hanging_write
sys.exit(cli.main(sys.argv[3:]))
'''


def start_child(tmp_path: Path, argv: list, env: dict) -> tuple[subprocess.Popen, Path]:
    """``openbrief ARGV`` through ``CHILD`` (stderr in ``child.err``); its marker file says when
    the kernel runs the sleeping cell (it holds the kernel's pid) or a snapshot write hangs."""
    marker = tmp_path / "marker"
    notebooks = tiny_notebooks(tmp_path / "nb", "import os, pathlib, time\n"
                                                f"pathlib.Path({str(marker)!r}).write_text(str(os.getpid()))\n"
                                                "time.sleep(600)")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with open(tmp_path / "child.err", "w") as err:
        run = subprocess.Popen([sys.executable, script, notebooks, marker, *map(str, argv)], env=env,
                               stdout=subprocess.DEVNULL, stderr=err)
    return run, marker


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


# ---------------------------------------------------------------- 1. bad paths and arguments: exit 2

@pytest.mark.parametrize("argv, fragment", [
    (["fetch", "--orgs", "Acme", "--store", "FILE"], "the store FILE is a file, not a folder"),
    (["fetch", "--orgs", "Acme", "--store", "FILE/sub"], "the store FILE/sub is inside the file FILE"),
    (["build", "weekly", "--store", "FILE", "--briefs", "BRIEFS"], "the store FILE is a file, not a folder"),
    (["build", "weekly", "--store", "STORE", "--briefs", "FILE"], "the briefs folder FILE is a file, not a folder"),
    (["build", "weekly", "--store", "STORE", "--briefs", "FILE/sub"], "the briefs folder FILE/sub is inside the file"),
    (["snapshots", "--store", "FILE"], "the store FILE is a file, not a folder"),
], ids=["fetch --store file", "fetch --store file/sub", "build --store file", "build --briefs file",
        "build --briefs file/sub", "snapshots --store file"])
def test_a_file_named_as_the_store_or_briefs_folder_is_bad_input(argv, fragment, world, tmp_path, inproc, capsys):
    file, briefs = tmp_path / "a-file", tmp_path / "briefs"
    file.write_text("not a folder\n")
    names = {"FILE": str(file), "STORE": str(world.store), "BRIEFS": str(briefs)}
    before = tree(world.store)
    code, out, err = run_main([names.get(a, a.replace("FILE/", f"{file}/")) for a in argv], capsys)
    assert code == 2, err
    assert fragment.replace("FILE", str(file)) in one_clear_error(err)
    assert file.read_text() == "not a folder\n" and not briefs.exists()
    assert tree(world.store) == before


@pytest.mark.parametrize("kind, fragment", [("folder", "is a folder"), ("not UTF-8", "is not UTF-8 text (byte 7)")])
def test_a_params_file_that_is_a_folder_or_not_utf8_is_bad_input(kind, fragment, world, tmp_path, inproc, capsys):
    params_file = tmp_path / "params.yml"
    if kind == "folder":
        params_file.mkdir()
    else:
        params_file.write_bytes(b"title: \xff\xfe\n")
    briefs = tmp_path / "briefs"
    before = tree(world.store)
    code, out, err = run_main(["build", "weekly", "--params-file", params_file, "--store", world.store,
                               "--briefs", briefs], capsys)
    assert code == 2, err
    assert f"parameters file {params_file} {fragment}" in one_clear_error(err)
    assert not briefs.exists() and tree(world.store) == before


@pytest.mark.parametrize("argv, fragment", [
    (["--port", "99999"], "argument --port: '99999' must be a whole number between 0 and 65535"),
    (["--port", "IN_USE"], "cannot serve on 127.0.0.1:IN_USE: Address already in use"),
    (["--page-size", "0"], "argument --page-size: '0' must be a whole number between 1"),
], ids=["port out of range", "port in use", "page size 0"])
def test_replay_hub_refuses_a_bad_port_or_page_size(argv, fragment, replay_hub, hub_records, tmp_path, capsys):
    data = write_jsonl(hub_records, tmp_path / "records.jsonl")
    in_use = replay_hub.url.rsplit(":", 1)[1]
    code, out, err = run_main(["replay-hub", data, *(in_use if a == "IN_USE" else a for a in argv)], capsys)
    assert code == 2, err
    assert fragment.replace("IN_USE", in_use) in one_clear_error(err)
    assert out == ""


# ---------------------------------------------------------------- 2. folders that cannot be written: exit 7

def read_only(folder: Path) -> list[str]:
    """A command prefix: run in a private mount namespace where ``folder`` is a read-only bind mount."""
    userns = ["--map-root-user"] if os.geteuid() != 0 else []
    return ["unshare", *userns, "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder)]


def as_another_user(folder: Path) -> list[str]:
    """A command prefix: run as an account that may read ``folder`` (mode 0555) but not write into it."""
    folder.chmod(0o555)
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []


@pytest.fixture
def open_tmp():
    """A temporary folder every account may read and enter (``tmp_path`` is 0700: root's only)."""
    path = Path(tempfile.mkdtemp(prefix="openbrief-failures-"))
    path.chmod(0o755)
    yield path
    for folder in path.rglob("*"):
        if folder.is_dir():
            folder.chmod(0o755)
    shutil.rmtree(path)


@pytest.mark.parametrize("how, why", [(read_only, "is on a read-only file system"),
                                      (as_another_user, "is not writable")], ids=["read-only", "unwritable"])
@pytest.mark.parametrize("command, locked", [("fetch", "store"), ("build", "briefs"), ("build --live", "store")])
def test_a_store_or_briefs_folder_that_cannot_be_written_is_a_write_failure(
        command, locked, how, why, world, replay_hub, open_tmp):
    store, briefs = copy_world(world, open_tmp)
    hf_home = open_tmp / "hf_home"
    hf_home.mkdir()
    folder, other = (store, briefs) if locked == "store" else (briefs, store)
    other.chmod(0o777)  # only ``folder`` is in the way, whoever runs
    prefix = how(folder)
    if how is read_only and subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("no read-only bind mount here (unshare --mount is not permitted)")
    before_store, before_briefs = tree(store), tree(briefs)
    argv = {"fetch": ["fetch", "--endpoint", replay_hub.url, *REPLAY_ORGS],
            "build": ["build", "weekly"],
            "build --live": ["build", "weekly", "--live", "--endpoint", replay_hub.url, *REPLAY_ORGS]}[command]
    folders = ["--store", store] + (["--briefs", briefs] if command != "fetch" else [])
    run = subprocess.run([*prefix, sys.executable, "-m", "openbrief", *argv, *folders, "--quiet"],
                         env=clean_env(hf_home), capture_output=True, text=True, timeout=300)
    assert run.returncode == 7, run.stderr
    assert f"cannot write into the {'store' if locked == 'store' else 'briefs folder'} {folder}: {folder} {why}" \
        in one_clear_error(run.stderr)
    assert tree(store) == before_store and tree(briefs) == before_briefs
    assert replay_hub.requests == [], "nothing is fetched into a store that cannot take it"


# ---------------------------------------------------------------- 3. interrupted runs: exit 128 + signal

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_build_keeps_its_notebook_in_failed_and_stops_the_kernel(signum, world, tmp_path):
    store, briefs = copy_world(world, tmp_path)
    before_store, before_briefs = tree(store), tree(briefs)
    run, marker = start_child(tmp_path, ["build", "weekly", "--store", store, "--briefs", briefs, "--quiet"],
                              world.env)
    try:
        wait_for(lambda: marker.exists() and marker.read_text(), 300, "the kernel to run the sleeping cell")
        kernel = int(marker.read_text())
        run.send_signal(signum)
        code = run.wait(timeout=120)
    finally:
        run.kill()
    name = signal.Signals(signum).name
    err = (tmp_path / "child.err").read_text()
    assert code == 128 + signum, err
    assert f"stopped by {name}" in one_clear_error(err)
    assert not running(kernel), "the kernel was shut down"
    assert temp_leftovers(briefs, store) == []
    assert_unchanged(before_briefs, tree(briefs), allowed_new="_failed")
    assert published(briefs) == [briefs / world.pdf.parent.name] and tree(store) == before_store
    (failed,) = (briefs / "_failed").iterdir()
    assert FAILED_DIR.fullmatch(failed.name)
    assert sorted(p.name for p in failed.iterdir()) == ["error.txt", "weekly.ipynb"]
    assert (failed / "error.txt").read_text() == f"Interrupted: {name}\n"
    executed = nbformat.read(failed / "weekly.ipynb", as_version=4)  # as far as it got: parameters injected
    assert any("injected-parameters" in cell.metadata.get("tags", []) for cell in executed.cells)


def test_sigterm_during_a_fetch_removes_the_half_written_snapshot(world, replay_hub, hf_home, tmp_path):
    store, _ = copy_world(world, tmp_path)
    before = tree(store, skip=STORE_SKIP)
    run, marker = start_child(tmp_path, ["fetch", "--endpoint", replay_hub.url, "--store", store, *REPLAY_ORGS,
                                         "--quiet"], clean_env(hf_home))
    try:
        wait_for(marker.exists, 300, "the fetch to write its snapshot")
        assert temp_leftovers(store), "the snapshot is half-written"
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=120)
    finally:
        run.kill()
    err = (tmp_path / "child.err").read_text()
    assert code == 143, err
    assert "stopped by SIGTERM" in one_clear_error(err)
    assert temp_leftovers(store) == [] and tree(store, skip=STORE_SKIP) == before
    assert [s.id for s in list_snapshots(store)] == [world.snapshot]


def test_a_run_removes_temporary_folders_older_than_a_day_and_keeps_fresh_ones(
        world, replay_hub, tmp_path, inproc, monkeypatch, capsys):
    store, briefs = copy_world(world, tmp_path)
    two_days_ago = time.time() - 2 * 24 * 3600
    for folder in (store, briefs):
        (folder / ".tmp-x" / "half").mkdir(parents=True)
        os.utime(folder / ".tmp-x", (two_days_ago, two_days_ago))
        (folder / ".tmp-fresh").mkdir()  # another run's, in progress
    monkeypatch.setitem(build_brief.__kwdefaults__, "notebooks_dir", tiny_notebooks(tmp_path / "nb"))
    code, out, built = run_main(["build", "weekly", "--store", store, "--briefs", briefs, "--quiet"], capsys)
    assert code == 0, built
    code, out, fetched = run_main(["fetch", "--endpoint", replay_hub.url, "--store", store, *REPLAY_ORGS, "--quiet"],
                                  capsys)
    assert code == 0, fetched
    for folder, log in ((briefs, built), (store, fetched)):
        assert not (folder / ".tmp-x").exists() and (folder / ".tmp-fresh").is_dir()
        assert f"removed {folder / '.tmp-x'}" in log


# ---------------------------------------------------------------- 4. modes follow the umask

@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)],
                         ids=["umask 022", "umask 077"])
def test_snapshots_briefs_and_failed_runs_are_created_with_the_users_umask(
        umask, folder_mode, file_mode, replay_hub, tmp_path, inproc):
    store, briefs = tmp_path / "store", tmp_path / "briefs"
    previous = os.umask(umask)
    try:
        snap = fetch.run(Hub(replay_hub.url), fetch.Plan(["Acme", "fan"], top_n=2, derivative_bases=1), store)
        pdf = build_brief("weekly", {}, briefs_dir=briefs, store=store, notebooks_dir=tiny_notebooks(tmp_path / "nb"))
        with pytest.raises(ExecutionError):
            build_brief("weekly", {}, briefs_dir=briefs, store=store,
                         notebooks_dir=tiny_notebooks(tmp_path / "broken", "1 / 0"))
    finally:
        os.umask(previous)
    (failed,) = (briefs / "_failed").iterdir()
    for folder in (snap.path, pdf.parent, failed.parent, failed):
        assert stat.S_IMODE(folder.stat().st_mode) == folder_mode, folder
    files = [*snap.path.iterdir(), *pdf.parent.iterdir(), *failed.iterdir()]
    assert sorted(p.name for p in files) == sorted(["derivatives.parquet", "models.parquet", "snapshot.json",
                                                    "weekly.ipynb", "weekly.pdf", "manifest.json",
                                                    "weekly.ipynb", "error.txt"])
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert modes == dict.fromkeys(modes, oct(file_mode))
