"""Time series: read a series CSV, split it in time order, scale it on the past only, cut windows.

The pipeline every forecaster (and the window autoencoder) uses, in NumPy, no torch:

1. :func:`load_series` reads a catalog series (``co2``, ``air-passengers``, ``sunspots``,
   ``electricity``) or a user's ``.csv``/``.tsv`` with a time column and one or more numeric
   value columns into a :class:`Series` (values ``(N, C)``).
2. :func:`split_points` cuts it chronologically: the first part trains, the next validates, the
   last tests. Nothing is shuffled across the cut.
3. :class:`Scaler` is fitted on the **training part only** and applied to everything, so no
   validation or test value reaches a training statistic.
4. :func:`make_windows` cuts ``(input_len, horizon)`` windows whose targets lie inside one part;
   a validation window's inputs may look back into training values (the past is known at
   forecast time), never the other way round.

:func:`prepare_windows` does 2-4 in one call; baselines (:func:`naive`,
:func:`seasonal_naive`, :func:`moving_average`) work on the original scale and are scored by
:func:`seqlab.metrics.forecast_metrics` (MAE, RMSE, MAPE, sMAPE).

>>> import numpy as np
>>> series = Series.from_values(np.arange(20.0))
>>> prepared = prepare_windows(series, input_len=4, horizon=2, val_fraction=0.2, test_fraction=0.2)
>>> prepared.bounds, prepared.windows["train"].inputs.shape, prepared.windows["val"].targets.shape
((12, 16), (7, 4, 1), (3, 2, 1))
>>> prepared.scaler.center   # the mean of the 12 training values only
(5.5,)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from seqlab.errors import DataError, unknown_choice

Missing = Literal["interpolate", "drop", "error"]
Scaling = Literal["standard", "minmax", "none"]
TimeStamp = dt.datetime | float

TIME_COLUMNS = ("time", "date", "datetime", "timestamp", "ds", "month", "week", "year", "period")
MISSING_MARKS = ("", "na", "nan", "null", "none", "n/a", "-")
SERIES_SUFFIXES = (".csv", ".tsv")


# ----------------------------------------------------------------------------- time stamps


def parse_time(text: str) -> TimeStamp | None:
    """Read a time stamp: ISO date or date-time, ``YYYY-MM``, or a number (year, decimal year, index).

    Returns None when ``text`` is none of these.

    >>> parse_time("2000-06-05 00:30"), parse_time("1949-02"), parse_time("1749.5")
    (datetime.datetime(2000, 6, 5, 0, 30), datetime.datetime(1949, 2, 1, 0, 0), 1749.5)
    >>> parse_time("yesterday") is None
    True
    """
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if len(text) == 7 and text[4] in "-/" and text[:4].isdigit() and text[5:].isdigit():
        try:
            return dt.datetime(int(text[:4]), int(text[5:]), 1)
        except ValueError:
            return None
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("/", "-"))
    except ValueError:
        return None
    return stamp.replace(tzinfo=None)


def _seconds(a: TimeStamp, b: TimeStamp) -> float:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return (b - a).total_seconds()
    return float(b) - float(a)  # type: ignore[arg-type]


_DAY = 86400.0
# (smallest step, largest step, name, season): the usual cycle of data sampled at that step
_FREQUENCIES = (
    (1700.0, 1900.0, "half-hourly", 48),
    (3500.0, 3700.0, "hourly", 24),
    (0.99 * _DAY, 1.01 * _DAY, "daily", 7),
    (6.9 * _DAY, 7.1 * _DAY, "weekly", 52),
    (27.9 * _DAY, 31.1 * _DAY, "monthly", 12),
    (89 * _DAY, 93 * _DAY, "quarterly", 4),
    (364 * _DAY, 367 * _DAY, "yearly", 1),
)


def infer_frequency(times: list[TimeStamp] | tuple[TimeStamp, ...]) -> tuple[str, int]:
    """Name the sampling step of increasing time stamps and its usual seasonal period.

    Date-times are matched against half-hourly ... yearly steps; numbers are read as years
    (a step of 1/12 is monthly, 1/4 quarterly, 1 yearly) or, when they count 0, 1, 2, ... from
    a small number, as a plain index. An unknown step has season 1 (no seasonal cycle).

    >>> infer_frequency([dt.datetime(2000, 1, d) for d in (3, 10, 17)])
    ('weekly', 52)
    >>> infer_frequency([1949.0, 1949 + 1 / 12, 1949 + 2 / 12])
    ('monthly', 12)
    >>> infer_frequency([0.0, 1.0, 2.0])
    ('steps', 1)
    """
    if len(times) < 2:
        return "steps", 1
    steps = sorted(_seconds(a, b) for a, b in zip(times[:-1], times[1:]))
    step = steps[len(steps) // 2]
    if isinstance(times[0], dt.datetime):
        for low, high, name, season in _FREQUENCIES:
            if low <= step <= high:
                return name, season
        return "irregular", 1
    first = float(times[0])  # type: ignore[arg-type]
    if 1000 <= first <= 3000:
        for per_year, name, season in ((12, "monthly", 12), (4, "quarterly", 4), (52, "weekly", 52), (1, "yearly", 1)):
            if abs(step * per_year - 1) < 0.02:
                return name, season
    return "steps", 1


def next_times(times: tuple[str, ...], count: int) -> list[str]:
    """Continue a series' time stamps by ``count`` steps, written like the input's.

    >>> next_times(("1960-11", "1960-12"), 2)
    ['1961-01', '1961-02']
    >>> next_times(("2000-08-27 23:00", "2000-08-27 23:30"), 1)
    ['2000-08-28 00:00']
    >>> next_times(("7", "8"), 2)
    ['9', '10']
    """
    parsed = [parse_time(t) for t in times[-3:]]
    last = parsed[-1]
    if len(times) < 2 or last is None or any(p is None for p in parsed):
        return [f"+{i}" for i in range(1, count + 1)]
    frequency, _ = infer_frequency(parsed)  # type: ignore[arg-type]
    if isinstance(last, dt.datetime):
        text = times[-1].strip()
        if frequency == "monthly":
            out = []
            year, month = last.year, last.month
            for _ in range(count):
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
                out.append(
                    f"{year:04d}-{month:02d}" if len(text) == 7 else f"{year:04d}-{month:02d}-{min(last.day, 28):02d}"
                )
            return out
        step = dt.timedelta(seconds=_seconds(parsed[-2], last))  # type: ignore[arg-type]
        style = "%Y-%m-%d" if len(text) == 10 else ("%Y-%m-%dT%H:%M" if "T" in text else "%Y-%m-%d %H:%M")
        if len(text) > 16:
            style += ":%S"
        return [(last + (i + 1) * step).strftime(style) for i in range(count)]
    step = float(last) - float(parsed[-2])  # type: ignore[arg-type]
    integral = all(float(p).is_integer() for p in parsed) and float(step).is_integer()  # type: ignore[arg-type]
    return [str(int(last + (i + 1) * step)) if integral else f"{last + (i + 1) * step:.6g}" for i in range(count)]


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Series:
    """A regularly sampled series: time stamps and ``(N, C)`` values, one column per variable.

    Args:
        times: the time stamps as written in the file.
        values: (N, C) float64 values.
        columns: the C column names.
        name: where it came from (dataset name or file).
        filled: how many missing values were filled by interpolation when it was read.

    >>> s = Series(("2000", "2001"), np.array([[1.0, 2.0], [3.0, 4.0]]), ("a", "b"))
    >>> len(s), s.column("b").tolist()
    (2, [2.0, 4.0])
    """

    times: tuple[str, ...]
    values: np.ndarray
    columns: tuple[str, ...]
    name: str = ""
    filled: int = 0

    def __post_init__(self) -> None:
        assert self.values.ndim == 2 and self.values.shape == (len(self.times), len(self.columns))

    def __len__(self) -> int:
        return len(self.times)

    @classmethod
    def from_values(cls, values: np.ndarray | list[float], *, columns: tuple[str, ...] = (), name: str = "") -> Series:
        """A series from bare values ((N,) or (N, C)), time stamps 0, 1, 2, ...

        >>> Series.from_values([5.0, 6.0]).times
        ('0', '1')
        """
        array = np.asarray(values, dtype=np.float64)
        array = array[:, None] if array.ndim == 1 else array
        names = columns or tuple(f"value{i}" if array.shape[1] > 1 else "value" for i in range(array.shape[1]))
        return cls(tuple(str(i) for i in range(len(array))), array, tuple(names), name)

    def column(self, name: str) -> np.ndarray:
        """The (N,) values of one column."""
        if name not in self.columns:
            raise DataError(unknown_choice("series column", name, list(self.columns)))
        return self.values[:, self.columns.index(name)]

    def time_axis(self) -> list[TimeStamp]:
        """The time stamps parsed (date-times or numbers), for plotting."""
        parsed = [parse_time(t) for t in self.times]
        return parsed if all(p is not None for p in parsed) else list(range(len(self.times)))  # type: ignore[return-value]

    def frequency(self) -> tuple[str, int]:
        """(name of the sampling step, its usual seasonal period), e.g. ``("weekly", 52)``."""
        return infer_frequency(self.time_axis())


def _interpolate(column: np.ndarray) -> np.ndarray:
    """Fill NaNs linearly between observed neighbours (ends take the nearest observed value)."""
    known = ~np.isnan(column)
    index = np.arange(len(column))
    return np.interp(index, index[known], column[known])


def read_series(
    path: str | Path,
    *,
    time_column: str = "",
    value_columns: tuple[str, ...] | list[str] = (),
    missing: Missing = "interpolate",
    limit: int = 0,
) -> Series:
    """Read a ``.csv`` or ``.tsv`` series file: one time column, one or more numeric value columns.

    Args:
        path: the file (UTF-8; header row first; rows in increasing time order).
        time_column: its name; ``""`` takes the first of time, date, datetime, timestamp, ds,
            month, week, year, period that the file has.
        value_columns: the value columns; empty takes every other column.
        missing: an empty or NA value is ``"interpolate"``-d linearly between its neighbours,
            its row is ``"drop"``-ped, or it is an ``"error"``.
        limit: keep only the first N rows (0 = all).

    Raises:
        DataError: naming the file, line and column of a bad time stamp or value, a time going
            backwards, a missing column, or a file with no rows.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = p.write_text("month,sales,visits\\n2024-01,10,100\\n2024-02,,110\\n2024-03,14,120\\n", encoding="utf-8")
    >>> s = read_series(p)
    >>> s.columns, s.values[:, 0].tolist(), s.filled
    (('sales', 'visits'), [10.0, 12.0, 14.0], 1)
    """
    from seqlab.data.readers import read_records

    path = Path(path).expanduser()
    if path.suffix.lower() not in SERIES_SUFFIXES:
        raise DataError(
            f"{path}: a series file must be .csv or .tsv with a time column and value columns "
            f"(got {path.suffix or 'no suffix'})"
        )
    if missing not in ("interpolate", "drop", "error"):
        raise DataError(unknown_choice("missing-value policy", str(missing), ["interpolate", "drop", "error"]))
    columns, rows = read_records(path)
    if not rows:
        raise DataError(
            f"{path} has no rows"
            + (" (only a header)" if columns else "")
            + "; a series file needs a header line and one row per time step"
        )
    existing = ", ".join(columns)
    if time_column:
        if time_column not in columns:
            raise DataError(
                f'{path} has no time column "{time_column}"; its columns are: {existing}. '
                "Name the right one with data.time_column"
            )
    else:
        found = [c for c in columns if c.strip().lower() in TIME_COLUMNS]
        if not found:
            raise DataError(
                f"{path} has no time column; its columns are: {existing}. Add one (e.g. a "
                f'"time" or "date" column) or name it with data.time_column'
            )
        time_column = found[0]
    values_wanted = list(value_columns) or [c for c in columns if c != time_column and c]
    if not values_wanted:
        raise DataError(f'{path} has only the time column "{time_column}"; add at least one column of values')
    absent = [c for c in values_wanted if c not in columns]
    if absent:
        raise DataError(
            f"{path} has no value column "
            + ", ".join(f'"{c}"' for c in absent)
            + f"; its columns are: {existing}. Name the right ones with data.value_columns"
        )
    if limit:
        rows = rows[:limit]

    times: list[str] = []
    parsed_times: list[TimeStamp] = []
    matrix = np.empty((len(rows), len(values_wanted)), dtype=np.float64)
    for r, (line, record) in enumerate(rows):
        stamp_text = str(record.get(time_column, "") or "").strip()
        stamp = parse_time(stamp_text)
        if stamp is None:
            raise DataError(
                f'{path} line {line}: time "{stamp_text}" in column "{time_column}" is not a date '
                "(2024-01-31), date-time (2024-01-31 13:30), month (2024-01) or number"
            )
        if parsed_times:
            previous = parsed_times[-1]
            if type(previous) is not type(stamp):
                raise DataError(f'{path} line {line}: time "{stamp_text}" mixes dates and numbers in "{time_column}"')
            if _seconds(previous, stamp) <= 0:
                raise DataError(
                    f'{path} line {line}: time "{stamp_text}" does not come after the previous row\'s '
                    f'"{times[-1]}"; sort the file by time and remove duplicate time stamps'
                )
        times.append(stamp_text)
        parsed_times.append(stamp)
        for c, name in enumerate(values_wanted):
            cell = str(record.get(name, "") if record.get(name) is not None else "").strip()
            if cell.lower() in MISSING_MARKS:
                if missing == "error":
                    raise DataError(
                        f'{path} line {line}: column "{name}" has no value; fill it in, or set '
                        'data.missing = "interpolate" or "drop"'
                    )
                matrix[r, c] = np.nan
                continue
            try:
                number = float(cell.replace("_", "x"))  # "1_000" is valid for float() but not a data value
            except ValueError:
                raise DataError(
                    f'{path} line {line}: column "{name}" holds "{cell}", which is not a number; '
                    "a value column must hold numbers only (a decimal point, no thousands "
                    "separators or units)"
                ) from None
            if not math.isfinite(number):
                raise DataError(f'{path} line {line}: column "{name}" holds "{cell}"; values must be finite numbers')
            matrix[r, c] = number

    gaps = np.isnan(matrix)
    filled = 0
    if gaps.any():
        empty = [name for c, name in enumerate(values_wanted) if gaps[:, c].all()]
        if empty:
            raise DataError(f"{path}: column " + ", ".join(f'"{c}"' for c in empty) + " has no values at all")
        if missing == "drop":
            keep = ~gaps.any(axis=1)
            matrix = matrix[keep]
            times = [t for t, k in zip(times, keep) if k]
        else:
            filled = int(gaps.sum())
            matrix = np.stack([_interpolate(matrix[:, c]) for c in range(matrix.shape[1])], axis=1)
    return Series(tuple(times), matrix, tuple(values_wanted), str(path), filled)


def load_series(
    name_or_path: str | Path,
    *,
    time_column: str = "",
    value_columns: tuple[str, ...] | list[str] = (),
    missing: Missing = "interpolate",
    limit: int = 0,
) -> Series:
    """Load a catalog series (fetched and cached) or a user's series file.

    Args:
        name_or_path: ``co2``, ``air-passengers``, ``sunspots``, ``electricity`` (``seqlab data
            list``) or a ``.csv``/``.tsv`` path.
        time_column: see :func:`read_series`.
        value_columns: see :func:`read_series`.
        missing: see :func:`read_series`.
        limit: keep only the first N time steps (0 = all).

    >>> load_series("no-such-series")
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: unknown series "no-such-series" (choices: air-passengers, co2, electricity, sunspots);
    or give a path to a .csv or .tsv file
    """
    from seqlab.data.fetching.catalog import CATALOG, fetch

    name = str(name_or_path)
    if isinstance(name_or_path, str) and name in CATALOG:
        spec = CATALOG[name]
        if spec.shape != "series":
            raise DataError(
                f'dataset "{name}" holds {spec.shape} data, not a time series; pick one of '
                + ", ".join(n for n, s in sorted(CATALOG.items()) if s.shape == "series")
            )
        series = read_series(
            fetch(spec), time_column=time_column, value_columns=value_columns, missing=missing, limit=limit
        )
        return Series(series.times, series.values, series.columns, name, series.filled)
    path = Path(name).expanduser()
    if not path.exists():
        if path.suffix.lower() not in SERIES_SUFFIXES and len(path.parts) == 1:
            names = [n for n, s in CATALOG.items() if s.shape == "series"]
            raise DataError(unknown_choice("series", name, names) + "; or give a path to a .csv or .tsv file")
        raise DataError(f"file not found: {path}")
    return read_series(path, time_column=time_column, value_columns=value_columns, missing=missing, limit=limit)


# ----------------------------------------------------------------------------- splits and scaling


def split_points(n: int, *, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Chronological cut points ``(train_end, val_end)``: train ``[0, train_end)``, val up to ``val_end``, test after.

    >>> split_points(100, val_fraction=0.15, test_fraction=0.15)
    (70, 85)
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError(f"val_fraction + test_fraction must be below 1 (got {val_fraction} + {test_fraction})")
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    return n - n_val - n_test, n - n_test


@dataclass(frozen=True)
class Scaler:
    """Per-column affine scaling, ``(x - center) / scale``, fitted on training values only.

    Args:
        method: ``"standard"`` (mean and standard deviation), ``"minmax"`` (to 0..1) or ``"none"``.
        columns: the column names, in order.
        center: one number per column.
        scale: one positive number per column.

    >>> scaler = Scaler.fit(np.array([[1.0], [3.0]]), method="standard", columns=("y",))
    >>> scaler.transform(np.array([[5.0]])).tolist(), scaler.inverse(np.array([[2.0]])).tolist()
    ([[3.0]], [[4.0]])
    """

    method: str
    columns: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, train_values: np.ndarray, *, method: Scaling, columns: tuple[str, ...]) -> Scaler:
        """Fit on (N, C) **training** values."""
        if method not in ("standard", "minmax", "none"):
            raise DataError(unknown_choice("scaling", str(method), ["standard", "minmax", "none"]))
        values = np.asarray(train_values, dtype=np.float64)
        if method == "standard":
            center, scale = values.mean(axis=0), values.std(axis=0)
        elif method == "minmax":
            center, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
        else:
            center, scale = np.zeros(values.shape[1]), np.ones(values.shape[1])
        scale = np.where(scale > 1e-12, scale, 1.0)  # a constant column stays put rather than dividing by 0
        return cls(method, tuple(columns), tuple(float(c) for c in center), tuple(float(s) for s in scale))

    def _pick(self, columns: tuple[str, ...] | None) -> tuple[np.ndarray, np.ndarray]:
        index = [self.columns.index(c) for c in columns] if columns else list(range(len(self.columns)))
        return np.asarray(self.center)[index], np.asarray(self.scale)[index]

    def transform(self, values: np.ndarray, *, columns: tuple[str, ...] | None = None) -> np.ndarray:
        """Scale (..., C) values (of ``columns``, default all)."""
        center, scale = self._pick(columns)
        return (np.asarray(values, dtype=np.float64) - center) / scale

    def inverse(self, values: np.ndarray, *, columns: tuple[str, ...] | None = None) -> np.ndarray:
        """Back to the original scale, for (..., C') values of ``columns`` (default all)."""
        center, scale = self._pick(columns)
        return np.asarray(values, dtype=np.float64) * scale + center

    def to_json(self) -> str:
        """JSON with ``"type": "series-scaler"`` (saved as a run's tokenizer.json)."""
        return json.dumps(
            {
                "type": "series-scaler",
                "method": self.method,
                "columns": list(self.columns),
                "center": list(self.center),
                "scale": list(self.scale),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Scaler:
        """Read :meth:`to_json` back.

        >>> s = Scaler("standard", ("y",), (2.0,), (1.0,)); Scaler.from_json(s.to_json()) == s
        True
        """
        try:
            data = json.loads(text)
            if data.get("type") != "series-scaler":
                raise ValueError(f'type is {data.get("type")!r}, not "series-scaler"')
            return cls(
                str(data["method"]),
                tuple(data["columns"]),
                tuple(map(float, data["center"])),
                tuple(map(float, data["scale"])),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise DataError(f"not a saved series scaler: {err}") from None


# ----------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Windows:
    """Forecasting examples: ``inputs`` (W, T, C) -> ``targets`` (W, horizon, C').

    ``starts[i]`` is the series index of the first target value of window i; its inputs are
    the ``T`` values just before it.
    """

    inputs: np.ndarray
    targets: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


def make_windows(
    values: np.ndarray,
    *,
    input_len: int,
    horizon: int,
    stride: int = 1,
    targets: tuple[int, ...] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> Windows:
    """Cut (input, target) windows whose **targets** lie in ``[start, stop)``.

    Args:
        values: (N, C) series.
        input_len: T, the values a forecast sees.
        horizon: how many steps it forecasts.
        stride: steps between consecutive windows.
        targets: indices of the forecast columns (default all).
        start: first index a target may have (inputs may come from before it).
        stop: one past the last index a target may have (default N).

    >>> w = make_windows(np.arange(10.0)[:, None], input_len=3, horizon=2, stride=2)
    >>> w.inputs[:, :, 0].tolist(), w.targets[:, :, 0].tolist(), w.starts.tolist()
    ([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]], [[3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [3, 5, 7])
    """
    values = np.asarray(values)
    stop = len(values) if stop is None else stop
    first = max(start, input_len)
    starts = np.arange(first, stop - horizon + 1, stride, dtype=np.int64)
    columns = list(targets) if targets is not None else list(range(values.shape[1]))
    if len(starts) == 0:
        empty = np.zeros((0, input_len, values.shape[1]), dtype=np.float32)
        return Windows(empty, np.zeros((0, horizon, len(columns)), dtype=np.float32), starts)
    # index matrices: (W, T) and (W, horizon)
    inputs = values[starts[:, None] + np.arange(-input_len, 0)[None, :]]
    outputs = values[starts[:, None] + np.arange(horizon)[None, :]][:, :, columns]
    return Windows(inputs.astype(np.float32), outputs.astype(np.float32), starts)


@dataclass(frozen=True)
class PreparedSeries:
    """A series split in time, scaled on its training part, and cut into windows per split.

    Args:
        series: the original series.
        scaled: (N, C) values after scaling.
        scaler: fitted on ``series.values[:bounds[0]]`` only.
        bounds: ``(train_end, val_end)``.
        windows: ``"train"``, ``"val"``, ``"test"`` -> :class:`Windows` (of scaled values).
        targets: indices of the forecast columns.
    """

    series: Series
    scaled: np.ndarray
    scaler: Scaler
    bounds: tuple[int, int]
    windows: dict[str, Windows] = field(default_factory=dict)
    targets: tuple[int, ...] = (0,)


def prepare_windows(
    series: Series,
    *,
    input_len: int,
    horizon: int,
    stride: int = 1,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    scaling: Scaling = "standard",
    target_columns: tuple[str, ...] | list[str] = (),
    scaler: Scaler | None = None,
) -> PreparedSeries:
    """Split chronologically, fit the scaler on the training part only, and cut windows.

    Training windows use ``stride``; validation and test windows use stride 1 (every forecast
    origin is scored).

    Args:
        series: the whole series.
        input_len: T.
        horizon: steps to forecast.
        stride: between training windows.
        val_fraction: share of the series (at its end, before test) for validation.
        test_fraction: share at the very end for testing.
        scaling: ``"standard"``, ``"minmax"`` or ``"none"``.
        target_columns: the columns to forecast (default all).
        scaler: use this fitted scaler instead of fitting one (a trained run's).

    Raises:
        DataError: when a part is too short for one window, saying how long it must be.
    """
    if input_len < 1 or horizon < 1 or stride < 1:
        raise DataError(f"input_len, horizon and stride must be at least 1 (got {input_len}, {horizon}, {stride})")
    missing_targets = [c for c in target_columns if c not in series.columns]
    if missing_targets:
        raise DataError(
            f"target column {missing_targets[0]!r} is not a value column of {series.name or 'the series'} "
            f"(value columns: {', '.join(series.columns)})"
        )
    targets = tuple(series.columns.index(c) for c in target_columns) or tuple(range(len(series.columns)))
    n = len(series)
    train_end, val_end = split_points(n, val_fraction=val_fraction, test_fraction=test_fraction)
    need = input_len + horizon
    where = series.name or "the series"
    if train_end < need:
        raise DataError(
            f"{where} is too short for the window: it has {n} values, so the training part "
            f"({1 - val_fraction - test_fraction:.0%}) has {train_end}, but one window needs input_len {input_len} "
            f"+ horizon {horizon} = {need}. Use a smaller data.input_len or data.horizon, or a longer series"
        )
    for part, length, fraction in (
        ("validation", val_end - train_end, val_fraction),
        ("test", n - val_end, test_fraction),
    ):
        if fraction > 0 and length < horizon:
            raise DataError(
                f"{where} is too short for the horizon: the {part} part ({fraction:.0%} of {n} values) has "
                f"{length} values but one forecast needs horizon {horizon}. Use a smaller data.horizon, a larger "
                f"{'data.val_fraction' if part == 'validation' else 'data.test_fraction'}, or a longer series"
            )
    if scaler is None:
        scaler = Scaler.fit(series.values[:train_end], method=scaling, columns=series.columns)
    elif scaler.columns != series.columns:
        raise DataError(
            f"the series has columns {', '.join(series.columns)} but the run was trained on "
            f"{', '.join(scaler.columns)}; give a file with the same value columns"
        )
    scaled = scaler.transform(series.values)
    windows = {
        "train": make_windows(
            scaled, input_len=input_len, horizon=horizon, stride=stride, targets=targets, start=0, stop=train_end
        ),
        "val": make_windows(
            scaled, input_len=input_len, horizon=horizon, targets=targets, start=train_end, stop=val_end
        ),
        "test": make_windows(scaled, input_len=input_len, horizon=horizon, targets=targets, start=val_end, stop=n),
    }
    return PreparedSeries(series, scaled, scaler, (train_end, val_end), windows, targets)


# ----------------------------------------------------------------------------- baselines


def naive(values: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
    """Last value carried forward: (W, horizon, C) forecasts from (N, C) values before each start.

    >>> naive(np.arange(6.0)[:, None], np.array([3]), 2)[:, :, 0].tolist()
    [[2.0, 2.0]]
    """
    last = np.asarray(values)[np.asarray(starts) - 1]  # (W, C)
    return np.repeat(last[:, None, :], horizon, axis=1)


def seasonal_naive(values: np.ndarray, starts: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Each step repeats the value one season earlier (from before the start): (W, horizon, C).

    Where a start has less than one season of history the naive forecast is used.

    >>> seasonal_naive(np.array([1.0, 2.0, 3.0, 1.5, 2.5, 3.5])[:, None], np.array([4]), 3, 3)[:, :, 0].tolist()
    [[2.0, 3.0, 1.5]]
    """
    values = np.asarray(values)
    starts = np.asarray(starts)
    if season <= 1:
        return naive(values, starts, horizon)
    k = np.arange(horizon)
    back = season * (k // season + 1)  # (horizon,) steps back, before the start
    index = starts[:, None] + k[None, :] - back[None, :]  # (W, horizon)
    out = values[np.maximum(index, 0)]
    short = starts < season
    if short.any():
        out[short] = naive(values, starts[short], horizon)
    return out


def moving_average(values: np.ndarray, starts: np.ndarray, horizon: int, window: int) -> np.ndarray:
    """The mean of the last ``window`` values before each start, held flat: (W, horizon, C).

    >>> moving_average(np.arange(6.0)[:, None], np.array([4]), 2, 2)[:, :, 0].tolist()
    [[2.5, 2.5]]
    """
    values = np.asarray(values)
    cumulative = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    starts = np.asarray(starts)
    lows = np.maximum(starts - window, 0)
    means = (cumulative[starts] - cumulative[lows]) / (starts - lows)[:, None]
    return np.repeat(means[:, None, :], horizon, axis=1)


def decompose(values: np.ndarray, season: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classical additive decomposition of a (N,) series: (trend, seasonal, residual), each (N,).

    The trend is a centred moving average over one season (2 x season for an even season,
    as in the textbook method); the seasonal part is the mean detrended value at each phase of
    the season, centred to sum to 0; the trend is NaN at the ends where the average does not fit.

    >>> t = np.arange(48.0); y = 0.5 * t + np.tile([1.0, -1.0, 2.0, -2.0], 12)
    >>> trend, seasonal, residual = decompose(y, 4)
    >>> np.round(seasonal[:4], 6).tolist(), float(np.nanmax(np.abs(residual))) < 1e-9
    ([1.0, -1.0, 2.0, -2.0], True)
    """
    y = np.asarray(values, dtype=np.float64)
    n = len(y)
    if season <= 1 or n < 2 * season:
        window = max(3, min(n // 10 * 2 + 1, 25))
        trend = np.convolve(y, np.ones(window) / window, mode="same")
        half = window // 2
        trend[:half] = np.nan
        trend[n - half :] = np.nan
        return trend, np.zeros(n), y - trend
    kernel = np.r_[0.5, np.ones(season - 1), 0.5] / season if season % 2 == 0 else np.ones(season) / season
    half = len(kernel) // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(y, kernel, mode="valid")
    detrended = y - trend
    phase_means = np.array([np.nanmean(detrended[p::season]) for p in range(season)])
    phase_means -= phase_means.mean()
    seasonal = phase_means[np.arange(n) % season]
    return trend, seasonal, y - trend - seasonal


__all__ = [
    "Series",
    "Scaler",
    "Windows",
    "PreparedSeries",
    "read_series",
    "load_series",
    "parse_time",
    "infer_frequency",
    "next_times",
    "split_points",
    "make_windows",
    "prepare_windows",
    "naive",
    "seasonal_naive",
    "moving_average",
    "decompose",
]
