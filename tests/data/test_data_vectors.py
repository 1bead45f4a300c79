"""Pretrained word vectors: only the embedding matrix and tokenizer.json are kept, checked and cached."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save

from seqlab.data import CATALOG, DatasetSpec, LocalFile, load_dataset
from seqlab.data.fetching.builders.vectors import build_word_vectors
from seqlab.data.vectors import load_vectors, read_vectors
from seqlab.errors import DataError

V, E = 6, 4
TOKENIZER = json.dumps(
    {
        "added_tokens": [{"id": 0, "content": "[PAD]"}],
        "model": {"type": "WordPiece", "vocab": {f"t{i}": i for i in range(V)}},
    }
).encode()


def members(matrix: np.ndarray | None = None, **extra: np.ndarray) -> dict[str, bytes]:
    matrix = np.arange(V * E, dtype=np.float32).reshape(V, E) if matrix is None else matrix
    weights = save(
        {
            "embeddings.word_embeddings.weight": matrix,
            "embeddings.position_embeddings.weight": np.ones((8, E), np.float32),
            "encoder.layer.0.attention.self.query.weight": np.ones((E, E), np.float32),
            **extra,
        }
    )
    return {"pkg/model/model.safetensors": weights, "pkg/model/tokenizer.json": TOKENIZER}


def test_only_the_word_matrix_and_the_tokenizer_are_kept(tmp_path):
    artifact = build_word_vectors(members())
    assert artifact == build_word_vectors(members())  # deterministic bytes: one sha256 pins them
    with zipfile.ZipFile(io.BytesIO(artifact)) as zf:
        assert zf.namelist() == ["tokenizer.json", "word_embeddings.safetensors"]
        assert zf.read("tokenizer.json") == TOKENIZER  # byte for byte
    (tmp_path / "v.zip").write_bytes(artifact)
    vectors = read_vectors(tmp_path / "v.zip")
    assert np.array_equal(vectors.matrix, np.arange(V * E, dtype=np.float32).reshape(V, E))
    assert (vectors.vocab_size, vectors.embed_dim) == (V, E) and vectors.tokenizer_json == TOKENIZER.decode()


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda m: {k: v for k, v in m.items() if k.endswith(".json")}, "expected one *.safetensors"),
        (lambda m: {**m, "pkg/other.safetensors": b"x"}, "expected one *.safetensors"),
        (lambda m: {k: v for k, v in m.items() if k.endswith(".safetensors")}, "expected one tokenizer.json"),
        (lambda m: {**m, "pkg/model/model.safetensors": b"not safetensors"}, "not a readable safetensors file"),
        (lambda m: members(np.zeros((V + 1, E), np.float32)), "has 7 rows, but pkg/model/tokenizer.json numbers 6"),
        (lambda m: members(np.zeros((V, E), np.float16)), "must be a 2-D float32 matrix"),
        (
            lambda m: members(**{"x.embeddings.word_embeddings.weight": np.zeros((V, E), np.float32)}),
            "must hold one tensor named *embeddings.word_embeddings.weight (found 2)",
        ),
        (lambda m: {**m, "pkg/model/tokenizer.json": b'{"model": {}}'}, "with a model.vocab table"),
    ],
)
def test_a_package_that_does_not_fit_is_reported(broken, message):
    with pytest.raises(DataError) as info:
        build_word_vectors(broken(members()))
    assert message in str(info.value)


def test_catalog_vectors_are_fetched_checked_and_not_read_as_text(tmp_path, monkeypatch):
    artifact = build_word_vectors(members())
    source = tmp_path / "vectors.zip"
    source.write_bytes(artifact)
    spec = DatasetSpec(
        name="tiny-vectors",
        shape="vectors",
        description="test vectors",
        licence="CC0",
        size="6 x 4",
        filename="tiny-vectors.zip",
        sha256=hashlib.sha256(artifact).hexdigest(),
        sources=(LocalFile(str(source)),),
        build=build_word_vectors,
    )
    monkeypatch.setitem(CATALOG, "tiny-vectors", spec)
    vectors = load_vectors("tiny-vectors", cache_dir=tmp_path / "cache")
    assert vectors.matrix.shape == (V, E) and (tmp_path / "cache" / "datasets" / "tiny-vectors").is_dir()
    with pytest.raises(
        DataError, match='holds pretrained word vectors, not texts; .* model.pretrained_embeddings = "tiny-vectors"'
    ):
        load_dataset("tiny-vectors")
    with pytest.raises(DataError, match='unknown word vectors "minlm"; did you mean minilm'):
        load_vectors("minlm")
    (tmp_path / "bad.zip").write_bytes(b"PK nothing")
    with pytest.raises(DataError, match="is not a word-vectors zip"):
        read_vectors(tmp_path / "bad.zip")


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("SEQLAB_OFFLINE") == "1", reason="SEQLAB_OFFLINE=1")
def test_the_real_minilm_vectors_carry_meaning():
    from seqlab.text import MiniLMTokenizer

    vectors = load_vectors("minilm")
    assert vectors.matrix.shape == (30522, 384) and vectors.matrix.dtype == np.float32
    tok = MiniLMTokenizer.from_tokenizer_json(vectors.tokenizer_json)
    unit = vectors.matrix / np.linalg.norm(vectors.matrix, axis=1, keepdims=True)

    def cosine(a: str, b: str) -> float:
        return float(unit[tok.token_to_id(a)] @ unit[tok.token_to_id(b)])

    assert cosine("boring", "dull") > cosine("boring", "river") + 0.3
    assert cosine("good", "great") > cosine("good", "table") + 0.3
