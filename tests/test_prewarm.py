"""The kernel's interpreter started ahead of time (``render.prewarm``): the kernel it becomes is the
kernel jupyter_client would have launched (folder, path, arguments, environment, matplotlib backend),
it is adopted only when nothing changed, and no build, refused or not, leaves it behind."""
from __future__ import annotations

import json

import psutil
import pytest

from clirun import run_main, tiny_notebooks
from openbrief import render
from openbrief.render import params, prewarm

pytestmark = pytest.mark.slow

STATE = (
    "import json, os, sys, matplotlib\n"
    "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), 'path': sys.path, 'argv0': sys.argv[0],\n"
    "                  'args': [a for a in sys.argv[1:] if not a.endswith('.json')], 'backend': matplotlib.get_backend(),\n"
    "                  'env': dict(os.environ)}))\n"
)
#: Set per launch: the connection file, and the session name jupyter_client gives each kernel.
PER_LAUNCH = ("JPY_SESSION_NAME",)


@pytest.fixture(autouse=True)
def _no_waiting_interpreter_afterwards():
    yield
    prewarm.discard()


def _kernel_state(tmp_path, name: str) -> dict:
    source = tiny_notebooks(tmp_path / name, STATE) / "weekly.ipynb"
    (tmp_path / f"{name}-run").mkdir()
    nb = render.execute(source, tmp_path / f"{name}.ipynb", params.defaults("weekly"), cwd=tmp_path / f"{name}-run")
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    state = json.loads(text)
    for key in PER_LAUNCH:
        state["env"].pop(key, None)
    return state


def _launchers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if prewarm.LAUNCHER in p.cmdline()]


def test_the_adopted_interpreter_is_the_kernel_jupyter_would_launch(tmp_path, inproc, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_" + "x" * 30)
    usual = _kernel_state(tmp_path, "usual")
    prewarm.start()
    (waiting,) = _launchers()
    adopted = _kernel_state(tmp_path, "adopted")
    assert adopted["pid"] == waiting.pid != usual["pid"]
    assert (adopted["cwd"], usual["cwd"]) == (str(tmp_path / "adopted-run"), str(tmp_path / "usual-run"))
    assert {k: v for k, v in adopted.items() if k not in ("pid", "cwd")} == \
        {k: v for k, v in usual.items() if k not in ("pid", "cwd")}
    assert "HF_TOKEN" not in adopted["env"] and adopted["env"]["HF_TOKEN_PATH"] == prewarm.os.devnull
    assert not _launchers()


def test_an_interpreter_started_in_another_environment_is_not_adopted(tmp_path, inproc, monkeypatch):
    prewarm.start()
    (waiting,) = _launchers()
    monkeypatch.setenv("OPENBRIEF_PREWARM_TEST", "changed")
    state = _kernel_state(tmp_path, "changed")
    assert state["pid"] != waiting.pid and state["env"]["OPENBRIEF_PREWARM_TEST"] == "changed"
    assert not waiting.is_running() or waiting.status() == psutil.STATUS_ZOMBIE
    assert not _launchers()


def test_a_refused_build_leaves_no_waiting_interpreter(tmp_path, inproc, capsys):
    code, _, err = run_main(["build", "weekly", "--store", tmp_path / "store", "--briefs", tmp_path / "briefs",
                             "-p", "top", "0"], capsys)
    assert code == 2 and "top" in err
    assert not _launchers() and prewarm._waiting is None


def test_only_the_build_command_starts_it_early():
    assert prewarm.wanted(["/srv/openbrief/.venv/bin/openbrief", "build", "weekly"])
    assert prewarm.wanted(["/srv/openbrief/lib/openbrief/__main__.py", "build"])
    for argv in (["/srv/.venv/bin/openbrief", "fetch"], ["/srv/.venv/bin/openbrief"], ["pytest", "build"], []):
        assert not prewarm.wanted(argv)
