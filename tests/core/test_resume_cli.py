"""Exact resume of real recipes through the real CLI: SIGKILL after the first checkpoint, then ``--resume``.

Each recipe is trained twice on a tiny budget, in subprocesses of ``python -m seqlab train``: once
uninterrupted, once killed with SIGKILL as soon as its first checkpoint is on disk and then continued
with ``seqlab train --resume``. The final weights must be the same bytes and metrics.jsonl the same
rows (less its wall-clock fields). The budgets leave a hundred steps or more after the first checkpoint, so
the kill lands mid-run: the resumed process redoes the steps after the checkpoint, drops the rows
the killed one wrote past it, and continues the shuffling (the classifier's length buckets, the
character LM's windows, seq2seq's pairs) mid-epoch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from seqlab.config import load_config
from seqlab.run import train

COMMON = ["train.threads=1", "train.max_time=0", "train.keep_checkpoints=2", "train.eval_batches=1"]
RECIPES = {
    # character windows: the first checkpoint at step 20 of 200
    "shakespeare-char": [
        "data.limit=30000",
        "data.block_size=32",
        "model.embed_dim=16",
        "model.hidden_size=32",
        "model.num_layers=1",
        "train.batch_size=8",
        "train.max_steps=200",
        "train.eval_every=20",
        "train.checkpoint_every=20",
        "sample.max_tokens=10",
    ],
    # length-bucketed batches, about 30 a epoch: the kill lands mid-epoch
    "rotten-tomatoes-bilstm": [
        "data.limit=600",
        "data.max_len=24",
        "model.embed_dim=16",
        "model.hidden_size=16",
        "train.batch_size=16",
        "train.max_steps=120",
        "train.max_epochs=20",
        "train.early_stopping=0",
        "train.eval_every=20",
        "train.checkpoint_every=20",
    ],
    # attention GRU, teacher forcing
    "num2words-ko": [
        "data.limit=120",
        "data.val_fraction=0.1",
        "data.test_fraction=0.1",
        "data.samples=2",
        "data.max_source_len=16",
        "data.max_target_len=8",
        "model.embed_dim=8",
        "model.hidden_size=16",
        "train.batch_size=8",
        "train.max_steps=160",
        "train.max_epochs=100",
        "train.eval_every=20",
        "train.checkpoint_every=20",
    ],
    # the GAN variants: style mixing and noise draws, and the CycleGAN's replay buffers, must all resume
    "fashion-stylegan": [
        "data.limit=200",
        "model.channels=4",
        "model.noise_dim=8",
        "model.w_dim=8",
        "model.mapping_layers=2",
        "model.judge_steps=3",
        "model.judge_samples=20",
        "train.batch_size=8",
        "train.max_steps=150",
        "train.max_epochs=100",
        "train.eval_every=20",
        "train.checkpoint_every=20",
    ],
    "fashion-cyclegan": [
        "data.limit=200",
        "model.channels=4",
        "model.residual_blocks=1",
        "model.pool_size=8",
        "model.judge_steps=3",
        "model.judge_samples=20",
        "train.batch_size=4",
        "train.max_steps=150",
        "train.max_epochs=100",
        "train.eval_every=20",
        "train.checkpoint_every=20",
    ],
}
DATASETS = {
    "shakespeare-char": "shakespeare",
    "rotten-tomatoes-bilstm": "rotten-tomatoes",
    "num2words-ko": "num2words-ko",
    "fashion-stylegan": "fashion-mnist",
    "fashion-cyclegan": "fashion-mnist",
}
WALL_CLOCK = ("time", "tokens_per_s")  # differ between any two runs


def _train(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "seqlab", "train", *args],
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, *, timeout: float = 240) -> None:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def _rows(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in rows]


def _kill_after_first_checkpoint(proc: subprocess.Popen, run_dir: Path, *, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not list((run_dir / "checkpoints").glob("step-*/manifest.json")):
        if proc.poll() is not None:
            pytest.fail(f"training ended before its first checkpoint: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no checkpoint within the timeout")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # the budget leaves a hundred steps or more after the first checkpoint: the run was cut short
    assert not (run_dir / "model.safetensors").exists(), "the run finished before the kill; give it more steps"


@pytest.mark.parametrize("recipe", [pytest.param(r, marks=pytest.mark.network(DATASETS[r])) for r in sorted(RECIPES)])
def test_sigkill_then_resume_equals_an_uninterrupted_run(recipe, tmp_path):
    overrides = [*COMMON, *RECIPES[recipe]]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    interrupted = _train(recipe, *[a for item in overrides for a in ("--set", item)], "--run-dir", str(killed))
    # the uninterrupted run trains in this process (the CLI adds nothing to training), in a thread
    # while this one watches the other for its first checkpoint
    with ThreadPoolExecutor(max_workers=1) as pool:
        config = load_config(recipe, overrides=overrides)
        reference = pool.submit(train, config, run_dir=whole, console=Console(file=StringIO()))
        _kill_after_first_checkpoint(interrupted, killed)
        reference.result()
    _finish(_train("--resume", str(killed)))

    assert (killed / "model.safetensors").read_bytes() == (whole / "model.safetensors").read_bytes()
    rows = _rows(killed)
    assert rows == _rows(whole)
    steps = [row["step"] for row in rows if row["split"] == "train"]
    assert steps == sorted(set(steps)), "a resumed run repeats or skips no training row"
    assert (killed / "config.toml").read_bytes() == (whole / "config.toml").read_bytes()
    assert json.loads((killed / "final_metrics.json").read_text()) == json.loads(
        (whole / "final_metrics.json").read_text()
    )
