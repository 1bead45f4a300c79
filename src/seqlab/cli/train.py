"""``seqlab train / evaluate / predict / sample / summary / inspect / recipes``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from seqlab.cli import app
from seqlab.cli.output import JSON_OPTION, Column, Rows, print_json, print_rows
from seqlab.errors import ConfigError

if TYPE_CHECKING:
    from seqlab.run import Run


def _console() -> Console:
    return Console(highlight=False)


def _show_token(token: str) -> str:
    """A token made visible in a table: spaces and newlines as symbols, markup escaped."""
    return escape(token.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")) or "∅"


@app.command()
def train(
    recipe: str | None = typer.Argument(None, help="A recipe name (seqlab recipes) or a config .toml file."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a setting: section.key=value (repeatable)."),
    data: str | None = typer.Option(
        None, "--data", help="Train on this dataset name or file instead (sets data.dataset)."
    ),
    run_dir: Path | None = typer.Option(None, "--run-dir", help="Where to write the run (default runs/<name>-<time>)."),
    resume: Path | None = typer.Option(
        None, "--resume", help="Continue the run in this folder from its last checkpoint."
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace a run already in --run-dir (says what it removes; without it, refused)."
    ),
) -> None:
    """Train a recipe or config into a run directory, then show what it learned.

    Every task: language models, text classifiers, seq2seq, forecasters, image models, autoencoders, GANs.
    """
    from seqlab.config import load_config
    from seqlab.run import resume as resume_run
    from seqlab.run import train as train_run

    console = _console()
    if resume is not None:
        if recipe or set_ or data or force:
            raise ConfigError(
                "--resume continues a run with its saved config; give no recipe, --set, --data or --force with it"
            )
        run = resume_run(resume, console=console)
    else:
        if recipe is None:
            raise ConfigError(
                "give a recipe name or a config file, e.g. `seqlab train shakespeare-char` (see `seqlab recipes`)"
            )
        overrides = [*set_, *([f'data.dataset="{data}"'] if data else [])]
        config = load_config(recipe, overrides=overrides)
        run = train_run(config, run_dir=run_dir, console=console, force=force)
    console.print(f"\nrun saved in [bold]{run.run_dir}[/] (summary.md, curves.png, model.safetensors)")


@app.command()
def recipes(
    name: str | None = typer.Argument(None, help="Show this recipe's TOML (copy it to start a config of your own)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the recipes shipped with seqlab (task, dataset, model, budget), or show one.

    With --json: the list as JSON, or one recipe's whole config (every default filled in).
    """
    from seqlab.config import load_config, recipe_names, recipe_text, to_dict
    from seqlab.tasks import get_task

    if name is not None:
        config = load_config(name)  # a clear error for an unknown name
        if as_json:
            print_json(to_dict(config), console=_console())
        else:
            sys.stdout.write(recipe_text(name))
        return
    rows = []
    for name in recipe_names():
        c = load_config(name)
        budget = (
            ", ".join(
                part
                for part in (
                    f"{c.train.max_steps} steps" if c.train.max_steps else "",
                    f"{c.train.max_time / 60:g} min" if c.train.max_time else "",
                )
                if part
            )
            or f"{c.train.max_epochs} epochs"
        )
        rows.append([name, c.task, c.data.dataset, get_task(c.task).describe(c), budget])
    table = Rows(
        ["recipe", "task", "dataset", "model", "budget"], rows, title="seqlab recipes (seqlab recipes NAME shows one)"
    )
    print_rows(table, console=_console(), as_json=as_json)


@app.command()
def evaluate(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    data: str | None = typer.Option(
        None, "--data", help="Evaluate on this dataset name or file (all of it) instead of the run's test split."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate a trained run on its validation and test splits, or on other data.

    Any task, with its own metrics (loss, bits per token, accuracy and F1, BLEU, forecast error...).
    """
    from seqlab.run import load

    run = load(run_dir)
    console = _console()
    rows = list(run.evaluate(data).items())
    names = list(rows[0][1])
    table = Rows(
        ["split", *(Column(n, format=".4f") for n in names)],
        [[split, *(float(metrics[n]) for n in names)] for split, metrics in rows],
        title=f"{run.config.name}: evaluation" + (f" on {data}" if data else ""),
    )
    print_rows(table, console=console, as_json=as_json)


@app.command()
def predict(
    run_dir: Path = typer.Argument(..., help="A classification, seq2seq or forecast run directory."),
    text: str | None = typer.Argument(None, help="The text to classify or translate (forecast runs take none)."),
    file: Path | None = typer.Option(
        None,
        "--file",
        "-f",
        help="Classify or translate every line of this file; for a forecast run, the series (.csv/.tsv) to continue.",
    ),
    beam: int | None = typer.Option(
        None, "--beam", min=1, help="seq2seq: beam width (1 = greedy; default: the run's data.beam_width)."
    ),
    n_best: int = typer.Option(1, "--n-best", min=1, help="seq2seq: show this many beam hypotheses per text."),
) -> None:
    """Predict with a trained run: classify a text, translate it, or forecast what comes next.

    Classification: the class and its probabilities, for a text or every line of --file.

    Seq2seq: the translation, greedy or by beam search (--beam; --n-best shows alternatives).

    Forecast: the next horizon after the series in --file, or after the run's own series.
    """
    from seqlab.run import load

    run = load(run_dir)
    inputs = run.kind.read_inputs(run, text, file)  # texts, or the series a forecast continues
    _show_predictions(run, inputs, run.predict(inputs, beam_width=beam, n_best=n_best), beam=beam, console=_console())


def _show_predictions(run: Run, inputs: list[Any], results: list[Any], *, beam: int | None, console: Console) -> None:
    """Print what ``run.predict`` returned, by its type: classes, translations or forecasts."""
    from seqlab.cli.forecast import show_forecast
    from seqlab.cli.seq2seq import show_translations
    from seqlab.tasks.classification import Prediction
    from seqlab.tasks.forecast import Forecast
    from seqlab.tasks.seq2seq import Translation

    if all(isinstance(r, Forecast) for r in results):
        for result in results:
            show_forecast(run, result, console=console)
        return
    if all(isinstance(r, Translation) for r in results):
        return show_translations(run, results, beam=beam, console=console)
    assert all(isinstance(r, Prediction) for r in results), "seqlab predict prints classes, translations, forecasts"
    classes = run.meta.get("classes", [])
    table = Table()
    for column in ("text", "class", *classes):
        table.add_column(column, justify="left" if column in ("text", "class") else "right")
    for t, p in zip(inputs, results):
        table.add_row(
            escape(t if len(t) <= 80 else t[:77] + "..."),
            f"[bold]{p.label}[/]",
            *(f"{p.probabilities[c]:.3f}" for c in classes),
        )
    console.print(table)


@app.command()
def sample(
    run_dir: Path = typer.Argument(..., help="A language-model run directory."),
    prompt: str = typer.Option("", "--prompt", "-p", help="Text to continue."),
    max_tokens: int = typer.Option(300, "--max-tokens", "-n", help="How many tokens to generate."),
    temperature: float = typer.Option(0.8, "--temperature", "-t", help="0 is greedy; higher is more random."),
    top_k: int = typer.Option(0, "--top-k", help="Sample among the k most likely tokens (0 = all)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling mass, in (0, 1] (1 = off)."),
    frequency_penalty: float = typer.Option(
        0.0, "--frequency-penalty", help="-2 to 2: lowers a token's odds each time the text repeats it."
    ),
    presence_penalty: float = typer.Option(
        0.0, "--presence-penalty", help="-2 to 2: lowers the odds of every token the text already holds."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Make the sample reproducible."),
) -> None:
    """Continue a prompt with a language-model run, streamed to the terminal.

    Seq2seq runs answer with `seqlab predict` (a translation) or `seqlab chat`.
    """
    from seqlab.run import load

    run = load(run_dir)
    # Run.sample makes the one SamplingParams, which checks every value (a bad one is an error, not a traceback)
    pieces = run.sample(
        prompt,
        max_tokens=max_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        frequency_penalty=frequency_penalty,
        presence_penalty=presence_penalty,
    )
    sys.stdout.write(prompt)
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


@app.command()
def summary(
    target: str = typer.Argument(..., help="A run directory, a recipe name or a config file."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a setting (for a recipe or config)."),
) -> None:
    """Keras-style layer table of a run's or recipe's model: output shapes and parameter counts.

    Any task; a GAN shows its generator and its discriminator.
    """
    from seqlab.config import load_config
    from seqlab.layers.summary import summary as print_summary
    from seqlab.run import load
    from seqlab.tasks import get_task

    console = _console()
    if Path(target).is_dir():
        run = load(target)
        model, config, meta = run.model, run.config, run.meta
    else:
        config = load_config(target, overrides=set_)
        task = get_task(config.task)
        # a recipe has not read its data: text tasks use stand-in sizes, others read the data's sizes
        with console.status("reading the data for its sizes..."):
            preprocessing, meta, note = task.summary_inputs(config)
        if note:
            console.print(f"[dim]{target}: {note}[/]")
        model = task.build_model(config, meta, preprocessing=preprocessing)
    for part in get_task(config.task).example_input(config, model, meta):
        if part.title:
            console.print(f"[bold]{part.title}[/]")
        print_summary(part.module, part.example, console=console)


@app.command()
def inspect(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    text: str = typer.Argument(..., help="The text to follow through the model (for seq2seq: the source)."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Where to write the heatmap PNGs (default: the run directory)."
    ),
    layer: str | None = typer.Option(
        None, "--layer", help="Only this recurrent layer (default: all); language-model and classification runs."
    ),
    beam: int | None = typer.Option(
        None, "--beam", min=1, help="seq2seq: decode with this beam width before drawing the attention."
    ),
) -> None:
    """Follow a text through a run: gates step by step, or where a translation attends.

    Language model, classifier: tokens -> ids -> padding -> gate means per step -> output, and heatmaps.

    Seq2seq: the translation, the source token each output token attended to most, and the heatmap.
    """
    from seqlab.cli.seq2seq import show_attention
    from seqlab.run import load
    from seqlab.tasks.seq2seq import AttentionView

    run = load(run_dir)
    result = run.inspect(text, out_dir=out_dir, layer=layer, beam_width=beam)
    console = _console()
    if isinstance(result, AttentionView):  # source tokens across, output tokens down
        return show_attention(result, console=console)
    classified = isinstance(result.outputs, dict)  # a classifier's class probabilities, not next tokens
    console.print(f"[bold]tokens[/] ({len(result.tokens)}): {escape(str(result.tokens))}")
    console.print(f"[bold]ids[/]: {result.ids}")
    if result.padded != result.ids:
        console.print(f"[bold]padded[/] ({run.config.data.padding}, length {len(result.padded)}): {result.padded}")
    for path, gates in result.gates.items():
        table = Table(title=f"{path}: gate means per step (over {next(iter(gates.values())).shape[-1]} units)")
        names = [g for g in gates if g not in ("hidden", "cell")]
        for column in ("step", "token", *names, "|h|", *([] if classified else ["expects next"])):
            table.add_column(column, justify="right" if column not in ("token", "expects next") else "left")
        for t in range(len(result.hidden_norms[path])):
            row = [str(t), _show_token(result.tokens[t])]
            row += [f"{float(gates[g][t].mean()):.3f}" for g in names]
            row.append(f"{float(result.hidden_norms[path][t]):.2f}")
            if not classified:
                token, prob = result.outputs[t]
                row.append(f"{_show_token(token)} ({prob:.2f})")
            table.add_row(*row)
        console.print(table)
    if isinstance(result.outputs, dict):
        console.print("[bold]output[/]: " + ", ".join(f"{k} {v:.3f}" for k, v in result.outputs.items()))
    for path in result.figure_paths:
        console.print(f"heatmap: {path}")
