"""CycleGAN: unpaired batches, the replay buffer, the losses, the two-step update through fit, and its commands."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
import torch
from rich.console import Console
from torch import nn

from seqlab.config import load_config
from seqlab.errors import ConfigError
from seqlab.models.cyclegan import CycleGAN
from seqlab.sections import CycleGANConfig, TrainConfig
from seqlab.tasks.cyclegan import (
    CycleStep,
    CycleTask,
    DomainBatch,
    DomainBatches,
    ImageTranslation,
    ReplayBuffer,
    generator_losses,
    read_image_file,
)
from seqlab.training import Callback, fit


def squares(side: str, count: int, generator: torch.Generator) -> torch.Tensor:
    """Dark images (count, 1, 28, 28) with a bright square on the left or the right, a little noise."""
    images = torch.full((count, 1, 28, 28), -1.0) + 0.1 * torch.rand(count, 1, 28, 28, generator=generator)
    columns = slice(4, 12) if side == "left" else slice(16, 24)
    images[:, :, 10:18, columns] = 1.0
    return images


def tiny_task(*, pool_size: int = 4, batch_size: int = 4) -> CycleTask:
    generator = torch.Generator().manual_seed(0)
    splits = {
        split: (squares("left", 8, generator), squares("right", 6, generator)) for split in ("train", "val", "test")
    }
    options = CycleGANConfig(channels=4, residual_blocks=1, pool_size=pool_size)
    return CycleTask(splits, batch_size=batch_size, seed=0, options=options, domains=(0, 1), judge=None)


def tiny_cyclegan() -> CycleGAN:
    torch.manual_seed(0)
    return CycleGAN(channels=4, residual_blocks=1)


def quiet() -> Console:
    return Console(file=StringIO(), width=200)


def test_unpaired_batches_cover_the_larger_domain_and_wrap_the_smaller():
    a, b = torch.arange(5.0).view(5, 1, 1, 1), torch.arange(10.0, 12.0).view(2, 1, 1, 1)
    batches = DomainBatches(a, b, batch_size=2)
    assert len(batches) == 3
    assert [batch.a.flatten().tolist() for batch in batches] == [[0, 1], [2, 3], [4]]
    assert [batch.b.flatten().tolist() for batch in batches] == [[10, 11], [10, 11], [10]]
    task = tiny_task()
    first, again, other = task.train_batches(0), task.train_batches(0), task.train_batches(1)
    assert all(torch.equal(x.a, y.a) and torch.equal(x.b, y.b) for x, y in zip(first, again))  # deterministic
    assert not all(torch.equal(x.a, y.a) for x, y in zip(first, other))  # a new order each epoch
    with pytest.raises(IndexError):
        batches[3]


def test_the_replay_buffer_fills_then_shows_half_new_half_old():
    torch.manual_seed(0)
    buffer = ReplayBuffer(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(buffer.query(first), first) and len(buffer) == 4  # filling: each new image, shown
    new = torch.arange(100.0, 164.0).view(64, 1, 1, 1)
    shown = buffer.query(new).flatten()
    replayed = (shown < 100).sum().item() + sum(1 for v, n in zip(shown, new.flatten()) if v >= 100 and v != n)
    assert 16 <= replayed <= 48  # about half come from the buffer (64 draws of p = 1/2)
    assert len(buffer) == 4 and (buffer.state().flatten() >= 100).any()  # the newest replaced old ones
    restored = ReplayBuffer(4)
    restored.load(buffer.state())
    assert torch.equal(restored.state(), buffer.state())
    assert torch.equal(ReplayBuffer(0).query(new), new)  # size 0: no replay


def test_perfect_translators_of_identical_domains_have_no_cycle_or_identity_loss():
    model = tiny_cyclegan()
    model.g_ab, model.g_ba = nn.Identity(), nn.Identity()
    images = torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        parts = generator_losses(model, DomainBatch(images, images.flip(0)), CycleGANConfig())
    assert float(parts["loss_cycle"]) == 0.0 and float(parts["loss_identity"]) == 0.0
    assert float(parts["loss_g"]) == pytest.approx(float(parts["loss_adv"]))


def test_the_generators_step_gives_no_gradient_to_the_discriminators():
    model, task = tiny_cyclegan(), tiny_task()
    step = CycleStep(model, task, TrainConfig(lr=1e-3))
    d_before = {k: v.clone() for k, v in model.discriminators().state_dict().items()}
    row = step(task.train_batches(0)[0], lr=1e-3)
    assert {"loss_g", "loss_d", "loss_adv", "loss_cycle", "loss_identity", "d_real", "d_fake"} <= set(row)
    assert all(p.requires_grad for p in model.parameters())  # switched back on after the generators' step
    d_params = {id(p) for group in step.opt_d.param_groups for p in group["params"]}
    g_params = {id(p) for group in step.opt_g.param_groups for p in group["params"]}
    assert d_params == {id(p) for p in model.discriminators().parameters()}
    assert g_params == {id(p) for p in model.generators().parameters()}
    after = model.discriminators().state_dict()
    assert any(not torch.equal(d_before[k], after[k]) for k in after)


def test_the_step_state_holds_both_optimizers_and_both_replay_buffers():
    model, task = tiny_cyclegan(), tiny_task(pool_size=3)
    step = CycleStep(model, task, TrainConfig(lr=1e-3))
    for batch in list(task.train_batches(0))[:2]:
        step(batch, lr=1e-3)
    state = step.state_dict()
    other = CycleStep(model, task, TrainConfig(lr=1e-3))
    other.load_state_dict(state)
    assert torch.equal(other.pool_a.state(), step.pool_a.state()) and len(other.pool_b) == 3
    assert other.optimizers.state_dict()["param_groups"] == step.optimizers.state_dict()["param_groups"]
    saved = step.optimizers.state_dict()["state"]
    loaded = other.optimizers.state_dict()["state"]
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k]["exp_avg"], loaded[k]["exp_avg"]) for k in saved)


def test_fit_with_the_cycle_step_resumes_exactly_replay_buffers_included(tmp_path):
    config = TrainConfig(lr=2e-4, betas=(0.5, 0.999), max_steps=6, eval_every=2, checkpoint_every=2, threads=1)

    def run(run_dir, *, crash_at=0, resume=False):
        model, task = tiny_cyclegan(), tiny_task(pool_size=3, batch_size=2)

        class Crash(Callback):
            def on_step_end(self, state, metrics):
                if state.step == crash_at:
                    raise RuntimeError("simulated crash")

        step = CycleStep(model, task, config)
        callbacks = [Crash()] if crash_at else []
        fit(model, task, config, run_dir=run_dir, step=step, callbacks=callbacks, console=quiet(), resume=resume)
        return model, step

    reference, ref_step = run(tmp_path / "reference")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path / "crashed", crash_at=5)
    resumed, step = run(tmp_path / "crashed", resume=True)  # from the checkpoint at step 4
    expected, got = reference.state_dict(), resumed.state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert torch.equal(ref_step.pool_a.state(), step.pool_a.state())


def test_the_cycle_loss_falls_when_training_on_two_synthetic_domains(tmp_path):
    config = TrainConfig(lr=2e-3, betas=(0.5, 0.999), max_steps=30, eval_every=30, checkpoint_every=30, threads=1)
    model, task = tiny_cyclegan(), tiny_task()
    first = task.evaluate(model.eval(), task.val_batches())
    fit(model, task, config, run_dir=tmp_path, step=CycleStep(model, task, config), console=quiet())
    last = task.evaluate(model.eval(), task.val_batches())
    assert last["loss_cycle"] < 0.6 * first["loss_cycle"], (first, last)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {"d_real", "d_fake", "loss_cycle"} <= set(rows[0])  # D's scores over time


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ('data.domain_a="Sock"', 'data.domain_a must be a class of fashion-mnist, by name or index (got "Sock"'),
        ('data.domain_b="Sneaker"', "must be two different classes"),
        ('data.scale="unit"', 'set data.scale = "symmetric"'),
        ("train.early_stopping=2", "train.early_stopping does not apply to a GAN"),
    ],
)
@pytest.mark.network("fashion-mnist")
def test_bad_translation_configs_are_refused_by_name(override, message):
    config = load_config("fashion-cyclegan", overrides=[override, "data.limit=100"])
    with pytest.raises(ConfigError) as caught:
        ImageTranslation().prepare(config)
    assert message in str(caught.value)


def test_a_picture_file_becomes_light_ink_on_a_dark_ground(tmp_path):
    from PIL import Image

    paper = np.full((56, 56), 255, np.uint8)
    paper[20:36, 10:46] = 0  # a dark shape on white paper
    Image.fromarray(paper).save(tmp_path / "drawn.png")
    image = read_image_file(tmp_path / "drawn.png")
    assert image.shape == (28, 28) and image[0, 0] == 0.0 and image[14, 14] == pytest.approx(1.0)


TINY = [
    "train.max_steps=4",
    "train.eval_every=2",
    "train.checkpoint_every=2",
    "train.threads=1",
    "train.batch_size=8",
    "data.limit=600",
    "model.channels=4",
    "model.residual_blocks=1",
    "model.judge_steps=3",
    "model.judge_samples=20",
]


@pytest.mark.network("fashion-mnist")
def test_cyclegan_recipe_and_generate_from(cli, tmp_path):
    run_dir = tmp_path / "cycle"
    result = cli("train", "fashion-cyclegan", *(a for o in TINY for a in ("--set", o)), "--run-dir", str(run_dir))
    assert result.code == 0, result.err
    summary = (run_dir / "summary.md").read_text()
    assert "to_b: translated Sneaker classified as Ankle boot" in summary and (run_dir / "samples.png").is_file()
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["domains"] == [7, 9] and meta["task"] == "image-translation"

    out = tmp_path / "from.png"
    for source, said in [("Sneaker", "4 image(s)"), ("b", "4 image(s)"), ("9", "4 image(s)")]:
        done = cli("generate", str(run_dir), "--from", source, "-n", "4", "--seed", "0", "--out", str(out))
        assert done.code == 0 and said in done.out, done.err
    from PIL import Image

    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(tmp_path / "mine.png")
    done = cli("generate", str(run_dir), "--from", str(tmp_path / "mine.png"), "--out", str(out))
    assert done.code == 0 and "2 image(s)" in done.out, done.err  # translated as a and as b
    plain = cli("generate", str(run_dir), "-n", "3", "--label", "Ankle boot", "--out", str(tmp_path / "g.png"))
    assert plain.code == 0 and (tmp_path / "g.png").is_file(), plain.err

    (tmp_path / "text.png").write_text("not a picture")
    for args, message in [
        (("--from", "Bag"), '--from must be an image file, a or b, or the class "Sneaker" (domain a)'),
        (("--from", "T-shirt/top"), "--from must be an image file"),
        (("--from", str(tmp_path / "missing.png")), "file not found"),
        (("--from", str(tmp_path / "text.png")), "cannot read"),
        (("--from", "a", "--mix"), "takes no --mix"),
        (("--mix",), '--mix needs a style-based GAN run (model.arch = "stylegan"'),
        (("--truncation", "0.7"), "--truncation needs a style-based GAN run"),
        (("--label", "Bag"), "--label must be a or b, or the class"),
    ]:
        wrong = cli("generate", str(run_dir), *args, "--out", str(tmp_path / "never.png"))
        assert wrong.code == 1 and message in wrong.err, (args, wrong.err)
        assert len(wrong.err.strip().splitlines()) == 1
    assert not (tmp_path / "never.png").exists()

    from seqlab.run import load
    from seqlab.tasks.cyclegan import translate_examples

    run = load(run_dir)
    [rows] = translate_examples(run, "Ankle boot", num=40, seed=1)
    assert rows.inputs.shape == rows.translated.shape == rows.reconstructed.shape == (16, 28, 28)  # at most 16
    assert rows.title == "Ankle boot -> Sneaker"
