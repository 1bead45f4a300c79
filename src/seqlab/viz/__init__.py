"""Plots of runs and of what happens inside models: headless (Agg), Hangul-capable, pyplot-free.

Every function returns a :class:`matplotlib.figure.Figure` and never shows it; save it with
``fig.savefig(path)`` or :func:`save_figure`. Matplotlib is imported only when a plot is made.

>>> from seqlab.viz import plot_heatmap
>>> plot_heatmap([[1, 2], [3, 4]], title="예시").axes[0].get_title()
'예시'
"""

from seqlab.viz._figure import save_figure
from seqlab.viz.attention import plot_attention
from seqlab.viz.confusion import plot_confusion_matrix
from seqlab.viz.curves import plot_curves
from seqlab.viz.fonts import hangul_font
from seqlab.viz.gates import plot_gates
from seqlab.viz.heatmap import plot_heatmap

__all__ = [
    "hangul_font",
    "plot_attention",
    "plot_confusion_matrix",
    "plot_curves",
    "plot_gates",
    "plot_heatmap",
    "save_figure",
]
