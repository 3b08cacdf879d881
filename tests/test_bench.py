"""The bench harness: every ``bench/bench_<name>.py`` runs small (``run(quick=True)``) and returns
figures of the shared interface; ``bench/run.py`` prints them as one table and writes the JSON.
No timing is asserted: only that the figures are there, well formed and consistent."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench_module(name: str):
    path = BENCH / f"{name}.py"
    if not path.is_file():
        pytest.skip(f"bench/{name}.py is not there yet")
    spec = importlib.util.spec_from_file_location(f"_test_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_well_formed(figures: list[dict], bench: str) -> None:
    fields = bench_module("run").FIELDS
    assert figures, f"bench {bench} returned no figure"
    for f in figures:
        assert list(f) == list(fields) or set(f) == set(fields), f
        assert f["bench"] == bench
        assert isinstance(f["figure"], str) and f["figure"]
        assert isinstance(f["value"], (int, float)) and not isinstance(f["value"], bool)
        assert math.isfinite(f["value"]) and f["value"] >= 0, f
        assert f["unit"] in ("s", "MB", "x", "requests"), f
        assert isinstance(f["runs"], int) and f["runs"] >= 1
        assert f["met"] in (True, False, None)
        if f["floor"] is None:
            assert f["ratio"] is None and f["floor_label"] is None
        else:
            assert f["floor"] > 0 and f["floor_label"]
            assert f["ratio"] == pytest.approx(f["value"] / f["floor"], rel=0.02, abs=0.01)
        if f["met"] is not None:
            assert f["target"], "a figure that says whether it meets a target names the target"


@pytest.mark.parametrize("name", ["fetch", "scale"])
def test_each_bench_runs_small_and_returns_well_formed_figures(name):
    figures = bench_module(f"bench_{name}").run(quick=True)
    assert_well_formed(figures, name)


@pytest.mark.slow
def test_build_bench_compares_a_build_with_the_floor_measured_in_the_same_run():
    figures = bench_module("bench_build").run(quick=True)
    assert_well_formed(figures, "build")
    wall, wall_lean, cpu, cpu_lean = figures
    assert wall["value"] == wall_lean["value"] and cpu["value"] == cpu_lean["value"], "one set of builds, two floors"
    assert "CPU" in cpu["figure"] and "CPU" not in wall["figure"]
    for f in figures:
        assert f["met"] == (f["ratio"] <= 1.5)


def test_run_prints_one_table_and_writes_the_results(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert bench_module("run").main(["--quick", "--only", "history", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert set(results) >= {"date", "machine", "figures", "failed"} and results["failed"] == []
    assert results["machine"]["cpus"] >= 1 and results["machine"]["python"]
    assert_well_formed(results["figures"], "history")
    query, _, _, size = results["figures"]
    assert query["met"] == (query["value"] < 2.0), "the history query's target is under 2 s"
    assert size["unit"] == "MB" and size["value"] > 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(results["figures"])
    assert all(line.count("|") == table[0].count("|") for line in table)


def test_run_refuses_a_figure_without_the_interface_fields():
    run = bench_module("run")
    good = {k: None for k in run.FIELDS} | {"figure": "x", "value": 1.0}
    assert run.check(good) == good
    with pytest.raises(ValueError, match="lacks"):
        run.check({k: v for k, v in good.items() if k != "floor"})
    with pytest.raises(ValueError, match="not a number"):
        run.check(good | {"value": "fast"})


def test_run_leaves_out_a_bench_that_is_not_there(tmp_path, capsys):
    run = bench_module("run")
    assert run.load("no-such-bench") is None
    assert run.main(["--quick", "--only", "no-such-bench", "--json", str(tmp_path / "r.json")]) == 0
    assert "not there yet" in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["figures"] == []
