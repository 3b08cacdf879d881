"""``make bench``: run every ``bench/bench_<name>.py``, print one Markdown table, write ``bench/results.json``.

Each bench module exposes ``run(quick: bool = False) -> list[dict]``, one dict per figure (see
:data:`FIELDS`); a module that is missing is left out, one that fails is reported and the others
still run (exit 1 then). ``results.json`` holds the machine, the date, the Python and the figures.

    .venv/bin/python bench/run.py [--quick] [--only build,history] [--json PATH]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The benches, in the order the table lists them (``bench/bench_<name>.py``).
BENCHES = ("build", "fetch", "scale", "history")
#: Every figure's keys.
FIELDS = ("bench", "figure", "value", "unit", "floor", "floor_label", "ratio", "target", "met", "runs")


def load(name: str):
    """The module ``bench/bench_<name>.py``, or None when it does not exist."""
    path = HERE / f"bench_{name}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu or "unknown", "system": platform.platform(),
            "python": platform.python_version(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def _cell(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}"
    return f"{value}{unit}"


def table(figures: list[dict]) -> str:
    """The figures as one Markdown table."""
    lines = ["| bench | figure | value | floor | ratio | target | met | runs |",
             "|---|---|---:|---:|---:|---|---|---:|"]
    for f in figures:
        unit = f" {f['unit']}"
        floor = "-" if f["floor"] is None else f"{_cell(f['floor'], unit)} ({f['floor_label']})"
        lines.append(f"| {f['bench']} | {f['figure']} | {_cell(f['value'], unit)} | {floor} | "
                     f"{_cell(f['ratio'], 'x')} | {f['target'] or '-'} | {_cell(f['met'])} | {f['runs']} |")
    return "\n".join(lines)


def check(figure: dict) -> dict:
    """A figure as the interface says it is, or ``ValueError``."""
    missing = [k for k in FIELDS if k not in figure]
    if missing:
        raise ValueError(f"figure {figure.get('figure')!r} lacks {missing}")
    if not isinstance(figure["value"], (int, float)) or isinstance(figure["value"], bool):
        raise ValueError(f"figure {figure['figure']!r}: value {figure['value']!r} is not a number")
    return {k: figure[k] for k in FIELDS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the small version of every bench (a smoke test)")
    ap.add_argument("--only", help="comma-separated benches to run (default: all)")
    ap.add_argument("--json", default=str(HERE / "results.json"), help="where to write the results")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHES)
    figures, failed, seconds = [], [], {}
    for name in names:
        module = load(name)
        if module is None:
            print(f"bench {name}: bench/bench_{name}.py is not there yet, left out", file=sys.stderr)
            continue
        print(f"bench {name}: running", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            figures += [check(f) for f in module.run(quick=args.quick)]
        except Exception:  # noqa: BLE001 - one broken bench must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
        seconds[name] = round(time.perf_counter() - start, 1)
    results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
               "quick": args.quick, "seconds": seconds, "failed": failed, "figures": figures}
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    m = results["machine"]
    print(f"{m['cpus']} cores, {m['cpu']}, Python {m['python']}, load average {m['load_average']}, "
          f"{results['date']}; seconds per bench: {seconds}\n")
    print(table(figures))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
