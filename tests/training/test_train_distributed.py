"""``fit`` under torchrun: 2 CPU processes (gloo) train like 1 process with the same global batch, and resume exactly.

Each test starts ``python -m torch.distributed.run --nproc-per-node 2 --standalone`` on a small
script (written to ``tmp_path``) that trains the toy task of ``seqlab_train_toy`` through ``fit``
and saves each rank's final weights next to the run directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from io import StringIO
from pathlib import Path

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file
from seqlab_train_toy import RESUME_CONFIG, ToyTask, make_model, one_thread  # noqa: F401 (autouse fixture)

from seqlab.training import fit

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"
PER_PROCESS = 8  # batch_size of each of the 2 processes; the 1-process run uses 16
# device: on a GPU machine "auto" would put both ranks on cuda:0 and cuda:1
CONFIG = RESUME_CONFIG.model_copy(update={"device": "cpu", "batch_size": PER_PROCESS})
# Two processes average the gradients of their two halves of the batch; one process takes the mean
# over the whole batch. The sums run in another order, so the floats differ in the last bits and
# Adam carries that along: after 40 steps every logged value agrees to 2.2e-7 (relative, measured here).
TOLERANCE = 1e-5

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    from pathlib import Path

    from safetensors.torch import save_file
    from seqlab_train_toy import Sleep, ToyTask, make_model

    import torch

    from seqlab.sections import TrainConfig
    from seqlab.training import Callback, fit


    # rank r draws r more random numbers each step, so the ranks' dropout masks differ (as with
    # batches of different shapes): an exact resume must restore each rank's own random state
    class Drift(Callback):
        def on_step_end(self, state, metrics):
            torch.rand(int(os.environ["RANK"]))


    run_dir, dropout, sleep = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    model = make_model(dropout=dropout)
    config = TrainConfig.model_validate_json(os.environ["TOY_CONFIG"])
    callbacks = [Drift(), Sleep(sleep)] if sleep else [Drift()]
    fit(model, ToyTask(batch_size=config.batch_size), config, run_dir=run_dir, resume="--resume" in sys.argv,
        callbacks=callbacks)
    weights = {name: value.contiguous() for name, value in model.state_dict().items()}
    save_file(weights, f"{run_dir}-rank{os.environ['RANK']}.safetensors")
    """
)


def torchrun(tmp_path: Path, run_dir: Path, *args: str, dropout: float = 0.2, sleep: float = 0.0) -> subprocess.Popen:
    """Start 2 ranks of the script through torchrun, each rank's output in a log file."""
    script = tmp_path / "ddp_toy.py"
    script.write_text(SCRIPT)
    logs = tmp_path / f"logs-{run_dir.name}-{len(list(tmp_path.glob('logs-*')))}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE), os.environ.get("PYTHONPATH", "")]),
        "TOY_CONFIG": CONFIG.model_dump_json(),
        "OMP_NUM_THREADS": "1",
        # c10d warns on stderr when the host has no name to resolve (a machine without network)
        "TORCH_CPP_LOG_LEVEL": "ERROR",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone"]
    command += ["--log-dir", str(logs), "--redirects", "3", str(script)]
    command += [str(run_dir), str(dropout), str(sleep), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_all(process: subprocess.Popen) -> None:
    """SIGKILL torchrun and every process under it (it starts each rank in a session of its own)."""
    pids, todo = [], [process.pid]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            todo += [int(child) for child in children.read_text().split()]
    for pid in reversed(pids):  # the ranks first, so the launcher cannot react
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.communicate()


def finish(process: subprocess.Popen) -> None:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, f"torchrun failed:\n{out}\n{err}"


def rank_output(tmp_path: Path, run_dir: Path, rank: int, name: str) -> str:
    """What one rank wrote to stdout or stderr in its newest torchrun session (``--redirects 3``)."""
    files = sorted(tmp_path.glob(f"logs-{run_dir.name}-*/**/attempt_0/{rank}/{name}.log"), key=os.path.getmtime)
    return files[-1].read_text()


def rows(run_dir: Path) -> list[dict]:
    found = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "tokens_per_s")} for row in found]


def assert_close_rows(one: list[dict], two: list[dict]) -> None:
    assert [(r["step"], r["split"]) for r in one] == [(r["step"], r["split"]) for r in two]
    for a, b in zip(one, two):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float):
                assert b[key] == pytest.approx(value, rel=TOLERANCE, abs=1e-6), (a["step"], key)
            elif key == "evaluated":  # the whole split in both; its batches of 8 rows are twice as many as of 16
                assert value.startswith("all ") and b[key].startswith("all "), (value, b[key])
            else:
                assert b[key] == value


@pytest.mark.slow  # torchrun and 2 ranks that import torch: ~5-10 s
def test_two_processes_train_like_one_process_with_the_same_global_batch(tmp_path):
    two = tmp_path / "two"
    finish(torchrun(tmp_path, two, dropout=0.0))  # dropout draws other masks for 2 x 8 rows than for 16
    one = tmp_path / "one"
    model = make_model(dropout=0.0)
    config = CONFIG.model_copy(update={"batch_size": 2 * PER_PROCESS})
    fit(model, ToyTask(batch_size=config.batch_size), config, run_dir=one, console=Console(file=StringIO()))

    assert_close_rows(rows(one), rows(two))
    rank0, rank1 = load_file(f"{two}-rank0.safetensors"), load_file(f"{two}-rank1.safetensors")
    assert all(torch.equal(rank0[name], rank1[name]) for name in rank0)  # DDP keeps the ranks identical
    for name, value in model.state_dict().items():
        torch.testing.assert_close(rank0[name], value, rtol=TOLERANCE, atol=1e-5)
    saved = load_file(two / "model.safetensors")
    assert all(torch.equal(saved[name], rank0[name]) for name in rank0)

    state = json.loads(sorted((two / "checkpoints").glob("step-*"))[-1].joinpath("state.json").read_text())
    assert (state["world_size"], state["global_batch"], state["device"]) == (2, 16, "cpu")
    assert "2 processes on cpu (fp32), global batch 16 (8 per process)" in rank_output(tmp_path, two, 0, "stderr")
    assert rank_output(tmp_path, two, 1, "stderr") == rank_output(tmp_path, two, 1, "stdout") == ""


@pytest.mark.slow  # three torchrun sessions: ~15 s
def test_two_processes_killed_after_a_checkpoint_resume_to_the_uninterrupted_weights(tmp_path):
    reference = tmp_path / "reference"
    uninterrupted = torchrun(tmp_path, reference)
    finish(uninterrupted)

    killed = tmp_path / "killed"
    victim = torchrun(tmp_path, killed, sleep=0.05)
    second = killed / "checkpoints" / "step-0000010"
    deadline = time.monotonic() + 120
    while not second.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    kill_all(victim)
    assert second.exists(), "the run never wrote its second checkpoint"
    assert not (killed / "model.safetensors").exists(), "the run finished before it was killed"

    finish(torchrun(tmp_path, killed, "--resume"))
    assert "resuming from step-00000" in rank_output(tmp_path, killed, 0, "stderr")
    assert (killed / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
    for rank in (0, 1):
        mine, theirs = load_file(f"{killed}-rank{rank}.safetensors"), load_file(f"{reference}-rank{rank}.safetensors")
        assert all(torch.equal(mine[name], theirs[name]) for name in mine)
    assert rows(killed) == rows(reference)


def test_resuming_with_another_number_of_processes_is_refused(tmp_path):
    """A checkpoint of 2 processes resumed in 1: each process's share of the batches would differ."""
    from seqlab.errors import CheckpointError
    from seqlab.training.checkpoint import list_checkpoints

    run_dir = tmp_path / "run"
    config = CONFIG.model_copy(update={"max_steps": 5, "batch_size": 16})
    fit(make_model(), ToyTask(), config, run_dir=run_dir, console=Console(file=StringIO()))
    newest = list_checkpoints(run_dir / "checkpoints")[0]
    state = json.loads((newest / "state.json").read_text())
    assert (state["world_size"], state["global_batch"]) == (1, 16)
    # pretend 2 processes wrote it (the manifest's sha256 must follow)
    import hashlib

    state["world_size"] = 2
    data = json.dumps(state).encode()
    (newest / "state.json").write_bytes(data)
    manifest = json.loads((newest / "manifest.json").read_text())
    manifest["files"]["state.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (newest / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match=r"2 process\(es\), and this one has 1; resume it with --nproc 2"):
        fit(make_model(), ToyTask(), config, run_dir=run_dir, console=Console(file=StringIO()), resume=True)


def test_a_step_of_its_own_is_refused_under_torchrun(tmp_path, monkeypatch):
    """The GAN's two-player step drives its networks itself: fit cannot wrap them in DDP, so it says so."""
    from seqlab.errors import ConfigError
    from seqlab.training import OptimizerStep

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    model = make_model()
    own = OptimizerStep(model, ToyTask(), CONFIG)
    with pytest.raises(ConfigError, match="OptimizerStep drives its networks itself, so it trains in one process"):
        fit(model, ToyTask(), CONFIG, run_dir=tmp_path, step=own, console=Console(file=StringIO()))
    assert not any(tmp_path.iterdir())
