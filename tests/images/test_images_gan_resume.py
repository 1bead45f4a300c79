"""A GAN run (fit with its own step) resumes exactly: a crash after step 6, then `resume`, equals a whole run.

The DCGANs, the style-based GAN (style mixing, noise inputs and the running mean of w all draw from or
update state the checkpoint must hold) and the CycleGAN (whose replay buffers are saved with its step).
"""

from __future__ import annotations

from io import StringIO

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

from seqlab.config import load_config
from seqlab.run import resume, train
from seqlab.training.progress import ProgressBar

TINY = [
    "train.max_steps=8",
    "train.eval_every=4",
    "train.checkpoint_every=4",
    "train.threads=1",
    "train.batch_size=16",
    "data.limit=200",
    "model.channels=4",
    "model.judge_steps=3",
    "model.judge_samples=20",
]
MODEL = {
    "fashion-dcgan": ["model.noise_dim=8"],
    "fashion-cgan": ["model.noise_dim=8"],
    "fashion-stylegan": ["model.noise_dim=8", "model.w_dim=8", "model.mapping_layers=2"],
    # 200 images hold about 20 of each class; a buffer of 8 fills in the first steps and then replays
    "fashion-cyclegan": ["model.residual_blocks=1", "model.pool_size=8", "train.batch_size=4"],
}


def crash_after_step_6(monkeypatch):
    """The progress bar is the first callback of every run and sees every step, so it crashes there."""
    original = ProgressBar.on_step_end

    def on_step_end(self, state, metrics):
        original(self, state, metrics)
        if state.step == 6:
            raise RuntimeError("simulated crash")

    monkeypatch.setattr(ProgressBar, "on_step_end", on_step_end)


def quiet() -> Console:
    return Console(file=StringIO())


@pytest.mark.network("fashion-mnist")
@pytest.mark.parametrize("recipe", list(MODEL))
def test_a_crashed_gan_resumes_to_the_same_weights(tmp_path, recipe, monkeypatch):
    config = load_config(recipe, overrides=[*TINY, *MODEL[recipe]])
    before = torch.get_num_threads()
    try:
        reference = train(config, run_dir=tmp_path / "reference", console=quiet())
        with monkeypatch.context() as patched, pytest.raises(RuntimeError, match="simulated crash"):
            crash_after_step_6(patched)
            train(config, run_dir=tmp_path / "crashed", console=quiet())
        assert not (tmp_path / "crashed" / "model.safetensors").exists()
        said = StringIO()
        resumed = resume(tmp_path / "crashed", console=Console(file=said, width=200))
    finally:
        torch.set_num_threads(before)
    expected = load_file(reference.run_dir / "model.safetensors")
    got = load_file(resumed.run_dir / "model.safetensors")
    assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)
    assert max(row["step"] for row in resumed.metrics()) == 8
    assert "resuming from step-0000004" in said.getvalue()  # not a fresh start that happens to match
