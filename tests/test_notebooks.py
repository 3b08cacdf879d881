"""The brief suite: every notebook executed through the replay Hub, PDFs read back.

One store with two synthetic snapshots a week apart (so week-over-week sections
appear) is fetched with the real client; each notebook is then built as a user
builds it, and its PDF text is checked for sections, numbers and the absence of code.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from openbrief.hub import fetch
from openbrief.replay import synthetic
from openbrief.brief import fmt_count, fmt_share
from openbrief.hub.client import Hub
from openbrief.replay.recordings import write_day_folder
from openbrief.render import NOTEBOOKS_DIR, execute
from openbrief.replay import ReplayHub
from openbrief.store.snapshot import list_snapshots

pytestmark = pytest.mark.slow
AS_OF = datetime(2026, 11, 20, 6, tzinfo=timezone.utc)
CODE = ("import ", "def ", "brief.", "metrics.", "charts.", "Traceback", "print(", "<Figure", "<Axes",
        "DataFrame", "dtype:")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("hf_home")
    return {**{k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")},
            "HF_HOME": str(home)}


@pytest.fixture(scope="module")
def store(tmp_path_factory, env):
    tmp = tmp_path_factory.mktemp("suite")
    days = {}
    for weeks in (0, 1):
        when = AS_OF - timedelta(days=7 * (1 - weeks))
        records = synthetic.generate(AS_OF, seed=11, day_offset=7 * weeks)
        for i, r in enumerate(records):  # make week two differ: some models rise
            if weeks and i % 4 == 0:
                r["downloads"] = int(r["downloads"] * 1.5)
        days[when.strftime("%Y-%m-%d")] = records
    write_day_folder(days, tmp / "days")
    old = os.environ.get("HF_HOME")
    os.environ["HF_HOME"] = env["HF_HOME"]
    try:
        with ReplayHub(tmp / "days") as hub:
            for day in sorted(days):
                plan = fetch.Plan([o for o, _, _ in synthetic.ORGS], top_n=20, derivative_bases=8)
                fetch.run(Hub(f"{hub.url}/@{day}"), plan, tmp / "store",
                          fetched_at=datetime.fromisoformat(f"{day}T06:00:00+00:00"), extra_meta={"synthetic": True})
    finally:
        if old is None:
            os.environ.pop("HF_HOME", None)
        else:
            os.environ["HF_HOME"] = old
    return tmp / "store"


def build(name, store, briefs, env, *params):
    args = [sys.executable, "-m", "openbrief", "build", name, "--store", str(store), "--briefs", str(briefs)]
    for key, value in params:
        args += ["-p", key, value]
    run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    return Path(run.stdout.strip().splitlines()[-1])


def text_of(pdf: Path) -> str:
    raw = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return raw


def assert_no_code(text: str):
    for marker in CODE:
        assert marker not in text, f"the PDF shows {marker!r}"


def test_weekly(store, env, tmp_path):
    pdf = build("weekly", store, tmp_path, env, ("top", "10"))
    text = text_of(pdf)
    for section in ("Key findings", "Who is downloaded", "Week over week", "Top models", "New releases",
                    "Derivatives and foundations", "Concentration", "Openness", "Appendix: methodology",
                    "Biggest movers", "SYNTHETIC DATA"):
        assert section.lower() in text.lower(), section
    latest = list_snapshots(store)[-1].models
    top = latest.sort_values(["downloads", "id"], ascending=[False, True]).iloc[0]
    assert top["id"] in text and fmt_count(top["downloads"]) in text
    assert "2026-11-20" in text and "2026-11-13" in text  # as-of and the previous snapshot
    assert_no_code(text)
    pages = text.count("\f")
    assert text.count("SYNTHETIC DATA") >= pages  # the notice is on every page


def test_spotlight(store, env, tmp_path):
    models = list_snapshots(store)[-1].models
    base = models.dropna(subset=["children_total"]).sort_values("children_total", ascending=False).iloc[0]
    pdf = build("spotlight", store, tmp_path, env, ("model", base["id"]))
    text = " ".join(text_of(pdf).split())
    for section in ("Derivatives", "Who builds on it", "Against its size class", "Methodology and provenance"):
        assert section in text
    assert base["id"] in text and fmt_count(base["downloads"]) in text
    assert_no_code(text)


def test_compare(store, env, tmp_path):
    pdf = build("compare", store, tmp_path, env, ("groups", "CN,US"), ("by", "bloc"))
    text = text_of(pdf)
    assert "Side by side" in text and "China, the United States" in " ".join(text.split())
    from openbrief import metrics, registry

    tracked = metrics.select_universe(registry.attribute(list_snapshots(store)[-1].models), "tracked")
    llm = tracked[tracked["pipeline_tag"] == "text-generation"]  # compare counts generative models by default
    share = metrics.download_share(llm, by="bloc").rows
    for bloc in ("CN", "US"):
        assert fmt_share(share.set_index("group").loc[bloc, "share"]) in text
    assert_no_code(text)


def test_explore_runs_top_to_bottom(store, env, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", env["HF_HOME"])
    nb = execute(NOTEBOOKS_DIR / "explore.ipynb", tmp_path / "explore.ipynb", {"store": str(store)}, cwd=tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert sum(1 for c in nb.cells if c.cell_type == "code" and c.outputs) >= 8


def test_same_inputs_give_identical_pdf_bytes(store, env, tmp_path):
    first = build("weekly", store, tmp_path / "a", env)
    second = build("weekly", store, tmp_path / "b", env)
    assert first.read_bytes() == second.read_bytes()
    one, two = (json.loads((p.parent / "manifest.json").read_text()) for p in (first, second))
    assert one["files"]["weekly.pdf"] == two["files"]["weekly.pdf"]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS_DIR.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_in_git_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"
    assert nb.metadata.get("kernelspec", {}).get("name") == "openbrief"
    assert "papermill" not in nb.metadata


@pytest.mark.parametrize("path", sorted(NOTEBOOKS_DIR.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_import_no_hub_client(path):
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "huggingface_hub" not in source and "HfApi" not in source and "openbrief.hub.client" not in source


@pytest.mark.parametrize("name", ["weekly", "spotlight", "compare", "explore"])
def test_defaults_run_top_to_bottom_as_in_jupyterlab(name, store, env, tmp_path, monkeypatch):
    """Run All with the parameters cell as committed: no injected parameter, cwd notebooks/."""
    monkeypatch.setenv("HF_HOME", env["HF_HOME"])
    monkeypatch.setenv("OPENBRIEF_STORE", str(store))  # what `make lab` sets
    nb = execute(NOTEBOOKS_DIR / f"{name}.ipynb", tmp_path / f"{name}.ipynb", {}, cwd=NOTEBOOKS_DIR)
    assert [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"] == []
    assert not [p for p in NOTEBOOKS_DIR.iterdir() if p.suffix != ".ipynb" and not p.name.startswith(".")]
