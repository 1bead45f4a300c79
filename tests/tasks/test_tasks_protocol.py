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
