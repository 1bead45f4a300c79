"""The callback protocol (four methods), the loop's position (``TrainState``) and early stopping.

A callback is any object with these methods; subclass :class:`Callback` and override the ones you
need. They are called in this order by :func:`seqlab.training.fit`:

- ``on_train_start(state)`` once, after a resume has restored the position;
- ``on_step_end(state, metrics)`` after every optimizer step (``metrics``: this step's loss,
  the task's metrics, ``lr``, ``tokens_per_s``);
- ``on_eval_end(state, metrics)`` after every validation pass (``metrics`` from the task);
- ``on_train_end(state)`` once, after the final weights are written.

To stop the run, call ``state.request_stop("why")``; the loop finishes the step, validates,
writes a checkpoint and ends as for any other budget.

>>> class StopAt(Callback):
...     def on_step_end(self, state, metrics):
...         if state.step >= 3:
...             state.request_stop("enough")
>>> state = TrainState(step=3)
>>> StopAt().on_step_end(state, {"loss": 1.0})
>>> state.stop_reason
'enough'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqlab.training.schedules import monitor_mode


@dataclass
class TrainState:
    """Where the loop is: counters that a checkpoint saves and callbacks read.

    Args:
        step: optimizer steps taken so far.
        epoch: the current epoch (0-based).
        batch_index: index of the next batch within that epoch.
        steps_per_epoch: batches in the current epoch.
        elapsed: seconds of training so far, summed over resumed sessions.
        lr: learning rate of the last step.
        stop_reason: why the run stops (``None`` while it runs).

    >>> TrainState(epoch=1, batch_index=5, steps_per_epoch=10).epochs_done
    1.5
    """

    step: int = 0
    epoch: int = 0
    batch_index: int = 0
    steps_per_epoch: int = 0
    elapsed: float = 0.0
    lr: float = 0.0
    stop_reason: str | None = None

    @property
    def epochs_done(self) -> float:
        """Completed epochs as a fraction (1.5 = one epoch and half of the next)."""
        return self.epoch + (self.batch_index / self.steps_per_epoch if self.steps_per_epoch else 0.0)

    def request_stop(self, reason: str = "stopped by a callback") -> None:
        """Ask the loop to stop after the current step (the first reason given wins)."""
        if self.stop_reason is None:
            self.stop_reason = reason


class Callback:
    """Base class with do-nothing methods; override the ones you need (see the module docstring).

    >>> class PrintEval(Callback):
    ...     def on_eval_end(self, state, metrics):
    ...         print(f"step {state.step}: val loss {metrics['loss']:.2f}")
    >>> PrintEval().on_eval_end(TrainState(step=200), {"loss": 1.2345})
    step 200: val loss 1.23
    """

    def on_train_start(self, state: TrainState) -> None:
        """Called once before the first step (of this session, after a resume)."""

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        """Called after each optimizer step with that step's metrics."""

    def on_eval_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        """Called after each validation pass with the task's metrics (unprefixed: ``loss``, ...)."""

    def on_train_end(self, state: TrainState) -> None:
        """Called once at the end, after the final weights are written."""


def monitor_value(monitor: str, val_metrics: dict[str, float]) -> float | None:
    """Read ``monitor`` (``val_loss``, ``val_accuracy`` or just ``loss``) from validation metrics.

    >>> monitor_value("val_accuracy", {"loss": 0.5, "accuracy": 0.75})
    0.75
    >>> monitor_value("val_bleu", {"loss": 0.5}) is None
    True
    """
    name = monitor[len("val_") :] if monitor.startswith("val_") else monitor
    value = val_metrics.get(name)
    return None if value is None else float(value)


class EarlyStopping:
    """Track the best value of the monitored metric and say when patience has run out.

    ``min`` mode for losses and errors, ``max`` otherwise (:func:`monitor_mode`). Patience counts
    validation passes; 0 turns stopping off (the best value is still tracked). Only a strict
    improvement resets the count.

    Args:
        monitor: e.g. ``"val_loss"``.
        patience: validation passes without improvement before stopping; 0 = never stop.

    >>> stopper = EarlyStopping("val_loss", patience=2)
    >>> [stopper.update(v, step=s) for s, v in enumerate([1.0, 0.5, 0.6, 0.7])]
    [True, True, False, False]
    >>> stopper.stop_reason(), stopper.best, stopper.best_step
    ('early stopping: val_loss did not improve for 2 validation passes (best 0.5 at step 1)', 0.5, 1)
    """

    def __init__(self, monitor: str, *, patience: int) -> None:
        self.monitor = monitor
        self.patience = patience
        self.mode = monitor_mode(monitor)
        self.best: float | None = None
        self.best_step: int | None = None
        self.bad_passes = 0

    def update(self, value: float, *, step: int) -> bool:
        """Record one validation value; return True when it is a new best."""
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best, self.best_step, self.bad_passes = value, step, 0
            return True
        self.bad_passes += 1
        return False

    def stop_reason(self) -> str | None:
        """A message when patience has run out, else None."""
        if self.patience and self.bad_passes >= self.patience:
            return (
                f"early stopping: {self.monitor} did not improve for {self.bad_passes} validation passes "
                f"(best {self.best:.4g} at step {self.best_step})"
            )
        return None

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state for a checkpoint."""
        return {"best": self.best, "best_step": self.best_step, "bad_passes": self.bad_passes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.best, self.best_step, self.bad_passes = state["best"], state["best_step"], state["bad_passes"]
