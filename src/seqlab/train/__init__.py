"""Training: ``fit`` / ``evaluate``, the ``Task`` protocol, callbacks, optimizers, schedules, checkpoints.

Importing this package is cheap: torch, rich and safetensors load inside the functions that use them.

- :mod:`seqlab.train.loop`: :func:`fit`, :func:`evaluate`, :func:`train_step`, :class:`FitResult`
- :mod:`seqlab.train.task`: the :class:`Task` protocol
- :mod:`seqlab.train.callbacks`: :class:`Callback`, :class:`TrainState`, :class:`EarlyStopping`
- :mod:`seqlab.train.optim`: :func:`build_optimizer`, :func:`weight_penalty`
- :mod:`seqlab.train.schedules`: :func:`build_schedule` and the schedule classes
- :mod:`seqlab.train.checkpoint`: atomic safetensors + JSON checkpoints
- :mod:`seqlab.train.metrics`: ``metrics.jsonl`` and ``curves.png``
- :mod:`seqlab.train.progress`: the rich progress bar

>>> import seqlab.train as train
>>> train.Task.__name__, callable(train.fit)
('Task', True)
"""

from __future__ import annotations

from seqlab.train.callbacks import Callback, EarlyStopping, TrainState
from seqlab.train.checkpoint import latest_good_checkpoint, load_weights, save_weights
from seqlab.train.loop import FitResult, evaluate, fit, train_step
from seqlab.train.optim import build_optimizer, weight_penalty
from seqlab.train.progress import ProgressBar
from seqlab.train.schedules import CosineSchedule, PlateauSchedule, Schedule, StepSchedule, build_schedule
from seqlab.train.task import Task

__all__ = [
    "fit",
    "evaluate",
    "train_step",
    "FitResult",
    "Task",
    "Callback",
    "TrainState",
    "EarlyStopping",
    "build_optimizer",
    "weight_penalty",
    "build_schedule",
    "Schedule",
    "StepSchedule",
    "CosineSchedule",
    "PlateauSchedule",
    "ProgressBar",
    "save_weights",
    "load_weights",
    "latest_good_checkpoint",
]
