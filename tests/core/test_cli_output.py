"""Output that scripts can read: plain rows in a pipe, --json for every table, help for every option."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import typer
from rich.console import Console

from seqlab.cli.output import Column, Rows, plain_lines, print_rows

SRC = Path(__file__).parents[2] / "src"


def seqlab_piped(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    """Run ``python -m seqlab ARGS`` with standard output a pipe and an 80-column default width."""
    env = {
        **os.environ,
        "COLUMNS": str(columns),
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run([sys.executable, "-m", "seqlab", *args], capture_output=True, text=True, timeout=300, env=env)


def test_piped_recipes_keep_each_recipe_on_one_line():
    """``seqlab recipes | grep en-ko-attention`` finds the name, with its task and dataset beside it."""
    done = seqlab_piped("recipes")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "en-ko-attention" in line]
    assert len(lines) == 1 and lines[0].split()[:3] == ["en-ko-attention", "seq2seq", "en-ko"], done.stdout
    assert done.stdout.splitlines()[0].split() == ["recipe", "task", "dataset", "model", "budget"]
    assert not any(ch in done.stdout for ch in "│┃━")  # no table borders in a pipe


def test_recipes_describe_the_model_each_one_builds(cli):
    rows = json.loads(cli("recipes", "--json").out)
    models = {row["recipe"]: row["model"] for row in rows}
    assert "LSTM" not in models["sunspots-transformer"] and "ransformer" in models["sunspots-transformer"]
    assert models["en-ko-attention"].startswith("biGRU") and "bahdanau" in models["en-ko-attention"]


def test_table_commands_print_json(cli):
    recipes = json.loads(cli("recipes", "--json").out)
    assert {"recipe", "task", "dataset", "model", "budget"} == set(recipes[0])
    assert "shakespeare-char" in {row["recipe"] for row in recipes}
    one = json.loads(cli("recipes", "shakespeare-char", "--json").out)
    assert one["name"] == "shakespeare-char" and one["task"] == "language-model" and "train" in one
    datasets = json.loads(cli("data", "list", "--json").out)
    assert {"name", "shape", "size", "licence", "cached", "description"} == set(datasets[0])
    assert isinstance(datasets[0]["cached"], bool) and "rotten-tomatoes" in {row["name"] for row in datasets}
    studies = json.loads(cli("study", "--json").out)
    assert "dropout" in {row["study"] for row in studies}


def test_data_show_prints_json_and_plain_rows(cli, tmp_path):
    rows = ["text,label"] + [
        f"review {i} {'great' if i % 3 else 'dull'},{'pos' if i % 3 else 'neg'}" for i in range(30)
    ]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ("data", "show", str(tmp_path / "r.csv"), "--val-fraction", "0.2", "--test-fraction", "0.1", "-n", "2")
    shown = json.loads(cli(*args, "--json").out)
    assert shown["examples"] == 30 and shown["split"]["train"] == 21 and shown["classes"] == ["neg", "pos"]
    assert [row["class"] for row in shown["tables"]["classes"]] == ["neg", "pos"]
    assert shown["tables"]["lengths"][0]["length"] == "text characters" and len(shown["samples"]) == 2
    plain = cli(*args).out
    assert "examples 30" in plain and "pos    20        66.7%" in plain


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A language model of a few hundred parameters, trained for three steps on a made-up corpus."""
    from seqlab.config import load_config
    from seqlab.run import train

    folder = tmp_path_factory.mktemp("tiny")
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "park"]
    corpus = folder / "tiny.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(words) for _ in range(10)) for _ in range(180)), encoding="utf-8")
    overrides = [
        f'data.dataset="{corpus.as_posix()}"',
        "data.block_size=16",
        "model.hidden_size=8",
        "model.embed_dim=8",
        "model.num_layers=1",
        "train.batch_size=4",
        "train.max_steps=3",
        "train.eval_every=3",
        "train.eval_batches=1",
        "train.threads=1",
        "sample.max_tokens=4",
    ]
    run_dir = folder / "run"
    train(load_config("shakespeare-char", overrides=overrides), run_dir=run_dir, console=Console(file=StringIO()))
    return run_dir


def test_evaluate_prints_json_and_plain_rows(cli, tiny_run):
    rows = json.loads(cli("evaluate", str(tiny_run), "--json").out)
    assert [row["split"] for row in rows] == ["val", "test"]
    assert all(isinstance(row["loss"], float) and row["loss"] > 0 for row in rows)
    plain = cli("evaluate", str(tiny_run)).out.splitlines()
    assert plain[0].split()[:2] == ["split", "loss"] and plain[1].startswith("val ")


def test_every_command_and_option_has_help():
    """Walk typer's command tree: each command says what it does, each argument and option what it is."""
    from seqlab.cli import app

    missing = []

    def walk(command, path: str) -> None:
        if not (command.help or "").strip():
            missing.append(f"{path}: no description")
        for param in command.params:
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{path} {param.opts[0] if param.opts else param.name}: no help")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "seqlab")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("command", ["compare", "study", "sweep", "recipes", "evaluate", "data list", "data show"])
def test_table_commands_offer_json(command):
    from seqlab.cli import app

    found = typer.main.get_command(app)
    for name in command.split():
        found = found.commands[name]
    assert any("--json" in param.opts for param in found.params)


def test_importing_the_cli_imports_no_torch():
    """``seqlab --help`` stays fast: the command modules import torch inside their functions."""
    code = "import sys, seqlab.cli; assert 'torch' not in sys.modules, 'torch imported'"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr


def test_rows_in_a_terminal_a_pipe_and_json():
    rows = Rows(["name", Column("value", format=".2f")], [["a-rather-long-name-that-is-not-cut", 1.0], ["b", None]])
    terminal = StringIO()
    print_rows(rows, console=Console(file=terminal, force_terminal=True, width=40, color_system=None))
    assert "┃" in terminal.getvalue() and "a-rather-long-name-that-is-not-cut" in terminal.getvalue()
    piped = StringIO()
    print_rows(rows, console=Console(file=piped, width=20))
    assert piped.getvalue().splitlines() == plain_lines(rows)
    assert piped.getvalue().splitlines()[1] == "a-rather-long-name-that-is-not-cut  1.00"
    assert piped.getvalue().splitlines()[2] == "b                                   -"
    as_json = StringIO()
    print_rows(rows, console=Console(file=as_json, width=20), as_json=True)
    assert json.loads(as_json.getvalue())[1] == {"name": "b", "value": None}
