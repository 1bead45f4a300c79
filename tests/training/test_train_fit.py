"""fit: budgets, early stopping, metrics.jsonl, progress output, callbacks, overfitting one batch."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file
from seqlab_train_toy import ToyTask, make_model, one_thread  # noqa: F401 (autouse fixture)
from torch import nn

from seqlab.config import TrainConfig
from seqlab.errors import ConfigError
from seqlab.training import Callback, evaluate, fit
from seqlab.training.progress import eta_seconds


def quiet() -> Console:
    return Console(file=StringIO(), width=160)


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_overfits_one_batch(tmp_path):
    class OneBatch(ToyTask):
        def train_batches(self, epoch):
            return super().train_batches(0)[:1]

        def val_batches(self):
            return self.train_batches(0)

    config = TrainConfig(lr=0.05, max_epochs=100, eval_every=50)
    result = fit(make_model(), OneBatch(), config, run_dir=tmp_path, console=quiet())
    assert result.step == 100
    assert result.metrics["accuracy"] == 1.0
    assert result.metrics["loss"] < 0.05


def test_max_steps_and_max_epochs(tmp_path):
    result = fit(
        make_model(), ToyTask(), TrainConfig(max_steps=7, max_epochs=10), run_dir=tmp_path / "a", console=quiet()
    )
    assert (result.step, result.stop_reason.split(":")[0]) == (7, "max_steps")
    result = fit(make_model(), ToyTask(), TrainConfig(max_epochs=2), run_dir=tmp_path / "b", console=quiet())
    assert (result.step, result.epochs, result.stop_reason.split(":")[0]) == (
        12,
        2.0,
        "max_epochs",
    )  # 6 batches an epoch


class Sleep(Callback):
    def on_step_end(self, state, metrics):
        time.sleep(0.02)


def test_max_time_stops_the_run(tmp_path):
    config = TrainConfig(max_time=0.3, max_epochs=1000, eval_every=1000)
    result = fit(make_model(), ToyTask(), config, run_dir=tmp_path, console=quiet(), callbacks=[Sleep()])
    assert result.stop_reason.startswith("max_time")
    assert result.elapsed >= 0.3
    assert 5 <= result.step <= 40


def test_a_cosine_stopped_by_the_clock_anneals_by_then(tmp_path):
    # max_steps alone would keep the rate near its peak; the time budget ends the cosine first
    config = TrainConfig(max_time=0.3, max_steps=100_000, max_epochs=1000, eval_every=2, schedule="cosine", lr=0.1)
    result = fit(make_model(), ToyTask(), config, run_dir=tmp_path, console=quiet(), callbacks=[Sleep()])
    assert result.stop_reason.startswith("max_time")
    lrs = [row["lr"] for row in rows(tmp_path) if row["split"] == "train"]
    assert lrs[0] > 0.09 and lrs[-1] < 0.05 and lrs == sorted(lrs, reverse=True)


def test_callback_order_and_request_stop(tmp_path):
    calls = []

    class Recorder(Callback):
        def on_train_start(self, state):
            calls.append(("start", state.step))

        def on_step_end(self, state, metrics):
            calls.append(("step", state.step))
            assert {"loss", "accuracy", "lr", "tokens_per_s"} <= set(metrics)
            if state.step == 5:
                state.request_stop("recorder had enough")

        def on_eval_end(self, state, metrics):
            calls.append(("eval", state.step))

        def on_train_end(self, state):
            calls.append(("end", state.step))

    result = fit(
        make_model(), ToyTask(), TrainConfig(eval_every=2), run_dir=tmp_path, console=quiet(), callbacks=[Recorder()]
    )
    assert result.stop_reason == "recorder had enough" and result.step == 5
    assert calls == [
        ("start", 0),
        ("step", 1),
        ("step", 2),
        ("eval", 2),
        ("step", 3),
        ("step", 4),
        ("eval", 4),
        ("step", 5),
        ("eval", 5),
        ("end", 5),
    ]


class ScriptedVal(ToyTask):
    """Validation loss follows a script (one value per pass), to drive early stopping."""

    def __init__(self, script):
        super().__init__()
        self.script = list(script)
        self.passes = 0

    def evaluate(self, model, batches):
        value = self.script[min(self.passes, len(self.script) - 1)]
        self.passes += 1
        return {"loss": value, "accuracy": 0.0}


def test_early_stopping_restores_the_best_weights(tmp_path):
    seen = {}

    class Snapshot(Callback):
        def on_eval_end(self, state, metrics):
            seen[state.step] = {k: v.clone() for k, v in model.state_dict().items()}

    model = make_model()
    task = ScriptedVal([3.0, 2.0, 1.0, 1.5, 1.2, 1.1, 0.5])  # best at pass 3 = step 6; patience 3 runs out at pass 6
    config = TrainConfig(eval_every=2, early_stopping=3, max_epochs=100, checkpoint_every=4)
    console = quiet()
    result = fit(model, task, config, run_dir=tmp_path, console=console, callbacks=[Snapshot()])
    assert result.stop_reason.startswith("early stopping")
    assert (result.step, result.best, result.best_step) == (12, 1.0, 6)
    for name, value in model.state_dict().items():
        assert torch.equal(value, seen[6][name])
    assert not torch.equal(seen[12]["0.weight"], seen[6]["0.weight"])
    final = load_file(tmp_path / "model.safetensors")
    assert torch.equal(final["0.weight"], seen[6]["0.weight"])
    assert torch.equal(
        load_file(tmp_path / "checkpoints" / "step-0000012" / "best.safetensors")["0.weight"], seen[6]["0.weight"]
    )
    assert "restored the best weights" in console.file.getvalue()


def test_early_stopping_maximises_accuracy(tmp_path):
    class ScriptedAccuracy(ScriptedVal):
        def evaluate(self, model, batches):
            return {"loss": 1.0, "accuracy": super().evaluate(model, batches)["loss"]}

    config = TrainConfig(eval_every=1, early_stopping=2, monitor="val_accuracy", max_epochs=100)
    result = fit(make_model(), ScriptedAccuracy([0.5, 0.7, 0.6, 0.65]), config, run_dir=tmp_path, console=quiet())
    assert (result.step, result.best, result.best_step) == (4, 0.7, 2)


def test_unknown_monitor_names_the_choices(tmp_path):
    config = TrainConfig(eval_every=1, early_stopping=2, monitor="val_bleu")
    with pytest.raises(ConfigError, match=r'train.monitor must be one of val_loss, val_accuracy .*got "val_bleu"'):
        fit(make_model(), ToyTask(), config, run_dir=tmp_path, console=quiet())


def test_metrics_jsonl_rows(tmp_path):
    config = TrainConfig(eval_every=10, max_steps=25, lr=0.01)
    fit(make_model(), ToyTask(), config, run_dir=tmp_path, console=quiet())
    table = rows(tmp_path)
    train = [r for r in table if r["split"] == "train"]
    val = [r for r in table if r["split"] == "val"]
    assert [r["step"] for r in train] == list(range(1, 26))  # log_every(10) == 1: a row per step
    assert [r["step"] for r in val] == [10, 20, 25]  # every eval_every steps and at the end
    for row in table:
        assert {"step", "epoch", "time", "split", "loss", "accuracy", "lr", "tokens_per_s"} <= set(row)
        assert row["lr"] == 0.01 and row["tokens_per_s"] > 0
    assert train[5]["epoch"] == 1.0 and val[0]["epoch"] == pytest.approx(10 / 6)
    times = [r["time"] for r in table]
    assert times == sorted(times)


def test_train_rows_average_the_steps_between_rows(tmp_path):
    steps = []

    class Keep(Callback):
        def on_step_end(self, state, metrics):
            steps.append(metrics["loss"])

    config = TrainConfig(eval_every=40, max_steps=8, lr=0.01)  # a train row every 4 steps
    fit(make_model(), ToyTask(), config, run_dir=tmp_path, console=quiet(), callbacks=[Keep()])
    train = [r for r in rows(tmp_path) if r["split"] == "train"]
    assert [r["step"] for r in train] == [4, 8]
    assert train[0]["loss"] == pytest.approx(sum(steps[:4]) / 4)
    assert train[1]["loss"] == pytest.approx(sum(steps[4:]) / 4)


def test_progress_goes_to_the_injected_console(tmp_path):
    console = quiet()
    fit(make_model(), ToyTask(), TrainConfig(max_steps=12, eval_every=6), run_dir=tmp_path, console=console)
    text = console.file.getvalue()
    assert "loss" in text and "accuracy" in text and "tok/s" in text and "ETA" in text
    assert "step 6" in text and "val" in text
    assert "stopped at step 12 (max_steps" in text


def test_eta_takes_the_budget_that_ends_first():
    common = dict(step=100, elapsed=10.0, seconds_per_step=0.1)
    assert eta_seconds(**common, max_steps=200, max_time=0.0, steps_left_in_epochs=10_000) == pytest.approx(10.0)
    assert eta_seconds(**common, max_steps=200, max_time=15.0, steps_left_in_epochs=10_000) == pytest.approx(5.0)
    assert eta_seconds(**common, max_steps=0, max_time=0.0, steps_left_in_epochs=30) == pytest.approx(3.0)


def test_non_finite_loss_stops_cleanly(tmp_path):
    class Explodes(ToyTask):
        calls = 0

        def loss(self, model, batch):
            self.calls += 1
            loss, metrics = super().loss(model, batch)
            return (loss * float("nan") if self.calls == 4 else loss), metrics

    model = make_model()
    console = quiet()
    result = fit(model, Explodes(), TrainConfig(max_steps=10), run_dir=tmp_path, console=console)
    assert result.step == 3 and result.stop_reason.startswith("non-finite loss")
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "train.lr" in console.file.getvalue()


def test_evaluate_restores_the_mode_and_needs_loss():
    model = make_model()
    model.train()
    metrics = evaluate(model, ToyTask(), ToyTask().val_batches())
    assert set(metrics) == {"loss", "accuracy"} and model.training

    class NoLoss(ToyTask):
        def evaluate(self, model, batches):
            return {"accuracy": 1.0}

    with pytest.raises(ValueError, match="'loss'"):
        evaluate(model, NoLoss(), [])


def test_curves_png_is_written(tmp_path):
    pytest.importorskip("seqlab.viz.curves")
    fit(make_model(), ToyTask(), TrainConfig(max_steps=6, eval_every=3), run_dir=tmp_path, console=quiet())
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_seed_makes_runs_repeatable(tmp_path):
    config = TrainConfig(max_steps=10, seed=5)
    a, b = make_model(), make_model()
    fit(a, ToyTask(), config, run_dir=tmp_path / "a", console=quiet())
    fit(b, ToyTask(), config, run_dir=tmp_path / "b", console=quiet())
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_model_without_validation_data(tmp_path):
    class NoVal(ToyTask):
        def val_batches(self):
            return []

    result = fit(make_model(), NoVal(), TrainConfig(max_steps=5, eval_every=2), run_dir=tmp_path, console=quiet())
    assert result.metrics == {} and {r["split"] for r in rows(tmp_path)} == {"train"}


def test_weights_of_nn_embedding_model_tied(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 8)
            self.b = nn.Linear(8, 8)
            self.b.weight = self.a.weight  # tied, like tie_weights
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.b(torch.tanh(self.a(x))))

    torch.manual_seed(0)
    model = Tied()
    fit(model, ToyTask(), TrainConfig(max_steps=4, checkpoint_every=2), run_dir=tmp_path, console=quiet())
    saved = load_file(tmp_path / "model.safetensors")
    assert torch.equal(saved["a.weight"], saved["b.weight"])
    fresh = Tied()
    fresh.load_state_dict(saved)
    assert torch.equal(fresh.a.weight, model.a.weight)


def test_a_task_missing_methods_is_named(tmp_path):
    class Half:
        def train_batches(self, epoch):
            return [1]

    needs = "it needs train_batches, val_batches, loss, evaluate and count_tokens"
    with pytest.raises(TypeError, match=f"is not a seqlab.training.Task: {needs}"):
        fit(make_model(), Half(), TrainConfig(), run_dir=tmp_path, console=quiet())


class HalfStep:
    """A step of its own: SGD at half the schedule's rate, counting its calls (state a resume must restore)."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)

    def __call__(self, batch, *, lr):
        self.calls += 1
        x, y = batch
        loss = nn.functional.cross_entropy(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        for group in self.optimizer.param_groups:
            group["lr"] = lr / 2
        self.optimizer.step()
        return {"loss": loss.item(), "half_lr": lr / 2}

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state)


def test_fit_takes_the_step_and_the_schedule_as_arguments(tmp_path):
    from seqlab.training import ExponentialSchedule

    model = make_model()
    step = HalfStep(model)
    config = TrainConfig(max_steps=4, eval_every=1, checkpoint_every=2)
    schedule = ExponentialSchedule(1e-3, 1e-1, steps=3)
    result = fit(model, ToyTask(), config, run_dir=tmp_path, step=step, schedule=schedule, console=quiet())
    assert result.step == 4 and step.calls == 4
    train_rows = [row for row in rows(tmp_path) if row["split"] == "train"]
    assert [row["lr"] for row in train_rows] == pytest.approx([1e-3, 1e-2, 1e-1, 1.0])
    assert [row["half_lr"] for row in train_rows] == pytest.approx([5e-4, 5e-3, 5e-2, 0.5])


def test_a_step_of_its_own_resumes_exactly(tmp_path):
    config = TrainConfig(max_steps=8, eval_every=3, checkpoint_every=3)

    class CrashAt5(Callback):
        def on_step_end(self, state, metrics):
            if state.step == 5:
                raise RuntimeError("simulated crash")

    whole = make_model()
    fit(whole, ToyTask(), config, run_dir=tmp_path / "whole", step=HalfStep(whole), console=quiet())
    crashed = make_model()
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(
            crashed,
            ToyTask(),
            config,
            run_dir=tmp_path / "b",
            step=HalfStep(crashed),
            callbacks=[CrashAt5()],
            console=quiet(),
        )
    resumed = make_model(seed=1)  # the checkpoint at step 3 brings the weights and the momentum back
    fit(resumed, ToyTask(), config, run_dir=tmp_path / "b", step=HalfStep(resumed), console=quiet(), resume=True)
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
    assert [{k: v for k, v in r.items() if k not in ("time", "tokens_per_s")} for r in rows(tmp_path / "b")] == [
        {k: v for k, v in r.items() if k not in ("time", "tokens_per_s")} for r in rows(tmp_path / "whole")
    ]


def test_curves_redrawn_while_training_come_from_a_child_process(tmp_path):
    """Redraws during training leave matplotlib out of the training process (its memory peak); the last is in it."""
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import seqlab.training.loop as loop
from io import StringIO
from rich.console import Console
from seqlab_train_toy import ToyTask, make_model
from seqlab.config import TrainConfig
from seqlab.training import Callback, fit

loop.CURVES_EVERY = 0.0  # redraw at every validation pass
seen = []

class Look(Callback):
    def on_eval_end(self, state, metrics):
        seen.append(("matplotlib" in sys.modules, (loop.Path({str(tmp_path)!r}) / "curves.png").exists()))

fit(make_model(), ToyTask(), TrainConfig(max_steps=4, eval_every=2), run_dir={str(tmp_path)!r},
    console=Console(file=StringIO()), callbacks=[Look()])
print(seen, "matplotlib" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[(False, True), (False, True)] True"
