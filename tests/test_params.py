"""Notebook parameters: declared, coerced and refused before any kernel starts."""
import json

import nbformat
import pytest

from openbrief.render import params
from openbrief.errors import UsageError
from openbrief.render import NOTEBOOKS_DIR


def test_defaults_validate():
    for name in params.NOTEBOOKS:
        assert params.validate(name, {}) == params.defaults(name)


def test_cli_strings_are_coerced_to_declared_types():
    values = params.validate("weekly", {"top": "7", "by": "bloc"})
    assert values["top"] == 7 and values["by"] == "bloc"
    assert params.validate("compare", {"groups": "CN, US"})["groups"] == ["CN", "US"]


@pytest.mark.parametrize("given, fragment", [
    ({"nope": "1"}, "unknown parameter 'nope'"),
    ({"top": "seven"}, "'seven' is not a whole number"),
    ({"top": "-3"}, "must be between 1 and 1000"),
    ({"top": 2.5}, "not a whole number"),
    ({"by": "planet"}, "not one of country, bloc, org"),
    ({"window": "0"}, "between 1 and 3660"),
    ({"snapshot": "../../etc"}, "must be 'latest' or a snapshot id"),
    ({"title": ""}, "must not be empty"),
    ({"title": "x" * 500}, "at most 120"),
])
def test_bad_parameters_say_how_to_fix(given, fragment):
    with pytest.raises(UsageError) as err:
        params.validate("weekly", given)
    assert fragment in str(err.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(UsageError) as err:
        params.validate("weekly", {"nope": 1, "top": "x"})
    assert "nope" in str(err.value) and "top" in str(err.value)


def test_unknown_notebook():
    with pytest.raises(UsageError, match="unknown notebook 'nope'"):
        params.validate("nope", {})


def test_compare_needs_two_groups_and_spotlight_a_model_id():
    with pytest.raises(UsageError, match="at least two groups"):
        params.validate("compare", {"groups": "CN"})
    with pytest.raises(UsageError, match="Hub model id"):
        params.validate("spotlight", {"model": "not an id"})


def test_params_file(tmp_path):
    good = tmp_path / "p.yml"
    good.write_text("top: 5\nby: org\n")
    assert params.read_params_file(good) == {"top": 5, "by": "org"}
    bad = tmp_path / "bad.yml"
    bad.write_text("top: [1,\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        params.read_params_file(bad)
    (tmp_path / "list.yml").write_text("- 1\n- 2\n")
    with pytest.raises(UsageError, match="mapping"):
        params.read_params_file(tmp_path / "list.yml")
    with pytest.raises(UsageError, match="does not exist"):
        params.read_params_file(tmp_path / "missing.yml")


def _parameters_cell(name):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    scope = {}
    exec(cells[0].source, {}, scope)
    return scope


@pytest.mark.parametrize("name", sorted(params.NOTEBOOKS))
def test_notebook_defaults_match_declarations(name):
    if not (NOTEBOOKS_DIR / f"{name}.ipynb").exists():
        pytest.skip(f"{name}.ipynb not written yet")
    assert _parameters_cell(name) == params.defaults(name)
