"""Plots of experiments: variants' curves overlaid, a sweep's history and importances, an LR range test."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError
from seqlab.viz._figure import new_figure
from seqlab.viz.fonts import apply_font

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_COLORS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
)
_LINESTYLES = ("-", "--", ":", "-.")  # after ten colours the styles tell variants apart


def _style(index: int) -> dict[str, Any]:
    return {
        "color": _COLORS[index % len(_COLORS)],
        "linestyle": _LINESTYLES[(index // len(_COLORS)) % len(_LINESTYLES)],
    }


def _points(records: Sequence[Mapping[str, Any]], metric: str, split: str) -> dict[float, float]:
    """step -> value of the finite values of ``metric`` in the rows of ``split``."""
    points = {}
    for record in records:
        value, step = record.get(metric), record.get("step")
        if record.get("split", "train") != split or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(step, (int, float)) and math.isfinite(value):
            points[float(step)] = float(value)
    return points


def _plain_log_x(ax: Axes) -> None:
    """A log x axis labelled 1e-04, 1e-03... (mathtext's 10^-4 needs a minus glyph the Hangul fonts lack)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda value, _: f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e"))
    )
    ax.xaxis.set_minor_formatter(NullFormatter())


def _finish_axes(ax: Axes, *, title: str, xlabel: str, ylabel: str | None = None) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel, fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def plot_variant_curves(
    curves: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    *,
    metric: str,
    split: str = "val",
    best: str | None = None,
) -> Figure:
    """Overlay one metric's curve of every variant on one plot; repeats draw a mean and a min-max band.

    Args:
        curves: variant name -> one list of metrics.jsonl rows per repeat.
        metric: the column to draw, e.g. ``"loss"`` or ``"accuracy"``.
        split: ``"val"`` or ``"train"`` rows.
        best: the variant to draw thicker and mark with a star.

    Returns:
        A matplotlib Figure (never shown).

    >>> rows = lambda a: [{"step": s, "split": "val", "loss": a / (s + 1)} for s in range(4)]
    >>> fig = plot_variant_curves({"rnn": [rows(2)], "gru": [rows(1), rows(1.2)]}, metric="loss", best="gru")
    >>> fig.axes[0].get_title(), [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ('val loss', ['rnn', 'gru ★'])
    """
    if not curves:
        raise DataError("no variants to plot")
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    drawn = 0
    for index, (name, repeats) in enumerate(curves.items()):
        series = [p for p in (_points(records, metric, split) for records in repeats) if p]
        if not series:
            continue
        style = _style(index)
        width = 2.6 if name == best else 1.5
        label = f"{name} ★" if name == best else name
        # the mean over the steps every repeat logged (time budgets give each repeat its own steps)
        common = sorted(set.intersection(*(set(p) for p in series))) or sorted(series[0])
        means = [sum(p.get(s, math.nan) for p in series) / len(series) for s in common]
        marker = "o" if len(common) <= 30 else None
        ax.plot(common, means, label=label, linewidth=width, marker=marker, markersize=3, **style)
        if len(series) > 1:
            low = [min(p[s] for p in series if s in p) for s in common]
            high = [max(p[s] for p in series if s in p) for s in common]
            ax.fill_between(common, low, high, color=style["color"], alpha=0.15, linewidth=0)
        drawn += 1
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(
            0.5, 0.5, f"no {split} {metric} recorded", ha="center", va="center", transform=ax.transAxes, color="gray"
        )
    _finish_axes(ax, title=f"{split} {metric}", xlabel="step")
    return apply_font(fig)


def plot_tradeoff(
    points: Mapping[str, tuple[float, float]],
    *,
    xlabel: str,
    ylabel: str,
    best: str | None = None,
    log_x: bool = False,
) -> Figure:
    """A labelled scatter of variants, e.g. final accuracy against training time or parameters.

    Args:
        points: variant name -> (x, y).
        xlabel, ylabel: axis titles.
        best: the variant to mark with a star.
        log_x: logarithmic x axis (parameter counts spanning decades).

    >>> fig = plot_tradeoff({"rnn": (10.0, 0.7), "gru": (20.0, 0.8)}, xlabel="seconds", ylabel="accuracy")
    >>> fig.axes[0].get_xlabel()
    'seconds'
    """
    if not points:
        raise DataError("no variants to plot")
    fig = new_figure(5.6, 3.8)
    ax = fig.add_subplot()
    for index, (name, (x, y)) in enumerate(points.items()):
        color = _style(index)["color"]
        ax.scatter([x], [y], color=color, s=90 if name == best else 40, marker="*" if name == best else "o", zorder=3)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    if log_x and all(x > 0 for x, _ in points.values()):
        _plain_log_x(ax)
    ax.margins(x=0.15, y=0.12)  # room for the labels of the outermost points
    _finish_axes(ax, title=f"{ylabel} vs {xlabel}", xlabel=xlabel, ylabel=ylabel)
    return apply_font(fig)


def plot_optimization_history(
    values: Sequence[float | None],
    *,
    states: Sequence[str] | None = None,
    direction: str = "minimize",
    metric: str = "objective",
) -> Figure:
    """A sweep's objective per trial with the best-so-far line; pruned trials are crosses.

    Args:
        values: the objective of trials 0, 1, ... (None for a trial without a value).
        states: each trial's state (``COMPLETE``, ``PRUNED``, ``FAIL``...); default all complete.
        direction: ``minimize`` or ``maximize`` (which way the best-so-far moves).
        metric: the objective's name, for the axis.

    >>> fig = plot_optimization_history([3.0, 2.0, None, 2.5], states=["COMPLETE", "COMPLETE", "FAIL", "PRUNED"])
    >>> fig.axes[0].get_title()
    'Optimisation history'
    """
    if direction not in ("minimize", "maximize"):
        raise DataError(f'direction must be one of minimize, maximize (got "{direction}")')
    states = list(states) if states is not None else ["COMPLETE"] * len(values)
    if len(states) != len(values):
        raise DataError(f"{len(values)} values but {len(states)} states")
    fig = new_figure(6.4, 3.8)
    ax = fig.add_subplot()
    done = [(i, v) for i, (v, s) in enumerate(zip(values, states)) if v is not None and s == "COMPLETE"]
    pruned = [(i, v) for i, (v, s) in enumerate(zip(values, states)) if v is not None and s == "PRUNED"]
    if done:
        ax.scatter([i for i, _ in done], [v for _, v in done], color="tab:blue", s=25, label="complete", zorder=3)
        best, line = None, []
        for i, v in done:
            best = v if best is None or (v < best if direction == "minimize" else v > best) else best
            line.append((i, best))
        ax.step(
            [i for i, _ in line],
            [b for _, b in line],
            where="post",
            color="tab:red",
            linewidth=1.4,
            label="best so far",
        )
    if pruned:
        ax.scatter(
            [i for i, _ in pruned],
            [v for _, v in pruned],
            color="tab:gray",
            marker="x",
            s=25,
            label="pruned (last value)",
        )
    if done or pruned:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no finished trials yet", ha="center", va="center", transform=ax.transAxes, color="gray")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _finish_axes(ax, title="Optimisation history", xlabel="trial", ylabel=metric)
    return apply_font(fig)


def plot_param_importances(importances: Mapping[str, float], *, method: str = "fANOVA") -> Figure:
    """Horizontal bars of each hyperparameter's importance (fractions that sum to 1), largest on top.

    Args:
        importances: parameter name -> importance.
        method: how they were computed, for the axis title.

    >>> fig = plot_param_importances({"train.lr": 0.8, "model.dropout": 0.2})
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['model.dropout', 'train.lr']
    """
    if not importances:
        raise DataError("no importances to plot")
    ordered = sorted(importances.items(), key=lambda kv: kv[1])
    fig = new_figure(5.6, 0.9 + 0.45 * len(ordered))
    ax = fig.add_subplot()
    bars = ax.barh([name for name, _ in ordered], [value for _, value in ordered], color="tab:blue")
    for bar, (_, value) in zip(bars, ordered):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, max(1e-9, max(v for _, v in ordered)) * 1.2)
    _finish_axes(ax, title="Hyperparameter importance", xlabel=f"importance ({method})")
    return apply_font(fig)


def plot_lr_find(
    lrs: Sequence[float],
    losses: Sequence[float],
    *,
    smoothed: Sequence[float] | None = None,
    suggested: float | None = None,
) -> Figure:
    """Loss against learning rate (log axis) of a range test, with the suggested rate marked.

    Args:
        lrs: the learning rate of each step (increasing).
        losses: the raw training loss of each step.
        smoothed: the smoothed loss the suggestion was read from.
        suggested: the suggested learning rate.

    >>> fig = plot_lr_find([1e-4, 1e-3, 1e-2], [2.0, 1.5, 3.0], suggested=1e-3)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    if len(lrs) != len(losses) or not lrs:
        raise DataError(f"lrs and losses must be non-empty and of one length (got {len(lrs)} and {len(losses)})")
    fig = new_figure(6.0, 3.8)
    ax = fig.add_subplot()
    finite = [(lr, loss) for lr, loss in zip(lrs, losses) if math.isfinite(loss)]
    ax.plot(
        [lr for lr, _ in finite], [loss for _, loss in finite], color="tab:blue", alpha=0.35, linewidth=1, label="loss"
    )
    if smoothed is not None:
        ax.plot(list(lrs)[: len(smoothed)], list(smoothed), color="tab:blue", linewidth=1.8, label="smoothed")
    if suggested is not None:
        ax.axvline(suggested, color="tab:red", linestyle="--", linewidth=1.2, label=f"suggested {suggested:.2g}")
    ys = list(smoothed) if smoothed else [loss for _, loss in finite]
    if ys:
        # clip the blow-up at the end so the useful part of the curve fills the plot
        low, start = min(ys), ys[0]
        ax.set_ylim(low - 0.05 * abs(start - low) - 1e-6, start + 0.5 * abs(start - low) + 1e-6)
    _plain_log_x(ax)
    ax.legend(fontsize=8)
    _finish_axes(ax, title="Learning-rate range test", xlabel="learning rate (log)", ylabel="training loss")
    return apply_font(fig)


__all__ = [
    "plot_variant_curves",
    "plot_tradeoff",
    "plot_optimization_history",
    "plot_param_importances",
    "plot_lr_find",
]
