"""The pipeline's layout is a contract that can fail (issue 11).

- the import contracts in ``pyproject.toml`` (``[tool.importlinter]``) hold, checked by
  import-linter on the installed package; and a contract this code base breaks is reported
  as broken, so the check is not vacuous;
- notebooks import only ``openbrief.brief`` and ``openbrief.metrics`` (and never the Hub client);
- each stage is a subpackage whose docstring says what it owns and what it may import;
- no module is much over 500 lines.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from openbrief.store.snapshot import REPO_ROOT

LIB = REPO_ROOT / "lib" / "openbrief"
STAGES = ("hub", "replay", "store", "registry", "metrics", "brief", "render", "cli", "i18n")
LINT = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 520  # "about 500"
NOTEBOOK_MAY_IMPORT = re.compile(r"openbrief\.(brief|metrics)(\..+)?")


def lint(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)


def test_the_import_contracts_hold():
    run = lint(REPO_ROOT / "pyproject.toml")
    assert run.returncode == 0, run.stdout + run.stderr
    kept = re.search(r"Contracts: (\d+) kept, (\d+) broken", run.stdout)
    assert kept and int(kept.group(1)) >= 7 and kept.group(2) == "0", run.stdout


def test_a_broken_contract_fails(tmp_path):
    """The CLI does import the metrics: a contract that forbids it must be reported broken."""
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_package = "openbrief"\n\n'
                      '[[tool.importlinter.contracts]]\nname = "cli without metrics"\ntype = "forbidden"\n'
                      'source_modules = ["openbrief.cli"]\nforbidden_modules = ["openbrief.metrics"]\n')
    run = lint(config)
    assert run.returncode != 0
    assert "cli without metrics BROKEN" in run.stdout, run.stdout


def _imports(source: str) -> list[str]:
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [f"{node.module}.{a.name}" if node.module == "openbrief" else node.module for a in node.names]
    return found


@pytest.mark.parametrize("notebook", sorted(p.name for p in (REPO_ROOT / "notebooks").glob("*.ipynb")))
def test_notebooks_import_only_brief_and_metrics(notebook):
    nb = json.loads((REPO_ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))
    imported = [name for cell in nb["cells"] if cell["cell_type"] == "code"
                for name in _imports("".join(cell["source"]))]
    ours = [name for name in imported if name.split(".")[0] == "openbrief"]
    assert ours, "the notebook imports nothing of openbrief: this test would prove nothing"
    assert [n for n in ours if not NOTEBOOK_MAY_IMPORT.fullmatch(n)] == []
    assert [n for n in imported if n.split(".")[0] in ("huggingface_hub", "requests", "httpx")] == []


def test_the_notebook_import_check_can_fail():
    assert _imports("from openbrief import brief, registry as reg\nimport huggingface_hub\n") == [
        "openbrief.brief", "openbrief.registry", "huggingface_hub"]
    assert not NOTEBOOK_MAY_IMPORT.fullmatch("openbrief.registry")


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_is_a_package_that_says_what_it_may_import(stage):
    init = LIB / stage / "__init__.py"
    assert init.is_file(), f"{stage} is not a package"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    assert len(doc.split()) >= 20, f"openbrief.{stage} needs a docstring that says what it owns"
    if stage != "cli":
        assert "May import" in doc, f"openbrief.{stage}'s docstring does not say what it may import"


def test_no_module_is_much_over_500_lines():
    sizes = {str(p.relative_to(LIB)): len(p.read_text(encoding="utf-8").splitlines()) for p in LIB.rglob("*.py")}
    assert len(sizes) > 20
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
