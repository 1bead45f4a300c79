"""The progress bar: loss, a metric, tokens/s and an ETA from whichever budget ends first.

It is an ordinary :class:`~seqlab.training.callbacks.Callback` that draws on the rich ``Console`` it
is given (tests pass ``Console(file=StringIO())``). On a terminal the bar redraws in place, from the
training thread and at most twice a second; on a file or pipe it is printed once at the end, and
each validation pass prints one line.

>>> eta_seconds(step=10, elapsed=5.0, seconds_per_step=0.5, max_steps=100, max_time=0.0, steps_left_in_epochs=1000)
45.0
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from seqlab.training.callbacks import Callback, TrainState

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from seqlab.sections import TrainConfig


def eta_seconds(
    *, step: int, elapsed: float, seconds_per_step: float, max_steps: int, max_time: float, steps_left_in_epochs: int
) -> float:
    """Seconds until the first budget runs out: steps, wall-clock time or epochs (0 = no such budget).

    Args:
        step: steps taken.
        elapsed: seconds spent.
        seconds_per_step: recent mean duration of a step.
        max_steps: the step budget (0 = none).
        max_time: the time budget in seconds (0 = none).
        steps_left_in_epochs: steps until ``max_epochs`` is reached.

    >>> eta_seconds(step=10, elapsed=50.0, seconds_per_step=0.5, max_steps=1000, max_time=60.0,
    ...             steps_left_in_epochs=1000)
    10.0
    """
    left = [steps_left_in_epochs * seconds_per_step]
    if max_steps:
        left.append(max(0, max_steps - step) * seconds_per_step)
    if max_time:
        left.append(max(0.0, max_time - elapsed))
    return max(0.0, min(left))


def budget_fraction(state: TrainState, config: TrainConfig) -> float:
    """How much of the run is done (0..1): the largest fraction of any budget used.

    >>> from seqlab.sections import TrainConfig
    >>> budget_fraction(TrainState(step=50, steps_per_epoch=1000), TrainConfig(max_steps=100, max_epochs=1))
    0.5
    """
    fractions = [state.epochs_done / config.max_epochs]
    if config.max_steps:
        fractions.append(state.step / config.max_steps)
    if config.max_time:
        fractions.append(state.elapsed / config.max_time)
    return min(1.0, max(fractions))


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class ProgressBar(Callback):
    """Draw training progress on a rich console.

    The bar is drawn from the training thread, at most once every ``redraw_every`` seconds and only
    on a terminal (rich's own refresh thread, ten redraws a second, cost about 4% of an LSTM step's
    CPU time on two cores: benchmarks/core.md). On a file or pipe it is printed once, at the end.
    Each validation pass prints one line that says whether its figures are an estimate (n of N
    batches) or the whole split.

    Args:
        console: where to draw.
        config: the budgets (for the bar and the ETA).
        smoothing: weight of the past in the moving averages of loss, speed and step time.
        redraw_every: seconds between redraws of the bar on a terminal.
        evaluated: what a validation pass covers, e.g. ``estimate: 20 of 56 batches`` (see
            :func:`~seqlab.training.log.evaluated`); empty: not said.

    >>> from io import StringIO
    >>> from rich.console import Console
    >>> from seqlab.sections import TrainConfig
    >>> out = StringIO()
    >>> bar = ProgressBar(Console(file=out, width=120), TrainConfig(max_steps=2), evaluated="all 3 batches")
    >>> state = TrainState(steps_per_epoch=10)
    >>> bar.on_train_start(state)
    >>> for step in (1, 2):
    ...     state.step, state.elapsed = step, 0.1 * step
    ...     bar.on_step_end(state, {"loss": 1.0, "accuracy": 0.5, "lr": 0.01, "tokens_per_s": 100.0})
    >>> bar.on_eval_end(state, {"loss": 0.9})
    >>> bar.on_train_end(state)
    >>> "loss 1.000" in out.getvalue() and "accuracy 0.500" in out.getvalue()
    True
    >>> "val (all 3 batches)  loss 0.9" in out.getvalue()
    True
    """

    def __init__(
        self,
        console: Console,
        config: TrainConfig,
        *,
        smoothing: float = 0.9,
        redraw_every: float = 0.5,
        evaluated: str = "",
    ) -> None:
        self.console = console
        self.config = config
        self.smoothing = smoothing
        self.redraw_every = redraw_every
        self.evaluated = evaluated
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._averages: dict[str, float] = {}
        self._extra: str | None = None  # the task's first metric, shown beside the loss
        self._last_elapsed = 0.0
        self._state = TrainState()
        self._seconds_per_step = 0.0
        self._drawn = -math.inf  # perf_counter of the last redraw: the first step draws

    def _smooth(self, name: str, value: float) -> float:
        old = self._averages.get(name)
        self._averages[name] = value if old is None else self.smoothing * old + (1 - self.smoothing) * value
        return self._averages[name]

    def on_train_start(self, state: TrainState) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%  step {task.fields[step]}  {task.fields[stats]}"),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
            auto_refresh=False,  # no refresh thread: on_step_end redraws, at most every redraw_every seconds
        )
        progress.start()
        self._progress = progress
        self._task = progress.add_task("train", total=1.0, step=state.step, stats="", eta="-:--")
        self._last_elapsed = state.elapsed
        self._state = state

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        self._seconds_per_step = self._smooth("seconds_per_step", state.elapsed - self._last_elapsed)
        self._last_elapsed = state.elapsed
        self._smooth("loss", metrics["loss"])
        if self._extra is None:
            extra = [name for name in metrics if name not in ("loss", "lr", "tokens_per_s", "grad_norm", "penalty")]
            self._extra = extra[0] if extra else ""
        if self._extra:
            self._smooth(self._extra, metrics[self._extra])
        self._smooth("tokens_per_s", metrics.get("tokens_per_s", 0.0))
        self._state = state
        if self.console.is_terminal and time.perf_counter() - self._drawn >= self.redraw_every:
            self._draw(refresh=True)

    def _draw(self, *, refresh: bool) -> None:
        """Put the latest figures on the bar (and redraw it now when ``refresh``)."""
        if self._progress is None or self._task is None or not self._averages:
            return
        state, averages = self._state, self._averages
        stats = [f"loss {averages['loss']:.3f}"]
        if self._extra:
            stats.append(f"{self._extra} {averages[self._extra]:.3f}")
        stats.append(f"{averages['tokens_per_s']:,.0f} tok/s")
        steps_left = (self.config.max_epochs - state.epoch) * state.steps_per_epoch - state.batch_index
        eta = eta_seconds(
            step=state.step,
            elapsed=state.elapsed,
            seconds_per_step=self._seconds_per_step,
            max_steps=self.config.max_steps,
            max_time=self.config.max_time,
            steps_left_in_epochs=steps_left,
        )
        done = budget_fraction(state, self.config)
        self._progress.update(
            self._task, completed=done, step=state.step, stats="  ".join(stats), eta=_clock(eta), refresh=refresh
        )
        self._drawn = time.perf_counter()

    def on_eval_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        shown = "  ".join(f"{name} {value:.4g}" for name, value in metrics.items())
        what = f" ({self.evaluated})" if self.evaluated else ""
        self.console.print(f"step {state.step}  epoch {state.epochs_done:.2f}  [cyan]val[/]{what}  {shown}")

    def on_train_end(self, state: TrainState) -> None:
        self.stop()

    def stop(self) -> None:
        """Draw the last figures and stop (safe to call twice; the loop calls it when training fails too)."""
        if self._progress is not None:
            self._draw(refresh=False)  # stop() renders once more, on a terminal and on a file alike
            self._progress.stop()
            self._progress = None
