"""Forecast plots: the series and its split, history + truth + forecast, trend and seasonal parts.

Time axes take date-times or numbers (what :meth:`seqlab.data.series.Series.time_axis` gives).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError
from seqlab.viz._figure import as_array, new_figure
from seqlab.viz.fonts import apply_font

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_SPLIT_COLOURS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}
_BASELINE_STYLES = ("--", ":", "-.")


def _check_times(times: Sequence[Any], length: int, what: str) -> list[Any]:
    times = list(times)
    if len(times) != length:
        raise DataError(f"{what}: {len(times)} time stamps for {length} values; give one time stamp per value")
    return times


def plot_series(
    times: Sequence[Any],
    values: Any,
    *,
    bounds: tuple[int, int] | None = None,
    title: str = "",
    ylabel: str = "",
) -> Figure:
    """Plot a whole series, coloured by its chronological train / validation / test parts.

    Args:
        times: N time stamps (date-times or numbers).
        values: (N,) values.
        bounds: ``(train_end, val_end)`` indices; None draws one colour.
        title: the figure title.
        ylabel: the value axis label (units).

    >>> fig = plot_series(list(range(10)), [float(i % 3) for i in range(10)], bounds=(6, 8), title="예시")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['train', 'val', 'test']
    """
    y = as_array(values, name="series values", ndim=(1,))
    x = _check_times(times, len(y), "plot_series")
    fig = new_figure(9.0, 3.2)
    ax = fig.add_subplot()
    if bounds is None:
        ax.plot(x, y, color="tab:blue", linewidth=1.0)
    else:
        train_end, val_end = bounds
        for name, low, high in (
            ("train", 0, train_end),
            ("val", train_end - 1, val_end),
            ("test", val_end - 1, len(y)),
        ):
            low = max(low, 0)
            if high - low > 1:
                ax.plot(x[low:high], y[low:high], color=_SPLIT_COLOURS[name], linewidth=1.0, label=name)
        ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    return apply_font(fig)


def plot_forecast(
    history_times: Sequence[Any],
    history: Any,
    future_times: Sequence[Any],
    forecast: Any,
    *,
    truth: Any = None,
    baselines: Mapping[str, Any] | None = None,
    title: str = "",
    ylabel: str = "",
    label: str = "forecast",
) -> Figure:
    """Plot the past, then the forecast over its horizon (shaded), against the truth if known.

    Args:
        history_times: T time stamps of the past values the forecast saw (or more).
        history: (T,) past values.
        future_times: horizon time stamps.
        forecast: (horizon,) the model's forecast.
        truth: (horizon,) what happened, or None (a forecast beyond the data).
        baselines: name -> (horizon,) other forecasts to draw dashed (naive, seasonal naive, ...).
        title: the figure title.
        ylabel: the value axis label.
        label: legend name of ``forecast``.

    >>> fig = plot_forecast([0, 1, 2], [1.0, 2.0, 3.0], [3, 4], [4.0, 5.0], truth=[4.2, 4.8],
    ...                     baselines={"naive": [3.0, 3.0]})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['history', 'truth', 'forecast', 'naive', 'horizon']
    """
    past = as_array(history, name="history", ndim=(1,))
    ahead = as_array(forecast, name="forecast", ndim=(1,))
    past_x = _check_times(history_times, len(past), "history")
    future_x = _check_times(future_times, len(ahead), "forecast")
    fig = new_figure(9.0, 3.6)
    ax = fig.add_subplot()
    ax.plot(past_x, past, color="tab:gray", linewidth=1.2, label="history")
    if truth is not None:
        real = as_array(truth, name="truth", ndim=(1,))
        _check_times(future_times, len(real), "truth")
        ax.plot([past_x[-1], *future_x], [past[-1], *real], color="black", linewidth=1.4, label="truth")
    ax.plot([past_x[-1], *future_x], [past[-1], *ahead], color="tab:red", linewidth=1.8, label=label)
    for index, (name, values) in enumerate((baselines or {}).items()):
        line = as_array(values, name=f"baseline {name}", ndim=(1,))
        ax.plot(
            [past_x[-1], *future_x], [past[-1], *line], linestyle=_BASELINE_STYLES[index % 3], linewidth=1.1, label=name
        )
    ax.axvspan(past_x[-1], future_x[-1], color="tab:red", alpha=0.07, label="horizon")
    ax.axvline(past_x[-1], color="tab:red", linewidth=0.8, alpha=0.5)
    ax.set_title(title, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    return apply_font(fig)


def plot_decomposition(
    times: Sequence[Any],
    values: Any,
    *,
    season: int,
    title: str = "",
) -> Figure:
    """Plot a series with its trend, its seasonal pattern (one cycle) and the remainder.

    Uses the classical additive decomposition of :func:`seqlab.data.series.decompose`.

    Args:
        times: N time stamps.
        values: (N,) values.
        season: the seasonal period in steps (1 = none: the seasonal panel is flat).
        title: the figure title.

    >>> import numpy as np
    >>> t = np.arange(60.0)
    >>> fig = plot_decomposition(list(t), 0.1 * t + np.sin(t * np.pi / 6), season=12)
    >>> [ax.get_title() for ax in fig.axes]
    ['series and trend', 'seasonal pattern (period 12)', 'remainder', 'one cycle']
    """
    import numpy as np

    from seqlab.data.series import decompose

    y = as_array(values, name="series values", ndim=(1,))
    x = _check_times(times, len(y), "plot_decomposition")
    trend, seasonal, residual = decompose(y, season)
    fig = new_figure(9.0, 6.4)
    grid = fig.add_gridspec(3, 2, width_ratios=[3, 1])
    top = fig.add_subplot(grid[0, :])
    top.plot(x, y, color="tab:gray", linewidth=0.9, label="series")
    top.plot(x, trend, color="tab:blue", linewidth=1.8, label="trend")
    top.legend(fontsize=8, loc="upper left")
    top.set_title("series and trend", fontsize=10)
    middle = fig.add_subplot(grid[1, 0])
    middle.plot(x, seasonal, color="tab:orange", linewidth=0.9)
    middle.set_title(f"seasonal pattern (period {season})", fontsize=10)
    bottom = fig.add_subplot(grid[2, :])
    bottom.plot(x, residual, color="tab:green", linewidth=0.7)
    bottom.axhline(0.0, color="black", linewidth=0.6)
    bottom.set_title("remainder", fontsize=10)
    cycle = fig.add_subplot(grid[1, 1])
    count = max(season, 1)
    cycle.plot(np.arange(count), seasonal[:count], color="tab:orange", marker="o", markersize=2.5, linewidth=1.2)
    cycle.set_title("one cycle", fontsize=9)
    cycle.set_xlabel("phase (steps)", fontsize=8)
    for ax in (top, middle, bottom, cycle):
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return apply_font(fig)


def plot_horizon_errors(errors: Mapping[str, Any], *, title: str = "", ylabel: str = "MAE") -> Figure:
    """Plot the error at each forecast step (1 .. horizon) for the model and the baselines.

    Args:
        errors: name -> (horizon,) mean error at each step.
        title: the figure title.
        ylabel: what the error is.

    >>> plot_horizon_errors({"model": [1.0, 2.0], "naive": [1.5, 3.0]}).axes[0].get_xlabel()
    'steps ahead'
    """
    if not errors:
        raise DataError("plot_horizon_errors needs at least one named error curve")
    fig = new_figure(5.5, 3.4)
    ax = fig.add_subplot()
    for index, (name, values) in enumerate(errors.items()):
        curve = as_array(values, name=f"errors of {name}", ndim=(1,))
        style = (
            {"color": "tab:red", "linewidth": 1.8} if index == 0 else {"linestyle": _BASELINE_STYLES[(index - 1) % 3]}
        )
        ax.plot(range(1, len(curve) + 1), curve, label=name, **style)
    ax.set_xlabel("steps ahead", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    return apply_font(fig)


__all__ = ["plot_series", "plot_forecast", "plot_decomposition", "plot_horizon_errors"]
