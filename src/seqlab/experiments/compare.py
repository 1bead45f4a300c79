"""Side-by-side comparison: train every variant of a config (times repeats), then report.

The folder a comparison writes::

    study.json               the plan and each finished run's measurements (re-rendering reads it)
    runs/<variant>/seed-N/   an ordinary run directory per variant and repeat (config.toml re-runs it)
    report.md, report.html   the table, curves and best variant (HTML with images embedded)
    *.png                    one overlaid learning-curve plot per metric, a trade-off scatter

Running the same comparison into the same folder again skips finished runs and resumes an
interrupted one from its checkpoint, so a killed comparison picks up where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from seqlab.config import Config, to_toml, with_overrides
from seqlab.errors import ConfigError
from seqlab.experiments.measure import measure_run, read_records
from seqlab.experiments.report import (
    Code,
    Heading,
    Image,
    Para,
    Section,
    Table,
    fmt,
    fmt_spread,
    mean_spread,
    read_study,
    write_report,
    write_study,
)
from seqlab.experiments.space import Variant

STUDY_VERSION = 1


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` returns.

    Args:
        folder: the report folder.
        best: the name of the best variant (by ``metric``), or None when no run has it.
        metric: the ranking metric, e.g. ``val_accuracy``.
        reports: the paths of report.md and report.html.
    """

    folder: Path
    best: str | None
    metric: str
    reports: list[Path]


def ranking_metric(config: Config, metric: str | None = None) -> tuple[str, str]:
    """The metric variants are ranked by (default: the config's ``train.monitor``) and ``min``/``max``.

    >>> from seqlab.config import load_config
    >>> ranking_metric(load_config("rotten-tomatoes-bilstm"))
    ('val_accuracy', 'max')
    """
    from seqlab.training.schedules import monitor_mode

    name = metric or config.train.monitor
    if not name.startswith(("val_", "test_")):
        name = f"val_{name}"
    return name, monitor_mode(name)


def variant_configs(base: Config, variants: Sequence[Variant], *, budget: Sequence[str] = ()) -> dict[str, Config]:
    """Validate every variant up front (a typo fails before hours of training), keyed by name.

    >>> from seqlab.config import load_config
    >>> configs = variant_configs(load_config("shakespeare-char"), [Variant("gru", ("model.cell=gru",))])
    >>> configs["gru"].model.cell
    'gru'
    """
    if not variants:
        raise ConfigError("nothing to compare: give at least one variant (--vary section.key=a,b)")
    names = [v.name for v in variants]
    if len(set(names)) != len(names) or len({v.slug for v in variants}) != len(variants):
        raise ConfigError(f"variant names must be distinct (got {', '.join(names)})")
    configs = {}
    for variant in variants:
        try:
            configs[variant.name] = with_overrides(base, [*budget, *variant.overrides])
        except ConfigError as err:
            raise ConfigError(f'variant "{variant.name}": {err}') from None
    return configs


def compare(
    config: Config,
    variants: Sequence[Variant],
    *,
    out_dir: str | Path,
    repeats: int = 1,
    budget: Sequence[str] = (),
    metric: str | None = None,
    title: str | None = None,
    description: str = "",
    command: str = "",
    latency: bool = True,
    console: Console | None = None,
) -> Comparison:
    """Train each variant ``repeats`` times (seeds ``train.seed``, +1, ...) and write the report.

    Args:
        config: the base config (a recipe with any ``--set`` applied).
        variants: the variants (:func:`seqlab.experiments.space.grid` makes a grid).
        out_dir: the report folder; an existing one of the same comparison is resumed.
        repeats: runs per variant with different seeds (the table shows mean ± std).
        budget: overrides applied to every run before the variant's own
            (:func:`~seqlab.experiments.space.parse_budget`).
        metric: rank variants by this (default ``train.monitor``, e.g. ``val_loss``).
        title: the report title (default: "<config name>: <what varies>").
        description: a paragraph under the title.
        command: the command that made it, shown in the report.
        latency: time inference of each run (reads the data once more per run).
        console: where progress goes.

    Returns:
        A :class:`Comparison`.
    """
    from seqlab.run import load, train

    if repeats < 1:
        raise ConfigError(f"--repeats must be at least 1 (got {repeats})")
    console = console or Console()
    folder = Path(out_dir)
    configs = variant_configs(config, variants, budget=budget)
    metric_name, mode = ranking_metric(config, metric)
    study = {
        "kind": "compare",
        "version": STUDY_VERSION,
        "title": title
        or f"{config.name}: {', '.join(sorted({o.split('=')[0] for v in variants for o in v.overrides}))}",
        "description": description,
        "command": command,
        "base_config": to_toml(config),
        "budget": list(budget),
        "repeats": repeats,
        "metric": metric_name,
        "mode": mode,
        "variants": [
            {
                "name": v.name,
                "overrides": list(v.overrides),
                "runs": [
                    {
                        "seed": config.train.seed + r,
                        "run_dir": f"runs/{v.slug}/seed-{config.train.seed + r}",
                        "result": None,
                    }
                    for r in range(repeats)
                ],
            }
            for v in variants
        ],
    }
    study = _merge_previous(folder, study)
    write_study(folder, study)
    total = sum(len(v["runs"]) for v in study["variants"])
    done = 0
    for entry in study["variants"]:
        for run_entry in entry["runs"]:
            done += 1
            if run_entry["result"] is not None:
                continue
            run_dir = folder / run_entry["run_dir"]
            cfg = with_overrides(configs[entry["name"]], [f"train.seed={run_entry['seed']}"])
            console.rule(f"[bold]{done}/{total}[/] {entry['name']} (seed {run_entry['seed']})")
            if (run_dir / "final_metrics.json").exists() and (run_dir / "model.safetensors").exists():
                run = load(run_dir)  # finished but killed before study.json recorded it
            else:
                resume = (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir())
                run = train(cfg, run_dir=run_dir, console=console, resume=resume)
            run_entry["result"] = measure_run(run, latency=latency)
            write_study(folder, study)
    reports = render(folder)
    best = best_variant(study)
    if best is not None:
        console.print(f"best by {metric_name}: [bold]{best}[/]")
    console.print(f"report: [bold]{reports[0]}[/] and {reports[1].name}")
    return Comparison(folder, best, metric_name, reports)


def _merge_previous(folder: Path, study: dict[str, Any]) -> dict[str, Any]:
    """Keep the results of an earlier, identical comparison in the same folder."""
    if not (folder / "study.json").exists():
        return study
    old = read_study(folder)

    def plan(s: dict[str, Any]) -> list[Any]:  # more --repeats may be added; the rest must match
        return [
            s.get("kind"),
            s.get("base_config"),
            s.get("budget"),
            [(v["name"], v["overrides"]) for v in s.get("variants", [])],
        ]

    if plan(old) != plan(study):
        raise ConfigError(f"{folder} already holds a different comparison; choose another --out folder or delete it")
    results = {(v["name"], r["seed"]): r["result"] for v in old["variants"] for r in v["runs"]}
    for entry in study["variants"]:
        for run_entry in entry["runs"]:
            run_entry["result"] = results.get((entry["name"], run_entry["seed"]))
    return study


def _values(entry: dict[str, Any], key: str) -> list[float]:
    out = []
    for run_entry in entry["runs"]:
        result = run_entry["result"]
        if result is None:
            continue
        value = result["metrics"].get(key) if key in result.get("metrics", {}) else result.get(key)
        if isinstance(value, (int, float)):
            out.append(float(value))
    return out


def best_variant(study: dict[str, Any]) -> str | None:
    """The variant with the best mean ranking metric over its finished runs."""
    scored = [(mean_spread(_values(v, study["metric"]))[0], v["name"]) for v in study["variants"]]
    scored = [(s, n) for s, n in scored if not math.isnan(s)]
    if not scored:
        return None
    pick = min if study["mode"] == "min" else max
    return pick(scored, key=lambda pair: pair[0])[1]


def _metric_order(study: dict[str, Any]) -> list[str]:
    names: dict[str, None] = {}
    for entry in study["variants"]:
        for run_entry in entry["runs"]:
            if run_entry["result"]:
                names.update(dict.fromkeys(run_entry["result"]["metrics"]))
    split_rank = {"val": 0, "test": 1}
    return sorted(names, key=lambda n: (split_rank.get(n.split("_")[0], 2), n.split("_", 1)[-1] != "loss", n))


def render(folder: str | Path) -> list[Path]:
    """Draw the plots and write report.md / report.html of a comparison folder from its study.json."""
    from seqlab.viz import save_figure
    from seqlab.viz.experiments import plot_tradeoff, plot_variant_curves

    folder = Path(folder)
    study = read_study(folder)
    best = best_variant(study)
    metrics = _metric_order(study)
    doc = Section()
    doc.add(Heading(study["title"]))
    if study.get("description"):
        doc.add(Para(study["description"]))
    runs_done = sum(1 for v in study["variants"] for r in v["runs"] if r["result"] is not None)
    runs_all = sum(len(v["runs"]) for v in study["variants"])
    budget = ", ".join(f"`{b}`" for b in study["budget"]) or "the recipe's own"
    doc.add(
        Para(
            f"{len(study['variants'])} variants x {study['repeats']} repeat(s) (seeds differ); budget per run: "
            f"{budget}. Runs finished: {runs_done} of {runs_all}. Ranked by `{study['metric']}` "
            f"({'lower' if study['mode'] == 'min' else 'higher'} is better)."
        )
    )
    if study.get("command"):
        doc.add(Code(study["command"], "sh"))

    doc.add(Heading("Results", 2))
    header = [
        "variant",
        *metrics,
        "parameters",
        "train time (s)",
        "tokens/s",
        "latency (ms)",
        "steps",
        "epochs",
        "runs",
    ]
    rows, highlight = [], None
    for index, entry in enumerate(study["variants"]):
        if entry["name"] == best:
            highlight = index
        params = _values(entry, "params")
        latency = _values(entry, "latency_ms")
        links = " ".join(f"[{r['seed']}]({r['run_dir']})" for r in entry["runs"] if r["result"] is not None)
        rows.append(
            [
                f"**{entry['name']}** ★" if entry["name"] == best else entry["name"],
                *(fmt_spread(_values(entry, m)) for m in metrics),
                fmt(params[0]) if params else "-",
                fmt_spread(_values(entry, "train_time"), digits=3),
                fmt_spread(_values(entry, "tokens_per_s"), digits=3),
                fmt_spread(latency, digits=3) if latency else "-",
                fmt(mean_spread(_values(entry, "steps"))[0], digits=5),
                fmt(mean_spread(_values(entry, "epochs"))[0], digits=3),
                links or "not run yet",
            ]
        )
    doc.add(Table(header, rows, highlight))
    if best is not None:
        value = mean_spread(_values(next(v for v in study["variants"] if v["name"] == best), study["metric"]))[0]
        doc.add(
            Para(
                f"Best: **{best}** with {study['metric']} {fmt(value)}. Values are mean ± standard deviation over "
                "repeats; latency is one forward pass on one validation example; tokens/s is the median "
                "training throughput."
            )
        )

    curves = {
        entry["name"]: [read_records(folder / r["run_dir"]) for r in entry["runs"] if (folder / r["run_dir"]).exists()]
        for entry in study["variants"]
    }
    doc.add(Heading("Learning curves", 2))
    plotted = set()
    for name in metrics:
        split, _, column = name.partition("_")
        if split != "val" or column in plotted:
            continue
        plotted.add(column)
        filename = f"curves-val-{column}.png"
        save_figure(plot_variant_curves(curves, metric=column, split="val", best=best), folder / filename)
        doc.add(Image(filename, f"validation {column} of every variant"))
    save_figure(plot_variant_curves(curves, metric="loss", split="train", best=best), folder / "curves-train-loss.png")
    doc.add(Image("curves-train-loss.png", "training loss of every variant"))

    points = {}
    for entry in study["variants"]:
        score, seconds = mean_spread(_values(entry, study["metric"]))[0], mean_spread(_values(entry, "train_time"))[0]
        if not math.isnan(score) and not math.isnan(seconds):
            points[entry["name"]] = (seconds, score)
    if points:
        doc.add(Heading("Quality against cost", 2))
        save_figure(
            plot_tradeoff(points, xlabel="training time (s)", ylabel=study["metric"], best=best),
            folder / "tradeoff.png",
        )
        doc.add(Image("tradeoff.png", f"{study['metric']} against training time"))

    doc.add(Heading("Reproduce", 2))
    doc.add(
        Para(
            "Every run directory holds its resolved `config.toml`; re-run any variant with "
            "`seqlab train <run dir>/config.toml`, and re-render this report with `seqlab report <this folder>`."
        )
    )
    if study["variants"] and study["variants"][0]["runs"]:
        first = study["variants"][0]["runs"][0]["run_dir"]
        doc.add(Code(f"seqlab train {folder / first}/config.toml\nseqlab report {folder}", "sh"))
    return write_report(folder, doc.blocks)


__all__ = ["compare", "render", "Comparison", "variant_configs", "ranking_metric", "best_variant"]
