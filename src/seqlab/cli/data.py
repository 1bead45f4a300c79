"""``seqlab data list | show NAME|FILE | fetch NAME``: the dataset catalog from the terminal."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from seqlab.cli import app
from seqlab.cli.output import JSON_OPTION, Column, Rows, print_json, print_rows

data_app = typer.Typer(
    help="Real datasets: list the catalog, fetch one into the cache, show what is inside.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


def _console() -> Console:
    # made per command so that tests capturing stdout see the output; soft wrap: a pipe gets whole lines
    return Console(highlight=False, soft_wrap=True)


def _status_console() -> Console:
    # spinners go to stderr: standard output keeps only the data (and stays valid JSON with --json)
    return Console(stderr=True, highlight=False)


@data_app.command("list")
def list_datasets(as_json: bool = JSON_OPTION) -> None:
    """List the named datasets: shape, size, licence, whether they are cached, and what they hold."""
    from seqlab.data import CATALOG, cache_dir, is_cached

    console = _console()
    rows = Rows(
        ["name", "shape", "size", "licence", "cached", Column("description", style="dim")],
        [[s.name, s.shape, s.size, s.licence, is_cached(s), s.description] for s in CATALOG.values()],
        title="seqlab datasets",
    )
    print_rows(rows, console=console, as_json=as_json)
    if console.is_terminal and not as_json:
        console.print(
            Text(
                f"cache: {cache_dir()} (set SEQLAB_CACHE to move it); fetch one with: seqlab data fetch NAME",
                style="dim",
            )
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


@dataclass
class Shown:
    """What ``seqlab data show`` found: summary lines and facts, tables, samples.

    Args:
        lines: the summary, as people read it.
        facts: the same numbers for ``--json``.
        tables: named tables (``--json`` keys them by name).
        samples: a few examples as plain values, for ``--json``.
        sample_texts: the same examples as people read them.
    """

    lines: list[Text | str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Rows] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    sample_texts: list[Text] = field(default_factory=list)


@data_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="A dataset name or a .txt/.csv/.tsv/.jsonl file."),
    samples: int = typer.Option(3, "--samples", "-n", min=0, help="How many examples to print."),
    val_fraction: float = typer.Option(0.05, "--val-fraction", help="Validation share for the split summary."),
    test_fraction: float = typer.Option(0.05, "--test-fraction", help="Test share for the split summary."),
    seed: int = typer.Option(0, "--seed", help="Seed for the split and the samples."),
    text_column: str = typer.Option("text", "--text-column", help="Column of a .csv/.tsv/.jsonl file with the text."),
    label_column: str = typer.Option("label", "--label-column", help="Column with the class label (labelled texts)."),
    source_column: str = typer.Option(
        "source", "--source-column", help="Column with the source side of a pair (seq2seq)."
    ),
    target_column: str = typer.Option(
        "target", "--target-column", help="Column with the target side of a pair (seq2seq)."
    ),
    limit: int = typer.Option(0, "--limit", min=0, help="Only the first N characters or records; 0 = all."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show counts, splits, length statistics and a few samples of a dataset or file.

    Texts and pairs: splits and lengths. Series: value statistics. Images: counts. Vectors: neighbours.
    """
    from seqlab.data import CATALOG, Corpus, LabelledTexts, fetch_dataset, load_dataset

    console = _console()
    header = Shown()
    if name in CATALOG:
        spec = CATALOG[name]
        with _status_console().status(f"fetching {name} ..."):
            result = fetch_dataset(spec)
        origin = "cached" if result.from_cache else f"fetched from {result.source}"
        header.lines += [
            Text(f"{name}: {spec.description}", style="bold"),
            Text(f"{spec.shape}, {spec.licence}; {origin}: {result.path}", style="dim"),
        ]
        header.facts.update(
            dataset=name, description=spec.description, shape=spec.shape, licence=spec.licence, path=str(result.path)
        )
    shape = CATALOG[name].shape if name in CATALOG else None
    if shape == "series":
        shown = _show_series(name, limit, samples)
    elif shape == "images":
        shown = _show_images(name, limit)
    elif shape == "vectors":
        shown = _show_vectors(name, samples)
    else:
        data = load_dataset(
            name,
            text_column=text_column,
            label_column=label_column,
            source_column=source_column,
            target_column=target_column,
            limit=limit,
        )
        if name not in CATALOG:
            kind = type(data).__name__.lower()
            header.lines.append(Text(f"{Path(name)}: {kind}", style="bold"))
            header.facts.update(file=str(Path(name)), shape={"labelledtexts": "labelled"}.get(kind, kind))
        rng = random.Random(seed)
        if isinstance(data, Corpus):
            shown = _show_corpus(data.text, val_fraction, test_fraction, samples, rng)
        elif isinstance(data, LabelledTexts):
            shown = _show_labelled(data, val_fraction, test_fraction, seed, samples, rng)
        else:
            shown = _show_pairs(data, val_fraction, test_fraction, seed, samples, rng)
    if as_json:
        print_json(
            {
                **header.facts,
                **shown.facts,
                "tables": {key: rows.records() for key, rows in shown.tables.items()},
                "samples": shown.samples,
            },
            console=console,
        )
        return
    for line in [*header.lines, *shown.lines]:
        console.print(line)
    for rows in shown.tables.values():
        print_rows(rows, console=console)
    for text in shown.sample_texts:
        console.print(text)


def _show_series(name: str, limit: int, samples: int) -> Shown:
    from seqlab.data.series import load_series

    series = load_series(name, limit=limit)
    values = series.values  # (N, C)
    shown = Shown()
    shown.lines.append(
        f"{len(values):,} time steps x {values.shape[1]} column(s): {', '.join(series.columns)}; "
        f"{series.times[0]} .. {series.times[-1]}; {series.filled} missing value(s) filled"
    )
    shown.facts.update(
        time_steps=len(values),
        columns=list(series.columns),
        first=str(series.times[0]),
        last=str(series.times[-1]),
        filled=int(series.filled),
    )
    stats = []
    for i, column in enumerate(series.columns):
        col = sorted(float(v) for v in values[:, i])
        stats.append([column, col[0], statistics.median(col), statistics.fmean(col), col[-1]])
    number = ",.3f"
    shown.tables["values"] = Rows(
        ["column", *(Column(c, format=number) for c in ("min", "median", "mean", "max"))], stats, title="values"
    )
    if samples:
        shown.tables["first_time_steps"] = Rows(
            ["time", *(Column(str(c), format=number) for c in series.columns)],
            [[str(series.times[t]), *(float(v) for v in values[t])] for t in range(min(samples, len(values)))],
            title=f"first {samples} time steps",
        )
    return shown


def _show_images(name: str, limit: int) -> Shown:
    from seqlab.data.images import load_images

    images = load_images(name, limit=limit)
    test = 0 if images.test_pixels is None else len(images.test_pixels)
    shape = [int(d) for d in images.pixels.shape[1:]]
    shown = Shown()
    shown.lines.append(
        f"{len(images.pixels):,} training images{f' + {test:,} test images' if test else ''}, "
        f"{'x'.join(str(d) for d in shape)} pixels, {len(images.classes)} classes"
    )
    shown.facts.update(training_images=len(images.pixels), test_images=test, image_shape=shape)
    counts = Counter(int(label) for label in images.labels)
    shown.tables["images_per_class"] = Rows(
        ["class", Column("images", format=",")],
        [[str(cls), counts.get(index, 0)] for index, cls in enumerate(images.classes)],
        title="training images per class",
    )
    return shown


_PROBE_WORDS = ("good", "boring", "film", "funny", "masterpiece", "plot", "actor", "terrible")


def _show_vectors(name: str, samples: int) -> Shown:
    import numpy as np

    from seqlab.data.vectors import load_vectors
    from seqlab.text.minilm import MiniLMTokenizer

    vectors = load_vectors(name)
    tokenizer = MiniLMTokenizer.from_tokenizer_json(vectors.tokenizer_json)
    norms = np.linalg.norm(vectors.matrix, axis=1)  # (V,)
    shown = Shown()
    shown.lines.append(
        f"{vectors.vocab_size:,} word pieces x {vectors.embed_dim} dimensions; vector norm median "
        f"{float(np.median(norms)):.3f}, max {float(norms.max()):.3f}"
    )
    example = "A gripping, beautifully acted film."
    pieces, ids = tokenizer.tokenize(example), tokenizer.encode(example)
    shown.lines.append(
        Text(f"{example} -> ", style="dim").append(" ".join(pieces)).append(Text(f"  {ids}", style="dim"))
    )
    shown.facts.update(
        vocab_size=vectors.vocab_size,
        embed_dim=vectors.embed_dim,
        norm_median=float(np.median(norms)),
        norm_max=float(norms.max()),
        example={"text": example, "word_pieces": list(pieces), "ids": list(ids)},
    )
    unit = vectors.matrix / np.maximum(norms, 1e-12)[:, None]  # (V, E)
    rows = []
    for word in _PROBE_WORDS[:samples]:
        i = tokenizer.token_to_id(word)
        if i is None:
            continue
        nearest = np.argsort(-(unit @ unit[i]))[1:9]
        rows.append([word, ", ".join(tokenizer.id_to_token(int(j)) for j in nearest)])
    shown.tables["neighbours"] = Rows(["word", "neighbours"], rows, title="nearest word pieces by cosine similarity")
    return shown


def _length_rows(columns: dict[str, list[str]]) -> Rows:
    rows: list[list[Any]] = []
    for what, texts in columns.items():
        for unit, lengths in (("characters", [len(t) for t in texts]), ("words", [len(t.split()) for t in texts])):
            rows.append(
                [f"{what} {unit}", min(lengths), statistics.median(lengths), statistics.fmean(lengths), max(lengths)]
            )
    return Rows(
        [
            "length",
            Column("min", format=","),
            Column("median", format=",.0f"),
            Column("mean", format=",.1f"),
            Column("max", format=","),
        ],
        rows,
        title="lengths",
    )


def _split_facts(train: int, val: int, test: int, **how: Any) -> dict[str, Any]:
    return {"split": {"train": train, "val": val, "test": test, **how}}


def _show_corpus(text: str, val: float, test: float, samples: int, rng: random.Random) -> Shown:
    from seqlab.data import split_corpus

    train, valid, tested = split_corpus(text, val, test)
    lines = text.split("\n")
    shown = Shown()
    shown.lines += [
        f"characters {len(text):,}   words {len(text.split()):,}   lines {len(lines):,}   "
        f"distinct characters {len(set(text)):,}",
        f"split (contiguous): train {len(train):,}   val {len(valid):,}   test {len(tested):,} characters",
    ]
    shown.facts.update(
        characters=len(text),
        words=len(text.split()),
        lines=len(lines),
        distinct_characters=len(set(text)),
        **_split_facts(len(train), len(valid), len(tested), unit="characters", contiguous=True),
    )
    shown.tables["lengths"] = _length_rows({"line": [line for line in lines if line.strip()]})
    for k in range(samples):
        start = rng.randrange(max(1, len(text) - 300))
        start = text.find("\n", start) + 1 if "\n" in text[start:] else start
        sample = text[start : start + 300].rstrip()
        shown.samples.append({"start": start, "text": sample})
        shown.sample_texts += [Text(f"--- sample {k + 1} (character {start:,})", style="dim"), Text(sample)]
    return shown


def _show_labelled(data, val: float, test: float, seed: int, samples: int, rng: random.Random) -> Shown:
    from seqlab.data import split_indices

    counts = Counter(data.labels)
    shown = Shown()
    shown.lines.append(f"examples {len(data):,}   classes {len(data.classes)}")
    shown.tables["classes"] = Rows(
        ["class", Column("examples", format=","), Column("share", format=".1%")],
        [[name, counts[index], counts[index] / len(data)] for index, name in enumerate(data.classes)],
        title="classes",
    )
    train, valid, tested = split_indices(len(data), val, test, seed, stratify=data.labels)
    shown.lines.append(
        f"split (seed {seed}, stratified): train {len(train):,}   val {len(valid):,}   test {len(tested):,}"
    )
    shown.facts.update(
        examples=len(data),
        classes=list(data.classes),
        **_split_facts(len(train), len(valid), len(tested), seed=seed, stratified=True),
    )
    shown.tables["lengths"] = _length_rows({"text": list(data.texts)})
    for i in rng.sample(range(len(data)), min(samples, len(data))):
        label = data.classes[data.labels[i]]
        shown.samples.append({"label": label, "text": data.texts[i]})
        shown.sample_texts.append(Text(f"[{label}] ", style="bold").append(Text(data.texts[i], style="")))
    return shown


def _show_pairs(data, val: float, test: float, seed: int, samples: int, rng: random.Random) -> Shown:
    from seqlab.data import split_indices

    shown = Shown()
    shown.lines.append(f"pairs {len(data):,}")
    shown.facts["pairs"] = len(data)
    if data.languages:
        languages = dict(sorted(Counter(data.languages).items()))
        shown.lines.append("languages: " + ", ".join(f"{k} {v:,}" for k, v in languages.items()))
        shown.facts["languages"] = languages
    train, valid, tested = split_indices(len(data), val, test, seed)
    shown.lines.append(f"split (seed {seed}): train {len(train):,}   val {len(valid):,}   test {len(tested):,}")
    shown.facts.update(_split_facts(len(train), len(valid), len(tested), seed=seed))
    shown.tables["lengths"] = _length_rows({"source": list(data.sources), "target": list(data.targets)})
    for i in rng.sample(range(len(data)), min(samples, len(data))):
        shown.samples.append({"source": data.sources[i], "target": data.targets[i]})
        shown.sample_texts.append(
            Text("> ", style="dim").append(data.sources[i]).append(Text("\n< ", style="dim")).append(data.targets[i])
        )
    return shown
