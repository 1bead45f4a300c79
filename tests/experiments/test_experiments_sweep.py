"""seqlab sweep: a killed sweep resumes without repeating trials; two workers share one study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

SRC = Path(__file__).parents[2] / "src"
SPACE = ["--space", "train.lr=log(1e-3,3e-2)", "--space", "model.cell=choice(rnn,gru)"]


def load(folder: Path, storage: str | None = None):
    plan = json.loads((folder / "study.json").read_text())
    from seqlab.experiments.sweep import open_storage

    return optuna.load_study(
        study_name=plan["study_name"], storage=open_storage(storage or plan["storage"], folder=folder)
    )


@pytest.mark.slow  # a subprocess and four tiny trials
def test_a_killed_sweep_resumes_without_repeating_finished_trials(cli, tmp_path, tiny_sets):
    out = tmp_path / "sweep"
    args = ["sweep", "shakespeare-char", "--trials", "3", *SPACE, "--budget", "8", "--out", str(out), *tiny_sets]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    victim = subprocess.Popen(
        [sys.executable, "-m", "seqlab", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    second = out / "trials" / "trial-0001" / "checkpoints"
    deadline = time.monotonic() + 180
    while victim.poll() is None and time.monotonic() < deadline and not (second.is_dir() and any(second.iterdir())):
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    _, err = victim.communicate()
    assert (out / "trials/trial-0000/final_metrics.json").exists(), err
    first_weights = (out / "trials/trial-0000/model.safetensors").stat().st_mtime_ns
    killed_mid_trial = not (out / "trials/trial-0001/final_metrics.json").exists()

    result = cli(*args)
    assert result.code == 0, result.err
    trials = load(out).get_trials()
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 3
    run_dirs = [t.user_attrs["run_dir"] for t in finished]
    assert len(set(run_dirs)) == 3 and run_dirs.count("trials/trial-0000") == 1
    assert (out / "trials/trial-0000/model.safetensors").stat().st_mtime_ns == first_weights  # not trained again
    if killed_mid_trial:
        failed = [t for t in trials if t.state.name == "FAIL"]
        assert [t.number for t in failed] == [1]
        retry = next(t for t in finished if t.user_attrs.get("retry_of") == 1)
        assert retry.params == failed[0].params and retry.user_attrs["run_dir"] == "trials/trial-0001"
        assert "queued again the parameters of interrupted trial(s) 1" in result.out
    report = (out / "report.md").read_text()
    assert "Trials finished: 3 of 3" in report and "★" in report
    for image in ("history.png", "importances.png", "curves-val.png"):
        assert (out / image).stat().st_size > 1000
    # finished: running it again does nothing; --json prints the best trial alone on standard output
    again = cli(*args, "--json")
    assert again.code == 0 and len(load(out).get_trials()) == len(trials)
    summary = json.loads(again.out)
    assert summary["finished"] == 3 and set(summary["best_params"]) == {"train.lr", "model.cell"}


@pytest.mark.slow  # a worker process and four tiny trials
def test_two_local_workers_share_one_sqlite_study(cli, tmp_path, tiny_sets):
    out = tmp_path / "sweep"
    storage = f"sqlite:///{(tmp_path / 'shared.db').as_posix()}"
    result = cli(
        "sweep",
        "shakespeare-char",
        "--trials",
        "4",
        *SPACE,
        "--budget",
        "3s",
        "--workers",
        "2",
        "--storage",
        storage,
        "--out",
        str(out),
        *tiny_sets,
    )
    assert result.code == 0, result.err + (out / "workers/worker-1.log").read_text()
    trials = load(out, storage).get_trials()
    assert not [t for t in trials if t.state.name in ("FAIL", "RUNNING")]
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert 4 <= len(finished) <= 5  # two workers may both start the last trial
    assert len({t.user_attrs["run_dir"] for t in finished}) == len(finished)
    assert len({t.user_attrs["worker"] for t in finished}) == 2, "the second worker ran no trial"
    assert "Traceback" not in (out / "workers/worker-1.log").read_text()
