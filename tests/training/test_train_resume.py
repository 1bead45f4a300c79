"""Checkpoints and exact resume: SIGKILL mid-run, corrupt checkpoints, finished runs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file
from seqlab_train_toy import RESUME_CONFIG, ToyTask, make_model, one_thread  # noqa: F401 (autouse fixture)

from seqlab.errors import CheckpointError
from seqlab.training import Callback, fit
from seqlab.training.checkpoint import flatten_optimizer, list_checkpoints, unflatten_optimizer, verify_checkpoint

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"


def quiet() -> Console:
    return Console(file=StringIO(), width=200)


def comparable_rows(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock fields (they differ between any two runs)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "tokens_per_s")} for row in rows]


def final_state(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(list_checkpoints(run_dir / "checkpoints")[0] / "model.safetensors")


def assert_same_run(a: Path, b: Path) -> None:
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    last_a, last_b = final_state(a), final_state(b)
    assert last_a.keys() == last_b.keys()
    assert all(torch.equal(last_a[k], last_b[k]) for k in last_a)
    assert comparable_rows(a) == comparable_rows(b)


def _script(run_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "seqlab_train_toy.py"), str(run_dir), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow  # two subprocesses that import torch: ~5-10 s
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, reference):
    killed = tmp_path / "killed"
    victim = _script(killed, "--sleep", "0.05")
    second = killed / "checkpoints" / "step-0000010"
    deadline = time.monotonic() + 120
    while not second.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert second.exists(), "the run never wrote its second checkpoint"
    assert not (killed / "model.safetensors").exists(), "the run finished before it was killed"

    resumed = _script(killed, "--resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "resuming from step-00000" in err
    assert_same_run(reference, killed)  # the reference ran uninterrupted in this process


class Crash(Callback):
    """Simulate a crash (an exception instead of SIGKILL) after a given step."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, state, metrics) -> None:
        if state.step == self.at:
            raise RuntimeError("simulated crash")


@pytest.fixture(scope="module")
def crashed_template(tmp_path_factory) -> Path:
    """A run that crashed in step 27: checkpoints at steps 20 and 25, metrics rows up to step 26."""
    run_dir = tmp_path_factory.mktemp("crashed")
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=run_dir, console=quiet(), callbacks=[Crash(27)])
    torch.set_num_threads(before)  # RESUME_CONFIG.threads = 1 set it
    return run_dir


@pytest.fixture
def crashed(tmp_path, crashed_template) -> Path:
    """A fresh copy of the crashed run for one test to damage and resume."""
    run_dir = tmp_path / "run"
    shutil.copytree(crashed_template, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("reference")
    before = torch.get_num_threads()
    fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=run_dir, console=quiet())
    torch.set_num_threads(before)  # RESUME_CONFIG.threads = 1 set it
    return run_dir


def test_checkpoint_layout_and_manifest(reference):
    folders = list_checkpoints(reference / "checkpoints")
    assert [f.name for f in folders] == ["step-0000040", "step-0000035"]  # keep_checkpoints = 2
    newest = folders[0]
    names = {p.name for p in newest.iterdir()}
    assert names == {
        "model.safetensors",
        "optimizer.safetensors",
        "rng.safetensors",
        "best.safetensors",
        "state.json",
        "manifest.json",
    }
    manifest = json.loads((newest / "manifest.json").read_text())
    for name, info in manifest["files"].items():
        assert hashlib.sha256((newest / name).read_bytes()).hexdigest() == info["sha256"]
    state = json.loads((newest / "state.json").read_text())
    assert (state["step"], state["epoch"], state["batch_index"]) == (40, 6, 4)  # 6 batches an epoch
    assert state["stop_reason"].startswith("max_steps")
    assert load_file(newest / "rng.safetensors")["torch"].dtype == torch.uint8
    assert not list((reference / "checkpoints").glob(".tmp-*"))


def test_optimizer_state_round_trips_through_safetensors_and_json():
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    tensors, meta = flatten_optimizer(opt)
    restored = unflatten_optimizer(tensors, json.loads(json.dumps(meta)))
    other = torch.optim.Adam(make_model().parameters(), lr=0.1)
    other.load_state_dict(restored)
    original = opt.state_dict()
    for pid, values in original["state"].items():
        for name, value in values.items():
            assert torch.equal(other.state_dict()["state"][pid][name], value)
    assert other.state_dict()["param_groups"] == original["param_groups"]


def test_crash_then_resume_equals_the_uninterrupted_run(crashed, reference):
    assert max(row["step"] for row in comparable_rows(crashed)) == 26  # rows past checkpoint 25 get dropped
    console = quiet()
    fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=console, resume=True)
    assert "resuming from step-0000025" in console.file.getvalue()
    assert_same_run(reference, crashed)


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(crashed, reference):
    folder = crashed / "checkpoints"
    weights = folder / "step-0000025" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-50])  # truncated
    leftover = folder / ".tmp-step-0000030-12345"  # killed while writing the next one
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"partial")
    console = quiet()
    fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=console, resume=True)
    text = console.file.getvalue()
    assert "step-0000025 is unusable: model.safetensors does not match its sha256" in text
    assert ".tmp-step-0000030-12345" in text
    assert "resuming from step-0000020" in text
    assert not leftover.exists()
    assert_same_run(reference, crashed)


def test_missing_manifest_is_detected(crashed):
    newest = crashed / "checkpoints" / "step-0000025"
    (newest / "manifest.json").unlink()
    assert verify_checkpoint(newest) == "manifest.json is missing (the checkpoint was not finished)"
    console = quiet()
    fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=console, resume=True)
    assert "resuming from step-0000020" in console.file.getvalue()


def test_no_good_checkpoint_is_a_checkpoint_error(crashed):
    for folder in list_checkpoints(crashed / "checkpoints"):
        (folder / "state.json").write_text("{}")
    with pytest.raises(CheckpointError, match=r"no usable checkpoint in .*step-0000025: state.json does not match"):
        fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=quiet(), resume=True)


def test_resuming_a_finished_run_does_nothing(tmp_path, reference):
    shutil.copytree(reference, tmp_path, dirs_exist_ok=True)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png"}
    model = make_model()
    console = quiet()
    result = fit(model, ToyTask(), RESUME_CONFIG, run_dir=tmp_path, console=console, resume=True)
    assert "already finished at step 40" in console.file.getvalue()
    assert result.step == 40 and result.stop_reason.startswith("max_steps")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png"} == before
    saved = load_file(tmp_path / "model.safetensors")
    assert all(torch.equal(value, saved[name]) for name, value in model.state_dict().items())


def test_fresh_run_refuses_a_directory_with_checkpoints(crashed):
    with pytest.raises(CheckpointError, match="resume"):
        fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=quiet())


def test_resume_without_checkpoints_starts_at_step_0(tmp_path, reference):
    console = quiet()
    fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=tmp_path, console=console, resume=True)
    assert "starting from step 0" in console.file.getvalue()
    assert_same_run(reference, tmp_path)


def test_wrong_model_is_a_checkpoint_error(crashed):
    other = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Tanh(), torch.nn.Dropout(0.2), torch.nn.Linear(4, 3))
    with pytest.raises(CheckpointError, match="do not fit"):
        fit(other, ToyTask(), RESUME_CONFIG, run_dir=crashed, console=quiet(), resume=True)


def _rewrite_state(checkpoint: Path, change) -> None:
    """Change a checkpoint's state.json and keep its manifest consistent (a well-formed but wrong checkpoint)."""
    state = change(json.loads((checkpoint / "state.json").read_text()))
    data = json.dumps(state).encode()
    (checkpoint / "state.json").write_bytes(data)
    manifest = json.loads((checkpoint / "manifest.json").read_text())
    manifest["files"]["state.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (checkpoint / "manifest.json").write_text(json.dumps(manifest))


def test_state_json_missing_keys_is_a_bad_checkpoint_and_skipped(crashed):
    newest = crashed / "checkpoints" / "step-0000025"
    _rewrite_state(newest, lambda state: {k: v for k, v in state.items() if k != "schedule"})
    assert verify_checkpoint(newest) == "state.json lacks schedule"
    console = quiet()
    fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=console, resume=True)
    text = console.file.getvalue()
    assert "step-0000025 is unusable: state.json lacks schedule" in text
    assert "resuming from step-0000020" in text


def test_resume_with_another_optimizer_is_one_line(crashed):
    other = RESUME_CONFIG.model_copy(update={"optimizer": "sgd" if RESUME_CONFIG.optimizer != "sgd" else "adam"})
    with pytest.raises(CheckpointError, match="another train.optimizer") as info:
        fit(make_model(), ToyTask(), other, run_dir=crashed, console=quiet(), resume=True)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_checkpoint_folder_keeps_the_last_good_checkpoint_read_only(crashed):
    folder = crashed / "checkpoints"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    folder.chmod(0o555)
    try:
        with pytest.raises(CheckpointError, match="the last good checkpoint step-0000025 is kept"):
            fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=quiet(), resume=True)
    finally:
        folder.chmod(0o755)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_failing_write_removes_its_half_checkpoint_and_keeps_the_last_good(crashed, monkeypatch):
    from seqlab.training import checkpoint

    folder = crashed / "checkpoints"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    real = checkpoint._write_durably

    def full_disk(path: Path, data: bytes) -> None:
        if path.name == "optimizer.safetensors":
            raise OSError(28, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(checkpoint, "_write_durably", full_disk)
    with pytest.raises(CheckpointError) as info:
        fit(make_model(), ToyTask(), RESUME_CONFIG, run_dir=crashed, console=quiet(), resume=True)
    message = str(info.value)
    assert "No space left on device" in message and "the last good checkpoint step-0000025 is kept" in message
    assert "\n" not in message
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_training_goes_on_while_a_checkpoint_is_written(tmp_path, monkeypatch):
    """The disk work of a checkpoint runs beside training, and every checkpoint is whole when fit returns."""
    from seqlab.training import checkpoint

    steps_done = [0]
    overlapped: list[int] = []
    real = checkpoint._write_durably

    def slow_disk(path: Path, data: bytes) -> None:
        before = steps_done[0]
        time.sleep(0.1)  # a slow disk: six files make a write of about 0.6 s
        real(path, data)
        overlapped.append(steps_done[0] - before)

    class Count(Callback):
        def on_step_end(self, state, metrics):
            steps_done[0] = state.step

    monkeypatch.setattr(checkpoint, "_write_durably", slow_disk)
    config = RESUME_CONFIG.model_copy(update={"max_steps": 20, "keep_checkpoints": 10})
    fit(make_model(), ToyTask(), config, run_dir=tmp_path, console=quiet(), callbacks=[Count()])
    assert max(overlapped) > 0  # steps were taken while a file of a checkpoint was being written
    folders = list_checkpoints(tmp_path / "checkpoints")
    assert [p.name for p in folders] == [f"step-{s:07d}" for s in (20, 15, 10, 5)]
    assert all(verify_checkpoint(p) is None for p in folders)
