"""The CLI's frame: --help, --version, usage errors, user errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

from seqlab import __version__


def test_version_and_help(cli):
    assert cli("--version").out.strip() == f"seqlab {__version__}"
    result = cli("--help")
    assert result.code == 0
    for command in ("data", "train", "sample", "predict", "recipes"):
        assert command in result.out


def test_unknown_command_is_a_usage_error(cli):
    result = cli("trian")
    assert result.code == 2
    assert "No such command" in result.err


def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "seqlab", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"seqlab {__version__}"


def test_recipes_lists_the_shipped_recipes(cli):
    result = cli("recipes")
    assert result.code == 0
    assert "shakespeare-char" in result.out and "rotten-tomatoes-bilstm" in result.out
