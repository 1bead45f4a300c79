"""Learning-rate schedules as small objects: ``lr(step)`` plus a JSON-able state.

``step`` is the number of optimizer steps already taken (0 for the first step). Every schedule
starts with an optional linear warmup: step ``s < warmup_steps`` uses ``lr * (s + 1) /
warmup_steps``. The schedules are plain functions of the step (and, for ``plateau``, of the
validation values seen so far), so a checkpoint stores them as a few numbers in JSON instead of a
pickled torch scheduler.

>>> schedule = CosineSchedule(1.0, total_steps=10, warmup_steps=2)
>>> [round(schedule.lr(s), 3) for s in (0, 1, 2, 6, 10)]
[0.5, 1.0, 1.0, 0.5, 0.0]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from seqlab.errors import ConfigError, unknown_choice

if TYPE_CHECKING:
    from seqlab.sections import TrainConfig

# metric names where smaller is better; any other metric (accuracy, bleu, ...) is maximised
_SMALLER_IS_BETTER = ("loss", "perplexity", "ppl", "error", "mae", "mse", "rmse", "cer", "wer")


def monitor_mode(monitor: str) -> str:
    """``"min"`` for losses and errors (names ending in loss, perplexity, mae, mse, ...), else ``"max"``.

    >>> monitor_mode("val_loss"), monitor_mode("val_accuracy")
    ('min', 'max')
    """
    return "min" if monitor.lower().endswith(_SMALLER_IS_BETTER) else "max"


def _warmup(step: int, warmup_steps: int) -> float:
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


class Schedule:
    """Base class: a constant learning rate (after warmup); subclasses change :meth:`lr`.

    Args:
        lr: the peak learning rate.
        warmup_steps: steps of linear warmup from ``lr / warmup_steps`` to ``lr``.

    >>> [Schedule(0.1, warmup_steps=4).lr(s) for s in (0, 3, 100)]
    [0.025, 0.1, 0.1]
    """

    def __init__(self, lr: float, *, warmup_steps: int = 0) -> None:
        self.base_lr = lr
        self.warmup_steps = warmup_steps

    def lr(self, step: int, *, elapsed: float = 0.0) -> float:
        """The learning rate for the optimizer step number ``step`` (0-based), ``elapsed`` seconds
        into training (only a cosine with a time budget reads the clock)."""
        return self.base_lr * _warmup(step, self.warmup_steps)

    def observe(self, value: float) -> None:
        """Take one validation value of the monitored metric (only ``plateau`` uses it)."""

    def state_dict(self) -> dict[str, Any]:
        """The mutable state as a JSON-able dict (empty for schedules that are pure functions)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


ConstantSchedule = Schedule


class StepSchedule(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    Args:
        lr: the starting learning rate.
        step_size: steps between decays.
        gamma: decay factor.
        warmup_steps: linear warmup (counted in the same steps).

    >>> s = StepSchedule(1.0, step_size=10, gamma=0.5)
    >>> [s.lr(k) for k in (0, 9, 10, 25)]
    [1.0, 1.0, 0.5, 0.25]
    """

    def __init__(self, lr: float, *, step_size: int, gamma: float, warmup_steps: int = 0) -> None:
        super().__init__(lr, warmup_steps=warmup_steps)
        self.step_size = step_size
        self.gamma = gamma

    def lr(self, step: int, *, elapsed: float = 0.0) -> float:
        return super().lr(step) * self.gamma ** (step // self.step_size)


class CosineSchedule(Schedule):
    """Warmup, then half a cosine from ``lr`` down to ``min_lr`` at ``total_steps`` (SGDR, Loshchilov & Hutter 2017).

    Args:
        lr: the peak learning rate.
        total_steps: the step at which the cosine reaches ``min_lr`` (stays there afterwards).
        warmup_steps: linear warmup steps before the cosine starts.
        min_lr: the final learning rate.
        max_time: a time budget in seconds (0 = none). The cosine then ends at whichever budget
            runs out first: its progress is the larger of the steps' and the clock's, so a run
            stopped by ``train.max_time`` anneals to ``min_lr`` instead of stopping near its peak
            rate (budgeted training, Li et al. 2020).

    >>> s = CosineSchedule(1.0, total_steps=4)
    >>> [round(s.lr(k), 3) for k in range(5)]
    [1.0, 0.854, 0.5, 0.146, 0.0]
    >>> timed = CosineSchedule(1.0, total_steps=1000, max_time=60.0)
    >>> [round(timed.lr(10, elapsed=t), 3) for t in (0.0, 30.0, 60.0)]
    [1.0, 0.5, 0.0]
    """

    def __init__(
        self, lr: float, *, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0, max_time: float = 0.0
    ) -> None:
        super().__init__(lr, warmup_steps=warmup_steps)
        self.total_steps = total_steps
        self.min_lr = min_lr
        self.max_time = max_time

    def lr(self, step: int, *, elapsed: float = 0.0) -> float:
        if step < self.warmup_steps:
            return super().lr(step)
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        if self.max_time > 0:
            progress = max(progress, min(1.0, elapsed / self.max_time))
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


class PlateauSchedule(Schedule):
    """Multiply the learning rate by ``gamma`` when the monitored metric stops improving.

    After ``patience`` validation passes in a row without a strict improvement on the best value
    so far, the factor is multiplied by ``gamma`` and the count starts again (like Keras'
    ``ReduceLROnPlateau`` with ``min_delta=0`` and ``cooldown=0``).

    Args:
        lr: the starting learning rate.
        gamma: decay factor.
        patience: validation passes without improvement before a decay.
        mode: ``"min"`` or ``"max"`` (see :func:`monitor_mode`).
        warmup_steps: linear warmup.

    >>> s = PlateauSchedule(1.0, gamma=0.5, patience=2, mode="min")
    >>> for value in (3.0, 2.0, 2.5, 2.1):
    ...     s.observe(value)
    >>> s.lr(100), s.state_dict()
    (0.5, {'best': 2.0, 'bad_passes': 0, 'factor': 0.5})
    """

    def __init__(self, lr: float, *, gamma: float, patience: int = 2, mode: str = "min", warmup_steps: int = 0) -> None:
        super().__init__(lr, warmup_steps=warmup_steps)
        assert mode in ("min", "max")
        self.gamma = gamma
        self.patience = patience
        self.mode = mode
        self.best: float | None = None
        self.bad_passes = 0
        self.factor = 1.0

    def lr(self, step: int, *, elapsed: float = 0.0) -> float:
        return super().lr(step) * self.factor

    def observe(self, value: float) -> None:
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if better:
            self.best, self.bad_passes = value, 0
            return
        self.bad_passes += 1
        if self.bad_passes >= self.patience:
            self.factor *= self.gamma
            self.bad_passes = 0

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_passes": self.bad_passes, "factor": self.factor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad_passes, self.factor = state["best"], state["bad_passes"], state["factor"]


class ExponentialSchedule(Schedule):
    """A rate that rises from ``min_lr`` to ``max_lr`` in ``steps`` steps, evenly on a log scale (the range test).

    Step ``s`` uses ``min_lr * (max_lr / min_lr) ** (s / (steps - 1))``; past the last step it keeps rising.

    Args:
        min_lr: the rate of step 0.
        max_lr: the rate of step ``steps - 1``.
        steps: how many steps the rise takes (at least 2).

    >>> s = ExponentialSchedule(1e-4, 1e-1, steps=4)
    >>> [f"{s.lr(k):.0e}" for k in range(4)]
    ['1e-04', '1e-03', '1e-02', '1e-01']
    """

    def __init__(self, min_lr: float, max_lr: float, *, steps: int) -> None:
        if not 0 < min_lr < max_lr:
            raise ConfigError(f"a rising rate needs 0 < min_lr < max_lr (got {min_lr:g} and {max_lr:g})")
        if steps < 2:
            raise ConfigError(f"a rising rate needs at least 2 steps (got {steps})")
        super().__init__(min_lr)
        self.max_lr = max_lr
        self.steps = steps

    def lr(self, step: int, *, elapsed: float = 0.0) -> float:
        return self.base_lr * (self.max_lr / self.base_lr) ** (step / (self.steps - 1))


PLATEAU_PATIENCE = 2  # validation passes; TrainConfig has no field for it


def build_schedule(config: TrainConfig, *, total_steps: int) -> Schedule:
    """Make the schedule named by ``config.schedule``.

    Args:
        config: reads ``schedule``, ``lr``, ``warmup_steps``, ``step_size``, ``gamma``, ``monitor``.
        total_steps: the planned number of steps: ``max_steps`` or ``max_epochs * batches per
            epoch``, whichever is smaller. A cosine ends there or at ``max_time``, whichever
            comes first (the loop passes the training clock to :meth:`Schedule.lr`).

    >>> from seqlab.sections import TrainConfig
    >>> type(build_schedule(TrainConfig(schedule="plateau"), total_steps=100)).__name__
    'PlateauSchedule'
    """
    warmup = config.warmup_steps
    makers = {
        "constant": lambda: Schedule(config.lr, warmup_steps=warmup),
        "step": lambda: StepSchedule(config.lr, step_size=config.step_size, gamma=config.gamma, warmup_steps=warmup),
        "cosine": lambda: CosineSchedule(
            config.lr, total_steps=total_steps, warmup_steps=warmup, max_time=config.max_time
        ),
        "plateau": lambda: PlateauSchedule(
            config.lr,
            gamma=config.gamma,
            patience=PLATEAU_PATIENCE,
            mode=monitor_mode(config.monitor),
            warmup_steps=warmup,
        ),
    }
    if config.schedule not in makers:
        raise ConfigError(unknown_choice("train.schedule", config.schedule, list(makers)))
    return makers[config.schedule]()
