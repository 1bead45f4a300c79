"""Training: ``fit`` / ``evaluate``, the ``Task`` and ``Step`` protocols, callbacks, optimizers, schedules, checkpoints.

Importing this package is cheap: torch, rich and safetensors load inside the functions that use them.

- :mod:`seqlab.training.loop`: :func:`fit`, :func:`evaluate`, the :class:`Step` protocol and its usual
  :class:`OptimizerStep` (:func:`train_step`, :func:`update`), :class:`FitResult`
- :mod:`seqlab.training.task`: the :class:`Task` protocol
- :mod:`seqlab.training.callbacks`: :class:`Callback`, :class:`TrainState`, :class:`EarlyStopping`
- :mod:`seqlab.training.optim`: :func:`build_optimizer`, :func:`weight_penalty`
- :mod:`seqlab.training.schedules`: :func:`build_schedule` and the schedule classes
- :mod:`seqlab.training.checkpoint`: atomic safetensors + JSON checkpoints
- :mod:`seqlab.training.log`: the metrics log ``metrics.jsonl`` and ``curves.png``
- :mod:`seqlab.training.progress`: the rich progress bar

>>> import seqlab.training as train
>>> train.Task.__name__, callable(train.fit)
('Task', True)
"""

from __future__ import annotations

from seqlab.training.callbacks import Callback, EarlyStopping, TrainState
from seqlab.training.checkpoint import latest_good_checkpoint, load_weights, save_weights
from seqlab.training.loop import FitResult, OptimizerStep, Step, evaluate, fit, train_step, update
from seqlab.training.optim import build_optimizer, weight_penalty
from seqlab.training.progress import ProgressBar
from seqlab.training.schedules import (
    CosineSchedule,
    ExponentialSchedule,
    PlateauSchedule,
    Schedule,
    StepSchedule,
    build_schedule,
)
from seqlab.training.task import Task

__all__ = [
    "fit",
    "evaluate",
    "train_step",
    "update",
    "Step",
    "OptimizerStep",
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
    "ExponentialSchedule",
    "ProgressBar",
    "save_weights",
    "load_weights",
    "latest_good_checkpoint",
]
