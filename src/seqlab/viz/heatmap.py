"""Heatmaps with token axes: the one drawing routine behind attention, gate and confusion plots."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import ConfigError, DataError, closest
from seqlab.viz._figure import as_array, new_figure
from seqlab.viz.fonts import apply_font

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

# Whitespace tokens would print as nothing; these stand-ins exist in DejaVu Sans.
_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍", "": "∅"}
_MAX_LABELS = 60  # beyond this many ticks on one axis only every k-th label is shown
TICK_FONTSIZE = 9.0


def display_token(token: str) -> str:
    """Make a token visible as a tick label (spaces, newlines and the empty string get symbols).

    >>> display_token(" "), display_token("a b"), display_token("한")
    ('␣', 'a␣b', '한')
    """
    if token in _VISIBLE:
        return _VISIBLE[token]
    return "".join(_VISIBLE.get(char, char) for char in token)


def _label_width_inches(label: str, fontsize: float) -> float:
    """Rough printed width: wide (Hangul, CJK) characters take one em, others about 0.6 em."""
    ems = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in label)
    return ems * fontsize / 72.0


def _check_labels(labels: Sequence[str] | None, count: int, what: str) -> list[str] | None:
    if labels is None:
        return None
    labels = [display_token(str(label)) for label in labels]
    if len(labels) != count:
        raise DataError(f"{what} has {len(labels)} labels but the matrix has {count} along that axis")
    return labels


def set_token_ticks(
    ax: Axes, labels: Sequence[str], *, axis: str, extent_inches: float, fontsize: float = TICK_FONTSIZE
) -> None:
    """Label the cells along one axis of ``ax`` (cell ``i`` centred at ``i``) with ``labels``.

    When there are more than 60 labels only every k-th is shown; x labels turn vertical when
    they would not fit side by side in ``extent_inches``.

    Args:
        ax: the axes.
        labels: one label per cell.
        axis: ``"x"`` or ``"y"``.
        extent_inches: printed length of that axis, to decide the rotation.
        fontsize: tick label size in points.

    >>> fig = new_figure(3, 2)
    >>> ax = fig.add_subplot()
    >>> set_token_ticks(ax, ["가", "나", "다"], axis="x", extent_inches=2.0)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['가', '나', '다']
    """
    count = len(labels)
    step = max(1, -(-count // _MAX_LABELS))
    positions = list(range(0, count, step))
    shown = [labels[i] for i in positions]
    if axis == "x":
        cell = extent_inches * step / max(count, 1)
        widest = max((_label_width_inches(label, fontsize) for label in shown), default=0.0)
        rotation = 90 if widest > 0.95 * cell else 0
        ax.set_xticks(positions, shown, rotation=rotation, fontsize=fontsize)
    else:
        ax.set_yticks(positions, shown, fontsize=fontsize)
    ax.tick_params(axis=axis, length=0)


def draw_heatmap(
    ax: Axes,
    matrix: np.ndarray,
    *,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    annotations: Sequence[Sequence[str]] | None = None,
    colorbar: bool = True,
    colorbar_label: str | None = None,
) -> AxesImage:
    """Draw ``matrix`` (rows on y, columns on x) as a heatmap into ``ax``; return the image.

    Args:
        ax: the axes to draw into (its figure should use constrained layout).
        matrix: (R, C) values; NaN cells are left blank.
        xlabels: C column labels, or None for numeric ticks.
        ylabels: R row labels, or None for numeric ticks.
        cmap: a matplotlib colormap name.
        vmin: low end of the colour scale (None: the data minimum).
        vmax: high end of the colour scale (None: the data maximum).
        annotations: (R, C) strings written in the cells, in black or white by contrast.
        colorbar: add a colour bar beside the axes.
        colorbar_label: the colour bar's label.

    >>> import numpy as np
    >>> fig = new_figure(3, 2)
    >>> image = draw_heatmap(fig.add_subplot(), np.eye(2), xlabels=["a", "b"], ylabels=["c", "d"])
    >>> image.get_array().shape
    (2, 2)
    """
    rows, cols = matrix.shape
    xlabels = _check_labels(xlabels, cols, "xlabels")
    ylabels = _check_labels(ylabels, rows, "ylabels")
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest", origin="upper")
    fig = ax.get_figure()
    width, height = fig.get_size_inches()
    box = ax.get_position()
    if xlabels is not None:
        set_token_ticks(ax, xlabels, axis="x", extent_inches=width * box.width)
    if ylabels is not None:
        set_token_ticks(ax, ylabels, axis="y", extent_inches=height * box.height)
    if annotations is not None:
        _annotate(ax, image, matrix, annotations)
    if colorbar:
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.ax.tick_params(labelsize=8)
        if colorbar_label:
            bar.set_label(colorbar_label, fontsize=9)
    return image


def _annotate(ax: Axes, image: AxesImage, matrix: np.ndarray, annotations: Sequence[Sequence[str]]) -> None:
    import numpy as np

    rows, cols = matrix.shape
    fontsize = float(np.clip(110 / max(rows, cols), 6, 11))
    for r in range(rows):
        for c in range(cols):
            text = annotations[r][c]
            if not text:
                continue
            value = matrix[r, c]
            red, green, blue, _ = image.cmap(image.norm(value)) if np.isfinite(value) else (1, 1, 1, 1)
            # Rec. 709 luma decides whether black or white text reads better on the cell colour.
            color = "black" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5 else "white"
            ax.text(c, r, text, ha="center", va="center", fontsize=fontsize, color=color)


def _check_cmap(cmap: str) -> None:
    import matplotlib

    if cmap not in matplotlib.colormaps:
        hint = closest(cmap, list(matplotlib.colormaps))
        did_you_mean = f"did you mean {', '.join(hint)}? " if hint else ""
        raise ConfigError(f'unknown colormap "{cmap}"; {did_you_mean}(e.g. viridis, magma, Blues, RdBu_r)')


def heatmap_size(
    rows: int, cols: int, *, cell: float = 0.32, extra: tuple[float, float] = (2.2, 1.6)
) -> tuple[float, float]:
    """Figure size in inches for an (rows, cols) heatmap: ``cell`` inches a cell, clamped to 4..16 x 3..12.

    >>> heatmap_size(5, 5)
    (4.0, 3.2)
    """
    width = min(max(cols * cell + extra[0], 4.0), 16.0)
    height = min(max(rows * cell + extra[1], 3.0), 12.0)
    return round(width, 2), round(height, 2)


def plot_heatmap(
    matrix: Any,
    *,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str = "viridis",
) -> Figure:
    """Plot a matrix as a heatmap with optional row and column labels and a colour bar.

    Args:
        matrix: (R, C) numbers (list, NumPy array or tensor); rows on y, columns on x.
        xlabels: C column labels (Hangul renders).
        ylabels: R row labels.
        title: figure title.
        cmap: a matplotlib colormap name.

    Returns:
        A matplotlib Figure (never shown; save it with ``fig.savefig(path)``).

    >>> fig = plot_heatmap([[0.1, 0.9], [0.5, 0.5]], xlabels=["나는", "학생"], ylabels=["I", "student"])
    >>> len(fig.axes)  # the heatmap and its colour bar
    2
    """
    array = as_array(matrix, name="matrix", ndim=(2,))
    _check_cmap(cmap)
    fig = new_figure(*heatmap_size(*array.shape))
    ax = fig.add_subplot()
    draw_heatmap(ax, array, xlabels=xlabels, ylabels=ylabels, cmap=cmap)
    if title:
        ax.set_title(title)
    return apply_font(fig)
