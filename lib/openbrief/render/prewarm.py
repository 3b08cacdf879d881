"""A kernel's interpreter started ahead of time, while the build checks its input.

``openbrief build`` checks its input and imports papermill (about half a second) before papermill
launches the kernel, which then spends about a second starting (IPython, ZeroMQ) and as much again
importing pandas and matplotlib in its first cell, all one after the other. :func:`start` launches,
when the build starts, a Python that imports those modules on the other core and waits on its
stdin; it is no kernel yet and runs no notebook code.
When papermill launches the kernel, ``engine.KernelManager`` (via :func:`adopt`) hands that process the exact command,
working folder and environment jupyter_client would have used, and it becomes that kernel
(``python -m ipykernel_launcher ...``). It is only adopted when the command is the kernel spec's
and the environment the same as the one it started with (credentials removed as in
``publishing.without_secrets``); otherwise, and whenever none is waiting, the kernel is launched as
usual. ``openbrief build`` calls :func:`discard` whatever happens (a refused build ends it); a
waiting process also ends when its stdin closes, so it never outlives the build.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Standard library only: ``openbrief build`` starts the interpreter before importing anything heavy.

#: Environment variables never handed to a kernel: notebooks have no use for credentials.
SECRET_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN")

#: What the waiting interpreter runs: import what the kernel and the briefs will (stopping as soon as
#: the handover arrives), then become ``python -m ipykernel_launcher ARGS`` in the given folder and env.
LAUNCHER = r"""
import importlib, json, os, runpy, select, sys
if not os.environ.get("MPLBACKEND"):  # what ipykernel sets before any cell imports matplotlib
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
for name in ("ipykernel.kernelapp", "ipykernel.ipkernel", "pandas", "matplotlib.figure", "matplotlib.font_manager"):
    if select.select([sys.stdin], [], [], 0)[0]:
        break
    try:
        importlib.import_module(name)
    except Exception:
        pass  # the kernel or the notebook imports it again and reports the error
line = sys.stdin.readline()
if not line:
    sys.exit(0)
order = json.loads(line)
os.chdir(order["cwd"])
os.environ.clear()
os.environ.update(order["env"])
sys.path[0] = os.getcwd()  # what "python -m" puts first
sys.argv = ["ipykernel_launcher", *order["args"]]
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""

_waiting: subprocess.Popen | None = None
_env: dict[str, str] = {}
_folder: Path | None = None


def kernel_env() -> dict[str, str]:
    """The environment jupyter_client gives a kernel started now inside ``without_secrets``."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env["HF_TOKEN_PATH"] = os.devnull
    env.pop("PYTHONEXECUTABLE", None)  # jupyter_client drops it for Python kernels
    env["JPY_PARENT_PID"] = str(os.getpid())  # jupyter_client's launcher adds it
    return env


def wanted(argv: list[str]) -> bool:
    """Whether this process is ``openbrief build ...`` (the console script or ``python -m openbrief``)."""
    return bool(argv) and argv[0].endswith(("openbrief", "openbrief/__main__.py")) and argv[1:2] == ["build"]


def start() -> None:
    """Launch the waiting interpreter (once per process; a second call keeps the first). When it
    cannot be launched (no temporary folder, Python not executable), nothing waits and the build
    goes on as usual: whatever stops it then is reported by the build itself."""
    global _waiting, _env, _folder
    if _waiting is not None:
        return
    _env = kernel_env()
    try:
        _folder = Path(tempfile.mkdtemp(prefix="openbrief-kernel-"))  # an empty folder first on sys.path
        _waiting = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE, cwd=_folder, env=_env,
                                    start_new_session=True)  # as jupyter_client launches kernels
    except OSError:
        _clean_folder()


def discard() -> None:
    """End the waiting interpreter, if one is still waiting."""
    global _waiting
    proc, _waiting = _waiting, None
    if proc is not None:
        proc.kill()
        proc.wait()
        proc.stdin.close()
    _clean_folder()


atexit.register(discard)  # also when the command line is refused before cmd_build runs


def _clean_folder() -> None:
    global _folder
    if _folder is not None:
        try:
            _folder.rmdir()
        except OSError:
            pass
        _folder = None


def adopt(cmd: list[str], kw: dict) -> subprocess.Popen | None:
    """Hand the waiting interpreter the kernel's command, folder and environment; ``None`` when it
    cannot stand in for the process jupyter_client would launch."""
    global _waiting
    proc = _waiting
    expected = {**kw.get("env", {}), "JPY_PARENT_PID": str(os.getpid())}
    extra = set(kw) - {"env", "cwd", "extra_arguments", "kernel_id"}  # the last two never reach Popen
    if (proc is None or proc.poll() is not None or extra or expected != _env or len(cmd) < 3
            or cmd[1:3] != ["-m", "ipykernel_launcher"] or Path(cmd[0]).resolve() != Path(sys.executable).resolve()):
        discard()
        return None
    _waiting = None
    order = {"args": cmd[3:], "cwd": str(kw.get("cwd") or Path.cwd()), "env": expected}
    try:
        proc.stdin.write((json.dumps(order) + "\n").encode())
        proc.stdin.close()
    except OSError:  # it died meanwhile
        proc.kill()
        proc.wait()
        _clean_folder()
        return None
    _clean_folder()
    return proc
