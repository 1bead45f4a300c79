"""Forecasting: a window of the past -> the next ``horizon`` values, scored against baselines.

Binds a series (catalog or CSV) split in time order, a :class:`~seqlab.data.series.Scaler`
fitted on the training part only (saved as the run's ``scaler.json``, the fitted
preprocessing), a :class:`~seqlab.models.forecaster.Forecaster`, the loss (MSE, MAE or Huber on
scaled values) and the metrics (MAE, RMSE, MAPE, sMAPE on the **original** scale). The report
always puts the model next to three baselines on the same windows: the last value (naive), the
value one season earlier (seasonal naive), and the mean of the last season (moving average).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data.batching import SeriesBatch
from seqlab.data.series import (
    PreparedSeries,
    Scaler,
    Series,
    Windows,
    load_series,
    moving_average,
    naive,
    next_times,
    prepare_windows,
    seasonal_naive,
)
from seqlab.errors import ConfigError, DataError
from seqlab.metrics import forecast_metrics
from seqlab.models.forecaster import Forecaster, RecurrentEncoder, TransformerEncoder
from seqlab.sections import RecurrentForecasterConfig, SeriesDataConfig, TransformerForecasterConfig
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task

if TYPE_CHECKING:
    from rich.console import Console

    from seqlab.config import Config
    from seqlab.export import ExportGraph
    from seqlab.run import Run
METRICS = ("mae", "rmse", "mape", "smape")


@dataclass(frozen=True)
class Forecast:
    """A forecast of the next ``horizon`` steps: time stamps, the columns, values (horizon, C').

    ``history`` is the series it continues (for titles and plots).
    """

    times: list[str]
    columns: list[str]
    values: np.ndarray
    history: Series | None = None


def forecast_loss(name: str, prediction: Tensor, target: Tensor, *, delta: float = 1.0) -> Tensor:
    """Mean ``mse``, ``mae`` or ``huber`` loss over every element.

    >>> float(forecast_loss("mae", torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0])))
    1.0
    """
    if name == "mse":
        return F.mse_loss(prediction, target)
    if name == "mae":
        return F.l1_loss(prediction, target)
    if name == "huber":
        return F.huber_loss(prediction, target, delta=delta)
    raise ValueError(f"loss must be mse, mae or huber (got {name!r})")


class ForecastTask:
    """The training contract (:class:`seqlab.training.Task`) for forecasting windows.

    Args:
        prepared: the split, scaled and windowed series.
        batch_size: B.
        seed: fixes the order of every epoch.
        loss: ``"mse"``, ``"mae"`` or ``"huber"``.
        huber_delta: for the Huber loss, in scaled units.

    >>> from seqlab.data.series import Series, prepare_windows
    >>> prepared = prepare_windows(Series.from_values(np.sin(np.arange(60.0))), input_len=6, horizon=2)
    >>> task = ForecastTask(prepared, batch_size=8, seed=0, loss="mse")
    >>> batch = task.train_batches(0)[0]
    >>> tuple(batch.inputs.shape), tuple(batch.targets.shape)
    ((8, 6, 1), (8, 2, 1))
    """

    def __init__(
        self,
        prepared: PreparedSeries,
        *,
        batch_size: int,
        seed: int,
        loss: str,
        huber_delta: float = 1.0,
    ) -> None:
        self.prepared = prepared
        self.batch_size, self.seed, self.loss_name, self.huber_delta = batch_size, seed, loss, huber_delta
        self.target_columns = tuple(prepared.series.columns[i] for i in prepared.targets)
        self._tensors = {
            split: (torch.from_numpy(w.inputs), torch.from_numpy(w.targets), torch.from_numpy(w.starts))
            for split, w in prepared.windows.items()
        }

    @property
    def windows(self) -> dict[str, Windows]:
        return self.prepared.windows

    def _batches(self, split: str, order: Tensor | None = None) -> list[SeriesBatch]:
        inputs, targets, starts = self._tensors[split]
        index = order if order is not None else torch.arange(len(starts))
        return [SeriesBatch(inputs[chunk], targets[chunk], starts[chunk]) for chunk in index.split(self.batch_size)]

    def train_batches(self, epoch: int) -> list[SeriesBatch]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return self._batches("train", torch.randperm(len(self._tensors["train"][2]), generator=generator))

    def val_batches(self) -> list[SeriesBatch]:
        return self._batches("val")

    def split_batches(self, split: str) -> list[SeriesBatch]:
        """All batches of a split, in time order."""
        return self._batches(split)

    def loss(self, model: nn.Module, batch: SeriesBatch) -> tuple[Tensor, dict[str, float]]:
        prediction = model(batch.inputs)  # (B, horizon, C')
        return forecast_loss(self.loss_name, prediction, batch.targets, delta=self.huber_delta), {}

    def original_scale(self, values: Tensor | np.ndarray) -> np.ndarray:
        """Scaled (..., C') forecasts or targets back in the series' units."""
        array = values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)
        return self.prepared.scaler.inverse(array, columns=self.target_columns)

    @torch.no_grad()
    def forecasts(self, model: nn.Module, batches: Sequence[SeriesBatch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(forecasts, truths, starts) of ``batches`` on the original scale: (W, horizon, C') twice and (W,)."""
        model.eval()
        device = next(model.parameters()).device
        outputs, truths, starts = [], [], []
        for batch in batches:
            outputs.append(self.original_scale(model(batch.inputs.to(device)).float()))
            truths.append(self.original_scale(batch.targets))
            starts.append(batch.starts.numpy())
        if not outputs:
            horizon, width = self.prepared.windows["train"].targets.shape[1:]
            empty = np.zeros((0, horizon, width))
            return empty, empty, np.zeros(0, dtype=np.int64)
        return np.concatenate(outputs), np.concatenate(truths), np.concatenate(starts)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[SeriesBatch]) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in batches:
            total += float(
                forecast_loss(self.loss_name, model(batch.inputs), batch.targets, delta=self.huber_delta)
            ) * len(batch.starts)
            count += len(batch.starts)
        forecast, truth, _ = self.forecasts(model, batches)
        metrics = forecast_metrics(truth, forecast) if count else {m: float("nan") for m in METRICS}
        return {"loss": total / max(count, 1), **metrics}

    def count_tokens(self, batch: SeriesBatch) -> int:
        return int(batch.targets.shape[0] * batch.targets.shape[1])

    def baselines(self, starts: np.ndarray, *, season: int, average_window: int) -> dict[str, np.ndarray]:
        """The three baseline forecasts (W, horizon, C') for windows starting at ``starts``, original scale."""
        values = self.prepared.series.values[:, list(self.prepared.targets)]
        horizon = self.prepared.windows["train"].targets.shape[1]
        return {
            "naive (last value)": naive(values, starts, horizon),
            f"seasonal naive ({season})": seasonal_naive(values, starts, horizon, season),
            f"moving average ({average_window})": moving_average(values, starts, horizon, average_window),
        }


# ----------------------------------------------------------------------------- the task


class Forecasting(Task):
    """A window of the past -> the next ``horizon`` values, with a recurrent or a Transformer encoder.

    >>> from seqlab.config import load_config
    >>> Forecasting().describe(load_config("sunspots-transformer"))
    'Transformer 2x32, 4 heads'
    """

    name = "forecast"
    data_config = SeriesDataConfig
    model_configs = {"rnn": RecurrentForecasterConfig, "transformer": TransformerForecasterConfig}
    preprocessing_file = "scaler.json"

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read the series, split it in time, fit the scaler on the training part (unless given), cut windows."""
        data = config.data
        scaler = None
        if preprocessing is not None:
            assert isinstance(preprocessing, Scaler), "a forecaster's preprocessing is a series scaler"
            scaler = preprocessing
        series = _read(config)
        prepared = prepare_windows(
            series,
            input_len=data.input_len,
            horizon=data.horizon,
            stride=data.stride,
            val_fraction=data.val_fraction,
            test_fraction=data.test_fraction,
            scaling=data.scaling,
            target_columns=data.target_columns,
            scaler=scaler,
        )
        if len(prepared.windows["train"]) == 0:
            raise DataError(f"{series.name} gives no training window; use a smaller data.input_len or data.horizon")
        task = ForecastTask(
            prepared,
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            loss=config.model.loss,
            huber_delta=config.model.huber_delta,
        )
        frequency, usual = series.frequency()
        season = data.season or usual
        train_end, val_end = prepared.bounds
        meta = {
            "task": self.name,
            "columns": list(series.columns),
            "targets": list(task.target_columns),
            "num_inputs": len(series.columns),
            "target_index": list(prepared.targets),
            "frequency": frequency,
            "season": season,
            "average_window": data.average_window or (season if season > 1 else data.input_len),
            "filled_values": series.filled,
            "points": {"train": train_end, "val": val_end - train_end, "test": len(series) - val_end},
            "windows": {split: len(w) for split, w in prepared.windows.items()},
            "last_time": series.times[-1],
        }
        return Prepared(prepared.scaler, task, meta)

    def load_preprocessing(self, path: Path) -> Scaler:
        """Read a forecast run's saved scaler."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise DataError(f"cannot read the run's scaler {path}: {err}") from None
        return Scaler.from_json(text)

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> Forecaster:
        """The forecaster a config describes, with fresh weights."""
        m, d = config.model, config.data
        num_inputs = int(meta["num_inputs"])
        season = int(meta["season"]) if m.window_norm == "seasonal" else 0
        if season and not 1 < season < d.input_len:
            raise ConfigError(
                f'model.window_norm = "seasonal" reads differences from one season earlier, so it needs '
                f"1 < season < data.input_len; the season is {season} and data.input_len {d.input_len}: "
                "set data.input_len to more than one season (or data.season)"
            )
        if isinstance(m, TransformerForecasterConfig):
            encoder: nn.Module = TransformerEncoder(
                num_inputs,
                input_len=d.input_len - season,
                hidden_size=m.hidden_size,
                num_heads=m.num_heads,
                num_layers=m.num_layers,
                ff_dim=m.ff_dim,
                dropout=m.dropout,
            )
        else:
            assert isinstance(m, RecurrentForecasterConfig)
            encoder = RecurrentEncoder(
                num_inputs,
                cell=m.cell,
                hidden_size=m.hidden_size,
                num_layers=m.num_layers,
                bidirectional=m.bidirectional,
                dropout=m.dropout,
                conv_filters=m.conv_filters,
                conv_kernel=m.conv_kernel,
                impl=m.impl,
            )
        return Forecaster(
            encoder,
            num_inputs=num_inputs,
            input_len=d.input_len,
            horizon=d.horizon,
            targets=tuple(meta["target_index"]),
            window_norm=m.window_norm,
            linear_skip=m.linear_skip,
            dropout=m.dropout,
            season=season,
        )

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        return [SummaryPart("", model, torch.zeros(2, config.data.input_len, int(meta["num_inputs"])))]

    def describe(self, config: Config) -> str:
        """``"Transformer 2x32, 4 heads"``, ``"Conv1D 32 + LSTM 1x64"``."""
        m = config.model
        if isinstance(m, TransformerForecasterConfig):
            return f"Transformer {m.num_layers}x{m.hidden_size}, {m.num_heads} heads"
        assert isinstance(m, RecurrentForecasterConfig)
        text = f"{'bi' if m.bidirectional else ''}{m.cell.upper()} {m.num_layers}x{m.hidden_size}"
        return (f"Conv1D {m.conv_filters} + " if m.conv_filters else "") + text

    def read_inputs(self, run: Run, text: str | None, file: Path | None) -> list[Any]:
        """A forecast continues a series: the one in ``--file``, or the run's own (no text)."""
        if text is not None:
            raise ConfigError("a forecast run reads a series, not a text: give --file SERIES.csv, or nothing")
        return [file if file is not None else run.config.data.dataset]

    def predict(
        self, run: Run, inputs: Sequence[Any], *, beam_width: int | None = None, n_best: int = 1
    ) -> list[Forecast]:
        """The next-horizon forecast after each input (a Series, or a series file / catalog name)."""
        out = []
        for item in inputs:
            series = item if isinstance(item, Series) else _read(run.config, item)
            out.append(forecast_next(run, series))
        return out

    def forecast(self, run: Run, file: Path | None = None) -> Forecast:
        """The next horizon after the series in ``file`` (None: right after the run's own series)."""
        return forecast_next(run, _read(run.config, file))

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """The model against naive, seasonal naive and moving average, and the plots, as Markdown."""
        assert isinstance(data, ForecastTask)
        return _report(run, data, console=console)

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """The forecaster: ``window (B, input_len, C) scaled by scaler.json -> forecast (B, horizon, C')``."""
        from seqlab.export import ExportGraph

        shape = (run.config.data.input_len, int(run.meta["num_inputs"]))
        window = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))  # (B, T, C)
        axes = {"window": {0: "batch"}, "forecast": {0: "batch"}}
        note = f"scaled values in and out (scaler.json); the forecast's columns: {', '.join(run.meta['targets'])}"
        return [ExportGraph("model", run.model, (window,), ("window",), ("forecast",), axes, ((window[:1],),), note)]


# ----------------------------------------------------------------------------- helpers


def _read(config: Config, dataset: str | Path | None = None) -> Series:
    data = config.data
    return load_series(
        dataset if dataset is not None else data.dataset,
        time_column=data.time_column,
        value_columns=data.value_columns,
        missing=data.missing,
        limit=data.limit,
    )


def season_of(config: Config, series: Series) -> int:
    """The seasonal period: ``data.season`` when set, else the usual one of the sampling step."""
    return config.data.season or series.frequency()[1]


def forecast_next(run: Run, series: Series) -> Forecast:
    """Forecast the ``horizon`` steps after the end of ``series`` with a loaded forecast run.

    Args:
        run: a :class:`seqlab.run.Run` of task ``forecast``.
        series: with the run's value columns and at least ``input_len`` values.
    """
    data = run.config.data
    scaler = run.preprocessing
    assert isinstance(scaler, Scaler), "a forecast run's preprocessing is its scaler"
    if tuple(series.columns) != tuple(scaler.columns):
        raise DataError(
            f"{series.name or 'the series'} has columns {', '.join(series.columns)} but the run was "
            f"trained on {', '.join(scaler.columns)}; give a file with the same value columns"
        )
    if len(series) < data.input_len:
        raise DataError(
            f"{series.name or 'the series'} has {len(series)} values, but this run forecasts from the "
            f"last {data.input_len}; give at least {data.input_len} rows"
        )
    window = scaler.transform(series.values[-data.input_len :])[None].astype(np.float32)  # (1, T, C)
    with torch.no_grad():
        model = run.model.eval()
        inputs = torch.from_numpy(window).to(next(model.parameters()).device)  # beside the weights
        scaled = model(inputs)[0].float().cpu().numpy()  # (horizon, C')
    targets = tuple(run.meta["targets"])
    values = scaler.inverse(scaled, columns=targets)
    return Forecast(next_times(series.times, data.horizon), list(targets), values, history=series)


# ----------------------------------------------------------------------------- report


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.1f}"


def compare(run: Run, task: ForecastTask, split: str) -> dict[str, dict[str, float]]:
    """Metrics of the model and of each baseline on the same windows of ``split`` (original scale)."""
    forecast, truth, starts = task.forecasts(run.model, task.split_batches(split))
    results = {"model": forecast_metrics(truth, forecast)}
    for name, baseline in task.baselines(
        starts, season=run.meta["season"], average_window=run.meta["average_window"]
    ).items():
        results[name] = forecast_metrics(truth, baseline)
    return results


def _report(run: Run, task: ForecastTask, *, console: Console) -> list[str]:
    """The model against naive, seasonal naive and moving average, and the plots, as Markdown."""
    from seqlab.viz import save_figure
    from seqlab.viz.forecast import plot_decomposition, plot_forecast, plot_horizon_errors, plot_series

    prepared, meta, out = task.prepared, run.meta, run.run_dir
    split = "test" if len(prepared.windows["test"]) else "val"
    results = compare(run, task, split)
    seasonal = next(name for name in results if name.startswith("seasonal"))
    lines = [
        f"## Forecasts against baselines ({split} split, {len(prepared.windows[split])} windows, "
        f"horizon {run.config.data.horizon}, original scale)",
        "",
        "| forecaster | MAE | RMSE | MAPE % | sMAPE % |",
        "|---|---|---|---|---|",
    ]
    for name, metrics in results.items():
        lines.append(
            f"| {'**model**' if name == 'model' else name} | " + " | ".join(_fmt(metrics[m]) for m in METRICS) + " |"
        )
    gain = {
        m: 1 - results["model"][m] / results[seasonal][m] if results[seasonal][m] else float("nan")
        for m in ("mae", "rmse")
    }
    verdict = (
        f"The model's MAE is {gain['mae']:+.1%} and its RMSE {gain['rmse']:+.1%} below {seasonal} (positive = better)."
    )
    lines += ["", verdict, ""]
    console.print(
        f"[bold]{split}[/] model MAE {_fmt(results['model']['mae'])} vs {seasonal} "
        f"{_fmt(results[seasonal]['mae'])} ({gain['mae']:+.1%} better)"
    )
    (out / "forecast.json").write_text(
        json.dumps({"split": split, "metrics": results, "gain_vs_seasonal": gain}, indent=2) + "\n", encoding="utf-8"
    )

    series = prepared.series
    column = list(series.columns).index(task.target_columns[0])
    x = series.time_axis()
    y = series.values[:, column]
    unit = task.target_columns[0]
    save_figure(
        plot_series(x, y, bounds=prepared.bounds, title=f"{series.name}: {unit} (train / val / test)", ylabel=unit),
        out / "series.png",
    )
    save_figure(
        plot_decomposition(x, y, season=meta["season"], title=f"{series.name}: trend and seasonal view"),
        out / "decomposition.png",
    )
    forecast, truth, starts = task.forecasts(run.model, task.split_batches(split))
    last = len(starts) - 1
    start, horizon = int(starts[last]), truth.shape[1]
    history = max(0, start - max(run.config.data.input_len, 2 * meta["season"], 3 * horizon))
    base = {
        name: values[0, :, 0]
        for name, values in task.baselines(
            starts[last:], season=meta["season"], average_window=meta["average_window"]
        ).items()
        if not name.startswith("moving")
    }
    save_figure(
        plot_forecast(
            x[history:start],
            y[history:start],
            x[start : start + horizon],
            forecast[last, :, 0],
            truth=truth[last, :, 0],
            baselines=base,
            ylabel=unit,
            title=f"{series.name}: last {split} window, {horizon} steps ahead",
        ),
        out / "forecast.png",
    )
    per_step = {"model": np.abs(forecast - truth).mean(axis=(0, 2))}
    for name, values in task.baselines(starts, season=meta["season"], average_window=meta["average_window"]).items():
        per_step[name] = np.abs(values - truth).mean(axis=(0, 2))
    save_figure(
        plot_horizon_errors(per_step, title=f"{series.name}: error by steps ahead ({split})", ylabel=f"MAE ({unit})"),
        out / "horizon.png",
    )
    note = f"{series.filled} missing values were filled by linear interpolation when reading. " if series.filled else ""
    lines += [
        f"Series: {len(series):,} {meta['frequency']} values; split in time order: train {meta['points']['train']:,}, "
        f"val {meta['points']['val']:,}, test {meta['points']['test']:,}. {note}Scaling "
        f"({run.config.data.scaling}) fitted on the training part only. Season {meta['season']}.",
        "",
        "![forecast](forecast.png)",
        "",
        "![error by horizon](horizon.png)",
        "",
        "![series](series.png)",
        "",
        "![trend and seasonal view](decomposition.png)",
        "",
    ]
    return lines


__all__ = [
    "Forecasting",
    "ForecastTask",
    "Forecast",
    "forecast_next",
    "forecast_loss",
    "compare",
    "season_of",
    "METRICS",
]
