"""``seqlab anomaly RUN`` and ``seqlab generate RUN``: the image runs' own commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from seqlab.cli import app
from seqlab.errors import ConfigError


@app.command()
def anomaly(
    run_dir: Path = typer.Argument(..., help="An autoencoder run trained with data.holdout_class set."),
    percentile: float = typer.Option(
        99.0, "--percentile", min=50.0, max=100.0, help="Threshold: this percentile of the training scores."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Write ROC / precision-recall / score plots here (.png)."),
) -> None:
    """Score the test images by reconstruction error; the held-out class is the anomaly (ROC-AUC, thresholds)."""
    from seqlab.run import load
    from seqlab.tasks import get_task

    run = load(run_dir)
    holdout = run.meta.get("holdout")
    if run.task != "autoencoder" or holdout is None:
        raise ConfigError(
            f"{run_dir} is not an autoencoder run with a held-out class; train one with "
            "data.holdout_class set (e.g. `seqlab train fashion-anomaly`)"
        )
    binding = get_task(run.task)
    _, task, _ = binding.prepare(run.config)
    result = task.anomaly(run.model, holdout, percentile=percentile)
    console = Console(highlight=False)
    classes = run.meta["classes"]
    table = Table(title=f"anomaly: held-out class {classes[holdout]}, ROC-AUC {result.auc:.4f}")
    for column in ("threshold", "value", "precision", "recall", "false positive rate"):
        table.add_column(column, justify="left" if column == "threshold" else "right")
    for name, point in result.points.items():
        table.add_row(name, f"{result.thresholds[name]:.5f}", f"{point[2]:.3f}", f"{point[1]:.3f}", f"{point[0]:.3f}")
    console.print(table)
    if plot is not None:
        import numpy as np

        from seqlab.viz import save_figure
        from seqlab.viz.images import plot_roc_pr

        fpr, tpr, _ = binding.roc_curve(result.scores, result.positive)
        order = np.argsort(-result.scores, kind="stable")
        hits = np.cumsum(result.positive[order])
        save_figure(
            plot_roc_pr(
                fpr,
                tpr,
                hits / np.arange(1, len(hits) + 1),
                hits / max(hits[-1], 1),
                auc=result.auc,
                points=result.points,
                scores=(result.scores[result.positive == 0], result.scores[result.positive == 1]),
            ),
            plot,
        )
        console.print(f"plot written to {plot}")


@app.command()
def generate(
    run_dir: Path = typer.Argument(..., help="A GAN or VAE run."),
    out: Path = typer.Option(Path("generated.png"), "--out", "-o", help="Where to write the grid of samples (.png)."),
    num: int = typer.Option(64, "--num", "-n", min=1, max=1024, help="How many images."),
    label: str | None = typer.Option(
        None, "--label", help="Conditional GAN: the class to generate (name or index)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Make the samples reproducible."),
) -> None:
    """Generate images from a GAN (optionally of one class) or a VAE, and save them as a grid."""
    import torch

    from seqlab.data.images import class_index, from_tensor
    from seqlab.run import load
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_image_grid

    run = load(run_dir)
    classes = run.meta.get("classes", [])
    if run.task == "gan":
        from seqlab.tasks.gan import sample_images

        labels = [class_index(classes, label)] * num if label is not None else None
        images = sample_images(run, num, labels=labels, seed=seed)
    elif run.task == "autoencoder" and getattr(run.model, "variational", False):
        if label is not None:
            raise ConfigError("a VAE is not conditional; --label is for conditional GAN runs")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        height, width = run.meta["image_shape"]
        samples = run.model.generate(num, generator=generator).view(num, 1, height, width)
        images = from_tensor(samples, scale=run.meta["scale"], mean=run.meta["mean"], std=run.meta["std"])
    else:
        raise ConfigError(
            f'{run_dir} is a {run.task} run; generate works with gan runs and autoencoder runs with model.arch = "vae"'
        )
    title = f"{run.config.name}" + (f": {classes[class_index(classes, label)]}" if label is not None else "")
    save_figure(plot_image_grid(images, ncols=min(16, num), title=title), out)
    Console(highlight=False).print(f"{num} images written to {out}")
