"""Series files, chronological splits without leakage, windows, baselines and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.data.series import (
    Scaler,
    Series,
    load_series,
    make_windows,
    moving_average,
    naive,
    prepare_windows,
    read_series,
    seasonal_naive,
)
from seqlab.errors import DataError
from seqlab.metrics import forecast_metrics


def write(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_validation_or_test_value_enters_training_statistics():
    rng = np.random.default_rng(0)
    values = rng.normal(10, 2, size=(200, 2))
    base = prepare_windows(Series.from_values(values), input_len=12, horizon=4, val_fraction=0.2, test_fraction=0.2)
    train_end, val_end = base.bounds
    assert (train_end, val_end) == (120, 160)
    np.testing.assert_allclose(base.scaler.center, values[:train_end].mean(axis=0))
    np.testing.assert_allclose(base.scaler.scale, values[:train_end].std(axis=0))
    poisoned = values.copy()
    poisoned[train_end:] = 1e6  # anything after the cut must not move the training statistics or windows
    other = prepare_windows(Series.from_values(poisoned), input_len=12, horizon=4, val_fraction=0.2, test_fraction=0.2)
    assert other.scaler == base.scaler
    np.testing.assert_array_equal(other.windows["train"].inputs, base.windows["train"].inputs)
    np.testing.assert_array_equal(other.windows["train"].targets, base.windows["train"].targets)
    # every training target (and input) lies before the cut; validation targets lie inside their part
    train, val, test = (base.windows[s] for s in ("train", "val", "test"))
    assert train.starts.max() + 4 <= train_end
    assert val.starts.min() >= train_end and val.starts.max() + 4 <= val_end
    assert test.starts.min() >= val_end and test.starts.max() + 4 <= 200
    assert len(val) == 40 - 4 + 1 and len(test) == 40 - 4 + 1


def test_windows_multivariate_inputs_and_target_subset():
    values = np.stack([np.arange(10.0), 100 + np.arange(10.0)], axis=1)
    w = make_windows(values, input_len=3, horizon=2, stride=3, targets=(1,))
    assert w.inputs.shape == (2, 3, 2) and w.targets.shape == (2, 2, 1)
    assert w.inputs[0].tolist() == [[0, 100], [1, 101], [2, 102]]
    assert w.targets[:, :, 0].tolist() == [[103, 104], [106, 107]]
    series = Series(tuple(str(i) for i in range(40)), np.tile(values, (4, 1)), ("a", "b"))
    prepared = prepare_windows(series, input_len=4, horizon=2, target_columns=("b",))
    assert prepared.targets == (1,) and prepared.windows["val"].targets.shape[-1] == 1


def test_read_multivariate_csv_with_gaps_interpolated_or_dropped(tmp_path):
    path = write(tmp_path, "date,load,temp\n2024-01-01,10,1\n2024-01-02,NA,2\n2024-01-03,14,\n2024-01-04,16,4\n")
    s = read_series(path)
    assert s.columns == ("load", "temp") and s.filled == 2
    assert s.values.tolist() == [[10, 1], [12, 2], [14, 3], [16, 4]]
    assert s.frequency() == ("daily", 7)
    dropped = read_series(path, missing="drop")
    assert dropped.times == ("2024-01-01", "2024-01-04")
    with pytest.raises(DataError, match='line 3: column "load" has no value'):
        read_series(path, missing="error")


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        (
            "time,sales\n2024-01,10\n2024-02,12 units\n",
            {},
            'line 3: column "sales" holds "12 units", which is not a number',
        ),
        ("when,sales\n2024-01,10\n", {}, "has no time column; its columns are: when, sales"),
        (
            "when,sales\n2024-01,10\n",
            {"time_column": "time"},
            'has no time column "time"; its columns are: when, sales',
        ),
        (
            "time,sales\n2024-02,10\n2024-01,12\n",
            {},
            'does not come after the previous row\'s "2024-02"; sort the file',
        ),
        ("time,sales\nsoon,10\n", {}, 'line 2: time "soon" in column "time" is not a date'),
        ("time,sales\n", {}, "has no rows (only a header)"),
        ("time,sales\n1,10\n", {"value_columns": ["price"]}, 'has no value column "price"'),
    ],
)
def test_bad_series_files_get_clear_messages(tmp_path, text, kwargs, message):
    with pytest.raises(DataError) as err:
        read_series(write(tmp_path, text), **kwargs)
    assert message in str(err.value)


def test_series_too_short_for_the_window_says_how_long_it_must_be():
    series = Series.from_values(np.arange(30.0), name="short.csv")
    with pytest.raises(
        DataError,
        match=r"short.csv is too short for the window: it has 30 values.*needs input_len 24 "
        r"\+ horizon 12 = 36",
    ):
        prepare_windows(series, input_len=24, horizon=12)
    with pytest.raises(DataError, match="the test part .* has 3 values but one forecast needs horizon 6"):
        prepare_windows(
            Series.from_values(np.arange(20.0)), input_len=4, horizon=6, val_fraction=0.0, test_fraction=0.15
        )


def test_unknown_series_name_and_wrong_shape():
    with pytest.raises(DataError, match='unknown series "c02"; did you mean co2'):
        load_series("c02")
    with pytest.raises(DataError, match="not a time series"):
        load_series("shakespeare")


def test_baselines_use_only_the_past():
    y = np.array([1.0, 5, 2, 6, 3, 7, 4, 8])[:, None]  # season 2, rising
    starts = np.array([6])
    assert naive(y, starts, 2)[0, :, 0].tolist() == [7, 7]
    assert seasonal_naive(y, starts, 3, 2)[0, :, 0].tolist() == [3, 7, 3]
    assert moving_average(y, starts, 1, 4)[0, :, 0].tolist() == [4.5]
    assert seasonal_naive(y, np.array([1]), 2, 4)[0, :, 0].tolist() == [1, 1]  # too little history: naive


def test_metrics_and_scaler_round_trip():
    metrics = forecast_metrics(np.array([0.0, 2.0]), np.array([0.0, 1.0]))
    assert metrics["mae"] == 0.5 and metrics["mape"] == 50.0 and metrics["smape"] == pytest.approx(100 / 3)
    scaler = Scaler.fit(np.array([[0.0, 10.0], [4.0, 30.0]]), method="minmax", columns=("a", "b"))
    x = np.array([[2.0, 20.0]])
    assert scaler.transform(x).tolist() == [[0.5, 0.5]]
    np.testing.assert_allclose(scaler.inverse(scaler.transform(x)), x)
    assert scaler.inverse(np.array([[1.0]]), columns=("b",)).tolist() == [[30.0]]
    assert Scaler.from_json(scaler.to_json()) == scaler
