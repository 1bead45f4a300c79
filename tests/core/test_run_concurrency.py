"""One writer per run folder: a second `seqlab train` into it is refused; a finished run is never replaced silently."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import seqlab

TINY_LM = [
    "data.limit=20000",
    "data.block_size=32",
    "model.embed_dim=16",
    "model.hidden_size=32",
    "model.num_layers=1",
    "train.batch_size=8",
    "train.max_steps=100",
    "train.eval_every=50",
    "train.eval_batches=1",
    "train.checkpoint_every=50",
    "train.threads=1",
    "train.max_time=0",
    "sample.max_tokens=10",
]
RUN_FILES = ("config.toml", "meta.json", "tokenizer.json", "model.safetensors", "metrics.jsonl", "summary.md")


SETS = [a for item in TINY_LM for a in ("--set", item)]


def _train(run_dir: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "seqlab", "train", "shakespeare-char", *SETS, *more, "--run-dir", str(run_dir)],
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal: a suite started in the background by a non-interactive shell (nohup
        # ... &) ignores SIGINT, and a child would inherit that and never see the test's Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _files(folder: Path, *, lock: bool = True) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path (``lock=False``: less the lock file, no file of the run)."""
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return files if lock else {name: data for name, data in files.items() if name != ".lock"}


@pytest.mark.network("shakespeare")
def test_a_second_writer_gets_the_lock_error_and_the_first_run_is_intact(tmp_path, cli):
    run_dir = tmp_path / "run"
    first = _train(run_dir)
    deadline = time.monotonic() + 120
    while not ((run_dir / ".lock").is_file() and (run_dir / "config.toml").is_file()):
        assert first.poll() is None, first.communicate()[1]
        assert time.monotonic() < deadline, "the first training wrote no config.toml"
        time.sleep(0.005)
    # freeze the first while it holds the lock (its 100 steps are still ahead), so the second
    # meets the lock every time, however slowly it starts
    first.send_signal(signal.SIGSTOP)
    try:
        assert not (run_dir / "model.safetensors").exists()
        before = _files(run_dir)
        second = cli("train", "shakespeare-char", *SETS, "--run-dir", str(run_dir))  # in this process: a second pid
        assert second.code == 1, second.out + second.err
        assert f"is being written by process {first.pid}" in second.err
        assert len(second.err.strip().splitlines()) == 1 and "Traceback" not in second.err
        assert _files(run_dir) == before  # the refused writer touched nothing
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=240)
    assert first.returncode == 0, err
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    run = seqlab.load(run_dir)
    steps = [row["step"] for row in run.metrics() if row["split"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 100  # one writer's rows, none interleaved
    assert not [p for p in run_dir.rglob("*") if ".tmp" in p.name]  # no temporaries left behind


@pytest.mark.network("shakespeare")
def test_a_finished_run_is_refused_and_force_says_what_it_replaces(tmp_path, cli):
    run_dir = tmp_path / "run"
    sets = [a for item in (*TINY_LM, "train.max_steps=3") for a in ("--set", item)]
    assert cli("train", "shakespeare-char", *sets, "--run-dir", str(run_dir)).code == 0
    shutil.rmtree(run_dir / "checkpoints")  # a finished run need not keep its checkpoints
    before = _files(run_dir, lock=False)

    refused = cli("train", "shakespeare-char", *sets, "--run-dir", str(run_dir))
    assert refused.code == 1
    assert "already holds a run (config.toml, model.safetensors)" in refused.err and "--force" in refused.err
    assert len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    assert _files(run_dir, lock=False) == before

    forced = cli("train", "shakespeare-char", *sets, "--set", "train.seed=7", "--run-dir", str(run_dir), "--force")
    assert forced.code == 0, forced.err
    assert "replac" in forced.out and "config.toml" in forced.out and "model.safetensors" in forced.out
    assert (run_dir / "model.safetensors").read_bytes() != before["model.safetensors"]
    assert "seed = 7" in (run_dir / "config.toml").read_text()


@pytest.mark.parametrize("holder", ["config.toml", "model.safetensors", "checkpoints"])
def test_any_run_file_makes_the_folder_a_run(holder, tmp_path, cli):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    marker = run_dir / holder
    marker.mkdir() if holder == "checkpoints" else marker.write_bytes(b"kept")
    before = _files(run_dir, lock=False)
    result = cli("train", "shakespeare-char", "--run-dir", str(run_dir), "--set", "train.max_steps=1")
    assert result.code == 1 and f"already holds a run ({holder})" in result.err
    assert _files(run_dir, lock=False) == before and marker.exists()


@pytest.mark.network("shakespeare")
def test_ctrl_c_during_training_is_one_line_saying_how_to_resume(tmp_path, cli):
    run_dir = tmp_path / "run"
    # a clock budget, so the run is still training when its first checkpoint is on disk (checkpoints are
    # written beside training: 100 tiny steps could all be done by then); the resume trains the rest of it
    proc = _train(run_dir, "--set", "train.max_steps=1000000", "--set", "train.max_time=8s")
    deadline = time.monotonic() + 120
    while not list(run_dir.glob("checkpoints/step-*/manifest.json")):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: interrupted") and f"seqlab train --resume {run_dir}" in last, err
    # the checkpoint it named is good: the run continues from it and finishes
    assert cli("train", "--resume", str(run_dir)).code == 0
    assert (run_dir / "model.safetensors").is_file()
