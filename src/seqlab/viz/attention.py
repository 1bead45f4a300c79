"""Attention weights as a heatmap: which source token each target token looked at."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError
from seqlab.viz._figure import as_array, new_figure
from seqlab.viz.fonts import apply_font
from seqlab.viz.heatmap import draw_heatmap, heatmap_size

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_attention(
    weights: Any,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    *,
    title: str | None = None,
) -> Figure:
    """Plot attention weights with source tokens along x and target tokens down y.

    Args:
        weights: (T, S) attention of each of T target steps over S source tokens (each row
            usually sums to 1). For multi-head attention pass one head, ``weights[h]``.
        source_tokens: S source token strings (Hangul renders; spaces show as ␣).
        target_tokens: T target token strings.
        title: figure title.

    Returns:
        A matplotlib Figure (never shown).

    >>> fig = plot_attention([[0.9, 0.1], [0.2, 0.8]], ["나는", "학생"], ["I", "student"])
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('source', 'target')
    """
    array = as_array(weights, name="attention weights", ndim=(2, 3))
    if array.ndim == 3:
        raise DataError(
            f"attention weights must be (T_target, S_source), got shape {array.shape}; "
            "for multi-head attention plot one head at a time, e.g. weights[0]"
        )
    targets, sources = array.shape
    if len(source_tokens) != sources or len(target_tokens) != targets:
        raise DataError(
            f"attention weights have shape (T_target={targets}, S_source={sources}) but "
            f"{len(target_tokens)} target and {len(source_tokens)} source tokens were given"
        )
    fig = new_figure(*heatmap_size(targets, sources, cell=0.4))
    ax = fig.add_subplot()
    draw_heatmap(
        ax,
        array,
        xlabels=[str(token) for token in source_tokens],
        ylabels=[str(token) for token in target_tokens],
        cmap="viridis",
        vmin=0.0,
        colorbar_label="attention weight",
    )
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    if title:
        ax.set_title(title)
    return apply_font(fig)
