"""``seqlab data list | show NAME|FILE | fetch NAME``: the dataset catalog from the terminal."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from seqlab.cli import app

data_app = typer.Typer(
    help="Real datasets: list the catalog, fetch one into the cache, show what is inside.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


def _console() -> Console:
    # made per command so that tests capturing stdout see the output
    return Console(highlight=False, soft_wrap=False)


@data_app.command("list")
def list_datasets() -> None:
    """List the named datasets: shape, size, licence and whether they are cached."""
    from seqlab.data import CATALOG, cache_dir, is_cached

    console = _console()
    table = Table(title="seqlab datasets", title_justify="left")
    for column in ("name", "shape", "size", "licence", "cached"):
        table.add_column(column, overflow="fold")
    for spec in CATALOG.values():
        cached = Text("yes", style="green") if is_cached(spec) else Text("no", style="dim")
        name = Text(spec.name, style="bold").append(Text("\n" + spec.description, style="dim"))
        table.add_row(name, spec.shape, spec.size, spec.licence, cached)
    console.print(table)
    console.print(
        Text(f"cache: {cache_dir()} (set SEQLAB_CACHE to move it); fetch one with: seqlab data fetch NAME", style="dim")
    )


@data_app.command("fetch")
def fetch_command(
    name: str = typer.Argument(..., help="A dataset name from `seqlab data list`."),
    force: bool = typer.Option(False, "--force", help="Download again even if a good copy is cached."),
) -> None:
    """Download a dataset into the cache (sha256-checked) and say which source was used."""
    from seqlab.data import fetch_dataset, get_spec

    console = _console()
    spec = get_spec(name)
    with console.status(f"fetching {spec.name} ...") as status:

        def log(line: str) -> None:
            status.update(f"{spec.name}: {line} ...")
            console.print(Text(f"  {line}", style="dim"))

        result = fetch_dataset(spec, log=log, force=force)
    size = result.path.stat().st_size
    where = "already cached" if result.from_cache else f"fetched from {result.source}"
    console.print(Text(f"{spec.name}: {where}, sha256 ok, {size:,} bytes"))
    console.print(Text(str(result.path)))


@data_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="A dataset name or a .txt/.csv/.tsv/.jsonl file."),
    samples: int = typer.Option(3, "--samples", "-n", min=0, help="How many examples to print."),
    val_fraction: float = typer.Option(0.05, "--val-fraction", help="Validation share for the split summary."),
    test_fraction: float = typer.Option(0.05, "--test-fraction", help="Test share for the split summary."),
    seed: int = typer.Option(0, "--seed", help="Seed for the split and the samples."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str = typer.Option("label", "--label-column"),
    source_column: str = typer.Option("source", "--source-column"),
    target_column: str = typer.Option("target", "--target-column"),
    limit: int = typer.Option(0, "--limit", min=0, help="Only the first N characters or records; 0 = all."),
) -> None:
    """Show counts, splits, length statistics and a few samples of a dataset or file."""
    from seqlab.data import CATALOG, Corpus, LabelledTexts, fetch_dataset, load_dataset

    console = _console()
    if name in CATALOG:
        spec = CATALOG[name]
        with console.status(f"fetching {name} ..."):
            result = fetch_dataset(spec)
        origin = "cached" if result.from_cache else f"fetched from {result.source}"
        console.print(Text(f"{name}: {spec.description}", style="bold"))
        console.print(Text(f"{spec.shape}, {spec.licence}; {origin}: {result.path}", style="dim"))
    shape = CATALOG[name].shape if name in CATALOG else None
    if shape == "series":
        _show_series(console, name, limit, samples)
        return
    if shape == "images":
        _show_images(console, name, limit)
        return
    if shape == "vectors":
        _show_vectors(console, name, samples)
        return
    data = load_dataset(
        name,
        text_column=text_column,
        label_column=label_column,
        source_column=source_column,
        target_column=target_column,
        limit=limit,
    )
    if name not in CATALOG:
        console.print(Text(f"{Path(name)}: {type(data).__name__.lower()}", style="bold"))
    rng = random.Random(seed)
    if isinstance(data, Corpus):
        _show_corpus(console, data.text, val_fraction, test_fraction, samples, rng)
    elif isinstance(data, LabelledTexts):
        _show_labelled(console, data, val_fraction, test_fraction, seed, samples, rng)
    else:
        _show_pairs(console, data, val_fraction, test_fraction, seed, samples, rng)


def _show_series(console: Console, name: str, limit: int, samples: int) -> None:
    from seqlab.data.series import load_series

    series = load_series(name, limit=limit)
    values = series.values  # (N, C)
    console.print(
        f"{len(values):,} time steps x {values.shape[1]} column(s): {', '.join(series.columns)}; "
        f"{series.times[0]} .. {series.times[-1]}; {series.filled} missing value(s) filled"
    )
    table = Table(title="values")
    for column in ("column", "min", "median", "mean", "max"):
        table.add_column(column, justify="right" if column != "column" else "left")
    for i, column in enumerate(series.columns):
        col = sorted(float(v) for v in values[:, i])
        table.add_row(
            column,
            f"{col[0]:,.3f}",
            f"{statistics.median(col):,.3f}",
            f"{statistics.fmean(col):,.3f}",
            f"{col[-1]:,.3f}",
        )
    console.print(table)
    if samples:
        rows = Table(title=f"first {samples} time steps")
        for column in ("time", *series.columns):
            rows.add_column(str(column))
        for t in range(min(samples, len(values))):
            rows.add_row(str(series.times[t]), *(f"{float(v):,.3f}" for v in values[t]))
        console.print(rows)


def _show_images(console: Console, name: str, limit: int) -> None:
    from collections import Counter

    from seqlab.data.images import load_images

    images = load_images(name, limit=limit)
    test = 0 if images.test_pixels is None else len(images.test_pixels)
    console.print(
        f"{len(images.pixels):,} training images{f' + {test:,} test images' if test else ''}, "
        f"{'x'.join(str(d) for d in images.pixels.shape[1:])} pixels, {len(images.classes)} classes"
    )
    counts = Counter(int(label) for label in images.labels)
    table = Table(title="training images per class")
    table.add_column("class")
    table.add_column("images", justify="right")
    for index, cls in enumerate(images.classes):
        table.add_row(str(cls), f"{counts.get(index, 0):,}")
    console.print(table)


_PROBE_WORDS = ("good", "boring", "film", "funny", "masterpiece", "plot", "actor", "terrible")


def _show_vectors(console: Console, name: str, samples: int) -> None:
    import numpy as np

    from seqlab.data.vectors import load_vectors
    from seqlab.text.minilm import MiniLMTokenizer

    vectors = load_vectors(name)
    tokenizer = MiniLMTokenizer.from_tokenizer_json(vectors.tokenizer_json)
    norms = np.linalg.norm(vectors.matrix, axis=1)  # (V,)
    console.print(
        f"{vectors.vocab_size:,} word pieces x {vectors.embed_dim} dimensions; vector norm median "
        f"{float(np.median(norms)):.3f}, max {float(norms.max()):.3f}"
    )
    example = "A gripping, beautifully acted film."
    console.print(
        Text(f"{example} -> ", style="dim")
        .append(" ".join(tokenizer.tokenize(example)))
        .append(Text(f"  {tokenizer.encode(example)}", style="dim"))
    )
    unit = vectors.matrix / np.maximum(norms, 1e-12)[:, None]  # (V, E)
    table = Table(title="nearest word pieces by cosine similarity", title_justify="left")
    table.add_column("word")
    table.add_column("neighbours")
    for word in _PROBE_WORDS[:samples]:
        i = tokenizer.token_to_id(word)
        if i is None:
            continue
        nearest = np.argsort(-(unit @ unit[i]))[1:9]
        table.add_row(word, ", ".join(tokenizer.id_to_token(int(j)) for j in nearest))
    console.print(table)


def _stats_row(table: Table, what: str, values: list[int]) -> None:
    table.add_row(
        what,
        f"{min(values):,}",
        f"{statistics.median(values):,.0f}",
        f"{statistics.fmean(values):,.1f}",
        f"{max(values):,}",
    )


def _length_table(columns: dict[str, list[str]]) -> Table:
    table = Table(title="lengths", title_justify="left")
    for column in ("", "min", "median", "mean", "max"):
        table.add_column(column, justify="right" if column else "left")
    for what, texts in columns.items():
        _stats_row(table, f"{what} characters", [len(t) for t in texts])
        _stats_row(table, f"{what} words", [len(t.split()) for t in texts])
    return table


def _show_corpus(console: Console, text: str, val: float, test: float, samples: int, rng: random.Random) -> None:
    from seqlab.data import split_corpus

    train, valid, tested = split_corpus(text, val, test)
    lines = text.split("\n")
    console.print(
        f"characters {len(text):,}   words {len(text.split()):,}   lines {len(lines):,}   "
        f"distinct characters {len(set(text)):,}"
    )
    console.print(f"split (contiguous): train {len(train):,}   val {len(valid):,}   test {len(tested):,} characters")
    console.print(_length_table({"line": [line for line in lines if line.strip()]}))
    for k in range(samples):
        start = rng.randrange(max(1, len(text) - 300))
        start = text.find("\n", start) + 1 if "\n" in text[start:] else start
        console.print(Text(f"--- sample {k + 1} (character {start:,})", style="dim"))
        console.print(Text(text[start : start + 300].rstrip()))


def _show_labelled(
    console: Console, data, val: float, test: float, seed: int, samples: int, rng: random.Random
) -> None:
    from seqlab.data import split_indices

    counts = Counter(data.labels)
    console.print(f"examples {len(data):,}   classes {len(data.classes)}")
    table = Table(title="classes", title_justify="left")
    for column, justify in (("class", "left"), ("examples", "right"), ("share", "right")):
        table.add_column(column, justify=justify)
    for index, name in enumerate(data.classes):
        table.add_row(name, f"{counts[index]:,}", f"{counts[index] / len(data):.1%}")
    console.print(table)
    train, valid, tested = split_indices(len(data), val, test, seed, stratify=data.labels)
    console.print(f"split (seed {seed}, stratified): train {len(train):,}   val {len(valid):,}   test {len(tested):,}")
    console.print(_length_table({"text": list(data.texts)}))
    for i in rng.sample(range(len(data)), min(samples, len(data))):
        console.print(Text(f"[{data.classes[data.labels[i]]}] ", style="bold").append(Text(data.texts[i], style="")))


def _show_pairs(console: Console, data, val: float, test: float, seed: int, samples: int, rng: random.Random) -> None:
    from seqlab.data import split_indices

    console.print(f"pairs {len(data):,}")
    if data.languages:
        console.print("languages: " + ", ".join(f"{k} {v:,}" for k, v in sorted(Counter(data.languages).items())))
    train, valid, tested = split_indices(len(data), val, test, seed)
    console.print(f"split (seed {seed}): train {len(train):,}   val {len(valid):,}   test {len(tested):,}")
    console.print(_length_table({"source": list(data.sources), "target": list(data.targets)}))
    for i in rng.sample(range(len(data)), min(samples, len(data))):
        console.print(
            Text("> ", style="dim").append(data.sources[i]).append(Text("\n< ", style="dim")).append(data.targets[i])
        )
