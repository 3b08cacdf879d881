"""Running the real CLI from tests, as a scheduler would, and checking what it leaves behind.

Shared by the safety and failure tests: a clean environment, the CLI in a subprocess or
in-process, one-line error checks, tree snapshots for "nothing changed", brief checks,
token scans. The module-scoped ``world`` fixture (a real fetch + weekly build through the
replay Hub) lives in ``conftest.py``.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd

from openbrief import cli
from openbrief.render import params
from openbrief.replay import synthetic

def _token() -> str:
    return "hf_" + "".join(secrets.choice(string.ascii_letters) for _ in range(34))


ENV_TOKEN, FILE_TOKEN = _token(), _token()
TOKENS = (ENV_TOKEN, FILE_TOKEN)
TOKEN_SHAPE = re.compile(r"hf_[A-Za-z0-9]{30,}")
#: notebook - snapshot id - UTC build time [- n]: nothing else ever names a brief folder.
BRIEF_DIR = re.compile(r"(?:weekly|spotlight|compare)-\d{8}T\d{6}Z(?:-\d{1,3})?-\d{8}T\d{6}Z(?:-\d+)?")
FAILED_DIR = re.compile(r"(?:weekly|spotlight|compare)-\d{8}T\d{6}Z(?:-\d+)?")
ORGS = ",".join(org for org, _, _ in synthetic.ORGS)
FETCH_ARGS = ("--orgs", ORGS, "--top-n", "10", "--derivative-bases", "3")
STAGE_LINE = re.compile(r"openbrief fetch: (?:plan: .+ requests of budget \d+|[A-Za-z' -]+(?: since \S+)? \(\d+\))")


def enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# ---------------------------------------------------------------- helpers

def clean_env(hf_home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without anything that could reach a real Hub or store."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT",
                        "HF_HUB_OFFLINE", "OPENBRIEF_STORE", "OPENBRIEF_BRIEFS", "SOURCE_DATE_EPOCH")}
    return {**env, "HF_HOME": str(hf_home), **extra}


def openbrief(*args, env, log: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real CLI; with ``log``, also keep its stdout/stderr in ``log.out``/``log.err`` (a cron log)."""
    run = subprocess.run([sys.executable, "-m", "openbrief", *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=timeout)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.with_suffix(".out").write_text(run.stdout)
        log.with_suffix(".err").write_text(run.stderr)
    return run


def popen(*args, env, log: Path) -> subprocess.Popen:
    """Start the real CLI in the background, its output going to ``log.out``/``log.err``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log.with_suffix(".out"), "w") as out, open(log.with_suffix(".err"), "w") as err:
        return subprocess.Popen([sys.executable, "-m", "openbrief", *map(str, args)], stdout=out, stderr=err,
                                env=env, text=True)


def must(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, f"exited {run.returncode}:\n{run.stderr}"
    return run


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("openbrief: error:")]


def one_clear_error(stderr: str) -> str:
    """stderr holds exactly one ``openbrief: error: ...`` line and no traceback; return it."""
    assert "Traceback" not in stderr, stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    return lines[0]


def tree(folder: Path, skip: tuple[str, ...] = (".lock",)) -> dict[str, str]:
    """Every path under ``folder`` with the sha256 of its bytes ('dir' for folders)."""
    if not folder.exists():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in skip:
            continue
        found[str(rel)] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def temp_leftovers(*folders: Path) -> list[Path]:
    return [p for f in folders if f.exists() for p in f.rglob(".tmp-*")]


def assert_unchanged(before: dict[str, str], after: dict[str, str], allowed_new: str | None = None) -> None:
    """Every earlier path is still there, byte for byte; new paths only under ``allowed_new``."""
    assert {k: after.get(k) for k in before} == before
    new = [k for k in after if k not in before]
    assert all(allowed_new and k.split(os.sep)[0] == allowed_new for k in new), new


def published(briefs: Path) -> list[Path]:
    return sorted(p for p in briefs.iterdir() if p.is_dir() and BRIEF_DIR.fullmatch(p.name)) if briefs.exists() else []


def assert_complete_brief(folder: Path, name: str = "weekly") -> dict:
    """A published brief: exactly the notebook, the PDF and a manifest whose checksums match."""
    assert BRIEF_DIR.fullmatch(folder.name), folder.name
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{name}.ipynb", f"{name}.pdf", "manifest.json"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"] == {p: hashlib.sha256((folder / p).read_bytes()).hexdigest()
                                 for p in (f"{name}.ipynb", f"{name}.pdf")}
    pdf = (folder / f"{name}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    nbformat.validate(nbformat.read(folder / f"{name}.ipynb", as_version=4))
    assert folder.name.startswith(f"{name}-{manifest['snapshot']['id']}-{manifest['built_at']}")
    return manifest


def token_leaks(*folders: Path) -> list[str]:
    """Every file (and the text of every PDF, every Parquet cell) that contains a token."""
    leaks = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            blobs = [path.read_bytes()]
            if path.suffix == ".pdf":  # streams are compressed: search the extracted text too
                blobs.append(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout)
            if path.suffix == ".parquet":  # pages may be compressed: search the decoded cells too
                try:
                    blobs.append(pd.read_parquet(path).astype(str).to_csv().encode())
                except Exception:  # noqa: BLE001 - a file a test corrupted on purpose
                    pass
            leaks += [f"{path}: {t[:6]}..." for t in TOKENS for blob in blobs if t.encode() in blob]
    return leaks


def copy_world(world, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the module's store and briefs folder (with its earlier brief)."""
    store, briefs = tmp_path / "store", tmp_path / "briefs"
    shutil.copytree(world.store, store)
    shutil.copytree(world.briefs, briefs)
    return store, briefs


def tiny_notebooks(folder: Path, body: str = "print('tiny brief:', title)") -> Path:
    """A stand-in ``weekly.ipynb`` with the weekly parameters and one fast cell."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    defaults = "\n".join(f"{k} = {v!r}" for k, v in params.defaults("weekly").items())
    nb.cells = [nbformat.v4.new_code_cell(defaults, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_markdown_cell("# A tiny brief"),
                nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "openbrief", "display_name": "Python (openbrief)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, folder / "weekly.ipynb")
    return folder


def run_main(argv, capsys) -> tuple[int, str, str]:
    """``openbrief ARGV`` in-process: (exit code, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


