"""The task protocol: one table of task classes, sections declared by tasks, clear errors for what a task lacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab.config import load_config, recipe_names, sections_for, task_names
from seqlab.data.series import Scaler
from seqlab.errors import ConfigError
from seqlab.run import Run
from seqlab.tasks import TASKS, get_task
from seqlab.tasks.base import Task


def test_one_table_of_task_names_feeds_the_config():
    assert task_names() == list(TASKS)
    for name, cls in TASKS.items():
        assert issubclass(cls, Task) and cls.name == name
        assert sections_for(name)["data"] is cls.data_config
        assert sections_for(name)["model"] is next(iter(cls.model_configs.values()))


def test_an_unknown_task_lists_the_choices():
    with pytest.raises(ConfigError, match='unknown task "seq2sec"; did you mean seq2seq'):
        get_task("seq2sec")


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_is_described_by_its_own_model(name):
    config = load_config(name)
    text = get_task(config.task).describe(config)
    assert text and "\n" not in text
    arch = getattr(config.model, "arch", "")
    assert ("Transformer" in text) == (arch == "transformer"), (name, text)


def test_a_task_that_cannot_do_something_names_those_that_can():
    with pytest.raises(ConfigError, match="a forecast run cannot sample text; runs that can: language-model"):
        raise get_task("forecast").unable("sample")
    message = str(get_task("language-model").unable("generate"))
    assert "autoencoder" in message and "gan" in message and "language-model" not in message.split(": ")[-1]


def test_a_forecasters_scaler_is_not_a_tokenizer(tmp_path: Path):
    scaler = Scaler.fit(np.arange(12.0).reshape(6, 2), method="standard", columns=("a", "b"))
    run = Run(tmp_path, load_config("co2-lstm"), {}, scaler, torch.nn.Linear(1, 1))
    assert run.preprocessing is scaler
    with pytest.raises(ConfigError, match="reads no text and has no tokenizer"):
        run.tokenizer  # noqa: B018
    with pytest.raises(ConfigError, match="cannot sample text"):
        run.sample("hello")


def test_switching_the_arch_keeps_only_the_new_variants_keys():
    config = load_config("air-passengers-gru", overrides=["model.arch=transformer", "model.num_heads=2"])
    assert config.model.arch == "transformer" and config.model.num_heads == 2
    with pytest.raises(ConfigError, match='unknown key in \\[model\\] "num_heads"'):
        load_config("air-passengers-gru", overrides=["model.num_heads=2"])  # a transformer's key, not an rnn's


def test_label_smoothing_raises_the_training_loss_and_leaves_evaluation_plain():
    import torch
    from torch import nn

    from seqlab.tasks.classification import ClassificationTask

    class Scores(nn.Module):  # confident and right: smoothing is what costs it
        def forward(self, ids, mask=None):
            return torch.tensor([[8.0, -8.0]]).expand(ids.shape[0], 2)

    seqs, labels = [[3, 4], [5], [6, 7, 8]], torch.tensor([0, 0, 0])
    splits = {name: (seqs, labels) for name in ("train", "val", "test")}

    def task(smoothing):
        return ClassificationTask(splits, batch_size=3, seed=0, padding="pre", num_classes=2, label_smoothing=smoothing)

    batch = task(0.0).split_batches("val")[0]
    plain, smoothed = task(0.0).loss(Scores(), batch)[0], task(0.1).loss(Scores(), batch)[0]
    assert float(smoothed) > float(plain) + 0.5  # 5% of the target mass on a class scored 16 nats lower
    assert task(0.1).evaluate(Scores(), [batch])["loss"] == task(0.0).evaluate(Scores(), [batch])["loss"]
