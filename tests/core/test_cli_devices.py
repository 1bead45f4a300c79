"""--device on every command that runs a model, and --nproc: the same training under PyTorch's torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

SRC = Path(__file__).parents[2] / "src"
TINY_LM = [  # as tests/core/test_run_e2e.py, six steps
    "data.limit=30000",
    "data.block_size=32",
    "model.embed_dim=16",
    "model.hidden_size=32",
    "model.num_layers=1",
    "train.max_steps=6",
    "train.eval_every=3",
    "train.eval_batches=2",
    "train.checkpoint_every=3",
    "train.batch_size=8",
    "train.threads=1",
    "sample.max_tokens=20",
]


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "{missing}", "--device", "cuda:99"],
        ["serve", "{missing}", "--device", "cuda:99"],
        ["train", "shakespeare-char", "--device", "cuda:99"],
        ["compare", "shakespeare-char", "--vary", "model.cell=rnn,gru", "--device", "cuda:99"],
    ],
)
def test_a_device_that_is_not_here_is_one_line(args, cli, tmp_path):
    """Loading or training on a device this machine lacks: one line that lists the ones it has."""
    result = cli(*[a.format(missing=tmp_path / "nope") for a in args])
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert '--device "cuda:99" is not available here; devices: cpu' in result.err


def test_a_name_that_is_not_a_device_lists_the_choices(cli, tmp_path):
    result = cli("evaluate", str(tmp_path), "--device", "tpu")
    assert result.code == 1 and '--device must be one of auto, cpu, cuda, cuda:N, mps (got "tpu")' in result.err


MODEL_COMMANDS = [
    *("train", "evaluate", "predict", "sample", "inspect", "generate", "forecast", "anomaly"),
    *("serve", "chat", "compare", "sweep", "lr-find", "study"),
]


@pytest.mark.parametrize("command", MODEL_COMMANDS)
def test_every_command_that_runs_a_model_offers_device(command):
    from seqlab.cli import app

    found = typer.main.get_command(app).commands[command]
    assert any("--device" in param.opts for param in found.params)


def test_nproc_runs_the_same_train_command_under_torchrun():
    """The argv handed to torchrun: the training options, without --nproc and the other launch options."""
    from seqlab.cli.train import torchrun_train_argv

    argv = torchrun_train_argv(
        recipe="shakespeare-char",
        set_=["train.max_steps=6", "data.limit=3000"],
        data="corpus.txt",
        run_dir=Path("runs/x"),
        resume=None,
        force=True,
        device="cpu",
        nproc=4,
        nnodes=2,
        node_rank=1,
        rdzv_endpoint="10.0.0.1:29400",
    )
    assert argv[0] == sys.executable and argv[1:5] == ["-m", "torch.distributed.run", "--nproc-per-node", "4"]
    module = argv.index("-m", 5)
    assert argv[5:module] == [
        "--nnodes", "2", "--node-rank", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", "10.0.0.1:29400",
        "--rdzv-id", "seqlab",
    ]  # fmt: skip
    assert argv[module + 1 :] == [
        "seqlab", "train", "shakespeare-char", "--set", "train.max_steps=6", "--set", "data.limit=3000",
        "--data", "corpus.txt", "--run-dir", "runs/x", "--device", "cpu", "--force",
    ]  # fmt: skip
    resumed = torchrun_train_argv(
        recipe=None, set_=[], data=None, run_dir=None, resume=Path("runs/x"), force=False, device=None, nproc=2
    )
    assert resumed[resumed.index("seqlab") + 1 :] == ["train", "--resume", "runs/x"] and "--standalone" in resumed


@pytest.mark.network("shakespeare")
def test_nproc_trains_one_run_in_two_processes(tmp_path, cli):
    """``seqlab train --nproc 2`` goes through torchrun (gloo on the CPU) and leaves one complete run folder."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "CUDA_VISIBLE_DEVICES": "",  # two CPU processes, also on a machine with one GPU
    }
    sets = [arg for item in TINY_LM for arg in ("--set", item)]
    args = ["train", "shakespeare-char", "--nproc", "2", "--device", "cpu", "--run-dir", "run", *sets]
    done = subprocess.run(
        [sys.executable, "-m", "seqlab", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("run saved in") == 1  # rank 0 alone reports
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # one folder: no runs/<name>-<time> of another rank
    run_dir = tmp_path / "run"
    for name in ("config.toml", "meta.json", "tokenizer.json", "model.safetensors", "summary.md", "final_metrics.json"):
        assert (run_dir / name).is_file(), name
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = [(row["split"], row["step"]) for row in rows]
    assert max(step for _, step in logged) == 6 and len(logged) == len(set(logged))  # written once, by rank 0
    assert [p.name for p in (run_dir / "checkpoints").iterdir()]
    evaluated = json.loads(cli("evaluate", str(run_dir), "--device", "cpu", "--json").out)
    assert [row["split"] for row in evaluated] == ["val", "test"]
