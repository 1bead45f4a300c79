"""Built-in studies: the classic course exercises ("change the cell / learning rate / batch size /
dropout / regularisation / depth and width / epochs and compare"), one command each.

A study is a literal entry in :data:`STUDIES`: a default recipe, the variants and a default
budget per run. ``seqlab study NAME [RECIPE]`` runs it through :func:`seqlab.experiments.compare`;
any recipe of a fitting task can stand in for the default.

>>> sorted(STUDIES)
['batch-size', 'cells', 'depth-width', 'dropout', 'early-stopping', 'learning-rate', 'regularization']
>>> [v.name for v in STUDIES["cells"].variants]
['rnn', 'lstm', 'gru']
"""

from __future__ import annotations

from dataclasses import dataclass

from seqlab.errors import ConfigError, unknown_choice
from seqlab.experiments.space import Variant, grid


@dataclass(frozen=True)
class Study:
    """A ready-made comparison.

    Args:
        title: the report title.
        question: what the study answers (the report's first paragraph).
        recipe: the recipe it runs by default.
        variants: what changes between runs.
        budget: the default ``--budget`` per run ("" keeps the recipe's budget).
    """

    title: str
    question: str
    recipe: str
    variants: tuple[Variant, ...]
    budget: str = ""


def _named(*pairs: tuple[str, tuple[str, ...]]) -> tuple[Variant, ...]:
    return tuple(Variant(name, overrides) for name, overrides in pairs)


STUDIES: dict[str, Study] = {
    "cells": Study(
        "RNN vs LSTM vs GRU",
        "Which recurrent cell learns the task best, how many parameters does each cost, and how fast is each? "
        "The LSTM has 4 gate blocks, the GRU 3 and the simple RNN 1, so at equal hidden size they differ in "
        "size and speed by about those factors.",
        "rotten-tomatoes-bilstm",
        _named(("rnn", ("model.cell=rnn",)), ("lstm", ("model.cell=lstm",)), ("gru", ("model.cell=gru",))),
        budget="2m",
    ),
    "learning-rate": Study(
        "Learning rate",
        "How does the learning rate change training? Too small learns slowly, too large diverges or plateaus high.",
        "shakespeare-char",
        tuple(grid(["train.lr=3e-4,1e-3,3e-3,1e-2,3e-2"])),
        budget="400",  # equal steps, so every rate gets the same number of updates
    ),
    "batch-size": Study(
        "Batch size",
        "How does the batch size trade gradient noise against throughput at a fixed time budget?",
        "rotten-tomatoes-bilstm",
        tuple(grid(["train.batch_size=16,32,64,128"])),
        budget="2m",
    ),
    "dropout": Study(
        "Dropout",
        "How much dropout helps before it hurts: watch the gap between training and validation loss.",
        "rotten-tomatoes-bilstm",
        tuple(grid(["model.dropout=0.0,0.2,0.4,0.6"])),
        budget="2m",
    ),
    "regularization": Study(
        "L1, L2 and weight decay",
        "Penalties on the weights: L1 (sum of |w|, added to the loss), L2 (sum of w², added to the loss) and "
        "decoupled weight decay (AdamW), against none.",
        "rotten-tomatoes-bilstm",
        _named(
            ("none", ('train.optimizer="adamw"', "train.weight_decay=0.0", "train.l1=0.0", "train.l2=0.0")),
            ("L1 1e-6", ('train.optimizer="adamw"', "train.weight_decay=0.0", "train.l1=1e-6", "train.l2=0.0")),
            ("L2 1e-5", ('train.optimizer="adamw"', "train.weight_decay=0.0", "train.l1=0.0", "train.l2=1e-5")),
            ("weight decay 0.1", ('train.optimizer="adamw"', "train.weight_decay=0.1", "train.l1=0.0", "train.l2=0.0")),
        ),
        budget="2m",
    ),
    "depth-width": Study(
        "Depth and width",
        "One or two stacked layers, narrow or wide: what capacity does the task need, and what does it cost?",
        "rotten-tomatoes-bilstm",
        tuple(grid(["model.num_layers=1,2", "model.hidden_size=64,256"])),
        budget="2m",
    ),
    "early-stopping": Study(
        "Epochs, with and without early stopping",
        "Training longer lowers the training loss but can overfit; early stopping keeps the best validation "
        "weights and stops when patience runs out.",
        "rotten-tomatoes-bilstm",
        _named(
            ("2 epochs", ("train.max_epochs=2", "train.early_stopping=0", "train.max_time=0.0", "train.max_steps=0")),
            ("8 epochs", ("train.max_epochs=8", "train.early_stopping=0", "train.max_time=0.0", "train.max_steps=0")),
            (
                "8 epochs + early stopping",
                ("train.max_epochs=8", "train.early_stopping=2", "train.max_time=0.0", "train.max_steps=0"),
            ),
        ),
    ),
}


def get_study(name: str) -> Study:
    """The built-in study of that name.

    >>> get_study("dropout").recipe
    'rotten-tomatoes-bilstm'
    """
    if name not in STUDIES:
        raise ConfigError(unknown_choice("study", name, list(STUDIES)))
    return STUDIES[name]


__all__ = ["Study", "STUDIES", "get_study"]
