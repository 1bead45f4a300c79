"""Gate traces of a recurrent cell over a sentence: one heatmap panel per gate, time along x."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError
from seqlab.viz._figure import as_array, new_figure
from seqlab.viz.fonts import apply_font
from seqlab.viz.heatmap import display_token, draw_heatmap, set_token_ticks

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure


def _gate_array(name: str, values: Any, length: int) -> np.ndarray:
    """(T, H) or (T,) for one sequence; a batch of one, (1, T, H) or (1, T), loses its batch axis."""
    array = as_array(values, name=f'gate trace "{name}"', ndim=(1, 2, 3))
    if array.ndim == 3:
        if array.shape[0] != 1:
            raise DataError(
                f'gate trace "{name}" must be (T, H) for one sequence, got shape {array.shape}; '
                "pass one example of the batch, e.g. trace[name][0]"
            )
        array = array[0]
    elif array.ndim == 2 and array.shape == (1, length) and length != 1:
        array = array[0]  # hidden norms of a batch of one, (1, T)
    if array.shape[0] != length:
        raise DataError(
            f'gate trace "{name}" has {array.shape[0]} time steps (shape {array.shape}) '
            f"but {length} tokens were given; pass one token per time step"
        )
    return array


def _colour_scale(array: np.ndarray) -> tuple[str, float | None, float | None]:
    """Sigmoid gates get a fixed 0..1 scale, tanh values a symmetric -1..1 one, anything else its range."""
    import numpy as np

    finite = array[np.isfinite(array)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low >= 0.0 and high <= 1.0:
        return "viridis", 0.0, 1.0
    if low >= -1.0 and high <= 1.0:
        return "RdBu_r", -1.0, 1.0
    if low < 0.0:
        bound = max(-low, high)
        return "RdBu_r", -bound, bound
    return "viridis", None, None


def plot_gates(
    trace: Mapping[str, Any],
    tokens: Sequence[str],
    *,
    title: str | None = None,
    max_units: int = 64,
) -> Figure:
    """Plot recorded gate activations over time, one panel per gate, tokens along the x axis.

    Values within 0..1 (sigmoid gates) share a fixed 0..1 colour scale and values within -1..1
    (tanh candidates) a -1..1 scale, so panels and runs compare by eye.

    Args:
        trace: gate name -> (T, H) activations (e.g. ``"input"``, ``"forget"``, ``"output"``,
            ``"candidate"``, ``"reset"``, ``"update"``) or -> (T,) for a line panel (e.g.
            ``"hidden_norm"``); panels follow the dict's order. A batch of one from
            :func:`seqlab.layers.record_gates`, (1, T, H) or (1, T), is accepted as is.
        tokens: T token strings, one per time step (Hangul renders; spaces show as ␣).
        title: figure title.
        max_units: show at most this many units (the first ones) of each gate.

    Returns:
        A matplotlib Figure (never shown).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> trace = {"forget": rng.random((3, 4)), "hidden_norm": rng.random(3)}
    >>> fig = plot_gates(trace, ["나는", "학생", "이다"])
    >>> bottom = fig.axes[-2]  # the last panel; each panel is followed by its colour-bar slot
    >>> [t.get_text() for t in bottom.get_xticklabels()]
    ['나는', '학생', '이다']
    """
    if max_units < 1:
        raise DataError(f"max_units must be at least 1 (got {max_units})")
    if not trace:
        raise DataError("gate trace is empty; record gates with seqlab.layers.record_gates on a scratch cell")
    length = len(tokens)
    arrays = {str(name): _gate_array(str(name), values, length) for name, values in trace.items()}

    heights = [0.7 + 0.09 * min(array.shape[1], max_units, 32) if array.ndim == 2 else 1.0 for array in arrays.values()]
    width = min(max(0.32 * length + 2.8, 6.0), 16.0)
    fig = new_figure(width, min(sum(heights) + 1.2 + (0.4 if title else 0.0), 24.0))
    grid = fig.add_gridspec(len(arrays), 2, height_ratios=heights, width_ratios=[1.0, 0.025])

    first = bottom = None
    for row, (name, array) in enumerate(arrays.items()):
        ax = fig.add_subplot(grid[row, 0], sharex=first)
        first, bottom = first or ax, ax
        cax = fig.add_subplot(grid[row, 1])
        if array.ndim == 2:
            units = array.shape[1]
            shown = array[:, :max_units]
            cmap, vmin, vmax = _colour_scale(shown)
            # Time on x: the heatmap draws units as rows, so transpose (T, H) to (H, T).
            image = draw_heatmap(ax, shown.T, cmap=cmap, vmin=vmin, vmax=vmax, colorbar=False)
            bar = fig.colorbar(image, cax=cax)
            bar.ax.tick_params(labelsize=7)
            part = f"units 0-{shown.shape[1] - 1} of {units}" if units > max_units else f"{units} units"
            ax.set_title(f"{name}  ({part})", fontsize=10, loc="left")
            ax.set_ylabel("unit", fontsize=9)
        else:
            ax.plot(range(length), array, marker="o", markersize=3, linewidth=1.2, color="tab:blue")
            ax.set_xlim(-0.5, length - 0.5)
            ax.grid(alpha=0.3)
            ax.set_title(name, fontsize=10, loc="left")
            cax.set_axis_off()
        ax.tick_params(axis="y", labelsize=8)
        if row < len(arrays) - 1:
            ax.tick_params(axis="x", labelbottom=False)
    assert bottom is not None
    set_token_ticks(bottom, [display_token(str(token)) for token in tokens], axis="x", extent_inches=width - 1.8)
    bottom.set_xlabel("time step (token)", fontsize=9)
    if title:
        fig.suptitle(title)
    return apply_font(fig)
