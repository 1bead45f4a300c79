"""``seqlab train / evaluate / predict / sample / summary / inspect / recipes``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from seqlab.cli import app
from seqlab.errors import ConfigError, DataError


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
    run_dir: Path | None = typer.Option(
        None, "--run-dir", help="Where to write the run (default runs/<name>-<time>)."
    ),
    resume: Path | None = typer.Option(
        None, "--resume", help="Continue the run in this folder from its last checkpoint."
    ),
) -> None:
    """Train a recipe or config into a run directory, then show what it learned."""
    from seqlab.config import load_config
    from seqlab.run import resume as resume_run
    from seqlab.run import train as train_run

    console = _console()
    if resume is not None:
        if recipe or set_ or data:
            raise ConfigError("--resume continues a run with its saved config; give no recipe, --set or --data with it")
        run = resume_run(resume, console=console)
    else:
        if recipe is None:
            raise ConfigError(
                "give a recipe name or a config file, e.g. `seqlab train shakespeare-char` (see `seqlab recipes`)"
            )
        overrides = [*set_, *([f'data.dataset="{data}"'] if data else [])]
        config = load_config(recipe, overrides=overrides)
        run = train_run(config, run_dir=run_dir, console=console)
    console.print(f"\nrun saved in [bold]{run.run_dir}[/] (summary.md, curves.png, model.safetensors)")


@app.command()
def recipes(
    name: str | None = typer.Argument(None, help="Show this recipe's TOML (copy it to start a config of your own)."),
) -> None:
    """List the recipes shipped with seqlab, or show one."""
    from seqlab.config import load_config, recipe_names, recipe_text

    if name is not None:
        load_config(name)  # a clear error for an unknown name
        sys.stdout.write(recipe_text(name))
        return
    table = Table(title="seqlab recipes (seqlab recipes NAME shows one)")
    for column in ("recipe", "task", "dataset", "model", "budget"):
        table.add_column(column, overflow="fold")
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
        m = c.model
        if hasattr(m, "cell"):
            model = (
                f"{'bi' if getattr(m, 'bidirectional', False) else ''}{m.cell.upper()} {m.num_layers}x{m.hidden_size}"
            )
            model += f" + {m.attention}" if getattr(m, "attention", "none") != "none" else ""
        else:
            model = m.arch + (
                f" {m.num_layers}x{m.embed_dim}" if hasattr(m, "embed_dim") and hasattr(m, "num_layers") else ""
            )
        table.add_row(name, c.task, c.data.dataset, model, budget)
    _console().print(table)


@app.command()
def evaluate(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    data: str | None = typer.Option(
        None, "--data", help="Evaluate on this dataset name or file (all of it) instead of the run's test split."
    ),
) -> None:
    """Evaluate a trained run on its validation and test splits, or on other data."""
    from seqlab.config import with_overrides
    from seqlab.run import load
    from seqlab.tasks import get_task

    run = load(run_dir)
    console = _console()
    config = run.config
    if data:
        config = with_overrides(config, [f'data.dataset="{data}"', "data.val_fraction=0.0", "data.test_fraction=0.0"])
    _, task, _ = get_task(config.task).prepare(config, tokenizer=run.tokenizer)
    splits = ["train"] if data else ["val", "test"]
    table = Table(title=f"{run.config.name}: evaluation" + (f" on {data}" if data else ""))
    table.add_column("split")
    rows = []
    for split in splits:
        batches = task.split_batches(split)
        if len(batches):
            rows.append((("data" if data else split), task.evaluate(run.model, batches)))
    if not rows:
        raise DataError("nothing to evaluate: the splits are empty")
    names = list(rows[0][1])
    for name in names:
        table.add_column(name, justify="right")
    for split, metrics in rows:
        table.add_row(split, *(f"{metrics[n]:.4f}" for n in names))
    console.print(table)


@app.command()
def predict(
    run_dir: Path = typer.Argument(..., help="A classification run directory."),
    text: str | None = typer.Argument(None, help="The text to classify."),
    file: Path | None = typer.Option(None, "--file", "-f", help="Classify every line of this file."),
    beam: int | None = typer.Option(
        None, "--beam", min=1, help="seq2seq: beam width (1 = greedy; default: the run's data.beam_width)."
    ),
    n_best: int = typer.Option(1, "--n-best", min=1, help="seq2seq: show this many beam hypotheses per text."),
) -> None:
    """Classify a text (or every line of a file) with a trained run: class and probabilities."""
    from seqlab.run import load

    run = load(run_dir)
    if run.task == "forecast":  # no text: the next horizon after --file, or after the run's own series
        from seqlab.cli.forecast import show_forecast

        return show_forecast(run, file=file, console=_console())
    if (text is None) == (file is None):
        raise ConfigError('give either a text or --file FILE, e.g. seqlab predict RUN "a moving film"')
    if file is not None:
        if not file.is_file():
            raise DataError(f"file not found: {file}")
        texts = [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        texts = [text]
    if run.task == "seq2seq":
        from seqlab.cli.seq2seq import show_translations

        return show_translations(run, texts, beam=beam, n_best=n_best, console=_console())
    console = _console()
    classes = run.meta.get("classes", [])
    table = Table()
    for column in ("text", "class", *classes):
        table.add_column(column, justify="left" if column in ("text", "class") else "right")
    for t, p in zip(texts, run.predict(texts)):
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
    max_tokens: int = typer.Option(300, "--max-tokens", "-n", min=1, help="How many tokens to generate."),
    temperature: float = typer.Option(0.8, "--temperature", "-t", min=0.0, help="0 is greedy; higher is more random."),
    top_k: int = typer.Option(0, "--top-k", min=0, help="Sample among the k most likely tokens (0 = all)."),
    top_p: float = typer.Option(1.0, "--top-p", min=0.0, max=1.0, help="Nucleus sampling mass (1 = off)."),
    seed: int | None = typer.Option(None, "--seed", help="Make the sample reproducible."),
) -> None:
    """Generate text from a language-model run, streamed to the terminal."""
    from seqlab.run import load

    if top_p <= 0:
        raise ConfigError(f"--top-p must be in (0, 1] (got {top_p})")
    run = load(run_dir)
    sys.stdout.write(prompt)
    for piece in run.sample(
        prompt, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed
    ):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


@app.command()
def summary(
    target: str = typer.Argument(..., help="A run directory, a recipe name or a config file."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a setting (for a recipe or config)."),
) -> None:
    """Keras-style layer table of a run's or recipe's model: output shapes and parameter counts."""
    from seqlab.config import load_config, with_overrides
    from seqlab.layers.summary import summary as print_summary
    from seqlab.run import load
    from seqlab.tasks import get_task

    console = _console()
    if Path(target).is_dir():
        run = load(target)
        model, config, meta = run.model, run.config, run.meta
    else:
        config = load_config(target, overrides=set_)
        binding = get_task(config.task)
        if config.task in ("language-model", "classification", "seq2seq"):
            # the vocabulary and classes come from the data; a recipe summary uses stand-in sizes
            meta = {"classes": ["class 0", "class 1"]}
            if config.data.tokenizer == "minilm":  # a pretrained vocabulary: its true size, no data needed
                from seqlab.text import build_tokenizer

                tokenizer = build_tokenizer("minilm", [])
                console.print(f"[dim]{target}: 2 classes stand in for what the data gives[/]")
            else:
                vocab = config.data.vocab_size or 100
                tokenizer = type("Sizes", (), {"vocab_size": vocab})()
                console.print(
                    f"[dim]{target}: vocabulary size {vocab} and 2 classes stand in for what the data gives[/]"
                )
        else:
            # series columns and image sizes come from the data itself (cached after the first fetch)
            quick = with_overrides(config, ["model.judge_steps=0"]) if config.task == "gan" else config
            with console.status("reading the data for its sizes..."):
                tokenizer, _, meta = binding.prepare(quick)
        model = binding.build_model(config, tokenizer, meta)
    for title, module, example in _summary_parts(config, model, meta):
        if title:
            console.print(f"[bold]{title}[/]")
        print_summary(module, example, console=console)


def _summary_parts(config, model, meta) -> list[tuple[str, Any, Any]]:
    """(title, module, example input) for each network of a model, for `seqlab summary`."""
    import torch

    task = config.task
    if task == "forecast":
        return [("", model, torch.zeros(2, config.data.input_len, int(meta["num_inputs"])))]
    if task == "series-autoencoder":
        return [("", model, torch.zeros(2, *meta["window"]))]
    if task in ("image-classification", "autoencoder"):
        return [("", model, torch.zeros(2, *meta["image_shape"]))]
    if task == "gan":
        noise = torch.zeros(2, config.model.noise_dim)
        labels = (torch.zeros(2, dtype=torch.long),) if config.model.conditional else ()
        images = torch.zeros(2, 1, *meta.get("image_shape", (28, 28)))
        return [
            ("generator", model.generator, (noise, *labels)),
            ("discriminator", model.discriminator, (images, *labels)),
        ]
    if task == "seq2seq":
        source = torch.ones(2, min(config.data.max_source_len, 32), dtype=torch.long)
        target = torch.ones(2, min(config.data.max_target_len, 32), dtype=torch.long)
        return [("", model, (source, source != 0, target))]
    length = config.data.block_size if task == "language-model" else (config.data.max_len or 50)
    return [("", model, torch.ones(2, min(length, 64), dtype=torch.long))]


@app.command()
def inspect(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    text: str = typer.Argument(..., help="The text to follow through the model."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Where to write the heatmap PNGs (default: the run directory)."
    ),
    layer: str | None = typer.Option(None, "--layer", help="Only this recurrent layer (default: all)."),
    beam: int | None = typer.Option(
        None, "--beam", min=1, help="seq2seq: decode with this beam width before drawing the attention."
    ),
) -> None:
    """Follow a text through a run: tokens -> ids -> padding -> gates per step -> output."""
    from seqlab.inspection import inspect_text
    from seqlab.run import load

    run = load(run_dir)
    if run.task == "seq2seq":  # attention heatmap: source tokens across, output tokens down
        from seqlab.cli.seq2seq import show_attention

        return show_attention(run, text, out_dir=out_dir, beam=beam, console=_console())
    result = inspect_text(run, text, out_dir=out_dir, layer=layer)
    console = _console()
    console.print(f"[bold]tokens[/] ({len(result.tokens)}): {escape(str(result.tokens))}")
    console.print(f"[bold]ids[/]: {result.ids}")
    if result.padded != result.ids:
        console.print(f"[bold]padded[/] ({run.config.data.padding}, length {len(result.padded)}): {result.padded}")
    for path, gates in result.gates.items():
        table = Table(title=f"{path}: gate means per step (over {next(iter(gates.values())).shape[-1]} units)")
        names = [g for g in gates if g not in ("hidden", "cell")]
        for column in ("step", "token", *names, "|h|", *(["expects next"] if run.task != "classification" else [])):
            table.add_column(column, justify="right" if column not in ("token", "expects next") else "left")
        for t in range(len(result.hidden_norms[path])):
            row = [str(t), _show_token(result.tokens[t])]
            row += [f"{float(gates[g][t].mean()):.3f}" for g in names]
            row.append(f"{float(result.hidden_norms[path][t]):.2f}")
            if run.task != "classification":
                token, prob = result.outputs[t]
                row.append(f"{_show_token(token)} ({prob:.2f})")
            table.add_row(*row)
        console.print(table)
    if run.task == "classification":
        console.print("[bold]output[/]: " + ", ".join(f"{k} {v:.3f}" for k, v in result.outputs.items()))
    for path in result.figure_paths:
        console.print(f"heatmap: {path}")
