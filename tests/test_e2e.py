"""End to end with the real client: replay Hub -> openbrief fetch -> openbrief build -> PDF.

The commands run as a user runs them (``python -m openbrief ...`` in a
subprocess); the PDF is read back with pdftotext.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from openbrief.replay import synthetic
from openbrief.replay.recordings import trending_day_meta, trending_day_records, write_jsonl
from openbrief.replay import ReplayHub

pytestmark = pytest.mark.slow
CODE_MARKERS = ("import ", "def ", "brief.load", "metrics.", "charts.", "Traceback", "print(")


def openbrief(*args, env=None, check=False):
    run = subprocess.run([sys.executable, "-m", "openbrief", *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=600)
    if check and run.returncode != 0:
        raise AssertionError(f"openbrief {' '.join(map(str, args))} exited {run.returncode}:\n{run.stderr}")
    return run


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def env(hf_home):
    return {**os.environ, "HF_HOME": str(hf_home)}


def store_listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def fetch_and_build(tmp_path, records, env, *fetch_args):
    store, briefs = tmp_path / "store", tmp_path / "briefs"
    data = write_jsonl(records, tmp_path / "records.jsonl")
    with ReplayHub(data, page_size=25) as hub:
        fetched = openbrief("fetch", "--endpoint", hub.url, "--store", store, "--quiet", *fetch_args, env=env,
                            check=True)
    built = openbrief("build", "weekly", "--store", store, "--briefs", briefs, env=env, check=True)
    pdf = Path(built.stdout.strip().splitlines()[-1])
    return fetched, pdf, store


def test_synthetic_fixture_end_to_end(tmp_path, env):
    records = synthetic.generate(datetime(2026, 11, 20, tzinfo=timezone.utc), seed=3)
    fetched, pdf, store = fetch_and_build(tmp_path, records, env, "--top-n", "10", "--derivative-bases", "3")
    assert pdf.is_file() and pdf.suffix == ".pdf"
    snap_dir = Path(fetched.stdout.strip().splitlines()[-1])
    meta = json.loads((snap_dir / "snapshot.json").read_text())
    text = pdf_text(pdf)
    as_of = meta["fetched_at"][:10]
    assert as_of in text
    tracked = [r for r in records if r["author"] in meta["tracked_orgs"]]
    top = max(tracked, key=lambda r: r["downloads"])["id"]
    assert top in text
    for marker in CODE_MARKERS:
        assert marker not in text, f"PDF shows code: {marker!r}"
    manifest = json.loads((pdf.parent / "manifest.json").read_text())
    assert manifest["snapshot"]["id"] == snap_dir.name
    assert set(manifest["files"]) == {"weekly.ipynb", "weekly.pdf"}
    assert manifest["parameters"]["snapshot"] == snap_dir.name


def test_recorded_trending_listing(tmp_path, env, hubdata):
    day = hubdata / "trending-2026-08" / "2026-08-22.json"
    if not day.exists():
        pytest.skip(f"{day} is absent")
    records = trending_day_records(day)
    as_of = trending_day_meta(day).fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    fetched, pdf, store = fetch_and_build(tmp_path, records, env, "--as-of", as_of, "--top-n", "5",
                                          "--derivative-bases", "0")
    text = pdf_text(pdf)
    assert "2026-08-22" in text  # the recording's own fetch date is the as-of date
    meta = json.loads((Path(fetched.stdout.strip().splitlines()[-1]) / "snapshot.json").read_text())
    tracked = {o.lower() for o in meta["tracked_orgs"]}
    top = max((r for r in records if r["id"].split("/")[0].lower() in tracked), key=lambda r: r["downloads"])
    assert top["id"] in text
    assert "Traceback" not in text and "import " not in text


def test_unknown_notebook_and_parameter_fail_before_anything_is_written(tmp_path, env):
    briefs = tmp_path / "briefs"
    for args, fragment in [
        (("build", "nope"), "unknown notebook 'nope'"),
        (("build", "weekly", "-p", "colour", "red"), "unknown parameter 'colour'"),
        (("build", "weekly", "-p", "top", "many"), "'many' is not a whole number"),
        (("build", "explore"), "sandbox"),
    ]:
        run = openbrief(*args, "--store", tmp_path / "store", "--briefs", briefs, env=env)
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0]
    assert store_listing(briefs) == []


def test_empty_store_says_what_to_do(tmp_path, env):
    run = openbrief("build", "weekly", "--store", tmp_path / "store", "--briefs", tmp_path / "briefs", env=env)
    assert run.returncode == 3
    assert "holds no snapshot" in run.stderr and "openbrief fetch" in run.stderr
    assert not any(p.name.endswith(".pdf") for p in (tmp_path / "briefs").rglob("*"))


def test_unreachable_endpoint_leaves_store_unchanged(tmp_path, env):
    store = tmp_path / "store"
    store.mkdir()
    run = openbrief("fetch", "--endpoint", "http://127.0.0.1:9", "--store", store, "--quiet", "--timeout", "2",
                    env=env)
    assert run.returncode == 3, run.stderr
    error = [line for line in run.stderr.splitlines() if line.startswith("openbrief: error:")]
    assert len(error) == 1 and "127.0.0.1:9" in error[0]
    # only lock files may remain: no snapshot, no temporary folder, no saved progress
    assert [p for p in store_listing(store) if not p.endswith(".lock") and p != ".partial"] == []
