"""``seqlab forecast RUN [--file series.csv] [--plot out.png] [--json]``; ``seqlab predict`` prints forecasts here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from seqlab.cli import app, device_option
from seqlab.cli.output import JSON_OPTION, Column, Rows, print_json, print_line, print_rows

if TYPE_CHECKING:
    from seqlab.run import Run
    from seqlab.tasks.forecast import Forecast


def forecast_rows(run: Run, result: Forecast) -> Rows:
    """A forecast as a table: one row per future time, one column per forecast series.

    Args:
        run: the forecast run.
        result: its forecast, with the series it continues (``result.history``).
    """
    series = result.history
    assert series is not None, "a forecast carries the series it continues"
    return Rows(
        ["time", *(Column(c, format=",.3f") for c in result.columns)],
        [[time, *(float(v) for v in row)] for time, row in zip(result.times, result.values)],
        title=f"{run.config.name}: next {len(result.times)} steps after {series.times[-1]} ({series.name})",
    )


def forecast_record(run: Run, result: Forecast) -> dict[str, Any]:
    """A forecast for ``--json``: the series it continues, the time it starts after, and the rows.

    Args:
        run: the forecast run.
        result: its forecast, with the series it continues (``result.history``).
    """
    series = result.history
    assert series is not None, "a forecast carries the series it continues"
    return {
        "run": run.config.name,
        "series": series.name,
        "after": series.times[-1],
        "columns": list(result.columns),
        "forecast": forecast_rows(run, result).records(),
    }


def save_forecast_plot(run: Run, result: Forecast, plot: Path) -> Path:
    """Draw the end of the history and the forecast after it to a PNG.

    Args:
        run: the forecast run.
        result: its forecast, with the series it continues (``result.history``).
        plot: the PNG to write.

    Returns:
        The path written.
    """
    from seqlab.data.series import parse_time
    from seqlab.viz import save_figure
    from seqlab.viz.forecast import plot_forecast

    series = result.history
    assert series is not None, "a forecast carries the series it continues"
    keep = min(len(series), max(run.config.data.input_len, 3 * len(result.times)))
    history_x = series.time_axis()[-keep:]
    future = [parse_time(t) for t in result.times]
    future_x = (
        future
        if all(f is not None for f in future) and type(future[0]) is type(history_x[-1])
        else [len(series) + i for i in range(len(result.times))]
    )
    if not isinstance(history_x[-1], type(future_x[0])):
        history_x = list(range(len(series) - keep, len(series)))
    column = list(series.columns).index(result.columns[0])
    figure = plot_forecast(
        history_x,
        series.values[-keep:, column],
        future_x,
        result.values[:, 0],
        title=f"{run.config.name}: forecast after {series.times[-1]}",
        ylabel=result.columns[0],
    )
    return save_figure(figure, plot)


@app.command()
def forecast(
    run_dir: Path = typer.Argument(..., help="A forecast run directory."),
    file: Path | None = typer.Option(None, "--file", "-f", help="A series .csv/.tsv (default: the run's own data)."),
    plot: Path | None = typer.Option(None, "--plot", help="Also save history + forecast as a PNG here."),
    device: str | None = device_option(trains=False),
    as_json: bool = JSON_OPTION,
) -> None:
    """Forecast the next horizon after a series (or after the run's own data) with a trained forecaster."""
    from seqlab.run import load

    run = load(run_dir, device=device)
    result = run.forecast(file)
    console = Console(highlight=False)
    written = save_forecast_plot(run, result, plot) if plot is not None else None
    if as_json:
        print_json({**forecast_record(run, result), "plot": written}, console=console)
        return
    print_rows(forecast_rows(run, result), console=console, title_in_pipe=True)
    if written is not None:
        print_line(f"plot: {written}", console=console)
