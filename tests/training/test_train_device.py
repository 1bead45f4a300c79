"""``fit`` on a device and in a precision: ``train.device``, ``train.precision``, moved batches, a change of device."""

from __future__ import annotations

import json
import shutil
from collections import namedtuple
from dataclasses import dataclass
from io import StringIO

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file
from seqlab_train_toy import RESUME_CONFIG, ToyTask, make_model, one_thread  # noqa: F401 (autouse fixture)

from seqlab.data.batching import OnDevice, pad_batch, to_device
from seqlab.devices import cpu_supports_bf16
from seqlab.errors import ConfigError
from seqlab.training import Callback, OptimizerStep, fit, load_weights
from seqlab.training.checkpoint import list_checkpoints

needs_bf16 = pytest.mark.skipif(not cpu_supports_bf16(), reason="this CPU has no native bf16")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")


def quiet() -> Console:
    return Console(file=StringIO(), width=200)


def short(**changes):
    """RESUME_CONFIG on the CPU for 12 steps, with ``changes``."""
    return RESUME_CONFIG.model_copy(update={"device": "cpu", "max_steps": 12, **changes})


class Crash(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, state, metrics) -> None:
        if state.step == self.at:
            raise RuntimeError("simulated crash")


class Watching(ToyTask):
    """The toy task, noting the autocast dtype and the device of what the loop hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str, str]] = set()

    def _note(self, where: str, x: torch.Tensor) -> None:
        dtype = str(torch.get_autocast_dtype("cpu")) if torch.is_autocast_enabled("cpu") else "off"
        self.seen.add((where, x.device.type, dtype))

    def loss(self, model, batch):
        self._note("loss", batch[0])
        return super().loss(model, batch)

    def evaluate(self, model, batches):
        self._note("evaluate", batches[0][0])
        return super().evaluate(model, batches)


@no_cuda
def test_auto_resolves_to_the_cpu_here(tmp_path):
    model = make_model()
    result = fit(model, ToyTask(), short(device="auto"), run_dir=tmp_path, console=quiet())
    assert result.device == "cpu" and result.world_size == 1
    newest = list_checkpoints(tmp_path / "checkpoints")[0]
    state = json.loads((newest / "state.json").read_text())
    assert (state["device"], state["world_size"], state["global_batch"]) == ("cpu", 1, RESUME_CONFIG.batch_size)
    assert state["optimizer"]["scaler"] == {}  # the gradient scaler only has state for fp16 on CUDA


@no_cuda
def test_an_absent_device_is_a_one_line_error_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError) as error:
        fit(make_model(), ToyTask(), short(device="cuda"), run_dir=tmp_path / "run", console=quiet())
    assert str(error.value) == 'train.device "cuda" is not available here; devices: cpu'
    assert not (tmp_path / "run").exists()


def test_fp16_on_a_cpu_is_refused(tmp_path):
    with pytest.raises(ConfigError, match='train.precision "fp16" needs a CUDA device'):
        fit(make_model(), ToyTask(), short(precision="fp16"), run_dir=tmp_path, console=quiet())


@needs_bf16
def test_a_step_of_its_own_runs_in_fp32_only(tmp_path):
    model = make_model()
    own = OptimizerStep(model, ToyTask(), short())
    with pytest.raises(ConfigError, match='set train.precision = "fp32"'):
        fit(model, ToyTask(), short(precision="bf16"), run_dir=tmp_path, step=own, console=quiet())


@needs_bf16
def test_bf16_autocasts_the_loss_and_the_evaluation_on_batches_on_the_device(tmp_path):
    task = Watching()
    model = make_model()
    fit(model, task, short(precision="bf16"), run_dir=tmp_path, console=quiet())
    assert task.seen == {("loss", "cpu", "torch.bfloat16"), ("evaluate", "cpu", "torch.bfloat16")}
    assert {value.dtype for value in model.state_dict().values()} == {torch.float32}  # weights stay fp32
    assert {value.dtype for value in load_file(tmp_path / "model.safetensors").values()} == {torch.float32}

    fp32 = Watching()
    fit(make_model(), fp32, short(), run_dir=tmp_path / "fp32", console=quiet())
    assert fp32.seen == {("loss", "cpu", "off"), ("evaluate", "cpu", "off")}


@needs_bf16
def test_bf16_crash_then_resume_equals_the_uninterrupted_bf16_run(tmp_path):
    config = RESUME_CONFIG.model_copy(update={"device": "cpu", "precision": "bf16"})
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    fit(make_model(), ToyTask(), config, run_dir=reference, console=quiet())
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(make_model(), ToyTask(), config, run_dir=crashed, console=quiet(), callbacks=[Crash(27)])
    console = quiet()
    fit(make_model(), ToyTask(), config, run_dir=crashed, console=console, resume=True)
    assert "resuming from step-0000025" in console.file.getvalue()
    assert (crashed / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
    rows = [(a / "metrics.jsonl").read_text().splitlines() for a in (reference, crashed)]
    strip = [[{k: v for k, v in json.loads(r).items() if k not in ("time", "tokens_per_s")} for r in x] for x in rows]
    assert strip[0] == strip[1]


@needs_bf16
@pytest.mark.parametrize(("first", "then"), [("fp32", "bf16"), ("bf16", "fp32")])
def test_a_run_saved_in_one_precision_loads_and_resumes_in_another(tmp_path, first, then):
    crashed = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(make_model(), ToyTask(), short(precision=first), run_dir=crashed, console=quiet(), callbacks=[Crash(7)])
    console = quiet()
    result = fit(make_model(), ToyTask(), short(precision=then), run_dir=crashed, console=console, resume=True)
    assert "resuming from step-0000005" in console.file.getvalue()
    assert result.step == 12 and result.stop_reason.startswith("max_steps")

    other = tmp_path / "other"
    shutil.copytree(crashed, other)
    model = make_model()
    load_weights(model, other / "model.safetensors")  # saved after training in `then`, read back as is
    saved = load_file(crashed / "model.safetensors")
    assert all(torch.equal(value, saved[name]) for name, value in model.state_dict().items())


def test_to_device_moves_every_tensor_and_keeps_the_rest():
    Pair = namedtuple("Pair", "x label")

    @dataclass(frozen=True)
    class Item:
        x: torch.Tensor
        name: str

    batch = (torch.ones(2), [Pair(torch.zeros(1), 3)], {"item": Item(torch.ones(1), "a")}, pad_batch([[1, 2], [3]]))
    moved = to_device(batch, torch.device("meta"))
    assert moved[0].device.type == "meta"
    assert isinstance(moved[1][0], Pair) and moved[1][0].x.device.type == "meta" and moved[1][0].label == 3
    assert moved[2]["item"].x.device.type == "meta" and moved[2]["item"].name == "a"
    assert moved[3].ids.device.type == "meta" and moved[3].mask.device.type == "meta"
    assert batch[0].device.type == "cpu"  # the task's batches are left alone

    lazy = OnDevice([(torch.ones(1),), (torch.zeros(1),)], torch.device("meta"))
    assert len(lazy) == 2 and lazy[1][0].device.type == "meta" and lazy[:1][0][0].device.type == "meta"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_trains_on_moved_batches_and_resumes_on_the_cpu(tmp_path, precision):
    task = Watching()
    model = make_model()
    config = RESUME_CONFIG.model_copy(update={"device": "cuda", "precision": precision, "max_steps": 12})
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(model, task, config, run_dir=tmp_path, console=quiet(), callbacks=[Crash(7)])
    assert {device for _, device, _ in task.seen} == {"cuda"}
    state = json.loads((list_checkpoints(tmp_path / "checkpoints")[0] / "state.json").read_text())
    assert state["device"] == "cuda:0"
    assert bool(state["optimizer"]["scaler"]) == (precision == "fp16")  # the scaler's state is saved with fp16
    model = make_model()
    result = fit(model, ToyTask(), config.model_copy(update={"device": "cpu", "precision": "fp32"}),
                 run_dir=tmp_path, console=quiet(), resume=True)  # fmt: skip
    assert result.step == 12 and result.device == "cpu"
    assert {value.device.type for value in model.state_dict().values()} == {"cpu"}


def test_fit_gives_the_model_back_where_it_was(tmp_path):
    model = make_model()
    fit(model, ToyTask(), short(), run_dir=tmp_path, console=quiet())
    assert {value.device.type for value in model.state_dict().values()} == {"cpu"}
