"""Unattended runs a scheduler can trust (issue 7): secrets, paths, locks, full disks,
never overwriting, exit codes, ``--quiet``, and the scheduling examples in ``examples/``.

Most tests drive the real CLI in a subprocess against the replay Hub, as cron would.
A few drive ``openbrief.cli.main`` / ``cli.build.build`` / ``fetch.run`` in-process so that a
fault (a write that raises ENOSPC, a renderer that raises) can be injected with monkeypatch;
those use a tiny stand-in notebook (``tiny_notebooks``) so that only the machinery around
the kernel is under test, not the weekly analysis (which the subprocess tests execute).

Every real build runs with a token-shaped ``HF_TOKEN`` in the environment and another
token-shaped value in ``$HF_HOME/token``; no artifact or log may ever contain either.
"""
from __future__ import annotations

import json
import os
import py_compile
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from filelock import FileLock

from openbrief import cli, render
from openbrief.render import publishing
from openbrief.cli.build import build as build_brief
from openbrief.hub import fetch
from openbrief.render import params
from openbrief.store import snapshot as snapshot_mod
from openbrief.errors import RenderError, SourceError, WriteError
from openbrief.hub.client import Hub
from openbrief.replay import ReplayHub
from openbrief.store.snapshot import ID_PATTERN, REPO_ROOT, list_snapshots, verify

pytestmark = pytest.mark.slow

EXAMPLES = REPO_ROOT / "examples"


from clirun import (  # shared CLI test helpers
    ENV_TOKEN,
    FILE_TOKEN,
    TOKEN_SHAPE,
    BRIEF_DIR,
    FAILED_DIR,
    FETCH_ARGS,
    STAGE_LINE,
    enospc,
    openbrief,
    popen,
    must,
    error_lines,
    one_clear_error,
    tree,
    temp_leftovers,
    assert_unchanged,
    published,
    assert_complete_brief,
    token_leaks,
    copy_world,
    tiny_notebooks,
    run_main,
    wait_for,
)


# ---------------------------------------------------------------- 1. secrets

def test_no_artifact_or_log_holds_a_token(world):
    meta = json.loads((world.store / world.snapshot / "snapshot.json").read_text())
    assert meta["authenticated"] is True, "the token was not in use: this test would prove nothing"
    searched = [p for f in (world.store, world.briefs, world.logs) for p in f.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in searched}
    assert {".parquet", ".json", ".ipynb", ".pdf", ".out", ".err"} <= kinds, kinds
    assert token_leaks(world.store, world.briefs, world.logs) == []
    for path in searched:  # nothing token-shaped in any text artifact either
        if path.suffix in (".json", ".ipynb", ".out", ".err"):
            assert not TOKEN_SHAPE.search(path.read_text()), path


def test_executed_notebook_gets_only_the_declared_parameters(world):
    folder = world.pdf.parent
    nb = nbformat.read(folder / "weekly.ipynb", as_version=4)
    injected = dict(nb.metadata["papermill"]["parameters"])
    assert set(injected) == {p.name for p in params.specs("weekly")}
    assert not [k for k in injected if "token" in k.lower()]
    assert not [v for v in injected.values() if TOKEN_SHAPE.search(str(v))]
    injected_cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert not TOKEN_SHAPE.search(injected_cell.source)
    manifest = assert_complete_brief(folder)
    assert manifest["parameters"] == injected


@pytest.mark.parametrize("argv", [
    ["-p", "token", ENV_TOKEN],
    ["-p", "hf_token", ENV_TOKEN],
    ["-p", "HF_TOKEN", ENV_TOKEN],
    ["--params-file", "PARAMS_FILE"],
    ["--token", ENV_TOKEN],
    ["--hf-token", ENV_TOKEN],
], ids=["-p token", "-p hf_token", "-p HF_TOKEN", "params-file token", "--token", "--hf-token"])
def test_a_token_is_never_accepted_as_a_parameter(argv, world, tmp_path, inproc, capsys):
    params_file = tmp_path / "params.yml"
    params_file.write_text(f"token: {ENV_TOKEN}\n")
    argv = [str(params_file) if a == "PARAMS_FILE" else a for a in argv]
    before = tree(world.store)
    code, out, err = run_main(["build", "weekly", "--store", world.store, "--briefs", tmp_path / "briefs", *argv],
                              capsys)
    assert code == 2
    line = one_clear_error(err)
    assert ("unknown parameter" if argv[0] in ("-p", "--params-file") else "unrecognized arguments") in line
    assert not (tmp_path / "briefs").exists() and tree(world.store) == before
    assert ENV_TOKEN not in out + err  # argparse echoes unknown arguments: the CLI redacts token-shaped ones


def test_kernels_see_no_credentials(tmp_path, inproc, monkeypatch):
    """The kernel gets neither the token variables nor the Hub's token file (it has no use for them)."""
    (inproc / "token").write_text(FILE_TOKEN)
    monkeypatch.setenv("HF_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", ENV_TOKEN)
    body = ("import os, huggingface_hub\n"
            "print('variables:', [k for k in ('HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_API_TOKEN') if os.environ.get(k)])\n"
            "print('token found:', huggingface_hub.get_token() is not None)\n"
            "print('HF_HOME:', os.environ.get('HF_HOME'))\n")
    source = tiny_notebooks(tmp_path / "nb", body) / "weekly.ipynb"
    nb = render.execute(source, tmp_path / "out.ipynb", params.defaults("weekly"), cwd=tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert f"HF_HOME: {inproc}" in text  # the kernel could have read the token file
    assert "variables: []" in text
    assert "token found: False" in text
    assert os.environ["HF_TOKEN"] == ENV_TOKEN and "HF_TOKEN_PATH" not in os.environ  # restored afterwards


@pytest.mark.parametrize("source", ["env", "file"])
def test_a_token_that_reaches_an_artifact_is_never_published(source, world, tmp_path, inproc, monkeypatch):
    """Belt and braces: a token smuggled in as a title is caught, and _failed/ keeps no copy of it."""
    token = ENV_TOKEN if source == "env" else FILE_TOKEN
    if source == "env":
        monkeypatch.setenv("HF_TOKEN", ENV_TOKEN)
    else:
        (inproc / "token").write_text(FILE_TOKEN)
    briefs = tmp_path / "briefs"
    with pytest.raises(RenderError, match="would contain a credential"):
        build_brief("weekly", {"title": token}, briefs_dir=briefs, store=world.store,
                     notebooks_dir=tiny_notebooks(tmp_path / "nb"))
    assert published(briefs) == [] and temp_leftovers(briefs) == []
    failed = [p for p in (briefs / "_failed").iterdir()]
    assert len(failed) == 1 and FAILED_DIR.fullmatch(failed[0].name)
    assert (failed[0] / "error.txt").is_file()
    assert token_leaks(briefs) == []


def test_failed_build_keeps_notebook_and_summary_without_token(world, tmp_path):
    """Exit 4: the kernel fails (the previous snapshot's data is corrupt). The executed notebook and a
    one-line error.txt land in _failed/, nothing is published, no token anywhere."""
    store, briefs = copy_world(world, tmp_path)
    logs = tmp_path / "logs"
    with ReplayHub(world.root / "records.jsonl", page_size=25) as hub:
        must(openbrief("fetch", "--endpoint", hub.url, "--store", store, "--quiet", *FETCH_ARGS, env=world.env,
                       log=logs / "fetch"))
    # junk with a snapshot.json made to match it: passes the checks, and is read only inside the kernel
    previous = store / world.snapshot
    (previous / "models.parquet").write_bytes(b"not parquet")
    meta = json.loads((previous / "snapshot.json").read_text())
    meta["files"]["models.parquet"] = snapshot_mod.sha256_file(previous / "models.parquet")
    meta["sizes"]["models.parquet"] = len(b"not parquet")
    (previous / "snapshot.json").write_text(json.dumps(meta))
    before = tree(briefs)
    run = openbrief("build", "weekly", "--store", store, "--briefs", briefs, env=world.env, log=logs / "build")
    assert run.returncode == 4, run.stderr
    line = one_clear_error(run.stderr)
    assert "failed in cell" in line and world.snapshot in line
    assert "_failed" in run.stderr  # says where the evidence is
    assert_unchanged(before, tree(briefs), allowed_new="_failed")
    (failed,) = (briefs / "_failed").iterdir()
    assert FAILED_DIR.fullmatch(failed.name)
    assert sorted(p.name for p in failed.iterdir()) == ["error.txt", "weekly.ipynb"]
    summary = (failed / "error.txt").read_text()
    assert summary.startswith("ExecutionError: ") and len(summary.splitlines()) == 1
    nb = nbformat.read(failed / "weekly.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    assert temp_leftovers(briefs, store) == []
    assert token_leaks(store, briefs, logs) == []


# ---------------------------------------------------------------- 2. paths

TOO_LONG = "x" * 500
PATH_CASES = {
    "snapshot ../../etc": ["weekly", "--snapshot", "../../etc"],
    "snapshot /etc/passwd": ["weekly", "--snapshot", "/etc/passwd"],
    "snapshot id/../..": ["weekly", "--snapshot", "20260101T000000Z/../.."],
    "snapshot id + newline": ["weekly", "--snapshot", "20260101T000000Z\n"],
    "snapshot id + suffix path": ["weekly", "--snapshot", "20260101T000000Z-2/x"],
    "snapshot empty": ["weekly", "--snapshot", ""],
    "-p snapshot": ["weekly", "-p", "snapshot", "../../etc"],
    "-p store": ["weekly", "-p", "store", "/tmp"],
    "params-file snapshot": ["weekly", "--params-file", "PARAMS_FILE"],
    "name ../weekly": ["../weekly"],
    "name /etc/passwd": ["/etc/passwd"],
    "name weekly.ipynb": ["weekly.ipynb"],
    "name we ekly": ["we ekly"],
    "name notebooks/weekly": ["notebooks/weekly"],
    "name weekly/../weekly": ["weekly/../weekly"],
    "name WEEKLY": ["WEEKLY"],
    "name empty": [""],
    "name explore (sandbox)": ["explore"],
    "-p ../top": ["weekly", "-p", "../top", "3"],
    "-p by ../country": ["weekly", "-p", "by", "../country"],
    "title newline": ["weekly", "-p", "title", "Weekly\n../../etc"],
    "title escape sequence": ["weekly", "-p", "title", "\x1b[2Jweekly"],
    "title 500 chars": ["weekly", "-p", "title", TOO_LONG],
    "title NUL": ["weekly", "-p", "title", "weekly\x00/etc"],
    "registry /etc/passwd": ["weekly", "-p", "registry", "/etc/passwd"],
    "registry missing": ["weekly", "-p", "registry", "../../nope.csv"],
}


@pytest.mark.parametrize("argv", PATH_CASES.values(), ids=PATH_CASES.keys())
def test_path_escapes_and_odd_values_are_refused(argv, world, tmp_path, inproc, capsys):
    params_file = tmp_path / "params.yml"
    params_file.write_text("snapshot: ../../etc\n")
    argv = [str(params_file) if a == "PARAMS_FILE" else a for a in argv]
    briefs = tmp_path / "briefs"
    before = tree(world.store)
    code, out, err = run_main(["build", *argv, "--store", world.store, "--briefs", briefs], capsys)
    assert code == 2, err
    one_clear_error(err)
    assert out == ""
    assert not briefs.exists(), "nothing may be written for a refused build"
    assert tree(world.store) == before
    assert [p for p in tmp_path.rglob("*") if p != params_file and inproc not in (p, *p.parents)] == []


def test_path_escapes_are_refused_by_the_real_cli(world, tmp_path):
    briefs = tmp_path / "briefs"
    for argv in (["weekly", "--snapshot", "../../etc"], ["../weekly"], ["weekly", "-p", "title", TOO_LONG]):
        run = openbrief("build", *argv, "--store", world.store, "--briefs", briefs, env=world.env)
        assert run.returncode == 2, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and run.stderr.startswith("openbrief: error:")
    assert not briefs.exists()


def test_brief_folders_are_named_only_from_validated_pieces(world, tmp_path, inproc):
    """A snapshot folder whose name only *looks* like an id (``$`` also matches before a trailing
    newline) is never taken for a snapshot: no kernel starts and no folder is named after it."""
    assert BRIEF_DIR.fullmatch(world.pdf.parent.name)
    assert world.pdf.parent.name.startswith(f"weekly-{world.snapshot}-")
    odd = "20261120T000000Z\n"
    assert ID_PATTERN.match(odd)  # the hole this test guards
    store = tmp_path / "store"
    shutil.copytree(world.store / world.snapshot, store / odd)
    briefs = tmp_path / "briefs"
    with pytest.raises(SourceError, match="holds no snapshot"):
        build_brief("weekly", {}, briefs_dir=briefs, store=store, notebooks_dir=tiny_notebooks(tmp_path / "nb"))
    assert not briefs.exists() or [p.name for p in briefs.iterdir()] in ([], [".lock"])


def test_damaged_snapshot_is_refused_before_any_kernel_starts(world, tmp_path, inproc, capsys):
    """A snapshot whose files changed since they were written (checksums in snapshot.json) is bad
    input (exit 2, one line), not a crash (it used to end in an ArrowInvalid traceback, exit 1)."""
    store = tmp_path / "store"
    shutil.copytree(world.store, store)
    (store / world.snapshot / "models.parquet").write_bytes(b"not parquet")
    briefs = tmp_path / "briefs"
    code, out, err = run_main(["build", "weekly", "--store", store, "--briefs", briefs], capsys)
    assert code == 2
    line = one_clear_error(err)
    assert world.snapshot in line and "models.parquet changed since it was written" in line
    assert not briefs.exists()


# ---------------------------------------------------------------- 3. locks and concurrency

def test_two_concurrent_builds_wait_their_turn_and_both_publish(world, tmp_path):
    """Both builds start while another run holds briefs/.lock: each says it waits, then both publish
    complete, distinct briefs; the earlier brief is untouched; a ../ in a title goes nowhere."""
    store, briefs = copy_world(world, tmp_path)
    before = tree(briefs)
    logs = tmp_path / "logs"
    holder = FileLock(str(briefs / ".lock"))
    holder.acquire()
    try:
        runs = [popen("build", "weekly", "--store", store, "--briefs", briefs, "--lock-timeout", "300", *extra,
                      env=world.env, log=logs / f"build{i}")
                for i, extra in enumerate([(), ("-p", "title", "../../../escaped")])]
        wait_for(lambda: all("waiting" in (logs / f"build{i}.err").read_text() for i in range(2)), 60,
                 "both builds to say that they wait for the lock")
        assert all(r.poll() is None for r in runs)
        assert published(briefs) == [briefs / world.pdf.parent.name]
    finally:
        holder.release()
    codes = [r.wait(timeout=400) for r in runs]
    errs = [(logs / f"build{i}.err").read_text() for i in range(2)]
    assert codes == [0, 0], errs
    pdfs = [Path((logs / f"build{i}.out").read_text().strip().splitlines()[-1]) for i in range(2)]
    assert pdfs[0].parent != pdfs[1].parent
    manifests = [assert_complete_brief(p.parent) for p in pdfs]
    assert all(m["snapshot"]["id"] == world.snapshot for m in manifests)
    assert manifests[1]["parameters"]["title"] == "../../../escaped"
    after = tree(briefs)
    assert {k: after[k] for k in before} == before
    assert sorted(p.name for p in published(briefs)) == sorted([world.pdf.parent.name, *(p.parent.name for p in pdfs)])
    assert not (briefs / "_failed").exists() and temp_leftovers(briefs, store) == []
    assert [p for p in tmp_path.rglob("*escaped*")] == []
    assert not (briefs / "../../../escaped").resolve().exists() and not (Path.cwd() / "../../../escaped").resolve().exists()
    assert token_leaks(briefs, logs) == []


def test_locked_briefs_folder_with_lock_timeout_0_refuses_at_once(world, tmp_path):
    store, briefs = copy_world(world, tmp_path)
    before = tree(briefs)
    with FileLock(str(briefs / ".lock")):
        started = time.monotonic()
        run = openbrief("build", "weekly", "--store", store, "--briefs", briefs, "--lock-timeout", "0", env=world.env)
        elapsed = time.monotonic() - started
    assert run.returncode == 6, run.stderr
    line = one_clear_error(run.stderr)
    assert "locked by another openbrief run" in line and str(briefs / ".lock") in line
    assert elapsed < 60
    assert tree(briefs) == before and temp_leftovers(briefs) == []


def test_two_concurrent_fetches_leave_only_complete_snapshots(world, tmp_path):
    store, _ = copy_world(world, tmp_path)
    before = tree(store, skip=(".lock", ".partial"))
    logs = tmp_path / "logs"
    with ReplayHub(world.root / "records.jsonl", page_size=25) as hub:
        # all the registry's namespaces (not --orgs): two runs that overlap for several seconds
        runs = [popen("fetch", "--endpoint", hub.url, "--store", store, "--quiet", "--top-n", "3",
                      "--derivative-bases", "1", env=world.env, log=logs / f"fetch{i}") for i in range(2)]
        codes = [r.wait(timeout=300) for r in runs]
    errs = [(logs / f"fetch{i}.err").read_text() for i in range(2)]
    # Never anything half-written, whatever the outcome:
    after = tree(store, skip=(".lock", ".partial"))
    assert {k: after[k] for k in before} == before
    assert temp_leftovers(store) == []
    snaps = list_snapshots(store)
    dirs = sorted(p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert sorted(s.id for s in snaps) == dirs
    assert all(verify(s) == [] and s.meta["rows"]["models"] > 0 for s in snaps)
    made = {Path((logs / f"fetch{i}.out").read_text().strip().splitlines()[-1]).name
            for i in range(2) if codes[i] == 0}
    assert made == {s.id for s in snaps} - {world.snapshot}
    assert token_leaks(store, logs) == []
    # Each run either succeeded or refused clearly:
    crashed = [e for c, e in zip(codes, errs) if c != 0 and ("Traceback" in e or len(error_lines(e)) != 1)]
    assert crashed == []
    assert all(c in (0, 6) for c in codes), errs
    assert codes.count(0) >= 1


# ---------------------------------------------------------------- 4. disk full

FETCH_PLAN = fetch.Plan(["Acme", "acme-labs", "fan", "quant", "mix"], top_n=3, derivative_bases=1,
                        derivatives_per_base=10)


def _full_disk_for_snapshot(where: str, monkeypatch) -> None:
    real_to_parquet, real_rename = pd.DataFrame.to_parquet, os.rename

    def to_parquet(self, path, *args, **kwargs):
        in_snapshot, in_partial = Path(path).parent.name.startswith(".tmp-"), ".partial" in Path(path).parts
        if (where == "parquet" and in_snapshot) or (where == "partial" and in_partial):
            Path(path).write_bytes(b"PAR1 half a file")  # the disk filled up mid-write
            raise enospc()
        return real_to_parquet(self, path, *args, **kwargs)

    def write_json(path, data):
        Path(path).write_text('{"snapshot_id": ')
        raise enospc()

    def rename(src, dst, *args, **kwargs):
        if Path(src).name.startswith(".tmp-"):
            raise enospc()
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    if where == "snapshot.json":
        monkeypatch.setattr(snapshot_mod, "_write_json", write_json)
    if where == "rename":
        monkeypatch.setattr(os, "rename", rename)


@pytest.mark.parametrize("where", ["parquet", "snapshot.json", "rename", "partial"])
def test_disk_full_during_a_fetch_leaves_the_store_unchanged(where, replay_hub, tmp_path, monkeypatch):
    store = tmp_path / "store"
    first = fetch.run(Hub(replay_hub.url), FETCH_PLAN, store)
    before = tree(store, skip=(".lock", ".partial"))
    _full_disk_for_snapshot(where, monkeypatch)
    with pytest.raises(Exception) as raised:
        fetch.run(Hub(replay_hub.url), FETCH_PLAN, store)
    monkeypatch.undo()
    assert tree(store, skip=(".lock", ".partial")) == before
    assert [s.id for s in list_snapshots(store)] == [first.id] and verify(first) == []
    assert temp_leftovers(store) == []
    assert isinstance(raised.value, WriteError), repr(raised.value)
    assert raised.value.exit_code == 7 and "unchanged" in str(raised.value)


def _full_disk_for_build(where: str, monkeypatch) -> None:
    import papermill.iorw
    from openbrief.render import pdf

    def failing(*args, **kwargs):
        raise enospc()

    def manifest(work, *args, **kwargs):
        (Path(work) / "manifest.json").write_text('{"notebook": ')
        raise enospc()

    if where == "notebook":  # papermill saving the executed notebook
        monkeypatch.setattr(papermill.iorw.LocalHandler, "write", failing)
    elif where == "pdf":
        monkeypatch.setattr(pdf, "_atomic_write", failing)
    elif where == "manifest":
        monkeypatch.setattr(publishing, "_write_manifest", manifest)
    elif where == "rename":  # every rename fails: the brief cannot be published nor kept in _failed/
        monkeypatch.setattr(os, "rename", failing)
    elif where == "workdir":  # not even the temporary folder can be made
        monkeypatch.setattr(snapshot_mod.tempfile, "mkdtemp", failing)


@pytest.mark.parametrize("where", ["workdir", "notebook", "pdf", "manifest", "rename"])
def test_disk_full_during_a_build_leaves_earlier_briefs_unchanged(where, world, tmp_path, inproc, monkeypatch):
    store, briefs = copy_world(world, tmp_path)
    before_briefs, before_store = tree(briefs), tree(store)
    _full_disk_for_build(where, monkeypatch)
    with pytest.raises(WriteError) as raised:
        build_brief("weekly", {}, briefs_dir=briefs, store=store, notebooks_dir=tiny_notebooks(tmp_path / "nb"))
    monkeypatch.undo()
    assert raised.value.exit_code == 7 and "earlier briefs are intact" in str(raised.value)
    assert "No space left on device" in str(raised.value)
    after = tree(briefs)
    assert_unchanged(before_briefs, after, allowed_new="_failed")
    assert tree(store) == before_store
    assert published(briefs) == [briefs / world.pdf.parent.name]
    assert temp_leftovers(briefs) == []
    assert not [k for k in after if k.endswith(".pdf") and k.startswith("_failed")]
    if where == "manifest":  # the executed notebook is kept for diagnosis, with the error
        (failed,) = (briefs / "_failed").iterdir()
        assert {"weekly.ipynb", "error.txt"} <= {p.name for p in failed.iterdir()}
        assert "No space left on device" in (failed / "error.txt").read_text()


# ---------------------------------------------------------------- 5. never overwriting

def test_builds_in_the_same_second_never_overwrite(world, tmp_path, inproc, monkeypatch):
    store, briefs = copy_world(world, tmp_path)
    earlier = tree(briefs)
    frozen = datetime(2026, 11, 23, 6, 0, 0, tzinfo=timezone.utc)

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(publishing, "datetime", FrozenClock)
    notebooks = tiny_notebooks(tmp_path / "nb")
    pdfs, hashes = [], []
    for title in ("first", "second", "third"):
        pdf = build_brief("weekly", {"title": title}, briefs_dir=briefs, store=store, notebooks_dir=notebooks)
        pdfs.append(pdf)
        hashes.append(tree(pdf.parent))
    base = f"weekly-{world.snapshot}-20261123T060000Z"
    assert [p.parent.name for p in pdfs] == [base, f"{base}-2", f"{base}-3"]
    for pdf, digest in zip(pdfs, hashes):  # each brief byte-identical after the later builds
        assert tree(pdf.parent) == digest
        assert json.loads((pdf.parent / "manifest.json").read_text())["built_at"] == "20261123T060000Z"
        assert_complete_brief(pdf.parent)
    after = tree(briefs)
    assert {k: after[k] for k in earlier} == earlier
    assert [json.loads((p.parent / "manifest.json").read_text())["parameters"]["title"] for p in pdfs] == \
        ["first", "second", "third"]


# ---------------------------------------------------------------- 6. exit codes

def test_exit_2_bad_parameter(world, tmp_path):
    run = openbrief("build", "weekly", "-p", "window", "0", "--store", world.store, "--briefs", tmp_path / "b",
                    env=world.env)
    assert run.returncode == 2
    assert "between 1 and 3660" in one_clear_error(run.stderr)


def test_exit_3_data_source_unavailable(world, tmp_path, inproc, fast_backoff, capsys):
    store, briefs = tmp_path / "store", tmp_path / "briefs"
    empty = openbrief("build", "weekly", "--store", store, "--briefs", briefs, env=world.env)
    assert empty.returncode == 3 and "holds no snapshot" in one_clear_error(empty.stderr)
    # in-process only so that the client's back-off (1+2+4+8+8 s) is instant; same code path as cron's
    code, out, err = run_main(["build", "weekly", "--live", "--endpoint", "http://127.0.0.1:9", "--timeout", "1",
                               "--quiet", *FETCH_ARGS, "--store", store, "--briefs", briefs], capsys)
    assert code == 3, err
    assert "127.0.0.1:9" in one_clear_error(err)
    assert fast_backoff, "the client did retry before giving up"
    assert list_snapshots(store) == [] and published(briefs) == []


# exit 4 (notebook execution failed): test_failed_build_keeps_notebook_and_summary_without_token


def test_exit_5_rendering_failed(world, tmp_path, inproc, monkeypatch, capsys):
    from openbrief.render import pdf

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts at all")

    monkeypatch.setattr(pdf, "notebook_to_pdf", broken)
    monkeypatch.setitem(build_brief.__kwdefaults__, "notebooks_dir", tiny_notebooks(tmp_path / "nb"))
    store, briefs = copy_world(world, tmp_path)
    before = tree(briefs)
    code, out, err = run_main(["build", "weekly", "--store", store, "--briefs", briefs], capsys)
    assert code == 5
    assert "rendering weekly.pdf failed: RuntimeError: no fonts at all" in one_clear_error(err)
    assert_unchanged(before, tree(briefs), allowed_new="_failed")
    (failed,) = (briefs / "_failed").iterdir()
    assert sorted(p.name for p in failed.iterdir()) == ["error.txt", "weekly.ipynb"]


def test_exit_6_locked(world, tmp_path):
    """See test_locked_briefs_folder_with_lock_timeout_0_refuses_at_once; this one waits briefly first."""
    store, briefs = copy_world(world, tmp_path)
    with FileLock(str(briefs / ".lock")):
        run = openbrief("build", "weekly", "--store", store, "--briefs", briefs, "--lock-timeout", "1", env=world.env)
    assert run.returncode == 6
    assert "locked by another openbrief run" in one_clear_error(run.stderr)


def test_exit_7_write_failed(world, replay_hub, tmp_path, inproc, monkeypatch, capsys):
    store, briefs = copy_world(world, tmp_path)
    monkeypatch.setitem(build_brief.__kwdefaults__, "notebooks_dir", tiny_notebooks(tmp_path / "nb"))

    def manifest(*args, **kwargs):
        raise enospc()

    monkeypatch.setattr(publishing, "_write_manifest", manifest)
    code, out, err = run_main(["build", "weekly", "--store", store, "--briefs", briefs], capsys)
    assert code == 7
    assert "No space left on device" in one_clear_error(err)

    _full_disk_for_snapshot("parquet", monkeypatch)
    code, out, err = run_main(["fetch", "--endpoint", replay_hub.url, "--store", store, "--orgs", "Acme,fan",
                               "--quiet"], capsys)
    assert code == 7
    assert "the store is unchanged" in one_clear_error(err)


# ---------------------------------------------------------------- 7. --quiet

def test_quiet_fetch_and_build_print_one_line_per_stage(world):
    for log in ("fetch", "build"):
        err = (world.logs / f"{log}.err").read_text()
        assert "\r" not in err and "it/s" not in err and "%|" not in err, err
    lines = (world.logs / "fetch.err").read_text().splitlines()
    assert all(STAGE_LINE.fullmatch(line) for line in lines), lines
    assert lines[0].startswith("openbrief fetch: plan: ")  # the plan states its requests before the first one
    stages = [line.split(": ", 1)[1].rsplit(" (", 1)[0] for line in lines[1:]]
    core = ["listing organisations", "counting derivatives", "listing derivatives"]
    assert [stage for stage in stages if stage in core] == core
    assert "listing the whole Hub's top models" in stages
    out = (world.logs / "fetch.out").read_text().splitlines()
    assert len(out) == 2 and out[0].startswith(f"snapshot {world.snapshot}:")
    lines = (world.logs / "build.err").read_text().splitlines()  # nothing else: no kernel chatter either
    assert lines and all(line.startswith("openbrief build: ") for line in lines), lines
    assert (world.logs / "build.out").read_text().splitlines() == [str(world.pdf)]


def test_fetch_without_quiet_shows_progress_bars(world, tmp_path):
    with ReplayHub(world.root / "records.jsonl", page_size=25) as hub:
        run = must(openbrief("fetch", "--endpoint", hub.url, "--store", tmp_path / "store", *FETCH_ARGS,
                             env=world.env))
    assert "it/s" in run.stderr and "listing organisations" in run.stderr


# ---------------------------------------------------------------- examples/

@pytest.fixture(scope="module")
def make_targets() -> set[str]:
    run = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "help"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in run.stdout.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def build_options() -> set[str]:
    run = subprocess.run([sys.executable, "-m", "openbrief", "build", "--help"], capture_output=True, text=True,
                         check=True)
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", run.stdout))


def check_command(command: str, make_targets: set[str], build_options: set[str]) -> list[str]:
    """Check every ``make TARGET`` and ``openbrief build ...`` in a shell command; return what ran."""
    seen = []
    for part in re.split(r"&&|\|\||;|\n", command):
        words = shlex.split(part, comments=True)
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):  # leading VAR=value assignments
            words = words[1:]
        if not words:
            continue
        if words[0] == "make":
            targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
            assert targets and set(targets) <= make_targets, (part, make_targets)
            seen.append("make " + " ".join(targets))
            for arg in (w.split("=", 1)[1] for w in words[1:] if w.startswith("ARGS=")):
                assert set(re.findall(r"--[a-z-]+", arg)) <= build_options, arg
        elif words[0].endswith("openbrief") and words[1:2] == ["build"]:
            args = words[2:]
            args = args[: next((i for i, w in enumerate(args) if re.match(r"\d?>|<", w)), len(args))]  # redirections
            assert {w for w in args if w.startswith("--")} <= build_options, args
            cli.make_parser().parse_args(["build", *args])  # the line parses as the CLI would parse it
            seen.append("openbrief build " + " ".join(args))
    return seen


def test_example_airflow_dag_compiles_and_calls_openbrief(tmp_path, build_options, make_targets):
    dag = EXAMPLES / "airflow_weekly_brief.py"
    py_compile.compile(str(dag), cfile=str(tmp_path / "dag.pyc"), doraise=True)
    text = dag.read_text()
    assert "BashOperator" in text and "PapermillOperator" in text
    import ast

    commands = [node.value for node in ast.walk(ast.parse(text))
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "openbrief build" in node.value]
    assert commands, "no openbrief build command in the DAG"
    ran = [c for command in commands for c in check_command(command, make_targets, build_options)]
    assert any(c.startswith("openbrief build weekly") and "--live" in c and "--quiet" in c for c in ran), ran
    assert not TOKEN_SHAPE.search(text) and "-p token" not in text


def test_example_crontab_runs_a_real_target(make_targets, build_options):
    lines = [line for line in (EXAMPLES / "crontab").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#") and not re.match(r"[A-Z_]+=", line)]
    assert len(lines) == 1, lines
    fields = lines[0].split(None, 5)
    assert fields[:5] == ["0", "6", "*", "*", "1"], "Mondays at 06:00"
    command = fields[5]
    assert command.startswith("cd ") and ">>" in command and "2>&1" in command
    ran = check_command(command, make_targets, build_options)
    assert any("weekly" in c and "--quiet" in c for c in ran), ran


def test_example_github_workflow_is_valid(make_targets, build_options):
    path = EXAMPLES / "github-actions-weekly.yml"
    text = path.read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare 'on' as True
    assert "workflow_dispatch" in triggers and triggers["schedule"][0]["cron"] == "0 6 * * 1"
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "actions/checkout" in uses and "actions/upload-artifact" in uses
    assert any(u.startswith("actions/cache") for u in uses)
    ran = [c for s in steps if "run" in s for c in check_command(s["run"], make_targets, build_options)]
    assert any(c.startswith("openbrief build weekly") and "--live" in c and "--quiet" in c for c in ran), ran
    # the token reaches the build through the environment only
    assert text.count("secrets.HF_TOKEN") == 1
    (step,) = [s for s in steps if "secrets.HF_TOKEN" in json.dumps(s)]
    assert step["env"] == {"HF_TOKEN": "${{ secrets.HF_TOKEN }}"}
    assert all("HF_TOKEN" not in s.get("run", "") and "token" not in json.dumps(s.get("with", {})).lower()
               for s in steps)
