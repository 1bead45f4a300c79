"""The artifact of pretrained word vectors: one embedding matrix and the tokenizer that numbers its rows.

A sentence-embedding package ships a whole Transformer (``model.safetensors``, 91 MB for
MiniLM-L6). A recurrent model starts from its first layer only: the word-piece embedding matrix
(V, E), whose row i is the vector of token id i, together with the tokenizer that gives those ids.
The builder keeps exactly these two and drops the rest:

===============================  =====================================================
``word_embeddings.safetensors``  one float32 tensor ``word_embeddings`` of shape (V, E)
``tokenizer.json``               the Hugging Face ``tokenizers`` file, byte for byte
===============================  =====================================================

stored in a zip with a fixed timestamp (:func:`~seqlab.data.fetching.builders.images.stored_zip`), so the
same package always gives the same bytes. Tensors are read and written with safetensors only;
nothing is unpickled.
"""

from __future__ import annotations

import json

from seqlab.data.fetching.archives import Members
from seqlab.data.fetching.builders.images import stored_zip
from seqlab.errors import DataError

EMBEDDING_SUFFIX = "embeddings.word_embeddings.weight"  # BERT's name for the word-piece matrix
MATRIX_FILE = "word_embeddings.safetensors"
MATRIX_KEY = "word_embeddings"
TOKENIZER_FILE = "tokenizer.json"


def tokenizer_json_size(text: str, *, where: str = TOKENIZER_FILE) -> int:
    """Number of ids a Hugging Face ``tokenizer.json`` gives: its largest id + 1, added tokens included.

    Args:
        text: the JSON text.
        where: names the file in error messages.

    >>> tokenizer_json_size('{"added_tokens": [{"id": 5, "content": "[X]"}], "model": {"vocab": {"a": 0, "b": 1}}}')
    6
    """
    try:
        data = json.loads(text)
        vocab = data["model"]["vocab"]
        ids = [int(i) for i in vocab.values()] + [int(t["id"]) for t in data.get("added_tokens") or []]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DataError(f"{where} is not a tokenizers file with a model.vocab table of token -> id") from None
    if not ids:
        raise DataError(f"{where} has an empty vocabulary")
    return max(ids) + 1


def build_word_vectors(members: Members) -> bytes:
    """The word-piece embedding matrix of a safetensors checkpoint and its ``tokenizer.json``, as one zip.

    Args:
        members: exactly one ``*.safetensors`` file holding exactly one tensor whose name ends in
            ``embeddings.word_embeddings.weight`` (2-D, float32, one row per token id), and
            exactly one ``tokenizer.json`` numbering as many ids as the matrix has rows.

    >>> import io, zipfile
    >>> import numpy as np
    >>> from safetensors.numpy import save
    >>> weights = save({"embeddings.word_embeddings.weight": np.ones((2, 3), np.float32),
    ...                 "encoder.layer.0.weight": np.zeros((3, 3), np.float32)})
    >>> tokenizer = b'{"added_tokens": [], "model": {"vocab": {"[PAD]": 0, "a": 1}}}'
    >>> artifact = build_word_vectors({"m/model.safetensors": weights, "m/tokenizer.json": tokenizer})
    >>> zipfile.ZipFile(io.BytesIO(artifact)).namelist()
    ['tokenizer.json', 'word_embeddings.safetensors']
    >>> build_word_vectors(
    ...     {"m/model.safetensors": weights, "m/tokenizer.json": tokenizer.replace(b'"a": 1', b'"a": 2')}
    ... )
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: m/model.safetensors: embeddings.word_embeddings.weight has 2 rows,
    but m/tokenizer.json numbers 3 token ids
    """
    import numpy as np
    from safetensors import SafetensorError
    from safetensors.numpy import load, save

    weights_path = _one(members, lambda path: path.endswith(".safetensors"), "*.safetensors")
    tokenizer_path = _one(members, lambda path: path.rsplit("/", 1)[-1] == TOKENIZER_FILE, TOKENIZER_FILE)
    try:
        tensors = load(members[weights_path])
    except (SafetensorError, ValueError) as err:
        raise DataError(f"{weights_path} is not a readable safetensors file ({err})") from None
    names = [name for name in tensors if name.endswith(EMBEDDING_SUFFIX)]
    if len(names) != 1:
        raise DataError(f"{weights_path} must hold one tensor named *{EMBEDDING_SUFFIX} (found {len(names)})")
    matrix = tensors[names[0]]  # (V, E)
    if matrix.ndim != 2 or matrix.dtype != np.float32:
        raise DataError(f"{weights_path}: {names[0]} must be a 2-D float32 matrix (got {matrix.ndim}-D {matrix.dtype})")
    try:
        tokenizer_text = members[tokenizer_path].decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{tokenizer_path} is not UTF-8") from None
    ids = tokenizer_json_size(tokenizer_text, where=tokenizer_path)
    if matrix.shape[0] != ids:
        raise DataError(
            f"{weights_path}: {names[0]} has {matrix.shape[0]} rows, but {tokenizer_path} numbers {ids} token ids"
        )
    return stored_zip(
        {
            MATRIX_FILE: save({MATRIX_KEY: np.ascontiguousarray(matrix)}),
            TOKENIZER_FILE: members[tokenizer_path],
        }
    )


def _one(members: Members, wanted, what: str) -> str:
    found = [path for path in sorted(members) if wanted(path)]
    if len(found) != 1:
        raise DataError(
            f"expected one {what} among the package files (found {len(found)}: {', '.join(found) or 'none'})"
        )
    return found[0]


__all__ = [
    "build_word_vectors",
    "tokenizer_json_size",
    "EMBEDDING_SUFFIX",
    "MATRIX_FILE",
    "MATRIX_KEY",
    "TOKENIZER_FILE",
]
