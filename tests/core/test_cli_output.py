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


@pytest.mark.parametrize(
    "command",
    [
        *("compare", "study", "sweep", "lr-find", "recipes", "evaluate", "data list", "data show"),
        *("predict", "forecast", "anomaly", "inspect", "summary"),
    ],
)
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


# ----------------------------------------------------------------------------- every table of a trained run
# Tiny runs of each kind (a few hundred parameters, a few steps on made-up data), trained once for the module.

TINY_TRAIN = ["train.max_steps=3", "train.eval_every=3", "train.eval_batches=1", "train.threads=1", "train.max_time=0"]


def _train(tmp_path_factory, recipe: str, overrides: list[str]) -> Path:
    from seqlab.config import load_config
    from seqlab.run import train

    run_dir = tmp_path_factory.mktemp(recipe) / "run"
    train(load_config(recipe, overrides=[*TINY_TRAIN, *overrides]), run_dir=run_dir, console=Console(file=StringIO()))
    return run_dir


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory):
    """A bidirectional LSTM classifier on thirty made-up reviews."""
    folder = tmp_path_factory.mktemp("cls-data")
    rows = ["text,label"] + [
        f"a {'great' if i % 2 else 'dull'} film number {i},{'pos' if i % 2 else 'neg'}" for i in range(40)
    ]
    (folder / "r.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    overrides = [f'data.dataset="{(folder / "r.csv").as_posix()}"', "data.max_len=8", "model.embed_dim=4"]
    return _train(tmp_path_factory, "rotten-tomatoes-bilstm", [*overrides, "model.hidden_size=4", "train.batch_size=8"])


@pytest.fixture(scope="module")
def s2s_run(tmp_path_factory):
    """An attention GRU that has seen forty made-up number pairs."""
    folder = tmp_path_factory.mktemp("s2s-data")
    lines = ["source\ttarget"] + [f"{'일이삼사오육칠팔구'[i % 9]}십\t{(i % 9 + 1) * 10}" for i in range(40)]
    (folder / "p.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    overrides = [f'data.dataset="{(folder / "p.tsv").as_posix()}"', "data.samples=1", "model.embed_dim=4"]
    return _train(tmp_path_factory, "num2words-ko", [*overrides, "model.hidden_size=4", "train.batch_size=8"])


@pytest.fixture(scope="module")
def anomaly_run(tmp_path_factory):
    """A dense autoencoder of 300 Fashion-MNIST images without its trousers (the cached catalog data)."""
    overrides = ["data.limit=300", "model.hidden_sizes=[8]", "model.latent_dim=2", "train.batch_size=32"]
    return _train(tmp_path_factory, "fashion-anomaly", overrides)


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    """A GRU forecaster of a made-up seasonal series (120 points)."""
    folder = tmp_path_factory.mktemp("series")
    values = [10 + (i % 12) for i in range(120)]
    (folder / "s.csv").write_text(
        "time,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)), encoding="utf-8"
    )
    overrides = [f'data.dataset="{(folder / "s.csv").as_posix()}"', "data.input_len=12", "data.horizon=3"]
    return _train(tmp_path_factory, "air-passengers-gru", [*overrides, "model.hidden_size=4", "train.early_stopping=0"])


def _piped_rows(out: str, header: list[str]) -> list[str]:
    """The lines from the one that starts with ``header`` to the next blank or differently shaped line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[: len(header)] == header)
    return lines[start:]


def test_predict_classes_json_and_piped(cli, cls_run, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("a great film\na dull film with a title [that] looks like markup\n", encoding="utf-8")
    rows = json.loads(cli("predict", str(cls_run), "--file", str(texts), "--json").out)
    assert [row["text"] for row in rows] == texts.read_text(encoding="utf-8").splitlines()
    assert all(row["class"] in ("neg", "pos") and abs(row["neg"] + row["pos"] - 1) < 1e-5 for row in rows)
    piped = cli("predict", str(cls_run), "--file", str(texts)).out.splitlines()
    assert piped[0].split() == ["class", "neg", "pos", "text"] and len(piped) == 3
    assert piped[2].endswith(" a dull film with a title [that] looks like markup")  # one line, uncut, no markup


def test_inspect_gates_json_and_piped(cli, tiny_run, cls_run, tmp_path):
    shown = json.loads(cli("inspect", str(tiny_run), "the cat", "--out", str(tmp_path), "--json").out)
    assert "".join(shown["tokens"]) == "the cat" and len(shown["ids"]) == 7 and shown["figures"]
    [(layer, steps)] = shown["layers"].items()
    assert len(steps) == 7 and {"step", "token", "forget", "hidden_norm", "expects_next", "probability"} <= set(
        steps[0]
    )
    piped = cli("inspect", str(tiny_run), "the cat", "--out", str(tmp_path)).out
    rows = _piped_rows(piped, ["step", "token"])
    assert all(rows[1 + t].split()[0] == str(t) for t in range(7)) and "heatmap:" in rows[8]
    classified = json.loads(cli("inspect", str(cls_run), "a great film", "--out", str(tmp_path), "--json").out)
    assert set(classified["outputs"]) == {"neg", "pos"} and len(classified["padded"]) == 8
    assert "expects_next" not in next(iter(classified["layers"].values()))[0]


def test_summary_json_and_piped(cli, tiny_run):
    [part] = json.loads(cli("summary", str(tiny_run), "--json").out)
    assert part["total_params"] == sum(row["params"] for row in part["layers"]) > 0
    assert {"name", "type", "output_shape", "params", "calls"} <= set(part["layers"][0])
    piped = cli("summary", str(tiny_run)).out
    rows = _piped_rows(piped, ["layer", "(type)"])
    assert len(rows) > len(part["layers"]) and rows[len(part["layers"]) + 1].startswith("Total params:")


def test_seq2seq_predict_and_attention_json_and_piped(cli, s2s_run, tmp_path):
    [row] = json.loads(cli("predict", str(s2s_run), "삼십", "--beam", "1", "--json").out)
    assert set(row) == {"source", "translation"} and row["source"] == "삼십"
    hypotheses = json.loads(cli("predict", str(s2s_run), "삼십", "--beam", "3", "--n-best", "2", "--json").out)
    assert [h["rank"] for h in hypotheses] == [1, 2] and all(h["source"] == "삼십" for h in hypotheses)
    piped = cli("predict", str(s2s_run), "삼십", "--beam", "3", "--n-best", "2").out.splitlines()
    assert piped[0].split() == ["source", "rank", "translation", "score"] and len(piped) == 3
    assert all(line.startswith("삼십 ") for line in piped[1:])
    view = json.loads(cli("inspect", str(s2s_run), "삼십", "--out", str(tmp_path), "--json").out)
    assert len(view["attention"]) == len(view["target_tokens"]) == len(view["weights"])
    assert {"step", "output_token", "source_token", "weight"} == set(view["attention"][0])
    piped = cli("inspect", str(s2s_run), "삼십", "--out", str(tmp_path)).out
    assert len(_piped_rows(piped, ["step", "output"])) == len(view["attention"]) + 2  # header, rows, heatmap


def test_forecast_json_and_piped(cli, forecast_run, tmp_path):
    shown = json.loads(cli("forecast", str(forecast_run), "--json").out)
    assert shown["after"] == "119" and shown["columns"] == ["value"] and shown["plot"] is None
    assert [row["time"] for row in shown["forecast"]] == ["120", "121", "122"]
    assert all(isinstance(row["value"], float) for row in shown["forecast"])
    [predicted] = json.loads(cli("predict", str(forecast_run), "--json").out)
    assert predicted["forecast"] == shown["forecast"]
    piped = cli("forecast", str(forecast_run)).out.splitlines()
    assert "next 3 steps after 119" in piped[0] and piped[1].split() == ["time", "value"] and len(piped) == 5


@pytest.mark.network("fashion-mnist")
def test_anomaly_json_and_piped(cli, anomaly_run):
    shown = json.loads(cli("anomaly", str(anomaly_run), "--percentile", "95", "--json").out)
    assert shown["holdout"] == "Trouser" and 0 <= shown["auc"] <= 1
    assert [row["threshold"] for row in shown["thresholds"]] == ["max of train", "p95 of train"]
    assert {"value", "precision", "recall", "false_positive_rate"} < set(shown["thresholds"][0])
    piped = cli("anomaly", str(anomaly_run), "--percentile", "95").out.splitlines()
    assert "ROC-AUC" in piped[0] and piped[1].split()[:2] == ["threshold", "value"] and len(piped) == 4
    assert piped[3].startswith("p95 of train ")


def test_lr_find_prints_json_alone(cli, tiny_run, tmp_path):
    """With --json the progress goes to stderr; standard output is the suggestion and every step taken."""
    sets = [f'data.dataset="{(tiny_run.parent / "tiny.txt").as_posix()}"', "data.block_size=16", "model.hidden_size=8"]
    sets += ["model.embed_dim=8", "model.num_layers=1", "train.batch_size=4", "train.threads=1"]
    args = ["lr-find", "shakespeare-char", "--steps", "4", "--out", str(tmp_path / "lr"), "--device", "cpu", "--json"]
    result = cli(*args, *[a for s in sets for a in ("--set", s)])
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert shown["suggested"] > 0 and [p["step"] for p in shown["points"]] == list(range(1, len(shown["points"]) + 1))
    assert {"lr", "loss", "smoothed"} < set(shown["points"][0]) and (tmp_path / "lr" / "report.md").is_file()
