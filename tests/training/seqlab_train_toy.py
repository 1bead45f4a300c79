"""A toy task for the training-loop tests: 3-class classification of random 8-d vectors.

Also a script, so the kill-and-resume test can run a training in a subprocess:
``python seqlab_train_toy.py RUN_DIR [--resume] [--sleep SECONDS]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from seqlab.config import TrainConfig
from seqlab.training import Callback, fit


class ToyTask:
    """Random vectors labelled by a fixed random linear map; batches are ``(x (B, 8), y (B,))``."""

    def __init__(self, *, n: int = 96, n_val: int = 32, batch_size: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n + n_val, 8, generator=g)
        y = (x @ torch.randn(8, 3, generator=g)).argmax(dim=1)
        self.x, self.y, self.n = x[:n], y[:n], n
        self.val = [(x[n + i : n + i + batch_size], y[n + i : n + i + batch_size]) for i in range(0, n_val, batch_size)]
        self.batch_size, self.seed = batch_size, seed

    def train_batches(self, epoch: int):
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(1000 * self.seed + epoch))
        return [
            (self.x[order[i : i + self.batch_size]], self.y[order[i : i + self.batch_size]])
            for i in range(0, self.n, self.batch_size)
        ]

    def val_batches(self):
        return self.val

    def loss(self, model, batch):
        x, y = batch
        logits = model(x)  # (B, 3)
        accuracy = (logits.argmax(dim=1) == y).float().mean().item()
        return nn.functional.cross_entropy(logits, y), {"accuracy": accuracy}

    def evaluate(self, model, batches):
        losses, correct, count = 0.0, 0, 0
        for x, y in batches:
            logits = model(x)
            losses += nn.functional.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
        return {"loss": losses / count, "accuracy": correct / count}

    def count_tokens(self, batch) -> int:
        return len(batch[1])


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train several times faster on one thread; restore torch's setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_model(seed: int = 0, *, dropout: float = 0.2) -> nn.Module:
    """A small MLP with dropout (so the torch RNG matters for exact resume)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Dropout(dropout), nn.Linear(16, 3))


# the config of the kill-and-resume test: mid-epoch checkpoints (6 batches per epoch), plateau
# schedule, early stopping, L2, clipping: every kind of state a resume must restore
RESUME_CONFIG = TrainConfig(
    optimizer="adam",
    lr=0.02,
    max_steps=40,
    max_epochs=100,
    checkpoint_every=5,
    eval_every=4,
    keep_checkpoints=2,
    schedule="plateau",
    gamma=0.5,
    early_stopping=50,
    l2=1e-3,
    clip_norm=1.0,
    threads=1,
    seed=3,
)


class Sleep(Callback):
    """Slow each step down so a parent process can kill the run mid-way."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_step_end(self, state, metrics) -> None:
        time.sleep(self.seconds)


def main(argv: list[str]) -> None:
    run_dir = Path(argv[0])
    resume = "--resume" in argv
    sleep = float(argv[argv.index("--sleep") + 1]) if "--sleep" in argv else 0.0
    fit(
        make_model(),
        ToyTask(),
        RESUME_CONFIG,
        run_dir=run_dir,
        resume=resume,
        callbacks=[Sleep(sleep)] if sleep else (),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
