"""Pretrained word vectors: an embedding matrix (V, E) and the tokenizer JSON whose ids number its rows.

A catalog entry of shape ``vectors`` (``seqlab data list``; today ``minilm``) is fetched and
sha256-checked like any dataset; its artifact is the zip that
:func:`~seqlab.data.fetching.builders.vectors.build_word_vectors` makes. :func:`load_vectors` reads one by
name, :func:`read_vectors` reads such a zip from a path. The matrix comes back as numpy (models
turn it into a tensor); the tokenizer as the Hugging Face ``tokenizer.json`` text, which
:class:`seqlab.text.MiniLMTokenizer` wraps. safetensors and JSON only: nothing is unpickled.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seqlab.data.fetching.builders.vectors import MATRIX_FILE, MATRIX_KEY, TOKENIZER_FILE, tokenizer_json_size
from seqlab.errors import DataError, unknown_choice

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class WordVectors:
    """A pretrained embedding matrix and the tokenizer that numbers its rows.

    Attributes:
        matrix: (V, E) float32; row i is the vector of token id i.
        tokenizer_json: the Hugging Face ``tokenizer.json`` text (V ids).
    """

    matrix: np.ndarray
    tokenizer_json: str

    @property
    def vocab_size(self) -> int:
        """V, the rows of the matrix."""
        return int(self.matrix.shape[0])

    @property
    def embed_dim(self) -> int:
        """E, the length of each vector."""
        return int(self.matrix.shape[1])


def read_vectors(path: str | Path) -> WordVectors:
    """Read a word-vectors zip (as built by :func:`~seqlab.data.fetching.builders.vectors.build_word_vectors`).

    Args:
        path: the zip file.

    >>> import tempfile
    >>> import numpy as np
    >>> from safetensors.numpy import save
    >>> from seqlab.data.fetching.builders.vectors import build_word_vectors
    >>> members = {"model.safetensors": save({"embeddings.word_embeddings.weight": np.eye(2, 3, dtype=np.float32)}),
    ...            "tokenizer.json": b'{"model": {"vocab": {"[PAD]": 0, "a": 1}}}'}
    >>> path = Path(tempfile.mkdtemp()) / "vectors.zip"
    >>> _ = path.write_bytes(build_word_vectors(members))
    >>> vectors = read_vectors(path)
    >>> vectors.vocab_size, vectors.embed_dim, vectors.matrix[1].tolist()
    (2, 3, [0.0, 1.0, 0.0])
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            weights, tokenizer = zf.read(MATRIX_FILE), zf.read(TOKENIZER_FILE)
    except (OSError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is not a word-vectors zip with {MATRIX_FILE} and {TOKENIZER_FILE} ({err})") from None
    try:
        matrix = load(weights)[MATRIX_KEY]
        tokenizer_json = tokenizer.decode("utf-8")
    except (SafetensorError, KeyError, ValueError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read the word vectors ({type(err).__name__}: {err})") from None
    ids = tokenizer_json_size(tokenizer_json, where=f"{path}:{TOKENIZER_FILE}")
    if matrix.ndim != 2 or matrix.shape[0] != ids:
        raise DataError(f"{path}: the matrix is {tuple(matrix.shape)}, but the tokenizer numbers {ids} token ids")
    return WordVectors(matrix, tokenizer_json)


def load_vectors(name: str, *, cache_dir: Path | None = None) -> WordVectors:
    """Fetch (once; sha256-checked) and read the word vectors that the catalog calls ``name``.

    Args:
        name: a catalog entry of shape ``vectors``, e.g. ``"minilm"``.
        cache_dir: the cache folder (default ``$SEQLAB_CACHE`` or ``~/.cache/seqlab``).

    >>> load_vectors("rotten-tomatoes")
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: dataset "rotten-tomatoes" holds labelled data, not word vectors (word vectors: minilm)
    """
    from seqlab.data.fetching.catalog import CATALOG, fetch

    choices = [n for n, spec in CATALOG.items() if spec.shape == "vectors"]
    if name not in CATALOG:
        raise DataError(unknown_choice("word vectors", name, choices))
    if CATALOG[name].shape != "vectors":
        raise DataError(
            f'dataset "{name}" holds {CATALOG[name].shape} data, not word vectors (word vectors: {", ".join(choices)})'
        )
    return read_vectors(fetch(name, cache_dir=cache_dir))


__all__ = ["WordVectors", "load_vectors", "read_vectors"]
