"""What a named dataset is: :class:`DatasetSpec`, its shape, its sources and how its artifact is built.

>>> "vectors" in SHAPES
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from seqlab.data.fetching.archives import Members
from seqlab.data.fetching.sources import Source

Shape = Literal["corpus", "labelled", "pairs", "series", "images", "vectors"]
SHAPES: tuple[str, ...] = ("corpus", "labelled", "pairs", "series", "images", "vectors")


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: what it is, where it comes from, and the sha256 of its artifact.

    Args:
        name: the catalog name (``seqlab data show NAME``).
        shape: ``corpus`` (one text), ``labelled`` (texts with classes), ``pairs``
            (source -> target), ``series``, ``images``, or ``vectors`` (pretrained word
            vectors and their tokenizer, read by :mod:`seqlab.data.vectors`).
        description: one line for ``seqlab data list``.
        licence: the licence of the data.
        size: a human summary, e.g. ``"12,808 snippets"``.
        filename: the artifact's file name in the cache; its suffix decides how it is read
            (``.txt`` corpus, ``.jsonl`` records).
        sha256: hex sha256 of the artifact.
        sources: tried in order until one yields an artifact with that sha256.
        build: turns the archive members a source found into the artifact bytes.

    >>> from seqlab.data.fetching.sources import LocalFile
    >>> spec = DatasetSpec("tiny", "corpus", "a test", "CC0", "1 line", "tiny.txt", "0" * 64,
    ...                    (LocalFile("/tmp/tiny.txt"),), build=lambda members: b"")
    >>> spec.sources[0].describe()
    'file /tmp/tiny.txt'
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


__all__ = ["DatasetSpec", "Shape", "SHAPES"]
