"""The Makefile's set-up: system packages are installed as root, or the exact command is printed."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None or shutil.which("dpkg") is None,
                                reason="needs make and dpkg (Debian)")


def make(tmp_path, *args, uid="1000"):
    """Run the repository's Makefile in a scratch folder, with ``id -u`` answering ``uid``."""
    if not (tmp_path / "Makefile").exists():  # copied once: a newer Makefile would redo the stamps
        shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "id").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(["make", "-C", str(tmp_path), *args], capture_output=True, text=True, env=env, timeout=120)


def test_missing_system_package_without_root_prints_the_command_and_stops(tmp_path):
    run = make(tmp_path, ".make-system", "SYSTEM_PACKAGES=openbrief-no-such-package")
    assert run.returncode != 0
    assert "sudo apt-get update && sudo apt-get install -y openbrief-no-such-package" in run.stdout
    assert not (tmp_path / ".make-system").exists()


def test_installed_system_packages_pass_and_leave_a_stamp(tmp_path):
    run = make(tmp_path, ".make-system", "SYSTEM_PACKAGES=dpkg")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / ".make-system").exists()
    # the second time there is nothing to do: `make -q` says the stamp is up to date
    assert make(tmp_path, "-q", ".make-system", "SYSTEM_PACKAGES=dpkg").returncode == 0


def test_make_help_lists_the_targets(tmp_path):
    out = make(tmp_path, "help").stdout
    for target in ("brief", "test", "demo", "lab", "setup", "bench"):
        assert f"\n{target}" in "\n" + out, target
