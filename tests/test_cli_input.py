"""Issue 10: nothing a user types can leak a file, skew a number or crash openbrief (part C).

Command-line flags and notebook parameters are checked at the edge: repeated flags accumulate
or are refused, flags that contradict each other or would be ignored are refused, list
parameters take every list syntax once, relative paths are made absolute before any kernel
starts, and every number has a range. Each refusal is exit 2 with one ``openbrief: error:``
line, and nothing is written. Builds that a refusal stops use the tiny stand-in notebook, so
that a missing check shows as a build that ran, not as a ten-second brief.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from openbrief import brief, cli, metrics, render
from openbrief.cli.build import build as build_brief
from openbrief.render import params
from clirun import one_clear_error, run_main, tiny_notebooks, tree

DEAD_HUB = ("--endpoint", "http://127.0.0.1:9")  # nothing listens: a fetch that was not refused fails with 3


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Builds execute the tiny stand-in notebook; returns its folder."""
    folder = tiny_notebooks(tmp_path / "nb", "from openbrief import registry as reg\n"
                                             "print('registry:', reg.load([registry] if registry else []).version)")
    monkeypatch.setitem(build_brief.__kwdefaults__, "notebooks_dir", folder)
    return folder


def refused(argv, capsys, fragment: str) -> str:
    """``openbrief ARGV`` exits 2 with one clear error line that contains ``fragment``; return the line."""
    code, out, err = run_main(argv, capsys)
    assert code == 2, err
    line = one_clear_error(err)
    assert fragment in line, line
    assert out == ""
    return line


def refused_build(argv, world, tmp_path, capsys, fragment: str) -> str:
    """A refused ``build``: exit 2, one line, no briefs folder (so no kernel ran), the store unchanged."""
    briefs = tmp_path / "briefs"
    before = tree(world.store)
    line = refused(["build", *argv, "--store", world.store, "--briefs", briefs], capsys, fragment)
    assert not briefs.exists()
    assert tree(world.store) == before
    return line


# ---------------------------------------------------------------- repeated flags

def test_repeated_base_exports_every_base(world, inproc, capsys):
    data = brief.load(world.snapshot, str(world.store))
    first, second = sorted(data.derivatives["listed_base"].dropna().unique())[:2]
    code, out, err = run_main(["metrics", "derivatives", "--store", world.store, "--base", first, "--base", second,
                               "--format", "json"], capsys)
    assert code == 0, err
    rows = {row["base"]: row for row in json.loads(out)["rows"]}
    assert set(rows) == {first, second}
    fetched = {}  # each fetched model once, as the metric counts them
    for frame in (data.models, data.derivatives):
        for model_id, bases in zip(frame["id"], frame["base_models"]):
            fetched.setdefault(model_id, list(bases) if bases is not None else [])
    for base in (first, second):  # the listed derivatives, counted directly
        assert rows[base]["listed_total"] == sum(base in bases for bases in fetched.values()), base
    expected = metrics.to_json(metrics.derivatives_by_base(
        metrics.derivatives(data.models, data.derivatives, bases=[first, second])), world.snapshot, None)
    assert json.loads(out)["rows"] == json.loads(json.dumps(expected["rows"]))


@pytest.mark.parametrize("argv, fragment", [
    (["build", "weekly", "--snapshot", "20260101T000000Z", "--snapshot", "20260102T000000Z"], "--snapshot given twice"),
    (["build", "weekly", "--lock-timeout", "5", "--lock-timeout", "60"], "--lock-timeout given twice"),
    (["build", "weekly", "-p", "top", "5", "-p", "top", "7"], "-p top given twice ('5' and '7')"),
], ids=["--snapshot", "--lock-timeout", "-p top"])
def test_a_scalar_build_option_given_twice_is_refused(argv, fragment, world, tmp_path, tiny, inproc, capsys):
    refused_build(argv[1:], world, tmp_path, capsys, fragment)


@pytest.mark.parametrize("argv, fragment", [
    (["metrics", "new-releases", "--window", "7", "--window", "30"], "--window given twice (7 and 30)"),
    (["fetch", *DEAD_HUB, "--orgs", "Qwen", "--store", "STORE", "--store", "OTHER"], "--store given twice"),
    (["snapshots", "--store", "STORE", "prune", "--store", "OTHER", "--keep-weekly", "1", "--keep-daily", "1"],
     "--store given twice"),
    (["registry", "--format", "csv", "unattributed", "--snapshot", "latest", "--format", "json"],
     "--format given twice ('csv' and 'json')"),
], ids=["metrics --window", "fetch --store", "snapshots --store ... prune --store", "registry --format"])
def test_a_scalar_option_given_twice_is_refused(argv, fragment, world, tmp_path, inproc, fast_backoff, capsys):
    stores = {"STORE": tmp_path / "store", "OTHER": tmp_path / "other"}
    argv = [stores.get(a, a) for a in argv]
    if argv[0] in ("metrics", "registry"):
        argv += ["--store", world.store]
    before = tree(world.store)
    refused(argv, capsys, fragment)
    assert not any(p.exists() for p in stores.values()) and tree(world.store) == before


def test_the_same_value_twice_is_one_value(world, inproc, capsys):
    once = run_main(["metrics", "new-releases", "--store", world.store, "--window", "7", "--format", "json"], capsys)
    twice = run_main(["metrics", "new-releases", "--store", world.store, "--window", "7", "--window", "7",
                      "--format", "json"], capsys)
    assert once[0] == 0 and twice == once


def test_options_before_a_subcommand_are_kept(world, tmp_path, inproc, capsys):
    """``snapshots --store X prune`` prunes X (argparse would reset --store to prune's default)."""
    code, out, err = run_main(["snapshots", "--store", world.store, "prune", "--keep-weekly", "1", "--keep-daily", "1",
                               "--briefs", world.briefs, "--dry-run"], capsys)
    assert code == 0, err
    assert f"kept {world.snapshot}:" in out


# ---------------------------------------------------------------- conflicting flags

@pytest.mark.parametrize("argv, fragment", [
    (["fetch", "--orgs", "Qwen", "--group", "CN"], "--orgs names the namespaces itself and --group would be ignored"),
    (["fetch", "--orgs", "Qwen", "--registry", "EXTRA"], "--registry would be ignored"),
    (["build", "weekly", "--live", "--orgs", "Qwen", "--group", "CN"], "--group would be ignored"),
], ids=["fetch --orgs --group", "fetch --orgs --registry", "build --live --orgs --group"])
def test_orgs_with_group_or_registry_is_refused(argv, fragment, tmp_path, tiny, inproc, fast_backoff, capsys):
    extra = tmp_path / "extra.csv"
    extra.write_text("namespace,organisation,country,bloc,org_type,parent,aliases,fully_open,source\n")
    store, briefs = tmp_path / "store", tmp_path / "briefs"
    argv = [str(extra) if a == "EXTRA" else a for a in argv]
    refused([*argv, *DEAD_HUB, "--store", store, *(["--briefs", briefs] if argv[0] == "build" else [])], capsys,
            fragment)
    assert not store.exists() and not briefs.exists()


@pytest.mark.parametrize("argv, fragment", [
    (["--resume"], "--resume is a fetch option and this build does not fetch: add --live or drop it"),
    (["--top-n", "5", "--group", "CN"], "--group, --top-n are fetch options"),
    (["--registry", "EXTRA"], "--registry is a fetch option"),
    (["--concurrency", "2"], "--concurrency is a fetch option"),
    (["--live", *DEAD_HUB, "--snapshot", "SNAPSHOT"], "--live briefs on the snapshot it fetches"),
], ids=["--resume", "--top-n --group", "--registry", "--concurrency", "--live --snapshot"])
def test_build_options_that_nothing_would_read_are_refused(argv, fragment, world, tmp_path, tiny, inproc,
                                                           fast_backoff, capsys):
    argv = [{"SNAPSHOT": world.snapshot, "EXTRA": str(tmp_path / "extra.csv")}.get(a, a) for a in argv]
    refused_build(["weekly", *argv], world, tmp_path, capsys, fragment)


@pytest.mark.parametrize("argv", [
    ["top-models", "--window", "7"],
    ["download-share", "--base", "Qwen/Qwen3-8B"],
    ["derivatives", "--by", "org"],
    ["new-releases", "--top", "3"],
    ["concentration", "--against", "20260101T000000Z"],
], ids=lambda argv: f"{argv[0]} {argv[1]}")
def test_a_metric_option_the_metric_does_not_read_is_refused(argv, world, inproc, capsys):
    name, option = argv[0], argv[1]
    refused(["metrics", *argv, "--store", world.store], capsys, f"{option} does not apply to {name}")


# ---------------------------------------------------------------- list parameters

@pytest.mark.parametrize("text", ['["US","CN"]', "[US, CN]", "US,CN", " US , CN ", "['US', 'CN']"])
def test_list_syntax_is_a_list(text):
    assert params.validate("compare", {"groups": text})["groups"] == ["US", "CN"]
    assert params.validate("compare", {"groups": "[NO, SE]"})["groups"] == ["NO", "SE"]  # Norway, not false


def test_yaml_list_in_a_params_file(tmp_path):
    path = tmp_path / "params.yml"
    for text in ("groups: [US, CN]\n", "groups:\n  - US\n  - CN\n", "groups: US,CN\n", "groups: '[US, CN]'\n",
                 "groups: '[\"US\", \"CN\"]'\n"):
        path.write_text(text)
        assert params.validate("compare", params.read_params_file(path))["groups"] == ["US", "CN"], text


@pytest.mark.parametrize("given, fragment", [
    (["-p", "groups", "CN,CN"], "'CN,CN' names CN twice"),
    (["-p", "groups", "CN,US,cn"], "names cn twice"),
    (["-p", "groups", "[US, US]"], "names US twice"),
    (["-p", "groups", "CN,,US"], "has an empty item"),
    (["-p", "groups", "CN,US,"], "has an empty item"),
    (["-p", "groups", "[CN, US"], "is not a list such as [CN, US]"),
    (["--params-file", "groups: [CN, CN]\n"], "names CN twice"),
    (["--params-file", "groups: [NO, SE]\n"], "item False of [False, 'SE'] is not text (in YAML, quote it: 'NO')"),
    (["--params-file", "groups: 5\n"], "5 is not a list"),
], ids=["CN,CN", "CN,US,cn", "[US, US]", "CN,,US", "CN,US,", "unclosed [", "file [CN, CN]", "file [NO, SE]",
        "file 5"])
def test_duplicate_empty_or_odd_list_items_are_refused(given, fragment, world, tmp_path, tiny, inproc, capsys):
    if given[0] == "--params-file":
        path = tmp_path / "params.yml"
        path.write_text(given[1])
        given = ["--params-file", str(path)]
    line = refused_build(["compare", *given], world, tmp_path, capsys, fragment)
    assert "compare: parameter groups:" in line


@pytest.mark.parametrize("argv, fragment", [
    (["--orgs", "Qwen,qwen"], "--orgs: 'Qwen,qwen' names qwen twice"),
    (["--orgs", "Qwen,,deepseek-ai"], "--orgs: 'Qwen,,deepseek-ai' has an empty item"),
    (["--orgs", ""], "--orgs: '' has an empty item"),
    (["--group", "CN,CN"], "--group: 'CN,CN' names CN twice"),
], ids=["--orgs twice", "--orgs empty item", "--orgs ''", "--group twice"])
def test_duplicate_or_empty_fetch_lists_are_refused(argv, fragment, tmp_path, inproc, fast_backoff, capsys):
    store = tmp_path / "store"
    refused(["fetch", *argv, *DEAD_HUB, "--store", store], capsys, fragment)
    assert not store.exists()


# ---------------------------------------------------------------- relative paths

def test_a_relative_registry_is_made_absolute_before_the_kernel(world, tmp_path, tiny, inproc, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "extra.csv").write_text(
        "namespace,organisation,country,bloc,org_type,parent,aliases,fully_open,source\n"
        "acme,Acme,US,US,AI lab/startup,,,no,https://huggingface.co/acme\n")
    monkeypatch.chdir(elsewhere)
    code, out, err = run_main(["build", "weekly", "-p", "registry", "extra.csv", "--store", world.store,
                               "--briefs", tmp_path / "briefs", "--quiet"], capsys)
    assert code == 0, err
    folder = Path(out.strip().splitlines()[-1]).parent
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parameters"]["registry"] == str((elsewhere / "extra.csv").resolve())
    assert "overrides: extra.csv" in (folder / "weekly.ipynb").read_text()  # the kernel read it


def test_a_missing_relative_registry_fails_before_any_kernel(world, tmp_path, tiny, inproc, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    line = refused_build(["weekly", "-p", "registry", "missing.csv"], world, tmp_path, capsys, "does not exist")
    assert repr(str((elsewhere / "missing.csv").resolve())) in line


# ---------------------------------------------------------------- numbers have ranges

FETCH = ("fetch", *DEAD_HUB, "--orgs", "Qwen")
NUMBERS = {
    "--top-n 99999999999": ([*FETCH, "--top-n", "99999999999"], "between 0 and 1000"),
    "--top-n -1": ([*FETCH, "--top-n", "-1"], "between 0 and 1000"),
    "--derivative-bases 1001": ([*FETCH, "--derivative-bases", "1001"], "between 0 and 1000"),
    "--derivatives-per-base 99999999999": ([*FETCH, "--derivatives-per-base", "99999999999"], "between 0 and 1000"),
    "--budget 0": ([*FETCH, "--budget", "0"], "between 1 and 100000"),
    "--budget 99999999999": ([*FETCH, "--budget", "99999999999"], "between 1 and 100000"),
    "--timeout nan": ([*FETCH, "--timeout", "nan"], "more than 0 and at most 600 seconds"),
    "--timeout inf": ([*FETCH, "--timeout", "inf"], "more than 0 and at most 600 seconds"),
    "--timeout 0": ([*FETCH, "--timeout", "0"], "more than 0 and at most 600 seconds"),
    "--timeout 1e9": ([*FETCH, "--timeout", "1e9"], "more than 0 and at most 600 seconds"),
    "--concurrency 0": ([*FETCH, "--concurrency", "0"], "between 1 and 32"),
    "--concurrency 33": ([*FETCH, "--concurrency", "33"], "between 1 and 32"),
    "build --timeout nan": (["build", "weekly", "--live", *DEAD_HUB, "--timeout", "nan"], "more than 0"),
    "--lock-timeout nan": (["build", "weekly", "--lock-timeout", "nan"], "between 0 and 86400 seconds"),
    "--lock-timeout inf": (["build", "weekly", "--lock-timeout", "inf"], "between 0 and 86400 seconds"),
    "--lock-timeout -1": (["build", "weekly", "--lock-timeout", "-1"], "between 0 and 86400 seconds"),
    "--lock-timeout 1e12": (["build", "weekly", "--lock-timeout", "1e12"], "between 0 and 86400 seconds"),
    "-p top 0": (["build", "weekly", "-p", "top", "0"], "between 1 and 1000"),
    "-p top 99999999999": (["build", "weekly", "-p", "top", "99999999999"], "between 1 and 1000"),
    "-p window 99999999999": (["build", "weekly", "-p", "window", "99999999999"], "between 1 and 3660 days"),
    "compare -p window 0": (["build", "compare", "-p", "window", "0"], "between 1 and 3660 days"),
    "metrics --window 99999999999": (["metrics", "new-releases", "--window", "99999999999"], "between 1 and 3660 days"),
    "metrics --window 0": (["metrics", "foundation-share", "--window", "0"], "between 1 and 3660 days"),
    "metrics --top 0": (["metrics", "top-models", "--top", "0"], "between 1 and 1000"),
    "metrics --top 99999999999": (["metrics", "top-models", "--top", "99999999999"], "between 1 and 1000"),
    "--keep-weekly -1": (["snapshots", "prune", "--keep-weekly", "-1", "--keep-daily", "1"], "between 0 and 10000"),
    "--keep-daily 99999999999": (["snapshots", "prune", "--keep-weekly", "1", "--keep-daily", "99999999999"],
                                 "between 0 and 10000"),
    "registry --limit -1": (["registry", "unattributed", "--snapshot", "latest", "--limit", "-1"],
                            "between 0 and 100000"),
}


@pytest.mark.parametrize("argv, fragment", NUMBERS.values(), ids=NUMBERS.keys())
def test_a_number_out_of_range_is_refused_with_its_range(argv, fragment, world, tmp_path, tiny, inproc,
                                                         fast_backoff, capsys):
    reads_world = argv[0] in ("metrics", "registry") or (argv[0] == "build" and "--live" not in argv)
    store, briefs = (world.store if reads_world else tmp_path / "store"), tmp_path / "briefs"
    before = tree(world.store)
    refused([*argv, "--store", store, *(["--briefs", briefs] if argv[0] == "build" else [])], capsys, fragment)
    assert not briefs.exists() and not (tmp_path / "store").exists() and tree(world.store) == before


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)
        else:
            yield parser, action


def test_every_number_is_declared_with_a_range():
    """No option is a bare int or float (a range is declared with it), and its help states the range."""
    for parser, action in _actions(cli.make_parser()):
        assert action.type not in (int, float), f"{parser.prog} {action.option_strings}: use cli.bounded"
        allowed = getattr(action.type, "range", None)
        if allowed is not None:
            assert str(allowed) in " ".join(action.help.split()), (parser.prog, action.option_strings)
    for notebook, specs in params.NOTEBOOKS.items():
        for p in specs:
            assert p.type not in (int, float) or p.bounds is not None, f"{notebook}: {p.name} needs bounds"
