"""The CLI's frame: --help, --version, usage errors, user errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("sample", "runs/x", "--top-k", "1.5"), ["--top-k", "'1.5'", "seqlab sample -h"]),
        (("anomaly", "runs/x", "--percentile=nan"), ["--percentile", "'nan'"]),
        (("train", "--nope"), ["No such option: --nope"]),
        (("predict",), ["Missing argument"]),
    ],
)
def test_usage_errors_are_one_line_naming_the_option_and_value(cli, args, names):
    result = cli(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert all(name in lines[0] for name in names), lines[0]
    assert "Traceback" not in result.err


def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "seqlab", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"seqlab {__version__}"


def test_recipes_lists_the_shipped_recipes(cli):
    result = cli("recipes")
    assert result.code == 0
    assert "shakespeare-char" in result.out and "rotten-tomatoes-bilstm" in result.out
