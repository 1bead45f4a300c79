"""``train.tensorboard``: event files that TensorBoard's own reader reads back as metrics.jsonl says.

Tiny runs (a few steps) with tracking on; the events are read with
``tensorboard.backend.event_processing.event_accumulator.EventAccumulator``, the reader behind
``tensorboard --logdir``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from io import StringIO

import pytest
from rich.console import Console

from seqlab.config import load_config
from seqlab.run import train
from seqlab.training.tensorboard import scalars

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="the track extra: pip install 'seqlab[track]'"
)

TRACKED = ["train.tensorboard=true", "train.threads=1", "train.final_eval_batches=1"]
LM = [
    *TRACKED,
    "data.limit=3000",
    "data.block_size=16",
    "model.embed_dim=8",
    "model.hidden_size=8",
    "train.max_steps=6",
    "train.eval_every=2",
    "train.eval_batches=1",
    "train.checkpoint_every=3",
    "train.batch_size=8",
    "train.tensorboard_histograms_every=2",
    "sample.max_tokens=5",
]
GAN = [
    *TRACKED,
    "data.limit=200",
    "model.channels=4",
    "model.noise_dim=8",
    "model.judge_steps=2",
    "model.judge_samples=10",
    "train.max_steps=4",
    "train.eval_every=2",
    "train.checkpoint_every=2",
    "train.batch_size=16",
    "train.tensorboard_histograms_every=1",
]


def events(run_dir):
    reader = event_accumulator.EventAccumulator(
        str(run_dir / "tensorboard"),
        size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0, event_accumulator.IMAGES: 0},
    )
    return reader.Reload()


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def assert_scalars_equal_metrics(reader, run_dir):
    """Every number of every metrics.jsonl row is a scalar at the row's step, and nothing else is."""
    expected: dict[str, dict[int, float]] = {}
    for row in rows(run_dir):
        for tag, value in scalars(row).items():
            expected.setdefault(tag, {})[row["step"]] = value
    assert "train/loss" in expected and "val/loss" in expected and "train/lr" in expected
    logged = set(reader.Tags()["scalars"]) - {"lr"}
    assert logged == set(expected)
    for tag, by_step in expected.items():
        got = {event.step: event.value for event in reader.Scalars(tag)}
        assert got == pytest.approx(by_step, rel=1e-6, abs=1e-6), tag  # float32 in the event file


@pytest.mark.network("shakespeare")
def test_language_model_run_writes_metrics_lr_and_histograms(cli, tmp_path):
    run_dir = tmp_path / "run"
    args = ["train", "shakespeare-char", "--run-dir", str(run_dir), "--tensorboard"]
    result = cli(*args, *(a for item in LM if item != "train.tensorboard=true" for a in ("--set", item)))
    assert result.code == 0, result.err
    reader = events(run_dir)
    assert_scalars_equal_metrics(reader, run_dir)
    # one learning rate per step; the train rows are written every step here (eval_every 2), with theirs
    train_rows = {row["step"]: row["lr"] for row in rows(run_dir) if row["split"] == "train"}
    assert {e.step: e.value for e in reader.Scalars("lr")} == pytest.approx(train_rows, rel=1e-6)
    assert sorted(train_rows) == [1, 2, 3, 4, 5, 6] and len(set(train_rows.values())) > 1  # warm-up: it changes
    weights = [tag for tag in reader.Tags()["histograms"] if tag.startswith("weights/")]
    assert weights and {"weights/embed.weight", "weights/head.weight"} <= set(weights)
    # validation passes at steps 2, 4, 6: histograms at the first, two passes later, and the end
    assert [e.step for e in reader.Histograms("weights/head.weight")] == [2, 6]
    assert reader.Tags()["images"] == []  # a language model has no image preview


@pytest.mark.network("fashion-mnist")
def test_gan_run_writes_sample_grids_at_each_evaluation(tmp_path):
    run_dir = tmp_path / "run"
    train(load_config("fashion-dcgan", overrides=GAN), run_dir=run_dir, console=Console(file=StringIO()))
    reader = events(run_dir)
    assert_scalars_equal_metrics(reader, run_dir)
    grids = reader.Images("samples")
    assert [grid.step for grid in grids] == [2, 4]
    assert (grids[0].width, grids[0].height) == (8 * 28, 8 * 28)  # 64 images, 8 x 8
    generator = [tag for tag in reader.Tags()["histograms"] if tag.startswith("weights/generator.")]
    assert generator and [e.step for e in reader.Histograms(generator[0])] == [2, 4]


@pytest.mark.network("fashion-mnist")
def test_autoencoder_preview_is_inputs_over_reconstructions(tmp_path):
    run_dir = tmp_path / "run"
    overrides = [*TRACKED, "data.limit=200", "model.hidden_sizes=[16]", "model.latent_dim=2"]
    overrides += ["train.max_steps=2", "train.eval_every=2", "train.checkpoint_every=2", "train.batch_size=16"]
    train(load_config("fashion-ae", overrides=overrides), run_dir=run_dir, console=Console(file=StringIO()))
    grids = events(run_dir).Images("samples")
    assert [grid.step for grid in grids] == [2]
    assert (grids[0].width, grids[0].height) == (8 * 28, 2 * 28)  # 8 inputs over their 8 reconstructions


class _Crash(Exception):
    pass


@pytest.mark.network("shakespeare")
def test_resume_purges_the_events_after_the_checkpoint(tmp_path):
    from seqlab.training import Callback

    class CrashAt5(Callback):
        def on_step_end(self, state, metrics):
            if state.step == 5:
                raise _Crash

    config = load_config("shakespeare-char", overrides=LM)
    run_dir = tmp_path / "run"
    with pytest.raises(_Crash):
        train(config, run_dir=run_dir, console=Console(file=StringIO()), callbacks=[CrashAt5()])
    train(config, run_dir=run_dir, console=Console(file=StringIO()), resume=True)  # from the checkpoint at step 3
    reader = events(run_dir)
    assert_scalars_equal_metrics(reader, run_dir)  # the first session's rows after step 3 are gone from both
    assert [e.step for e in reader.Scalars("lr")] == [1, 2, 3, 4, 5, 6]  # step 4 once: the first session's purged
    assert [e.step for e in reader.Scalars("train/loss")] == [1, 2, 3, 4, 5, 6]


def test_nothing_is_imported_when_tracking_is_off(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, torch
        from io import StringIO
        from rich.console import Console
        from seqlab.sections import TrainConfig
        from seqlab.training import fit

        class Line:
            x = torch.linspace(-1, 1, 16).unsqueeze(1)
            def train_batches(self, epoch): return [(self.x, 2 * self.x)]
            def val_batches(self): return [(self.x, 2 * self.x)]
            def loss(self, model, batch): return torch.nn.functional.mse_loss(model(batch[0]), batch[1]), {{}}
            def evaluate(self, model, batches): return {{"loss": float(self.loss(model, batches[0])[0])}}
            def count_tokens(self, batch): return 16

        fit(torch.nn.Linear(1, 1), Line(), TrainConfig(max_epochs=4, eval_every=2, device="cpu"),
            run_dir={str(tmp_path / "run")!r}, console=Console(file=StringIO()))
        tracking = ("tensorboard", "torch.utils.tensorboard", "seqlab.training.tensorboard")
        print([m for m in sys.modules if m.startswith(tracking)])
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert not (tmp_path / "run" / "tensorboard").exists()


def test_a_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch):
    import torch

    from seqlab.errors import MissingExtraError
    from seqlab.training.tensorboard import TensorBoardLog

    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(
        MissingExtraError, match=r"tensorboard is not installed; install it with: pip install 'seqlab\[track\]'"
    ):
        TensorBoardLog(tmp_path, model=torch.nn.Linear(1, 1), task=None)
