"""`python -m benchmarks`: the list, the quick mode of one benchmark, and the generated blocks of the tables."""

from __future__ import annotations

import doctest
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def runner():
    spec = importlib.util.spec_from_file_location("benchmarks_runner", ROOT / "benchmarks" / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEQLAB_BENCH_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_list_names_every_script_with_its_duration():
    done = bench("--list")
    assert done.returncode == 0, done.stderr
    scripts = {path.name for path in (ROOT / "benchmarks").glob("*.py") if path.name != "__main__.py"}
    listed = {row.split("|")[2].strip() for row in done.stdout.splitlines()[2:]}
    assert listed == scripts  # every script in the folder has an entry, and every entry a script
    assert "| core | bench_core.py | ~25 min | benchmarks/core.md |" in done.stdout


def test_an_unknown_name_is_one_line_naming_the_choices():
    done = bench("cor")
    assert done.returncode == 2 and "unknown benchmark cor; choose from core, " in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # the core benchmark at tiny sizes: ~10 s of CPU
def test_quick_mode_writes_its_table_elsewhere_and_leaves_the_recorded_one(tmp_path):
    recorded = (ROOT / "benchmarks" / "core.md").read_bytes()
    done = bench("--quick", "core", "--out", str(tmp_path), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (ROOT / "benchmarks" / "core.md").read_bytes() == recorded
    table = (tmp_path / "core.md").read_text()
    assert table.startswith("## Latest run of `python -m benchmarks core`")
    assert "Machine: " in table and " cores, " in table and "torch " in table and "load average" in table
    assert "Command: `python benchmarks/bench_core.py speed --quick`" in table
    assert "### Trainer tax: fit vs a hand-written loop" in table
    assert "| fit, progress bar drawn on a terminal (as shipped) |" in table
    assert "### Training: fused vs scratch LSTM" in table
    assert table.rstrip().endswith("<!-- python -m benchmarks core: end -->")


def test_a_block_is_rewritten_in_place_and_the_prose_kept(tmp_path):
    module = runner()
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nProse before.\n")
    module.write_block(page, "x", "old figures\n")
    page.write_text(page.read_text() + "\nProse after.\n")
    module.write_block(page, "x", "new figures\n")
    module.write_block(page, "y", "other\n")
    text = page.read_text()
    assert text.startswith("# Title\n\nProse before.\n") and "Prose after." in text
    assert "old figures" not in text and text.count("new figures") == 1 and text.count("other") == 1
    assert text.index("new figures") < text.index("Prose after.")  # rewritten where it was


def test_the_runner_doctests():
    assert doctest.testmod(runner()).failed == 0
