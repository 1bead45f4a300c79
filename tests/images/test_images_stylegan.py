"""The style-based generator: styles per layer, mixing in training, the truncation trick, and its commands."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
import torch
from rich.console import Console

from seqlab.models.stylegan import COARSE, NUM_LAYERS, StyleGAN, StyleGenerator
from seqlab.sections import StyleGANConfig, TrainConfig
from seqlab.tasks.gan import GANStep, GANTask
from seqlab.training import Callback, fit


def tiny_style(**options) -> StyleGAN:
    torch.manual_seed(0)
    return StyleGAN(8, w_dim=8, mapping_layers=2, channels=4, **options)


def tiny_task(batch_size: int = 4) -> GANTask:
    generator = torch.Generator().manual_seed(0)
    splits = {
        split: (torch.rand(8, 1, 28, 28, generator=generator) * 2 - 1, torch.arange(8) % 2)
        for split in ("train", "val", "test")
    }
    options = StyleGANConfig(channels=4, noise_dim=8, w_dim=8, mapping_layers=2)
    return GANTask(splits, batch_size=batch_size, seed=0, options=options, num_classes=2, judge=None)


def quiet() -> Console:
    return Console(file=StringIO(), width=200)


def test_training_mixes_two_latents_from_a_crossover_layer_and_sampling_does_not():
    torch.manual_seed(0)
    generator = StyleGenerator(8, w_dim=8, mapping_layers=2, channels=4, style_mixing=1.0)
    z = torch.randn(16, 8)
    ws = generator.train().ws(z)  # (B, L, W)
    w = generator.mapping(z)
    assert torch.allclose(ws[:, 0], w)  # the first layer always takes the image's own w
    changes = (ws[:, 1:] != ws[:, :-1]).any(-1)  # (B, L - 1): where the second latent takes over
    assert (changes.sum(1) == 1).all()  # exactly one crossover per image, somewhere after layer 0
    assert len(set(changes.float().argmax(1).tolist())) > 1  # at random layers
    plain = generator.eval().ws(z)
    assert torch.equal(plain, w.unsqueeze(1).expand(-1, NUM_LAYERS, -1))
    never = StyleGenerator(8, w_dim=8, mapping_layers=2, channels=4, style_mixing=0.0).train()
    assert (never.ws(z) == never.ws(z)[:, :1]).all()


def test_w_avg_tracks_the_mean_w_in_training_only():
    generator = tiny_style(w_avg_decay=0.5).generator
    z = torch.randn(32, 8)
    generator.eval()(z)
    assert torch.equal(generator.w_avg, torch.zeros(8))
    generator.train()(z)
    with torch.no_grad():
        expected = 0.5 * generator.mapping(z).mean(0)
    assert torch.allclose(generator.w_avg, expected, atol=1e-6)


def test_truncation_pulls_every_sample_towards_the_average_style():
    model = tiny_style()
    model.generator.w_avg.copy_(torch.randn(8))
    z = torch.randn(6, 8)
    full, half, none = (model.images(z, truncation=psi) for psi in (1.0, 0.5, 0.0))
    assert torch.equal(full, model.images(z))
    assert torch.allclose(none, none[:1].expand_as(none))  # psi 0: every latent becomes w_avg
    ws = model.generator.eval().ws(z, truncation=0.5)
    assert torch.allclose(ws, (model.generator.mapping(z)[:, None] + model.generator.w_avg) / 2, atol=1e-6)
    spread = [float(x.std(0).mean()) for x in (full, half, none)]
    assert spread[0] > spread[1] > spread[2] == 0.0


def test_eval_mode_uses_fixed_noise_so_a_seed_fixes_a_sample():
    model = tiny_style()
    with torch.no_grad():
        for layer in model.generator.synthesis.layers:
            layer.noise.weight.fill_(1.0)  # make the noise inputs matter
    seeded = [model.sample(3, generator=torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(seeded[0], seeded[1])
    z = torch.randn(3, 8)
    model.generator.train()
    with torch.no_grad():
        assert not torch.equal(
            model.generator.synthesis(model.generator.mapping(z)[:, None].expand(-1, 6, -1)),
            model.generator.synthesis(model.generator.mapping(z)[:, None].expand(-1, 6, -1)),
        )


def test_mixing_takes_coarse_layers_from_the_rows_and_the_rest_from_the_columns():
    model = tiny_style()
    rows, cols = torch.randn(2, 8), torch.randn(3, 8)
    grid = model.mix(rows, cols)  # (R, K, 1, 28, 28)
    assert grid.shape == (2, 3, 1, 28, 28)
    model.generator.eval()
    w_rows, w_cols = model.generator.mapping(rows), model.generator.mapping(cols)
    ws = torch.stack([w_rows[1]] * COARSE + [w_cols[2]] * (NUM_LAYERS - COARSE))[None]  # row 1's coarse, col 2's fine
    with torch.no_grad():
        assert torch.allclose(grid[1, 2], model.generator.synthesis(ws)[0], atol=1e-5)
    same = model.mix(cols, cols)
    assert torch.allclose(same.diagonal(dim1=0, dim2=1).movedim(-1, 0), model.images(cols), atol=1e-5)


def test_the_gan_step_trains_the_style_based_generator_and_moves_w_avg():
    model, task = tiny_style(), tiny_task()
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    step = GANStep(model, task, TrainConfig(lr=1e-3))
    row = step(task.train_batches(0)[0], lr=1e-3)
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(row)
    after = model.generator.state_dict()
    assert not torch.equal(before["w_avg"], after["w_avg"])
    assert not torch.equal(before["mapping.layers.0.weight"], after["mapping.layers.0.weight"])


def test_fit_with_a_style_based_gan_resumes_exactly(tmp_path):
    config = TrainConfig(lr=2e-4, betas=(0.5, 0.999), max_steps=6, eval_every=2, checkpoint_every=2, threads=1)

    def run(run_dir, *, crash_at=0, resume=False):
        model, task = tiny_style(), tiny_task()

        class Crash(Callback):
            def on_step_end(self, state, metrics):
                if state.step == crash_at:
                    raise RuntimeError("simulated crash")

        step = GANStep(model, task, config)
        callbacks = [Crash()] if crash_at else []
        fit(model, task, config, run_dir=run_dir, step=step, callbacks=callbacks, console=quiet(), resume=resume)
        return model

    reference = run(tmp_path / "reference")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path / "crashed", crash_at=5)
    resumed = run(tmp_path / "crashed", resume=True)  # from step 4: mixing, noise and w_avg all replayed
    expected, got = reference.state_dict(), resumed.state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)


TINY = [
    "train.max_steps=4",
    "train.eval_every=2",
    "train.checkpoint_every=2",
    "train.threads=1",
    "train.batch_size=16",
    "data.limit=200",
    "model.channels=4",
    "model.noise_dim=8",
    "model.w_dim=8",
    "model.mapping_layers=2",
    "model.judge_steps=3",
    "model.judge_samples=20",
]


@pytest.mark.network("fashion-mnist")
def test_stylegan_recipe_mix_and_truncation_commands(cli, tmp_path):
    run_dir = tmp_path / "style"
    result = cli("train", "fashion-stylegan", *(a for o in TINY for a in ("--set", o)), "--run-dir", str(run_dir))
    assert result.code == 0, result.err
    summary = (run_dir / "summary.md").read_text()
    assert "![mixing](mixing.png)" in summary and "confident_psi0.7" in summary
    assert (run_dir / "mixing.png").is_file() and (run_dir / "samples-truncated.png").is_file()
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["task"] == "gan"

    mixed = cli("generate", str(run_dir), "--mix", "--num", "4", "--seed", "1", "--out", str(tmp_path / "mix.png"))
    assert mixed.code == 0, mixed.err
    assert (tmp_path / "mix.png").is_file() and "4 x 4 sources" in mixed.out
    truncated = cli("generate", str(run_dir), "--truncation", "0.7", "-n", "8", "--out", str(tmp_path / "t.png"))
    assert truncated.code == 0, truncated.err
    assert (tmp_path / "t.png").is_file()
    assert cli("generate", str(run_dir), "-n", "4", "--out", str(tmp_path / "plain.png")).code == 0

    from seqlab.run import load
    from seqlab.tasks.gan import sample_images, style_mixing_grid

    run = load(run_dir)
    grid = style_mixing_grid(run, 3, seed=2)
    assert grid.shape == (4, 4, 28, 28) and not grid[0, 0].any()  # the corner is blank
    same = [sample_images(run, 4, seed=3, truncation=0.7) for _ in range(2)]
    assert np.array_equal(same[0], same[1])
    flat = sample_images(run, 4, seed=3, truncation=0.0)
    assert np.allclose(flat, flat[:1], atol=1e-6)

    for args, message in [
        (("--truncation", "1.5"), "--truncation must be in [0, 1] (got 1.5)"),
        (("--mix", "--label", "Bag"), "takes no --label"),
        (("--from", "Sneaker"), "--from translates with a CycleGAN run"),
    ]:
        wrong = cli("generate", str(run_dir), *args, "--out", str(tmp_path / "never.png"))
        assert wrong.code == 1 and message in wrong.err, wrong.err
        assert len(wrong.err.strip().splitlines()) == 1
    assert not (tmp_path / "never.png").exists()
