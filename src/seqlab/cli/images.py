"""``seqlab anomaly RUN`` and ``seqlab generate RUN``: the image runs' own commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from seqlab.cli import app, device_option
from seqlab.cli.output import JSON_OPTION, Column, Rows, print_json, print_line, print_rows


@app.command()
def anomaly(
    run_dir: Path = typer.Argument(
        ..., help="An autoencoder run with data.holdout_class set, or a series autoencoder with injected anomalies."
    ),
    percentile: float = typer.Option(
        99.0, "--percentile", min=50.0, max=100.0, help="Threshold: this percentile of the training scores."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Write ROC / precision-recall / score plots here (.png)."),
    device: str | None = device_option(trains=False),
    as_json: bool = JSON_OPTION,
) -> None:
    """Score the test data by reconstruction error; the held-out class (or injected anomaly) is positive.

    Prints the ROC-AUC and precision / recall at two thresholds taken from the training scores.
    """
    from seqlab.run import load

    run = load(run_dir, device=device)
    result = run.anomaly(percentile=percentile)
    console = Console(highlight=False)
    anomalous = run.meta["classes"][run.meta["holdout"]]
    table = Rows(
        [
            "threshold",
            Column("value", format=".5f"),
            Column("precision", format=".3f"),
            Column("recall", format=".3f"),
            Column("false positive rate", format=".3f", key="false_positive_rate"),
        ],
        [
            [name, float(result.thresholds[name]), float(point[2]), float(point[1]), float(point[0])]
            for name, point in result.points.items()
        ],
        title=f"anomaly: held-out class {anomalous}, ROC-AUC {result.auc:.4f}",
    )
    if not as_json:
        print_rows(table, console=console, title_in_pipe=True)
    if plot is not None:
        import numpy as np

        from seqlab.metrics import roc_curve
        from seqlab.viz import save_figure
        from seqlab.viz.images import plot_roc_pr

        fpr, tpr, _ = roc_curve(result.scores, result.positive)
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
        if not as_json:
            print_line(f"plot written to {plot}", console=console)
    if as_json:
        record = {"holdout": anomalous, "auc": float(result.auc), "thresholds": table.records()}
        print_json({**record, "plot": str(plot) if plot is not None else None}, console=console)


@app.command()
def generate(
    run_dir: Path = typer.Argument(..., help="A GAN, style-based GAN, CycleGAN or VAE run."),
    out: Path = typer.Option(Path("generated.png"), "--out", "-o", help="Where to write the grid of samples (.png)."),
    num: int = typer.Option(64, "--num", "-n", min=1, max=1024, help="How many images."),
    label: str | None = typer.Option(None, "--label", help="Conditional GAN: the class to generate (name or index)."),
    source: str | None = typer.Option(
        None,
        "--from",
        help="CycleGAN: translate an image file (PNG, JPEG) or --num (at most 16) test images of a class "
        '(name or index, or "a" / "b"); draws rows input -> translated -> reconstructed.',
    ),
    mix: bool = typer.Option(
        False, "--mix", help="Style-based GAN: a style-mixing grid, coarse styles from each row, fine from each column."
    ),
    truncation: float | None = typer.Option(
        None,
        "--truncation",
        help="Style-based GAN: psi of the truncation trick in [0, 1] (0.7 trades variety for quality).",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Make the samples reproducible."),
    device: str | None = device_option(trains=False),
) -> None:
    """Generate images from a GAN (optionally of one class) or a VAE, and save them as a grid.

    A CycleGAN run translates test images (``--from``); a style-based GAN run also draws style-mixing grids
    (``--mix``) and samples with the truncation trick (``--truncation``).
    """
    from seqlab.data.images import class_index
    from seqlab.errors import ConfigError
    from seqlab.run import load
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_image_grid

    if source is not None and (mix or truncation is not None or label is not None):
        raise ConfigError("--from translates with a CycleGAN run; it takes no --mix, --truncation or --label")
    if (mix or truncation is not None) and label is not None:
        raise ConfigError("--mix and --truncation draw from a style-based GAN, which takes no --label")
    run = load(run_dir, device=device)
    console = Console(highlight=False)
    if source is not None:
        from seqlab.tasks.cyclegan import plot_translation, translate_examples

        translations = translate_examples(run, source, num=num, seed=seed)
        save_figure(plot_translation(translations), out)
        count = len(translations[0].inputs)
        console.print(f"{count} image(s) through the cycle (input, translated, reconstructed) written to {out}")
        return
    if mix:
        from seqlab.tasks.gan import style_mixing_grid

        side = min(num, 8)
        grid = style_mixing_grid(run, side, seed=seed, truncation=1.0 if truncation is None else truncation)
        title = "coarse styles from the left column, fine from the top row"
        save_figure(plot_image_grid(grid.reshape(-1, *grid.shape[2:]), ncols=side + 1, title=title, size=0.8), out)
        console.print(f"style-mixing grid of {side} x {side} sources written to {out}")
        return
    classes = run.meta.get("classes", [])
    if truncation is not None:
        from seqlab.tasks.gan import sample_images

        images = sample_images(run, num, seed=seed, truncation=truncation)
    else:
        images = run.generate(num, label=label, seed=seed)
    title = f"{run.config.name}" + (f": {classes[class_index(classes, label)]}" if label is not None else "")
    title += f", truncation {truncation:g}" if truncation is not None else ""
    save_figure(plot_image_grid(images, ncols=min(16, num), title=title), out)
    console.print(f"{num} images written to {out}")
