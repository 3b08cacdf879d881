"""Benchmark: fetch through the replay Hub and build each brief, end to end.

Run with `make bench` (or `.venv/bin/python bench/bench_build.py`). Prints a Markdown
table of medians over REPEAT runs; the figures in the README come from here.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from openbrief.replay import synthetic
from openbrief.replay.recordings import write_jsonl
from openbrief.replay import ReplayHub

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "openbrief", *args], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "HF_HOME": str(tmp / "hf")}
        data = write_jsonl(synthetic.generate(datetime(2026, 11, 20, tzinfo=timezone.utc)), tmp / "syn.jsonl")
        rows = []
        with ReplayHub(data) as hub:
            fetch = [timed(["fetch", "--endpoint", hub.url, "--store", str(tmp / "store"), "--quiet"], env)
                     for _ in range(REPEAT)]
        rows.append(("fetch (165 namespaces, synthetic replay Hub)", fetch))
        for name, params in (("weekly", []), ("spotlight", ["-p", "model", "Qwen/Qwen3-8B"]),
                             ("compare", ["-p", "groups", "CN,US"])):
            runs = [timed(["build", name, "--store", str(tmp / "store"), "--briefs", str(tmp / "briefs"), *params],
                          env) for _ in range(REPEAT)]
            rows.append((f"build {name} (papermill + PDF)", runs))
    print(f"| step | median of {REPEAT} (s) | min (s) |\n|---|---|---|")
    for label, runs in rows:
        print(f"| {label} | {statistics.median(runs):.1f} | {min(runs):.1f} |")


if __name__ == "__main__":
    main()
