"""``seqlab forecast RUN [--file series.csv] [--plot out.png]``; ``seqlab predict`` calls it for forecast runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from seqlab.cli import app

if TYPE_CHECKING:
    from seqlab.run import Run
    from seqlab.tasks.forecast import Forecast


def show_forecast(run: Run, result: Forecast, *, console: Console, plot: Path | None = None) -> None:
    """Print a forecast run's next-horizon forecast (what ``run.forecast`` or ``run.predict`` returned).

    Args:
        run: the forecast run.
        result: its forecast, with the series it continues (``result.history``).
        console: where the table goes.
        plot: also draw history + forecast to this PNG.
    """
    from seqlab.data.series import parse_time

    series = result.history
    assert series is not None, "a forecast carries the series it continues"
    table = Table(title=f"{run.config.name}: next {len(result.times)} steps after {series.times[-1]} ({series.name})")
    table.add_column("time")
    for column in result.columns:
        table.add_column(column, justify="right")
    for time, row in zip(result.times, result.values):
        table.add_row(time, *(f"{v:,.3f}" for v in row))
    console.print(table)
    if plot is not None:
        from seqlab.viz import save_figure
        from seqlab.viz.forecast import plot_forecast

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
        console.print(f"plot: {save_figure(figure, plot)}")


@app.command()
def forecast(
    run_dir: Path = typer.Argument(..., help="A forecast run directory."),
    file: Path | None = typer.Option(None, "--file", "-f", help="A series .csv/.tsv (default: the run's own data)."),
    plot: Path | None = typer.Option(None, "--plot", help="Also save history + forecast as a PNG here."),
) -> None:
    """Forecast the next horizon after a series (or after the run's own data) with a trained forecaster."""
    from seqlab.run import load

    run = load(run_dir)
    show_forecast(run, run.forecast(file), console=Console(highlight=False), plot=plot)
