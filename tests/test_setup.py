"""A fresh machine: the Python is checked before anything is installed, a .venv that does not
work is made again (.ci/python-env, which `make` runs)."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT, ROOT

SCRIPT = ROOT / ".ci" / "python-env"


def python_env(venv: Path, python: str):
    return subprocess.run(["sh", str(SCRIPT), str(venv)], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": python})


def test_a_python_older_than_3_11_is_one_clear_line(tmp_path):
    old = tmp_path / "python3.10"
    old.write_text("#!/bin/sh\n"
                   "case \"$*\" in *version_info\\ \\<*) exit 1 ;; *print*) echo 3.10 ;; esac\n")
    old.chmod(0o755)
    run = python_env(tmp_path / ".venv", str(old))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "Python 3.10 is too old: this project needs Python 3.11 or newer "
        "(run make PYTHON=/path/to/python3.11)"]
    assert not (tmp_path / ".venv").exists()
    run = python_env(tmp_path / ".venv", str(tmp_path / "no-such-python"))
    assert run.returncode == 1 and "was not found" in run.stderr


def test_a_broken_venv_is_made_again(tmp_path):
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "removed-python")   # its Python is gone
    run = python_env(venv, sys.executable)
    assert run.returncode == 0, run.stderr
    assert "rebuilding" in run.stderr
    check = subprocess.run([str(venv / "bin" / "python"), "-c", "import pip, sys; "
                            "print(sys.version_info >= (3, 11))"], capture_output=True, text=True)
    assert check.stdout.strip() == "True"
    again = python_env(venv, sys.executable)             # a working one is left alone
    assert again.returncode == 0 and again.stderr == ""
