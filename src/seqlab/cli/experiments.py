"""``seqlab compare / study / sweep / lr-find / report``: experiments and their report folders."""

from __future__ import annotations

import shlex
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from seqlab.cli import app, device_option, device_overrides
from seqlab.cli.output import JSON_OPTION, Column, Rows, print_json, print_rows
from seqlab.errors import ConfigError

if TYPE_CHECKING:
    from seqlab.experiments import Comparison


def _console(*, stderr: bool = False) -> Console:
    # with --json, progress goes to stderr so that standard output is the JSON alone
    return Console(highlight=False, soft_wrap=True, stderr=stderr)


def _comparison_rows(comparison: Comparison) -> Rows:
    """One row per variant: the ranking metric's mean and spread over its finished runs."""
    from seqlab.experiments.report import mean_spread, read_study

    rows = []
    for entry in read_study(comparison.folder)["variants"]:
        results = [run["result"] for run in entry["runs"] if run["result"] is not None]
        values = [r["metrics"][comparison.metric] for r in results if comparison.metric in r.get("metrics", {})]
        mean, spread = mean_spread(values) if values else (None, None)
        rows.append([entry["name"], mean, spread, len(results), entry["name"] == comparison.best])
    columns = ["variant", Column(comparison.metric, format=".4g"), Column("std", format=".2g"), "runs", "best"]
    return Rows(columns, rows, title=f"variants by {comparison.metric}")


def _print_comparison(comparison: Comparison, *, as_json: bool) -> None:
    rows = _comparison_rows(comparison)
    if as_json:
        print_json({**asdict(comparison), "variants": rows.records()}, console=_console())
    else:
        print_rows(rows, console=_console())


def _command(*parts: str, options: list[tuple[str, list[str]]]) -> str:
    words = ["seqlab", *parts]
    for flag, values in options:
        for value in values:
            words += [flag, value]
    return shlex.join(words)


def _budget(text: str | None) -> tuple[str, ...]:
    from seqlab.experiments.space import parse_budget

    return parse_budget(text) if text else ()


@app.command()
def compare(
    recipe: str = typer.Argument(..., help="A recipe name (seqlab recipes) or a config .toml file."),
    vary: list[str] = typer.Option(
        [], "--vary", "-v", help="section.key=a,b,c (repeat for a grid), e.g. model.cell=rnn,lstm,gru."
    ),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a setting of every run: section.key=value."),
    budget: str | None = typer.Option(None, "--budget", "-b", help='Per run: steps ("500") or time ("90s", "5m").'),
    repeats: int = typer.Option(1, "--repeats", "-r", min=1, help="Runs per variant with different seeds."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Report folder (default compare/<name>-<keys>); rerun to resume."
    ),
    metric: str | None = typer.Option(None, "--metric", help="Rank variants by this (default train.monitor)."),
    device: str | None = device_option(trains=True),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train each variant side by side and write a report: metrics, size, speed, curves, best variant.

    Works for a recipe of any task; the variants are ranked by the metric, mean ± std over repeats.
    """
    from seqlab.config import load_config
    from seqlab.experiments import compare as run_compare
    from seqlab.experiments.space import grid, slugify

    config = load_config(recipe, overrides=[*set_, *device_overrides(device)])
    variants = grid(vary)
    keys = "-".join(spec.split("=", 1)[0].split(".")[-1] for spec in vary)
    folder = out or Path("compare") / slugify(f"{config.name}-{keys}")
    command = _command(
        "compare",
        recipe,
        options=[
            ("--vary", vary),
            ("--set", set_),
            ("--budget", [budget] if budget else []),
            ("--repeats", [str(repeats)] if repeats > 1 else []),
            ("--device", [device] if device else []),
            ("--out", [str(folder)]),
        ],
    )
    comparison = run_compare(
        config,
        variants,
        out_dir=folder,
        repeats=repeats,
        budget=_budget(budget),
        metric=metric,
        command=command,
        console=_console(stderr=as_json),
    )
    _print_comparison(comparison, as_json=as_json)


@app.command()
def study(
    name: str | None = typer.Argument(None, help="A built-in study; leave out to list them."),
    recipe: str | None = typer.Argument(None, help="Run it on this recipe or config instead of the study's own."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a setting of every run: section.key=value."),
    budget: str | None = typer.Option(
        None, "--budget", "-b", help='Per run: steps ("500") or time ("90s", "5m"); default the study\'s.'
    ),
    repeats: int = typer.Option(1, "--repeats", "-r", min=1, help="Runs per variant with different seeds."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Report folder (default studies/<study>-<recipe>); rerun to resume."
    ),
    device: str | None = device_option(trains=True),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a built-in study (the classic exercises: cells, learning rate, batch size, dropout...) into a report.

    With no NAME, list the studies. RECIPE runs a study on a recipe or config of your own.
    """
    from seqlab.config import load_config
    from seqlab.experiments import compare as run_compare
    from seqlab.experiments.studies import STUDIES, get_study

    if name is None:
        rows = Rows(
            ["study", "recipe", "varies", "budget per run"],
            [
                [key, s.recipe, ", ".join(v.name for v in s.variants), s.budget or "recipe's"]
                for key, s in STUDIES.items()
            ],
            title="built-in studies (seqlab study NAME [RECIPE])",
        )
        print_rows(rows, console=_console(), as_json=as_json)
        return
    item = get_study(name)
    recipe = recipe or item.recipe
    config = load_config(recipe, overrides=[*set_, *device_overrides(device)])
    budget = budget if budget is not None else item.budget
    folder = out or Path("studies") / f"{name}-{config.name}"
    command = _command(
        "study",
        name,
        recipe,
        options=[
            ("--set", set_),
            ("--budget", [budget] if budget else []),
            ("--repeats", [str(repeats)] if repeats > 1 else []),
            ("--device", [device] if device else []),
            ("--out", [str(folder)]),
        ],
    )
    comparison = run_compare(
        config,
        item.variants,
        out_dir=folder,
        repeats=repeats,
        budget=_budget(budget),
        title=f"{item.title} ({config.name})",
        description=item.question,
        command=command,
        console=_console(stderr=as_json),
    )
    _print_comparison(comparison, as_json=as_json)


@app.command()
def sweep(
    recipe: str = typer.Argument(..., help="A recipe name (seqlab recipes) or a config .toml file."),
    trials: int = typer.Option(20, "--trials", "-n", min=1, help="Finished trials the study should end with."),
    space: list[str] = typer.Option(
        [], "--space", help="section.key=log(lo,hi) | uniform(lo,hi) | int(lo,hi) | logint(lo,hi) | choice(a,b,...)."
    ),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a setting of every trial: section.key=value."),
    budget: str | None = typer.Option(None, "--budget", "-b", help='Per trial: steps ("500") or time ("90s", "5m").'),
    storage: str | None = typer.Option(
        None,
        "--storage",
        help="Optuna RDB URL (sqlite:///f.db, postgresql://...) or journal file; default <out>/sweep.journal.",
    ),
    study_name: str | None = typer.Option(
        None, "--study-name", help="Study name in the storage (default <name>-sweep)."
    ),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes sharing the study."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Sweep folder (default sweeps/<name>); rerun to resume."),
    metric: str | None = typer.Option(None, "--metric", help="Validation metric to optimise (default train.monitor)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the TPE sampler."),
    heartbeat: int = typer.Option(
        60, "--heartbeat", min=1, help="RDB storage: seconds between heartbeats; 3 missed fail and retry a trial."
    ),
    device: str | None = device_option(trains=True),
    as_json: bool = JSON_OPTION,
) -> None:
    """Search hyperparameters with Optuna (TPE, median pruning); resumable, shareable, with a report.

    Works for a recipe of any task; the trials optimise a validation metric. --trials is the
    study's total: workers on several machines give the same --storage, --study-name and --trials.
    """
    from seqlab.config import load_config
    from seqlab.experiments import sweep as run_sweep
    from seqlab.experiments.space import parse_space

    params = [parse_space(spec) for spec in space]
    if not params:
        raise ConfigError('give at least one --space, e.g. --space "train.lr=log(1e-4,1e-2)"')
    config = load_config(recipe, overrides=[*set_, *device_overrides(device)])
    folder = out or Path("sweeps") / config.name
    command = _command(
        "sweep",
        recipe,
        options=[
            ("--trials", [str(trials)]),
            ("--space", space),
            ("--set", set_),
            ("--budget", [budget] if budget else []),
            ("--storage", [storage] if storage else []),
            ("--study-name", [study_name] if study_name else []),
            ("--workers", [str(workers)] if workers > 1 else []),
            ("--device", [device] if device else []),
            ("--out", [str(folder)]),
        ],
    )
    result = run_sweep(
        config,
        params,
        trials=trials,
        out_dir=folder,
        storage=storage,
        study_name=study_name,
        workers=workers,
        budget=_budget(budget),
        metric=metric,
        seed=seed,
        heartbeat=heartbeat,
        command=command,
        console=_console(stderr=as_json),
    )
    if as_json:
        print_json(asdict(result), console=_console())


@app.command("lr-find")
def lr_find(
    recipe: str = typer.Argument(..., help="A recipe name (seqlab recipes) or a config .toml file."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a setting: section.key=value."),
    min_lr: float = typer.Option(1e-5, "--min-lr", help="First learning rate."),
    max_lr: float = typer.Option(1.0, "--max-lr", help="Last learning rate."),
    steps: int = typer.Option(100, "--steps", min=2, help="Steps from --min-lr to --max-lr."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Report folder (default lr-find/<name>)."),
    device: str | None = device_option(trains=True),
    as_json: bool = JSON_OPTION,
) -> None:
    """Learning-rate range test: loss against an exponentially growing rate, a plot and a suggested rate.

    Works for a recipe of any task trained by the generic loop. --json prints the suggestion and every step.
    """
    from seqlab.config import load_config
    from seqlab.experiments import lr_find as run_lr_find

    config = load_config(recipe, overrides=[*set_, *device_overrides(device)])
    folder = out or Path("lr-find") / config.name
    command = _command(
        "lr-find",
        recipe,
        options=[
            ("--set", set_),
            ("--min-lr", [f"{min_lr:g}"]),
            ("--max-lr", [f"{max_lr:g}"]),
            ("--steps", [str(steps)]),
            ("--device", [device] if device else []),
        ],
    )
    result = run_lr_find(
        config,
        out_dir=folder,
        min_lr=min_lr,
        max_lr=max_lr,
        steps=steps,
        command=command,
        console=_console(stderr=as_json),
    )
    if as_json:
        points = Rows(
            ["step", "lr", "loss", "smoothed"],
            [
                [i + 1, lr, loss, smooth]
                for i, (lr, loss, smooth) in enumerate(zip(result.lrs, result.losses, result.smoothed))
            ],
        )
        print_json(
            {
                "folder": result.folder,
                "suggested": result.suggested,
                "min_loss_lr": result.min_loss_lr,
                "points": points.records(),
            },
            console=_console(),
        )


@app.command()
def report(
    folder: Path = typer.Argument(..., help="A folder written by compare, study, sweep or lr-find."),
) -> None:
    """Re-render a report folder (plots, report.md, report.html) from its study.json."""
    from seqlab.experiments import render_folder

    paths = render_folder(folder)
    _console().print(f"wrote {paths[0]} and {paths[1]}")
