"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks", 2017).

Train from fresh weights for a few hundred steps while the learning rate grows exponentially
from ``min_lr`` to ``max_lr``; record the (smoothed) training loss at each rate; stop when the
loss blows up. The suggested rate is where the smoothed loss falls fastest per decade of rate,
at most a tenth of the rate where the loss is lowest (past the minimum the steps are already
too large). The plot and the numbers go to a report folder.

The training is :func:`seqlab.training.fit` with a rising schedule
(:class:`~seqlab.training.schedules.ExponentialSchedule`) and one callback,
:class:`RangeTest`, that records the curve and stops the run when the loss diverges; the
checkpoints and weights ``fit`` writes go to a temporary folder.

>>> lrs = exponential_rates(1e-4, 1e-1, steps=4)
>>> [f"{lr:.0e}" for lr in lrs]
['1e-04', '1e-03', '1e-02', '1e-01']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from seqlab.config import Config, to_toml
from seqlab.errors import ConfigError
from seqlab.experiments.report import (
    Code,
    Heading,
    Image,
    Para,
    Section,
    Table,
    fmt,
    read_study,
    write_report,
    write_study,
)
from seqlab.training.callbacks import Callback, TrainState

if TYPE_CHECKING:
    from seqlab.sections import TrainConfig

BLOW_UP = 4.0  # stop once the smoothed loss exceeds this multiple of its best value


@dataclass(frozen=True)
class LRFindResult:
    """What :func:`lr_find` returns.

    Args:
        folder: the report folder.
        lrs: the rate of each step taken.
        losses: the raw training loss of each step.
        smoothed: the bias-corrected moving average of the loss.
        suggested: the suggested learning rate.
        min_loss_lr: the rate where the smoothed loss was lowest.
    """

    folder: Path
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggested: float
    min_loss_lr: float


def exponential_rates(min_lr: float, max_lr: float, *, steps: int) -> list[float]:
    """``steps`` rates from ``min_lr`` to ``max_lr``, evenly spaced on a log scale."""
    if not 0 < min_lr < max_lr:
        raise ConfigError(f"the range test needs 0 < min_lr < max_lr (got {min_lr:g} and {max_lr:g})")
    if steps < 2:
        raise ConfigError(f"the range test needs at least 2 steps (got {steps})")
    ratio = max_lr / min_lr
    return [min_lr * ratio ** (i / (steps - 1)) for i in range(steps)]


def smooth(losses: Sequence[float], *, beta: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled to 0).

    >>> [round(v, 3) for v in smooth([1.0, 1.0, 4.0], beta=0.5)]
    [1.0, 1.0, 2.714]
    """
    average, out = 0.0, []
    for i, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta**i))
    return out


def suggest(lrs: Sequence[float], smoothed: Sequence[float]) -> tuple[float, float]:
    """(suggested rate, rate at the lowest loss) from a range test's smoothed curve.

    The suggestion is the steepest descent of loss against log10(rate) before the minimum,
    capped at a tenth of the minimum's rate.

    >>> lrs = exponential_rates(1e-5, 1.0, steps=6)
    >>> [f"{lr:.2g}" for lr in suggest(lrs, [5.0, 4.9, 4.0, 2.0, 1.5, 9.0])]
    ['0.001', '0.1']
    """
    if len(lrs) != len(smoothed) or not lrs:
        raise ValueError("lrs and smoothed must be non-empty and of one length")
    best = min(range(len(smoothed)), key=lambda i: smoothed[i])
    min_lr = lrs[best]
    if best < 1:
        return min_lr / 10, min_lr
    logs = [math.log10(lr) for lr in lrs[: best + 1]]
    slopes = [(smoothed[i + 1] - smoothed[i]) / (logs[i + 1] - logs[i]) for i in range(best)]
    steepest = min(range(len(slopes)), key=lambda i: slopes[i])
    return min(lrs[steepest], min_lr / 10), min_lr


class RangeTest(Callback):
    """Record each step's rate and loss; stop the run once the smoothed loss exceeds ``BLOW_UP`` x its best.

    >>> test = RangeTest()
    >>> state = TrainState()
    >>> for step, loss in enumerate([3.0] * 11 + [1e6]):
    ...     test.on_step_end(state, {"loss": loss, "lr": 10.0**step})
    >>> len(test.lrs), state.stop_reason.split(":")[0]
    (12, 'the loss diverged')
    """

    def __init__(self) -> None:
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        self.lrs.append(metrics["lr"])
        self.losses.append(metrics["loss"])
        self.smoothed = smooth(self.losses)
        if len(self.losses) > 10 and self.smoothed[-1] > BLOW_UP * min(self.smoothed):
            state.request_stop(f"the loss diverged: {self.smoothed[-1]:.4g} at lr {self.lrs[-1]:.3g}")


def range_test_config(train: TrainConfig, *, steps: int) -> TrainConfig:
    """``[train]`` for a range test: ``steps`` steps at most, one validation pass and checkpoint at the end.

    The optimizer, its settings and clipping stay; the schedule is replaced by the rising rate and
    early stopping is off.

    >>> from seqlab.sections import TrainConfig
    >>> quick = range_test_config(TrainConfig(max_time=60, early_stopping=3), steps=100)
    >>> quick.max_steps, quick.max_time, quick.early_stopping
    (100, 0.0, 0)
    """
    budget = {"max_steps": steps, "max_epochs": steps, "max_time": 0.0}  # each epoch has at least one step
    quiet = {"eval_every": steps, "eval_batches": 1, "checkpoint_every": steps, "keep_checkpoints": 1}
    return train.model_copy(update={**budget, **quiet, "early_stopping": 0, "schedule": "constant"})


def lr_find(
    config: Config,
    *,
    out_dir: str | Path,
    min_lr: float = 1e-5,
    max_lr: float = 1.0,
    steps: int = 100,
    command: str = "",
    console: Console | None = None,
) -> LRFindResult:
    """Run the range test on ``config`` (its data, model, optimizer, clipping; no schedule) and report.

    Args:
        config: the experiment whose learning rate to choose.
        out_dir: the report folder (``study.json``, ``lr-find.png``, ``report.md``/``.html``).
        min_lr: the first rate.
        max_lr: the last rate (the test stops earlier when the loss blows up).
        steps: optimizer steps from ``min_lr`` to ``max_lr``.
        command: the command that made it, for the report.
        console: where progress goes.

    Returns:
        An :class:`LRFindResult`.
    """
    import tempfile

    import torch

    from seqlab.tasks import get_task
    from seqlab.training import ExponentialSchedule, fit

    console = console or Console()
    exponential_rates(min_lr, max_lr, steps=steps)  # checks the range
    task = get_task(config.task)
    if not task.one_loss:
        raise ConfigError(
            f"lr-find follows one loss, and a {task.name} run trains two players with a loss each; "
            "compare learning rates with `seqlab compare RECIPE --vary train.lr=...` instead"
        )
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)
    with console.status("reading data and fitting the tokenizer..."):
        prepared = task.prepare(config)
    model = task.build_model(config, prepared.meta, preprocessing=prepared.preprocessing)
    test = RangeTest()
    with tempfile.TemporaryDirectory(prefix="seqlab-lr-find-") as scratch:
        fit(
            model,
            prepared.data,
            range_test_config(config.train, steps=steps),
            run_dir=scratch,
            schedule=ExponentialSchedule(min_lr, max_lr, steps=steps),
            callbacks=[test],
            console=console,
        )
    lrs, losses, smoothed = test.lrs, test.losses, test.smoothed
    if len(lrs) < 3:
        raise ConfigError(
            f"the loss diverged within {len(lrs)} steps of the range test; lower --min-lr (now {min_lr:g})"
        )
    suggested, at_min = suggest(lrs, smoothed)
    folder = Path(out_dir)
    write_study(
        folder,
        {
            "kind": "lr-find",
            "version": 1,
            "title": f"{config.name}: learning-rate range test",
            "command": command,
            "base_config": to_toml(config),
            "min_lr": min_lr,
            "max_lr": max_lr,
            "steps": steps,
            "lrs": lrs,
            "losses": losses,
            "smoothed": smoothed,
            "suggested": suggested,
            "min_loss_lr": at_min,
        },
    )
    paths = render(folder)
    console.print(
        f"suggested learning rate: [bold]{suggested:.3g}[/] (lowest loss at {at_min:.3g}); report: {paths[0]}"
    )
    return LRFindResult(folder, lrs, losses, smoothed, suggested, at_min)


def render(folder: str | Path) -> list[Path]:
    """Draw ``lr-find.png`` and write the report of a range-test folder from its study.json."""
    from seqlab.viz import save_figure
    from seqlab.viz.experiments import plot_lr_find

    folder = Path(folder)
    study = read_study(folder)
    save_figure(
        plot_lr_find(study["lrs"], study["losses"], smoothed=study["smoothed"], suggested=study["suggested"]),
        folder / "lr-find.png",
    )
    doc = Section()
    doc.add(
        Heading(study["title"]),
        Para(
            f"The learning rate grew from {study['min_lr']:g} to {study['max_lr']:g} "
            f"over at most {study['steps']} steps "
            f"({len(study['lrs'])} taken before the loss blew up or the range ended). Suggested rate: "
            f"**{study['suggested']:.3g}**, where the smoothed loss falls fastest (at most a tenth of "
            f"{study['min_loss_lr']:.3g}, the rate of the lowest loss)."
        ),
    )
    if study.get("command"):
        doc.add(Code(study["command"], "sh"))
    doc.add(Image("lr-find.png", "training loss against learning rate"))
    marks = sorted({0, len(study["lrs"]) - 1, *range(0, len(study["lrs"]), max(1, len(study["lrs"]) // 8))})
    doc.add(
        Heading("Points", 2),
        Table(
            ["step", "lr", "loss", "smoothed"],
            [[str(i + 1), f"{study['lrs'][i]:.3g}", fmt(study["losses"][i]), fmt(study["smoothed"][i])] for i in marks],
        ),
    )
    doc.add(Heading("Use it", 2), Code(f"seqlab train <recipe> --set train.lr={study['suggested']:.3g}", "sh"))
    return write_report(folder, doc.blocks)


__all__ = [
    "lr_find",
    "LRFindResult",
    "RangeTest",
    "range_test_config",
    "render",
    "suggest",
    "smooth",
    "exponential_rates",
]
