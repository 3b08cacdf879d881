"""Benchmark: ``openbrief build weekly`` from a stored snapshot, beside the floor of any brief build.

The floor, measured in the same run: one process that executes a one-cell notebook with papermill
on the same ``openbrief`` kernel, then renders it with nbconvert's stock HTML exporter and
WeasyPrint (kernel start, the tools' imports, a one-page PDF). The lean floor is the same process
without the ``rfc3987_syntax`` grammar that jsonschema builds at import (openbrief's own process
does without it, see ``openbrief.render``), so the ratio against it counts only openbrief's work.
Builds and floors alternate, each a fresh process; the snapshot is fetched once from a replay Hub
on synthetic data (tracked organisations and a whole-Hub census). Nothing is left behind.

    .venv/bin/python bench/bench_build.py [--quick]
"""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from openbrief.render import ensure_kernel
from openbrief.replay import ReplayHub, synthetic
from openbrief.replay.recordings import write_jsonl

RUNS = 5
TARGET, STRETCH = 1.5, 1.3

FLOOR = """
import sys
{guard}
from pathlib import Path
import nbformat, papermill, weasyprint
from nbconvert import HTMLExporter
folder = Path(sys.argv[1])
nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), folder / "one.ipynb")
papermill.execute_notebook(str(folder / "one.ipynb"), str(folder / "out.ipynb"), kernel_name="openbrief",
                           progress_bar=False)
html, _ = HTMLExporter().from_notebook_node(nbformat.read(folder / "out.ipynb", as_version=4))
weasyprint.HTML(string=html).write_pdf(folder / "out.pdf")
"""
LEAN_GUARD = 'sys.modules["rfc3987_syntax"] = None'


def _timed(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the kernel process included) of one run of ``argv``."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _store(tmp: Path, env: dict) -> Path:
    """A store holding one snapshot fetched from a replay Hub on synthetic data, the default plan."""
    records = synthetic.generate(datetime(2026, 11, 20, tzinfo=timezone.utc))
    data = write_jsonl(records, tmp / "records.jsonl")
    with ReplayHub(data) as hub:
        subprocess.run([sys.executable, "-m", "openbrief", "fetch", "--endpoint", hub.url, "--store",
                        str(tmp / "store"), "--quiet"], check=True, capture_output=True, env=env)
    return tmp / "store"


def _figure(label: str, value: float, floor: float, floor_label: str, runs: int) -> dict:
    ratio = round(value / floor, 2)  # ``met`` is read from the ratio as printed
    return {"bench": "build", "figure": label, "value": round(value, 2), "unit": "s", "floor": round(floor, 2),
            "floor_label": floor_label, "ratio": ratio,
            "target": f"<= {TARGET}x floor (stretch {STRETCH}x)", "met": ratio <= TARGET, "runs": runs}


def run(quick: bool = False) -> list[dict]:
    """Median wall and CPU times of ``openbrief build weekly`` and of both floors (1 run each when
    ``quick``). CPU time (the process and its kernel, user + system) is what a busy machine changes
    least: wall times there grow with the other work."""
    runs = 1 if quick else RUNS
    ensure_kernel()
    with tempfile.TemporaryDirectory(prefix="openbrief-bench-build-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "HF_HOME": str(tmp / "hf")}
        store = _store(tmp, env)
        build = [sys.executable, "-m", "openbrief", "build", "weekly", "--store", str(store),
                 "--briefs", str(tmp / "briefs"), "--quiet"]
        floors = {"stock": [sys.executable, "-c", FLOOR.format(guard=""), str(tmp)],
                  "lean": [sys.executable, "-c", FLOOR.format(guard=LEAN_GUARD), str(tmp)]}
        if not quick:  # first runs fill the font, kernel-spec and file caches
            _timed(build, env)
            _timed(floors["stock"], env)
        times: dict[str, list[tuple[float, float]]] = {"build": [], "stock": [], "lean": []}
        for _ in range(runs):
            for name, argv in (("build", build), *floors.items()):
                times[name].append(_timed(argv, env))
    figures = []
    for i, what in enumerate(("", "CPU time, ")):
        build_s, stock, lean = (statistics.median(t[i] for t in times[k]) for k in ("build", "stock", "lean"))
        figures += [
            _figure(f"{what}build weekly, stored snapshot", build_s, stock,
                    f"{what}papermill 1-cell notebook + nbconvert HTML + WeasyPrint, one process", runs),
            _figure(f"{what}build weekly vs lean floor", build_s, lean,
                    f"{what}the same floor without jsonschema's rfc3987 grammar", runs),
        ]
    return figures


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(figure)
