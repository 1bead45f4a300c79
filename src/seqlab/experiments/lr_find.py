"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks", 2017).

Train from fresh weights for a few hundred steps while the learning rate grows exponentially
from ``min_lr`` to ``max_lr``; record the (smoothed) training loss at each rate; stop when the
loss blows up. The suggested rate is where the smoothed loss falls fastest per decade of rate,
at most a tenth of the rate where the loss is lowest (past the minimum the steps are already
too large). The plot and the numbers go to a report folder.

>>> lrs = exponential_rates(1e-4, 1e-1, steps=4)
>>> [f"{lr:.0e}" for lr in lrs]
['1e-04', '1e-03', '1e-02', '1e-01']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
    import torch

    from seqlab.tasks import get_task
    from seqlab.training import build_optimizer, train_step

    console = console or Console()
    rates = exponential_rates(min_lr, max_lr, steps=steps)
    binding = get_task(config.task)
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)
    with console.status("reading data and fitting the tokenizer..."):
        tokenizer, task, meta = binding.prepare(config)
    model = binding.build_model(config, tokenizer, meta)
    optimizer = build_optimizer(model, config.train)
    lrs, losses, smoothed = [], [], []
    epoch, batches, index = 0, task.train_batches(0), 0
    if len(batches) == 0:
        raise ConfigError("the task has no training batches; the data is smaller than one batch (check data.limit)")
    with console.status("range test...") as status:
        for step, lr in enumerate(rates):
            if index == len(batches):
                epoch, index = epoch + 1, 0
                batches = task.train_batches(epoch)
            loss = train_step(model, task, batches[index], optimizer, lr=lr, config=config.train)["loss"]
            index += 1
            if not math.isfinite(loss):
                break
            lrs.append(lr)
            losses.append(loss)
            smoothed = smooth(losses)
            status.update(f"range test: step {step + 1}/{steps}, lr {lr:.2e}, loss {smoothed[-1]:.4f}")
            if step >= 10 and smoothed[-1] > BLOW_UP * min(smoothed):
                break
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


__all__ = ["lr_find", "LRFindResult", "render", "suggest", "smooth", "exponential_rates"]
