"""Confusion matrix plot: rows are the true class, columns the predicted class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError
from seqlab.viz._figure import as_array, new_figure
from seqlab.viz.fonts import apply_font
from seqlab.viz.heatmap import draw_heatmap, heatmap_size

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_MAX_ANNOTATED = 30  # more classes than this and the numbers would be unreadable


def _count_text(count: float) -> str:
    return f"{int(count)}" if float(count).is_integer() else f"{count:.3g}"


def plot_confusion_matrix(
    matrix: Any,
    labels: Sequence[str],
    *,
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """Plot a confusion matrix of counts with the counts written in the cells.

    With ``normalize`` the colours show each row as fractions of that true class (recall on the
    diagonal) and the cells read ``"85%"`` over the count; otherwise colours show the raw counts.

    Args:
        matrix: (C, C) counts; ``matrix[i, j]`` = examples of true class i predicted as j.
        labels: C class names (Hangul renders).
        normalize: colour by row fractions instead of raw counts.
        title: figure title; by default "Confusion matrix" with the accuracy.

    Returns:
        A matplotlib Figure (never shown).

    >>> fig = plot_confusion_matrix([[8, 2], [1, 9]], ["부정", "긍정"])
    >>> fig.axes[0].get_title()
    'Confusion matrix (accuracy 85.0%, n=20)'
    """
    import numpy as np

    counts = as_array(matrix, name="confusion matrix", ndim=(2,))
    classes = counts.shape[0]
    if counts.shape != (classes, classes):
        raise DataError(f"confusion matrix must be square (C, C), got shape {counts.shape}")
    if len(labels) != classes:
        raise DataError(f"confusion matrix has {classes} classes but {len(labels)} labels were given")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise DataError("confusion matrix must hold finite, non-negative counts")

    row_totals = counts.sum(axis=1, keepdims=True)
    # A class absent from the true labels gets an all-zero row rather than 0/0.
    fractions = np.divide(counts, row_totals, out=np.zeros_like(counts), where=row_totals > 0)
    shown = fractions if normalize else counts

    annotations = None
    if classes <= _MAX_ANNOTATED:
        if normalize:
            annotations = [
                [f"{fractions[r, c]:.0%}\n{_count_text(counts[r, c])}" for c in range(classes)] for r in range(classes)
            ]
        else:
            annotations = [[_count_text(counts[r, c]) for c in range(classes)] for r in range(classes)]

    fig = new_figure(*heatmap_size(classes, classes, cell=0.6 if classes <= 12 else 0.3, extra=(2.8, 2.0)))
    ax = fig.add_subplot()
    draw_heatmap(
        ax,
        shown,
        xlabels=[str(label) for label in labels],
        ylabels=[str(label) for label in labels],
        cmap="Blues",
        vmin=0.0,
        vmax=1.0 if normalize else None,
        annotations=annotations,
        colorbar_label="fraction of true class" if normalize else "count",
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = counts.sum()
    if title is None:
        accuracy = np.trace(counts) / total if total > 0 else float("nan")
        title = f"Confusion matrix (accuracy {accuracy:.1%}, n={_count_text(total)})"
    ax.set_title(title)
    return apply_font(fig)
