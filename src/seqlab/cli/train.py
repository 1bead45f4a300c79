"""``seqlab train / evaluate / predict / sample / summary / inspect / recipes``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from seqlab.cli import app, device_option, device_overrides
from seqlab.cli.output import JSON_OPTION, Column, Rows, print_json, print_line, print_rows
from seqlab.errors import ConfigError

if TYPE_CHECKING:
    from seqlab.run import Run


def _console() -> Console:
    return Console(highlight=False)


def _show_token(token: str) -> str:
    """A token made visible in a table: spaces and newlines as symbols.

    >>> _show_token(" a\\n"), _show_token("")
    ('␣a↵', '∅')
    """
    return token.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


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
    device: str | None = device_option(trains=True),
    nproc: int = typer.Option(
        1, "--nproc", min=1, help="Train in this many processes on this machine (data-parallel, through torchrun)."
    ),
    nnodes: int = typer.Option(1, "--nnodes", min=1, help="Machines training together (each runs this command)."),
    node_rank: int | None = typer.Option(
        None, "--node-rank", min=0, help="This machine's number among --nnodes, 0 .. nnodes-1 (default: assigned)."
    ),
    rdzv_endpoint: str | None = typer.Option(
        None, "--rdzv-endpoint", help="HOST:PORT where the machines meet (one of them; the same on every machine)."
    ),
    tensorboard: bool = typer.Option(
        False, "--tensorboard", help="Write TensorBoard event files to RUN/tensorboard/ (sets train.tensorboard)."
    ),
) -> None:
    """Train a recipe or config into a run directory, then show what it learned.

    Every task: language models, text classifiers, seq2seq, forecasters, image models, autoencoders, GANs.

    --nproc N trains one model in N processes through PyTorch's torchrun (--nnodes etc. for several machines).
    """
    from seqlab.config import load_config
    from seqlab.distributed import DistributedContext
    from seqlab.run import default_run_dir
    from seqlab.run import resume as resume_run
    from seqlab.run import train as train_run

    if resume is not None and (recipe or set_ or data or force):
        raise ConfigError(
            "--resume continues a run with its saved config; give no recipe, --set, --data or --force with it"
        )
    if resume is None and recipe is None:
        raise ConfigError(
            "give a recipe name or a config file, e.g. `seqlab train shakespeare-char` (see `seqlab recipes`)"
        )
    tracking = ["train.tensorboard=true"] if tensorboard else []
    overrides = [*set_, *tracking, *([f'data.dataset="{data}"'] if data else []), *device_overrides(device)]
    ranks = DistributedContext.from_env()
    if (nproc > 1 or nnodes > 1) and not ranks.is_distributed:
        if resume is None and run_dir is None:  # chosen here: each process would name its own by the clock
            run_dir = default_run_dir(load_config(recipe or "", overrides=overrides).name)
        argv = torchrun_train_argv(
            recipe=recipe,
            set_=set_,
            data=data,
            run_dir=run_dir,
            resume=resume,
            force=force,
            device=device,
            nproc=nproc,
            nnodes=nnodes,
            node_rank=node_rank,
            rdzv_endpoint=rdzv_endpoint,
        ) + (["--tensorboard"] if tensorboard else [])
        raise typer.Exit(subprocess.run(argv).returncode)

    console = _console()
    if resume is not None:
        saved = resume / "config.toml"
        if (device is not None or tensorboard) and saved.is_file():  # the saved config, changed by these flags
            run = train_run(load_config(saved, overrides=overrides), run_dir=resume, console=console, resume=True)
        else:
            run = resume_run(resume, console=console)
    else:
        config = load_config(recipe or "", overrides=overrides)
        run = train_run(config, run_dir=run_dir, console=console, force=force)
    if ranks.is_main:
        console.print(f"\nrun saved in [bold]{run.run_dir}[/] (summary.md, curves.png, model.safetensors)")


def torchrun_train_argv(
    *,
    recipe: str | None,
    set_: list[str],
    data: str | None,
    run_dir: Path | None,
    resume: Path | None,
    force: bool,
    device: str | None,
    nproc: int,
    nnodes: int = 1,
    node_rank: int | None = None,
    rdzv_endpoint: str | None = None,
) -> list[str]:
    """The torchrun command for ``seqlab train ... --nproc N``: the same training options, in N processes.

    Args:
        recipe, set_, data, run_dir, resume, force, device: the ``seqlab train`` options, passed on.
        nproc, nnodes, node_rank, rdzv_endpoint: where the processes run (torchrun's options).

    >>> argv = torchrun_train_argv(recipe="shakespeare-char", set_=["train.max_steps=6"], data=None,
    ...     run_dir=Path("runs/x"), resume=None, force=False, device="cpu", nproc=2)
    >>> argv[1:]
    ['-m', 'torch.distributed.run', '--nproc-per-node', '2', '--standalone', '-m', 'seqlab', 'train',
     'shakespeare-char', '--set', 'train.max_steps=6', '--run-dir', 'runs/x', '--device', 'cpu']
    """
    from seqlab.distributed import torchrun_argv

    args = ["train", *([recipe] if recipe else [])]
    for value in set_:
        args += ["--set", value]
    for flag, option in (("--data", data), ("--run-dir", run_dir), ("--resume", resume), ("--device", device)):
        if option is not None:
            args += [flag, str(option)]
    if force:
        args.append("--force")
    return torchrun_argv(args, nproc=nproc, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint)


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
    device: str | None = device_option(trains=False),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate a trained run on its validation and test splits, or on other data.

    Any task, with its own metrics (loss, bits per token, accuracy and F1, BLEU, forecast error...).
    """
    from seqlab.run import load

    run = load(run_dir, device=device)
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
    device: str | None = device_option(trains=False),
    as_json: bool = JSON_OPTION,
) -> None:
    """Predict with a trained run: classify a text, translate it, or forecast what comes next.

    Classification: the class and its probabilities, for a text or every line of --file.

    Seq2seq: the translation, greedy or by beam search (--beam; --n-best shows alternatives).

    Forecast: the next horizon after the series in --file, or after the run's own series.
    """
    from seqlab.run import load

    run = load(run_dir, device=device)
    inputs = run.kind.read_inputs(run, text, file)  # texts, or the series a forecast continues
    results = run.predict(inputs, beam_width=beam, n_best=n_best)
    _show_predictions(run, inputs, results, beam=beam, console=_console(), as_json=as_json)


def _show_predictions(
    run: Run, inputs: list[Any], results: list[Any], *, beam: int | None, console: Console, as_json: bool
) -> None:
    """Print what ``run.predict`` returned, by its type: classes, translations or forecasts."""
    from seqlab.cli.forecast import forecast_record, forecast_rows
    from seqlab.cli.seq2seq import translation_rows
    from seqlab.tasks.classification import Prediction
    from seqlab.tasks.forecast import Forecast
    from seqlab.tasks.seq2seq import Translation

    if all(isinstance(r, Forecast) for r in results):
        if as_json:  # one object per series continued
            return print_json([forecast_record(run, result) for result in results], console=console)
        for result in results:
            print_rows(forecast_rows(run, result), console=console, title_in_pipe=True)
        return None
    if all(isinstance(r, Translation) for r in results):
        return print_rows(translation_rows(run, results, beam=beam), console=console, as_json=as_json)
    assert all(isinstance(r, Prediction) for r in results), "seqlab predict prints classes, translations, forecasts"
    classes = run.meta.get("classes", [])
    # the text last: in a terminal it folds there, in a pipe each line ends with it whole
    table = Rows(
        [Column("class", style="bold"), *(Column(c, format=".3f") for c in classes), "text"],
        [[p.label, *(float(p.probabilities[c]) for c in classes), t] for t, p in zip(inputs, results)],
    )
    print_rows(table, console=console, as_json=as_json)
    return None


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
    device: str | None = device_option(trains=False),
) -> None:
    """Continue a prompt with a language-model run, streamed to the terminal.

    Seq2seq runs answer with `seqlab predict` (a translation) or `seqlab chat`.
    """
    from seqlab.run import load

    run = load(run_dir, device=device)
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
    as_json: bool = JSON_OPTION,
) -> None:
    """Keras-style layer table of a run's or recipe's model: output shapes and parameter counts.

    Any task; a GAN shows its generator and its discriminator. It runs one example input on the CPU.
    """
    from io import StringIO

    from seqlab.config import load_config
    from seqlab.layers.summary import summary as layer_summary
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
        with Console(stderr=True).status("reading the data for its sizes..."):
            preprocessing, meta, note = task.summary_inputs(config)
        if note and not as_json:
            print_line(f"{target}: {note}", console=console, style="dim")
        model = task.build_model(config, meta, preprocessing=preprocessing)
    parts = []
    for part in get_task(config.task).example_input(config, model, meta):
        table = layer_summary(part.module, part.example, console=Console(file=StringIO()))
        parts.append((part.title, table))
    if as_json:
        records = []
        for title, table in parts:
            layers = Rows(
                ["name", "type", "output_shape", "params", "trainable_params", "calls"],
                [[r.name, r.layer_type, r.output_shape, r.params, r.trainable_params, r.calls] for r in table.rows],
            )
            records.append(
                {
                    "part": title or None,
                    "title": table.title,
                    "layers": layers.records(),
                    "total_params": table.total_params,
                    "trainable_params": table.trainable_params,
                    "non_trainable_params": table.non_trainable_params,
                    "total_bytes": table.total_bytes,
                    "notes": table.notes,
                }
            )
        return print_json(records, console=console)
    for title, table in parts:
        if title:
            print_line(title, console=console, style="bold")
        if console.is_terminal:  # the Keras-style table, with the totals under it
            console.print(table)
            continue
        layers = Rows(
            [Column("layer (type)"), Column("output shape"), Column("params", format=",")],
            [
                [f"{r.name} ({r.layer_type})" + (f" x{r.calls} calls" if r.calls > 1 else ""), r.output_shape, r.params]
                for r in table.rows
            ],
            title=table.title,
        )
        print_rows(layers, console=console, title_in_pipe=True)
        print_line(f"Total params: {table.total_params:,}", console=console)
        print_line(f"Trainable params: {table.trainable_params:,}", console=console)
        print_line(f"Non-trainable params: {table.non_trainable_params:,}", console=console)
        for note in table.notes:
            print_line(note, console=console)
    return None


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
    device: str | None = device_option(trains=False),
    as_json: bool = JSON_OPTION,
) -> None:
    """Follow a text through a run: gates step by step, or where a translation attends.

    Language model, classifier: tokens -> ids -> padding -> gate means per step -> output, and heatmaps.

    Seq2seq: the translation, the source token each output token attended to most, and the heatmap.
    """
    from seqlab.cli.seq2seq import show_attention
    from seqlab.run import load
    from seqlab.tasks.seq2seq import AttentionView

    run = load(run_dir, device=device)
    result = run.inspect(text, out_dir=out_dir, layer=layer, beam_width=beam)
    console = _console()
    if isinstance(result, AttentionView):  # source tokens across, output tokens down
        return show_attention(result, console=console, as_json=as_json)
    classified = isinstance(result.outputs, dict)  # a classifier's class probabilities, not next tokens
    tables = {}
    for path, gates in result.gates.items():
        names = [g for g in gates if g not in ("hidden", "cell")]
        columns: list[Column | str] = [Column("step", right=True), "token", *(Column(g, format=".3f") for g in names)]
        columns.append(Column("|h|", format=".2f", key="hidden_norm"))
        if not classified:
            columns += [Column("expects next", key="expects_next"), Column("p", format=".2f", key="probability")]
        rows = []
        for t in range(len(result.hidden_norms[path])):
            row: list[Any] = [t, result.tokens[t] if as_json else _show_token(result.tokens[t])]
            row += [float(gates[g][t].mean()) for g in names]
            row.append(float(result.hidden_norms[path][t]))
            if not classified:
                token, prob = result.outputs[t]
                row += [token if as_json else _show_token(token), float(prob)]
            rows.append(row)
        units = next(iter(gates.values())).shape[-1]
        tables[path] = Rows(columns, rows, title=f"{path}: gate means per step (over {units} units)")
    figures = [str(path) for path in result.figure_paths]
    if as_json:
        return print_json(
            {
                "tokens": result.tokens,
                "ids": result.ids,
                "padded": result.padded,
                "layers": {path: table.records() for path, table in tables.items()},
                "outputs": result.outputs if isinstance(result.outputs, dict) else None,
                "figures": figures,
            },
            console=console,
        )
    print_line(f"tokens ({len(result.tokens)}): {result.tokens}", console=console)
    print_line(f"ids: {result.ids}", console=console)
    if result.padded != result.ids:
        padding = f"padded ({run.config.data.padding}, length {len(result.padded)}): {result.padded}"
        print_line(padding, console=console)
    for table in tables.values():
        print_rows(table, console=console, title_in_pipe=True)
    if isinstance(result.outputs, dict):
        print_line("output: " + ", ".join(f"{k} {v:.3f}" for k, v in result.outputs.items()), console=console)
    for figure in figures:
        print_line(f"heatmap: {figure}", console=console)
    return None
