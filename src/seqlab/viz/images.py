"""Image plots: sample grids, misclassified images, latent maps, interpolation strips, denoising
grids, ROC / precision-recall curves and compression curves.

Images are given as (N, H, W) or (N, 1, H, W) arrays or tensors with values in [0, 1]
(:func:`seqlab.data.images.from_tensor` undoes any scaling). Every function returns a Figure.

>>> import numpy as np
>>> fig = plot_image_grid(np.random.default_rng(0).random((6, 28, 28)), ncols=3, title="samples")
>>> len(fig.axes)
6
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError
from seqlab.viz._figure import as_array, new_figure
from seqlab.viz.fonts import apply_font

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure


def _images(images: Any, *, name: str = "images") -> np.ndarray:
    array = as_array(images, name=name, ndim=(3, 4))
    if array.ndim == 4:
        if array.shape[1] != 1:
            raise DataError(f"{name} must be greyscale (N, 1, H, W), got shape {array.shape}")
        array = array[:, 0]
    return array.clip(0.0, 1.0)


def _show(ax: Any, image: np.ndarray, label: str | None = None, *, color: str = "black") -> None:
    ax.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if label:
        ax.set_title(label, fontsize=7, color=color)


def plot_image_grid(
    images: Any, *, ncols: int = 8, titles: Sequence[str] | None = None, title: str | None = None, size: float = 0.9
) -> Figure:
    """Images in a grid, one small panel each (dark ink on white).

    Args:
        images: (N, H, W) or (N, 1, H, W) in [0, 1].
        ncols: panels per row.
        titles: N captions, or None.
        title: the figure title.
        size: inches per panel.

    >>> import numpy as np
    >>> plot_image_grid(np.zeros((3, 4, 4)), ncols=2, titles=["a", "b", "c"]).axes[2].get_title()
    'c'
    """
    array = _images(images)
    if titles is not None and len(titles) != len(array):
        raise DataError(f"{len(array)} images but {len(titles)} titles")
    ncols = max(1, min(ncols, len(array)))
    nrows = -(-len(array) // ncols)
    fig = new_figure(size * ncols, size * nrows + (0.35 if title else 0) + (0.15 * nrows if titles else 0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < len(array):
            _show(ax, array[index], titles[index] if titles is not None else None)
        else:
            ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return apply_font(fig)


def plot_misclassified(
    images: Any,
    true: Sequence[int],
    predicted: Sequence[int],
    classes: Sequence[str],
    *,
    probabilities: Sequence[float] | None = None,
    ncols: int = 8,
    title: str | None = None,
) -> Figure:
    """A grid of misclassified images captioned "true -> predicted (p)".

    Args:
        images: (N, H, W) in [0, 1], the misclassified images.
        true: N true class indexes.
        predicted: N predicted class indexes.
        classes: class names.
        probabilities: N probabilities of the predicted class, or None.
        ncols: panels per row.
        title: the figure title.

    >>> import numpy as np
    >>> fig = plot_misclassified(np.zeros((2, 4, 4)), [0, 1], [1, 0], ["cat", "dog"])
    >>> fig.axes[0].get_title()
    'cat -> dog'
    """
    captions = [
        f"{classes[t]} -> {classes[p]}" + (f" ({probabilities[i]:.2f})" if probabilities is not None else "")
        for i, (t, p) in enumerate(zip(true, predicted))
    ]
    return plot_image_grid(
        images, ncols=ncols, titles=captions, title=title or "Misclassified (true -> predicted)", size=1.15
    )


def plot_latent_map(points: Any, labels: Sequence[int], classes: Sequence[str], *, title: str | None = None) -> Figure:
    """Codes in 2-D (the latent space, or its first two principal components), coloured by class.

    Args:
        points: (N, 2).
        labels: N class indexes.
        classes: class names.
        title: the axes title.

    >>> import numpy as np
    >>> fig = plot_latent_map(np.zeros((4, 2)), [0, 1, 0, 1], ["a", "b"])
    >>> len(fig.axes[0].get_legend().get_texts())
    2
    """
    import numpy as np

    xy = as_array(points, name="points", ndim=(2,))
    if xy.shape[1] != 2:
        raise DataError(f"points must be (N, 2), got shape {xy.shape}")
    labels = np.asarray(labels)
    fig = new_figure(6.5, 5.0)
    ax = fig.add_subplot()
    colours = [f"C{i}" if i < 10 else None for i in range(len(classes))]
    for index, name in enumerate(classes):
        mask = labels == index
        if mask.any():
            ax.scatter(xy[mask, 0], xy[mask, 1], s=4, alpha=0.6, label=name, color=colours[index])
    ax.legend(markerscale=3, fontsize=7, loc="best")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title or "Latent map")
    return apply_font(fig)


def plot_interpolation(rows: Any, *, labels: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Interpolation strips: each row goes from one image to another through decoded latent points.

    Args:
        rows: (R, K, H, W) images in [0, 1] (R strips of K steps) or (K, H, W) for one strip.
        labels: R row captions (shown on the first panel), or None.
        title: the figure title.

    >>> import numpy as np
    >>> len(plot_interpolation(np.zeros((2, 5, 4, 4))).axes)
    10
    """
    array = as_array(rows, name="interpolation", ndim=(3, 4))
    if array.ndim == 3:
        array = array[None]
    count, steps = array.shape[:2]
    fig = new_figure(0.9 * steps, 0.9 * count + 0.4)
    axes = fig.subplots(count, steps, squeeze=False)
    for r in range(count):
        for k in range(steps):
            _show(axes[r, k], array[r, k].clip(0, 1), labels[r] if labels is not None and k == 0 else None)
    fig.suptitle(title or "Latent interpolation", fontsize=10)
    return apply_font(fig)


def plot_denoising(noisy: Any, cleaned: Any, clean: Any, *, title: str | None = None) -> Figure:
    """Three rows: the noisy inputs, what the model made of them, and the clean originals.

    Args:
        noisy: (N, H, W) in [0, 1].
        cleaned: (N, H, W) reconstructions from the noisy inputs.
        clean: (N, H, W) the originals.
        title: the figure title.

    >>> import numpy as np
    >>> fig = plot_denoising(np.zeros((3, 4, 4)), np.zeros((3, 4, 4)), np.zeros((3, 4, 4)))
    >>> fig.axes[0].get_ylabel(), len(fig.axes)
    ('noisy', 9)
    """
    rows = [_images(noisy, name="noisy"), _images(cleaned, name="cleaned"), _images(clean, name="clean")]
    if len({len(r) for r in rows}) != 1:
        raise DataError("noisy, cleaned and clean must hold the same number of images")
    count = len(rows[0])
    fig = new_figure(0.9 * count + 0.5, 3 * 0.9 + 0.4)
    axes = fig.subplots(3, count, squeeze=False)
    for r, (name, images) in enumerate(zip(("noisy", "cleaned", "clean"), rows)):
        for k in range(count):
            _show(axes[r, k], images[k])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.suptitle(title or "Denoising", fontsize=10)
    return apply_font(fig)


def plot_roc_pr(
    fpr: Any,
    tpr: Any,
    precision: Any,
    recall: Any,
    *,
    auc: float,
    points: Mapping[str, tuple[float, float, float, float]] | None = None,
    scores: tuple[Any, Any] | None = None,
    title: str | None = None,
) -> Figure:
    """ROC and precision-recall curves of an anomaly score, with the chosen thresholds marked.

    Args:
        fpr, tpr: the ROC curve.
        precision, recall: the precision-recall curve.
        auc: the area under the ROC curve.
        points: threshold name -> (fpr, tpr, precision, recall) at that threshold.
        scores: optional (normal scores, anomaly scores) for a third panel of histograms.
        title: the figure title.

    >>> fig = plot_roc_pr([0, 0.5, 1], [0, 0.9, 1], [1, 0.8, 0.5], [0, 0.9, 1], auc=0.7,
    ...                   points={"p99": (0.5, 0.9, 0.8, 0.9)})
    >>> fig.axes[0].get_title()
    'ROC (AUC 0.700)'
    """
    fig = new_figure(12.0 if scores is not None else 8.5, 3.8)
    panels = fig.subplots(1, 3 if scores is not None else 2)
    roc, pr = panels[0], panels[1]
    roc.plot(as_array(fpr, name="fpr", ndim=(1,)), as_array(tpr, name="tpr", ndim=(1,)), color="C0")
    roc.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    roc.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title=f"ROC (AUC {auc:.3f})",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    pr.plot(as_array(recall, name="recall", ndim=(1,)), as_array(precision, name="precision", ndim=(1,)), color="C1")
    pr.set(xlabel="recall", ylabel="precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    for index, (name, (f, t, p, r)) in enumerate((points or {}).items()):
        roc.scatter([f], [t], color=f"C{index + 2}", zorder=3, label=name)
        pr.scatter([r], [p], color=f"C{index + 2}", zorder=3, label=name)
    if points:
        roc.legend(fontsize=7, loc="lower right")
        pr.legend(fontsize=7, loc="lower left")
    if scores is not None:
        normal, anomalous = (as_array(s, name="scores", ndim=(1,)) for s in scores)
        hist = panels[2]
        hist.hist(normal, bins=60, alpha=0.6, density=True, label="normal", color="C0")
        hist.hist(anomalous, bins=60, alpha=0.6, density=True, label="anomaly", color="C3")
        hist.set(xlabel="reconstruction error", ylabel="density", title="Scores")
        hist.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return apply_font(fig)


def plot_compression(
    bits: Sequence[float],
    errors: Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    baseline: tuple[Sequence[float], Sequence[float]] | None = None,
    raw_bits: float | None = None,
    title: str | None = None,
) -> Figure:
    """Reconstruction error against code size in bits (with the compression ratio on top).

    Args:
        bits: code size in bits per example, one per point.
        errors: reconstruction error (MSE per pixel) at each point.
        labels: a caption per point, e.g. "4 bit".
        baseline: optional (bits, errors) of a reference method (e.g. PCA).
        raw_bits: bits of one uncompressed example (784 * 8 for 8-bit 28x28), for the ratio axis.
        title: the axes title.

    >>> fig = plot_compression([32, 64, 128], [0.03, 0.02, 0.015], raw_bits=784 * 8)
    >>> fig.axes[0].get_xlabel()
    'code size (bits per image)'
    """
    fig = new_figure(6.5, 4.2)
    ax = fig.add_subplot()
    ax.plot(bits, errors, marker="o", color="C0", label="autoencoder")
    for x, y, text in zip(bits, errors, labels or ()):
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if baseline is not None:
        ax.plot(*baseline, marker="s", color="C1", linestyle="--", label="PCA, same bits")
        ax.legend(fontsize=8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("code size (bits per image)")
    ax.set_ylabel("reconstruction MSE per pixel")
    if raw_bits:
        import numpy as np

        def ratio(value: Any) -> Any:  # its own inverse: bits <-> raw_bits / bits
            return raw_bits / np.maximum(value, 1e-9)

        top = ax.secondary_xaxis("top", functions=(ratio, ratio))
        low, high = min(bits), max(bits)
        ticks = [raw_bits / b for b in (2.0 ** np.arange(0, 40)) if low <= b <= high]
        top.set_xticks(ticks, [f"{t:.3g}x" for t in ticks], fontsize=7)
        top.minorticks_off()
        top.set_xlabel("compression ratio")
    ax.set_title(title or "Compression: error against code size", fontsize=10)
    return apply_font(fig)


def plot_window_reconstructions(windows: Any, reconstructions: Any, *, titles: Sequence[str] | None = None) -> Figure:
    """Series windows (solid) and their reconstructions (dashed), one small panel each.

    Args:
        windows: (K, T) values.
        reconstructions: (K, T) values.
        titles: K captions, or None.

    >>> import numpy as np
    >>> len(plot_window_reconstructions(np.zeros((3, 10)), np.ones((3, 10))).axes)
    3
    """
    original = as_array(windows, name="windows", ndim=(2,))
    rebuilt = as_array(reconstructions, name="reconstructions", ndim=(2,))
    if original.shape != rebuilt.shape:
        raise DataError(f"windows {original.shape} and reconstructions {rebuilt.shape} differ in shape")
    ncols = min(3, len(original))
    nrows = -(-len(original) // ncols)
    fig = new_figure(4.0 * ncols, 2.2 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index >= len(original):
            ax.set_visible(False)
            continue
        ax.plot(original[index], color="C0", linewidth=1.2, label="window")
        ax.plot(rebuilt[index], color="C3", linewidth=1.2, linestyle="--", label="reconstruction")
        if titles is not None:
            ax.set_title(titles[index], fontsize=8)
        if index == 0:
            ax.legend(fontsize=7)
    return apply_font(fig)


__all__ = [
    "plot_window_reconstructions",
    "plot_image_grid",
    "plot_misclassified",
    "plot_latent_map",
    "plot_interpolation",
    "plot_denoising",
    "plot_roc_pr",
    "plot_compression",
]
