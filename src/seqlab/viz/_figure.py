"""Helpers shared by the plot modules: a pyplot-free Agg figure, array conversion, saving."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """Return an empty constrained-layout Figure drawn by Agg, without pyplot or its global state.

    >>> new_figure(4, 3).get_size_inches().tolist()
    [4.0, 3.0]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def as_array(values: Any, *, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    """Convert a list, NumPy array or torch tensor to a float NumPy array with one of ``ndim`` dims.

    Args:
        values: the data; a tensor that requires grad is detached.
        name: what the data is, for the error message.
        ndim: accepted numbers of dimensions.

    >>> as_array([[1, 2], [3, 4]], name="matrix", ndim=(2,)).shape
    (2, 2)
    """
    import numpy as np

    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(f"{name} must be an array of numbers ({err})") from err
    if array.ndim not in ndim:
        wanted = " or ".join(f"{n}-D" for n in ndim)
        raise DataError(f"{name} must be {wanted}, got shape {tuple(array.shape)}")
    if array.size == 0:
        raise DataError(f"{name} is empty (shape {tuple(array.shape)})")
    return array


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) atomically, creating the folder.

    Args:
        fig: the figure to write.
        path: e.g. ``runs/demo/curves.png``.
        dpi: resolution of raster formats.

    >>> import tempfile, pathlib
    >>> out = save_figure(new_figure(2, 2), pathlib.Path(tempfile.mkdtemp()) / "a" / "empty.png")
    >>> out.stat().st_size > 0
    True
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fmt = target.suffix.lstrip(".").lower() or "png"
    # A plain open (not mkstemp, which makes 0600 files) keeps the user's umask permissions.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=dpi)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
