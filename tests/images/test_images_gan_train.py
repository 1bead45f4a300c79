"""The GAN trains through seqlab.training.fit with its own two-player step, and honours or refuses each [train] key."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import torch
from rich.console import Console

from seqlab.config import load_config
from seqlab.errors import ConfigError
from seqlab.models.gan import GAN
from seqlab.sections import GANConfig, TrainConfig
from seqlab.tasks.gan import GANStep, GANTask, ImageGeneration, check_train
from seqlab.training import Callback, fit
from seqlab.training.fused_adam import FusedAdam


def tiny_task(*, conditional: bool = False, batch_size: int = 4) -> GANTask:
    generator = torch.Generator().manual_seed(0)
    splits = {
        split: (torch.rand(8, 1, 28, 28, generator=generator) * 2 - 1, torch.arange(8) % 2)
        for split in ("train", "val", "test")
    }
    options = GANConfig(channels=4, noise_dim=8, conditional=conditional)
    return GANTask(splits, batch_size=batch_size, seed=0, options=options, num_classes=2, judge=None)


def tiny_gan(conditional: bool = False) -> GAN:
    torch.manual_seed(0)
    return GAN(8, channels=4, num_classes=2 if conditional else 0)


def quiet() -> Console:
    return Console(file=StringIO(), width=200)


@pytest.mark.parametrize(
    ("override", "key"),
    [("train.early_stopping=3", "train.early_stopping"), ('train.schedule="plateau"', "train.schedule")],
)
def test_train_keys_a_gan_cannot_honour_are_refused_by_name(override, key):
    config = load_config("fashion-dcgan", overrides=[override])
    with pytest.raises(ConfigError, match=key) as caught:
        ImageGeneration().prepare(config)  # refused before any data is read
    assert "GAN" in str(caught.value)
    with pytest.raises(ConfigError, match=key):
        GANStep(tiny_gan(), tiny_task(), config.train)


def test_the_recipes_keep_the_dcgan_optimizer_in_train():
    train = load_config("fashion-dcgan").train
    check_train(train)
    step = GANStep(tiny_gan(), tiny_task(), train)
    for optimizer in (step.opt_d, step.opt_g):
        assert type(optimizer) is FusedAdam  # torch's Adam(fused=True), seqlab.training.fused_adam
        assert all(group["betas"] == (0.5, 0.999) and group["lr"] == 2e-4 for group in optimizer.param_groups)


def test_both_players_get_the_optimizer_train_names():
    model, task = tiny_gan(), tiny_task()
    config = TrainConfig(optimizer="sgd", lr=0.05, momentum=0.5, weight_decay=1e-3)
    step = GANStep(model, task, config)
    assert [type(opt).__name__ for opt in (step.opt_d, step.opt_g)] == ["SGD", "SGD"]
    decays = {group["weight_decay"] for opt in (step.opt_d, step.opt_g) for group in opt.param_groups}
    assert decays == {1e-3, 0.0}  # weights decay, biases and norms do not
    d_params = {id(p) for group in step.opt_d.param_groups for p in group["params"]}
    g_params = {id(p) for group in step.opt_g.param_groups for p in group["params"]}
    assert d_params == {id(p) for p in model.discriminator.parameters()}
    assert g_params == {id(p) for p in model.generator.parameters()}
    step(task.train_batches(0)[0], lr=0.01)  # the schedule's rate reaches both optimizers
    assert {group["lr"] for opt in (step.opt_d, step.opt_g) for group in opt.param_groups} == {0.01}
    assert all(group["momentum"] == 0.5 for group in step.opt_d.param_groups)


def test_clip_norm_and_the_penalty_apply_to_each_player():
    model, task = tiny_gan(), tiny_task()
    step = GANStep(model, task, TrainConfig(clip_norm=1e-3, l1=1e-4, l2=1e-3))
    row = step(task.train_batches(0)[0], lr=1e-3)
    assert {"penalty_d", "penalty_g", "grad_norm_d", "grad_norm_g"} <= set(row)
    assert row["penalty_d"] > 0 and row["penalty_g"] > 0
    clipped = torch.nn.utils.clip_grad_norm_(model.generator.parameters(), float("inf"))
    assert float(clipped) <= 1e-3 * (1 + 1e-4)  # the generator's gradient after clipping


def test_a_schedule_sets_the_rate_of_both_players(tmp_path):
    config = TrainConfig(
        schedule="step",
        step_size=2,
        gamma=0.5,
        warmup_steps=2,
        lr=1e-3,
        max_steps=6,
        eval_every=1,
        checkpoint_every=6,
        threads=1,
    )
    model, task = tiny_gan(), tiny_task()
    step = GANStep(model, task, config)
    result = fit(model, task, config, run_dir=tmp_path, step=step, console=quiet())
    assert result.step == 6
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train_rows = [row for row in rows if row["split"] == "train"]
    assert [row["lr"] for row in train_rows] == [5e-4, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4]  # warmup, then steps
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(train_rows[0])  # D's outputs over time
    assert {group["lr"] for opt in (step.opt_d, step.opt_g) for group in opt.param_groups} == {2.5e-4}


@pytest.mark.parametrize("conditional", [False, True])
def test_fit_with_the_gan_step_resumes_exactly(tmp_path, conditional):
    config = TrainConfig(lr=2e-4, betas=(0.5, 0.999), max_steps=6, eval_every=2, checkpoint_every=2, threads=1)

    def run(run_dir, *, crash_at=0, resume=False):
        model, task = tiny_gan(conditional), tiny_task(conditional=conditional)

        class Crash(Callback):
            def on_step_end(self, state, metrics):
                if state.step == crash_at:
                    raise RuntimeError("simulated crash")

        callbacks = [Crash()] if crash_at else []
        fit(
            model,
            task,
            config,
            run_dir=run_dir,
            step=GANStep(model, task, config),
            callbacks=callbacks,
            console=quiet(),
            resume=resume,
        )
        return model

    reference = run(tmp_path / "reference")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path / "crashed", crash_at=5)
    resumed = run(tmp_path / "crashed", resume=True)  # from the checkpoint at step 4
    expected, got = reference.state_dict(), resumed.state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_the_task_fit_draws_a_grid_per_epoch_and_at_the_end(tmp_path):
    config = TrainConfig(max_steps=4, eval_every=2, checkpoint_every=4, threads=1)
    result = ImageGeneration().fit(tiny_gan(), tiny_task(), config, run_dir=tmp_path, console=quiet())
    assert result.step == 4 and result.stop_reason.startswith("max_steps")
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch-001.png", "epoch-002.png"]
    assert (tmp_path / "samples.png").is_file() and (tmp_path / "model.safetensors").is_file()
