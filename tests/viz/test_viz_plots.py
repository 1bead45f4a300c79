"""seqlab.viz: every plot returns a Figure that saves to a PNG, Hangul renders, bad input is a clear error."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from seqlab.errors import ConfigError, DataError
from seqlab.viz import (
    hangul_font,
    plot_attention,
    plot_confusion_matrix,
    plot_curves,
    plot_gates,
    plot_heatmap,
    save_figure,
)

KOREAN = ["나는", "학생", "입니다", "."]


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    return buffer.getvalue()


def assert_no_missing_glyphs(fig: Figure) -> None:
    """Draw the figure and fail on matplotlib's "Glyph ... missing from font(s)" warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = png_bytes(fig)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing
    assert data.startswith(b"\x89PNG") and len(data) > 1000


def gate_trace(steps: int, units: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "input": rng.random((steps, units)),
        "forget": rng.random((steps, units)),
        "candidate": np.tanh(rng.normal(size=(steps, units))),
        "output": rng.random((steps, units)),
        "hidden_norm": rng.random(steps) * 3,
    }


def training_records() -> list[dict]:
    rows = []
    for step in range(0, 200, 10):
        rows.append(
            {
                "step": step,
                "epoch": step // 100,
                "time": step * 0.1,
                "split": "train",
                "loss": 2.0 / (1 + step / 50),
                "accuracy": min(0.95, step / 200),
                "lr": 1e-3 * (1 - step / 250),
                "tokens_per_s": 5000.0,
            }
        )
        if step % 50 == 0:
            rows.append(
                {
                    "step": step,
                    "epoch": step // 100,
                    "split": "val",
                    "loss": 2.2 / (1 + step / 60),
                    "accuracy": min(0.9, step / 220),
                }
            )
    return rows


needs_hangul_font = pytest.mark.skipif(hangul_font() is None, reason="no font with Hangul glyphs installed")


# ---- every plot makes a PNG ---------------------------------------------------------------


def test_every_plot_returns_a_figure_that_saves_to_png():
    figures = [
        plot_curves(training_records()),
        plot_confusion_matrix(np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]]), ["a", "b", "c"]),
        plot_gates(gate_trace(4, 6), KOREAN),
        plot_attention(np.full((3, 4), 0.25), KOREAN, ["I", "am", "student"]),
        plot_heatmap(np.arange(12.0).reshape(3, 4), xlabels=list("abcd"), ylabels=list("xyz")),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        assert png_bytes(fig).startswith(b"\x89PNG")


def test_save_figure_writes_atomically_into_a_new_folder(tmp_path):
    target = save_figure(plot_heatmap([[1.0, 2.0]]), tmp_path / "run" / "plots" / "h.png")
    assert target.stat().st_size > 0
    assert [p.name for p in target.parent.iterdir()] == ["h.png"]  # no temp file left


def test_plots_accept_torch_tensors():
    torch = pytest.importorskip("torch")
    weights = torch.softmax(torch.randn(2, 3, requires_grad=True), dim=-1)
    fig = plot_attention(weights, ["a", "b", "c"], ["x", "y"])
    assert png_bytes(fig)


def test_importing_viz_does_not_import_matplotlib():
    import os
    from pathlib import Path

    import seqlab

    src = str(Path(seqlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    code = "import sys, seqlab.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"


# ---- Hangul -------------------------------------------------------------------------------


@needs_hangul_font
def test_hangul_renders_without_missing_glyph_warnings():
    assert_no_missing_glyphs(plot_gates(gate_trace(4, 5), KOREAN, title="LSTM 게이트"))
    assert_no_missing_glyphs(plot_attention(np.eye(4), KOREAN, ["I", "am", "a", "학생"], title="어텐션"))
    assert_no_missing_glyphs(plot_confusion_matrix([[3, 1], [0, 4]], ["부정", "긍정"]))
    assert_no_missing_glyphs(plot_heatmap(-np.eye(2), xlabels=["가", "나"], title="음수 −1"))
    rows = [{"step": 1, "split": "train", "loss": 1.0, "정확도": 0.5}]
    assert_no_missing_glyphs(plot_curves(rows))


@needs_hangul_font
def test_plots_leave_global_rcparams_alone():
    import matplotlib

    before = list(matplotlib.rcParams["font.family"])
    plot_heatmap([[1.0]], title="한글")
    assert list(matplotlib.rcParams["font.family"]) == before


def test_plots_work_without_a_hangul_font(monkeypatch):
    from seqlab.viz import fonts

    monkeypatch.setattr(fonts, "hangul_font", lambda: None)
    assert fonts.font_family() == ["DejaVu Sans"]
    fig = plot_attention(np.eye(2), ["a", "b"], ["c", "d"])
    assert png_bytes(fig)


def test_whitespace_tokens_are_shown_as_symbols():
    fig = plot_attention(np.eye(3), [" ", "\n", "a"], ["x", "y", "z"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["␣", "↵", "a"]


# ---- curves -------------------------------------------------------------------------------


def test_curves_panels_loss_first_and_lr_panel_when_lr_varies():
    fig = plot_curves(training_records())
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy", "lr"]
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["train", "val"]


def test_curves_handle_train_only_records():
    rows = [{"step": s, "epoch": 0, "split": "train", "loss": 1.0 / (s + 1), "lr": 0.01} for s in range(5)]
    fig = plot_curves(rows)
    assert [ax.get_title() for ax in fig.axes] == ["loss"]  # constant lr: no lr panel
    assert len(fig.axes[0].get_lines()) == 1
    assert png_bytes(fig)


def test_curves_handle_single_point_missing_keys_and_nan():
    rows = [
        {"step": 0, "split": "train", "loss": float("nan"), "accuracy": 0.1},
        {"step": 1, "split": "train", "loss": 2.0},
        {"step": 2, "split": "val", "loss": math.inf, "bleu": 3.0},
        {"split": "train", "loss": 1.5, "note": "text is ignored", "flag": True},
    ]
    fig = plot_curves(rows)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "bleu"]
    (train,) = fig.axes[0].get_lines()  # val loss was inf only: no val line
    assert list(train.get_ydata()) == [2.0, 1.5]
    assert train.get_marker() == "o"  # a short series is drawn with markers so one point shows
    assert png_bytes(fig)


def test_curves_with_explicit_metrics_and_unknown_metric():
    rows = training_records()
    fig = plot_curves(rows, metrics=["accuracy", "tokens_per_s"])
    assert [ax.get_title() for ax in fig.axes][:2] == ["accuracy", "tokens_per_s"]
    with pytest.raises(ConfigError, match='unknown metric "acuracy"; did you mean accuracy'):
        plot_curves(rows, metrics=["acuracy"])


def test_curves_with_no_records_still_make_a_figure():
    assert png_bytes(plot_curves([]))


def test_curves_reject_rows_that_are_not_dicts():
    with pytest.raises(DataError, match="must be a dict"):
        plot_curves([["step", 1]])  # type: ignore[list-item]


# ---- confusion, gates, attention, heatmap -------------------------------------------------


def test_confusion_matrix_annotates_fractions_and_counts():
    fig = plot_confusion_matrix([[8, 2], [0, 0]], ["pos", "neg"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["80%\n8", "20%\n2", "0%\n0", "0%\n0"]  # an empty true class stays zero, not NaN
    assert fig.axes[0].get_xlabel() == "predicted" and fig.axes[0].get_ylabel() == "true"


def test_confusion_matrix_raw_counts_and_title():
    fig = plot_confusion_matrix(np.array([[3, 1], [2, 4]]), ["a", "b"], normalize=False, title="test set")
    assert [t.get_text() for t in fig.axes[0].texts] == ["3", "1", "2", "4"]
    assert fig.axes[0].get_title() == "test set"


def test_confusion_matrix_rejects_wrong_shapes():
    with pytest.raises(DataError, match="3 classes but 2 labels"):
        plot_confusion_matrix(np.eye(3), ["a", "b"])
    with pytest.raises(DataError, match="square"):
        plot_confusion_matrix(np.ones((2, 3)), ["a", "b"])


def test_gates_one_panel_per_gate_and_units_capped():
    fig = plot_gates(gate_trace(5, 100), ["a", "b", "c", "d", "e"], max_units=16)
    panels = fig.axes[::2]  # each panel is followed by its colour-bar slot
    assert [ax.get_title(loc="left").split()[0] for ax in panels] == [
        "input",
        "forget",
        "candidate",
        "output",
        "hidden_norm",
    ]
    assert "units 0-15 of 100" in panels[0].get_title(loc="left")
    assert panels[0].images[0].get_array().shape == (16, 5)  # (units, T)
    assert panels[2].images[0].get_clim() == (-1.0, 1.0)  # tanh candidate on a symmetric scale
    assert panels[0].images[0].get_clim() == (0.0, 1.0)


def test_gates_many_tokens_and_batch_of_one():
    tokens = [f"w{i}" for i in range(150)]
    rng = np.random.default_rng(1)
    # as seqlab.layers.record_gates gives them: gates (B, T, H) and hidden norms (B, T), B = 1
    trace = {"update": rng.random((1, 150, 8)), "hidden_norm": rng.random((1, 150))}
    fig = plot_gates(trace, tokens)
    bottom = fig.axes[-2]
    assert 0 < len(bottom.get_xticklabels()) <= 60
    assert bottom.get_lines()[0].get_ydata().shape == (150,)
    assert png_bytes(fig)


def test_gates_reject_mismatched_tokens_and_empty_trace():
    with pytest.raises(DataError, match='"input" has 4 time steps .* but 3 tokens'):
        plot_gates(gate_trace(4, 2), ["a", "b", "c"])
    with pytest.raises(DataError, match="empty"):
        plot_gates({}, [])
    with pytest.raises(DataError, match='"forget" has 4 time steps'):
        plot_gates({"input": np.zeros((3, 2)), "forget": np.zeros((4, 2))}, ["a", "b", "c"])
    with pytest.raises(DataError, match="one example of the batch"):
        plot_gates({"input": np.zeros((2, 3, 4))}, ["a", "b", "c"])


def test_attention_axes_and_errors():
    fig = plot_attention(np.full((2, 3), 1 / 3), ["나는", "학생", "이다"], ["I", "student"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["나는", "학생", "이다"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["I", "student"]
    with pytest.raises(DataError, match="one head at a time"):
        plot_attention(np.zeros((2, 2, 3)), ["a", "b", "c"], ["x", "y"])
    with pytest.raises(DataError, match="2 target and 2 source tokens"):
        plot_attention(np.zeros((2, 3)), ["a", "b"], ["x", "y"])


def test_heatmap_rejects_bad_input():
    with pytest.raises(DataError, match="2-D"):
        plot_heatmap([1.0, 2.0])
    with pytest.raises(DataError, match="xlabels has 1 labels"):
        plot_heatmap([[1.0, 2.0]], xlabels=["a"])
    with pytest.raises(ConfigError, match="unknown colormap"):
        plot_heatmap([[1.0]], cmap="viridiss")


def test_missing_glyph_check_catches_boxes_when_the_font_is_not_applied(monkeypatch):
    """Negative control for assert_no_missing_glyphs: without the Hangul font the warning does appear."""
    from seqlab.viz import fonts

    monkeypatch.setattr(fonts, "hangul_font", lambda: None)
    with pytest.raises(AssertionError, match="missing from"):
        assert_no_missing_glyphs(plot_heatmap([[1.0]], title="한글"))
