"""Training curves from a run's metrics.jsonl rows: one panel per metric, train and val overlaid."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import ConfigError, DataError, unknown_choice
from seqlab.viz._figure import new_figure
from seqlab.viz.fonts import apply_font

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Bookkeeping columns of metrics.jsonl that are not curves unless asked for by name.
NOT_METRICS = ("step", "epoch", "time", "split", "lr", "tokens_per_s")
_SPLIT_STYLE = {
    "train": {"color": "tab:blue", "linewidth": 1.3},
    "val": {"color": "tab:orange", "linewidth": 1.6, "marker": "o", "markersize": 4},
    "test": {"color": "tab:green", "linewidth": 1.6, "marker": "s", "markersize": 4},
}
_MARKERS_UP_TO = 30  # a series this short also gets markers, so a single point is visible


def _number(value: Any) -> float | None:
    """The value as a float if it is a real number (bools and strings are not), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _available(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Numeric keys in order of first appearance."""
    seen: dict[str, None] = {}
    for record in records:
        for key, value in record.items():
            if _number(value) is not None:
                seen.setdefault(key, None)
    return list(seen)


def _default_metrics(available: list[str]) -> list[str]:
    metrics = [key for key in available if key not in NOT_METRICS]
    return sorted(metrics, key=lambda key: key != "loss")  # stable: loss first, others as logged


def _series(records: Sequence[Mapping[str, Any]], key: str) -> dict[str, tuple[list[float], list[float]]]:
    """split -> (steps, values) of the finite values of ``key``, sorted by step."""
    points: dict[str, list[tuple[float, float]]] = {}
    for index, record in enumerate(records):
        value = _number(record.get(key))
        if value is None or not math.isfinite(value):
            continue
        step = _number(record.get("step"))
        split = str(record.get("split", "train"))
        points.setdefault(split, []).append((index if step is None else step, value))
    return {split: ([x for x, _ in sorted(pairs)], [y for _, y in sorted(pairs)]) for split, pairs in points.items()}


def _draw_metric(ax: Axes, records: Sequence[Mapping[str, Any]], key: str) -> None:
    series = _series(records, key)
    for split, (steps, values) in series.items():
        other = {"linewidth": 1.4, "marker": "^", "markersize": 4}
        style: dict[str, Any] = dict(_SPLIT_STYLE.get(split, other))
        if len(steps) <= _MARKERS_UP_TO:
            style.setdefault("marker", "o")
            style.setdefault("markersize", 3)
        ax.plot(steps, values, label=split, **style)
    if not series:
        ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes, color="gray")
    elif len(series) > 1 or next(iter(series)) != "train":
        ax.legend(fontsize=8)
    ax.set_title(key, fontsize=11)
    ax.set_xlabel("step", fontsize=9)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def _lr_points(records: Sequence[Mapping[str, Any]]) -> tuple[list[float], list[float]]:
    """(steps, lr) with one value a step, preferring the train rows that log it."""
    by_step: dict[float, float] = {}
    indexed = list(enumerate(records))
    train_first = sorted(indexed, key=lambda pair: pair[1].get("split", "train") != "train")
    for index, record in train_first:
        lr = _number(record.get("lr"))
        if lr is None or not math.isfinite(lr):
            continue
        step = _number(record.get("step"))
        by_step.setdefault(index if step is None else step, lr)
    steps = sorted(by_step)
    return steps, [by_step[step] for step in steps]


def plot_curves(records: Sequence[Mapping[str, Any]], *, metrics: Sequence[str] | None = None) -> Figure:
    """Plot training curves: one panel per metric with train and val overlaid against the step.

    Missing keys and NaN or infinite values are skipped; when the learning rate changes over
    the run a small lr panel is added at the bottom.

    Args:
        records: rows of a run's ``metrics.jsonl``, each like ``{"step": 100, "epoch": 1,
            "split": "train" | "val", "loss": 1.9, "accuracy": 0.4, "lr": 3e-4, ...}``.
        metrics: keys to plot, in order; by default every numeric key except step, epoch, time,
            split, lr and tokens_per_s, with loss first.

    Returns:
        A matplotlib Figure (never shown).

    >>> rows = [{"step": s, "split": "train", "loss": 3 / (s + 1), "lr": 0.9**s} for s in range(5)]
    >>> rows.append({"step": 4, "split": "val", "loss": 0.7, "accuracy": 0.6})
    >>> fig = plot_curves(rows)
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'accuracy', 'lr']
    """
    for position, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise DataError(f"metrics record {position} must be a dict (one JSON object a line), got {record!r}")
    available = _available(records)
    if metrics is None:
        keys = _default_metrics(available)
    else:
        keys = [str(key) for key in metrics]
        for key in keys:
            if key not in available:
                raise ConfigError(unknown_choice("metric", key, available or ["(none recorded)"]))

    lr_steps, lr_values = _lr_points(records)
    lr_panel = "lr" not in keys and len(lr_values) > 1 and max(lr_values) - min(lr_values) > 1e-12

    if not keys:
        fig = new_figure(5.0, 3.0)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no metrics recorded yet", ha="center", va="center", color="gray")
        return apply_font(fig)

    ncols = min(len(keys), 3)
    nrows = -(-len(keys) // ncols)
    height_ratios = [3.0] * nrows + ([1.2] if lr_panel else [])
    fig = new_figure(4.3 * ncols + 0.4, sum(height_ratios) + 0.3)
    grid = fig.add_gridspec(len(height_ratios), ncols, height_ratios=height_ratios)
    for index, key in enumerate(keys):
        _draw_metric(fig.add_subplot(grid[index // ncols, index % ncols]), records, key)
    if lr_panel:
        ax = fig.add_subplot(grid[nrows, :])
        ax.plot(lr_steps, lr_values, color="tab:gray", linewidth=1.2)
        positive = min(lr_values) > 0
        if positive and max(lr_values) / min(lr_values) > 30:
            ax.set_yscale("log")
        ax.set_title("lr", fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    return apply_font(fig)
