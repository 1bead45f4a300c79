"""The range test is fit with a rising learning rate and a callback that stops it when the loss diverges."""

from __future__ import annotations

from io import StringIO

import pytest
import torch
from rich.console import Console
from torch import nn

from seqlab.experiments.lr_find import RangeTest, range_test_config, suggest
from seqlab.sections import TrainConfig
from seqlab.training import ExponentialSchedule, fit


class Regression:
    """y = x @ w for a fixed w: a loss that falls at small rates and explodes at large ones."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 4, generator=g)
        self.y = self.x @ torch.randn(4, 1, generator=g)

    def train_batches(self, epoch):
        return [(self.x[i : i + 16], self.y[i : i + 16]) for i in range(0, 64, 16)]

    def val_batches(self):
        return self.train_batches(0)[:1]

    def loss(self, model, batch):
        return nn.functional.mse_loss(model(batch[0]), batch[1]), {}

    def evaluate(self, model, batches):
        return {"loss": sum(float(self.loss(model, b)[0]) for b in batches) / len(batches)}

    def count_tokens(self, batch):
        return len(batch[0])


def test_the_range_test_stops_when_the_loss_diverges(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        test = RangeTest()
        config = range_test_config(TrainConfig(optimizer="sgd", momentum=0.0, max_time=60, early_stopping=2), steps=60)
        result = fit(
            nn.Linear(4, 1),
            Regression(),
            config,
            run_dir=tmp_path,
            schedule=ExponentialSchedule(1e-4, 1e3, steps=60),
            callbacks=[test],
            console=Console(file=StringIO()),
        )
    finally:
        torch.set_num_threads(before)
    assert result.stop_reason.startswith(("the loss diverged", "non-finite loss"))
    assert 11 <= len(test.lrs) < 60 and test.lrs == sorted(test.lrs)
    assert test.lrs[0] == pytest.approx(1e-4)
    assert len(test.losses) == len(test.smoothed) == len(test.lrs)
    suggested, at_min = suggest(test.lrs, test.smoothed)
    assert 1e-4 <= suggested <= at_min < 1e3


def test_the_range_test_config_keeps_the_optimizer_and_drops_the_rest():
    train = TrainConfig(optimizer="adamw", lr=3e-4, clip_norm=1.0, schedule="cosine", early_stopping=3, max_time=9)
    quick = range_test_config(train, steps=50)
    assert (quick.optimizer, quick.clip_norm) == ("adamw", 1.0)
    assert (quick.max_steps, quick.max_epochs, quick.max_time) == (50, 50, 0.0)
    assert (quick.schedule, quick.early_stopping, quick.eval_every, quick.checkpoint_every) == ("constant", 0, 50, 50)


def test_lr_find_refuses_a_gan_with_the_reason(cli, tmp_path):
    result = cli("lr-find", "fashion-dcgan", "--out", str(tmp_path / "lr"))
    assert result.code == 1
    assert "lr-find follows one loss" in result.err and "two players" in result.err
    assert not (tmp_path / "lr").exists()
