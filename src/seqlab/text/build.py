"""Build a tokenizer by name, and read any saved tokenizer back.

>>> tok = build_tokenizer("char", ["hello"])
>>> load_tokenizer(tok.to_json()).encode("hello") == tok.encode("hello")
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from seqlab.errors import ConfigError, DataError, unknown_choice
from seqlab.text.base import TextTokenizer
from seqlab.text.bpe import BPETokenizer
from seqlab.text.char import CharTokenizer
from seqlab.text.korean import JamoTokenizer, MorphemeTokenizer, SyllableTokenizer
from seqlab.text.minilm import MiniLMTokenizer
from seqlab.text.word import WordTokenizer


class TokenizerClass(Protocol):
    """What the table below needs of a tokenizer class: fit one on texts, or read one back."""

    def fit(self, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False) -> TextTokenizer: ...

    def from_json(self, text: str) -> TextTokenizer: ...


TOKENIZERS: dict[str, TokenizerClass] = {
    "char": CharTokenizer,
    "word": WordTokenizer,
    "bpe": BPETokenizer,
    "syllable": SyllableTokenizer,
    "jamo": JamoTokenizer,
    "morpheme": MorphemeTokenizer,
    "minilm": MiniLMTokenizer,
}


def build_tokenizer(
    name: str, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False
) -> TextTokenizer:
    """Fit the tokenizer called ``name`` on texts.

    Args:
        name: one of char, word, bpe, syllable, jamo, morpheme, or minilm (MiniLM's pretrained
            word pieces: fetched, not fitted; ``texts`` are not used).
        texts: one string (a whole corpus) or an iterable of strings.
        vocab_size: the size cap (word: Keras' num_words; bpe: 0 means 4096); 0 keeps everything
            (minilm: must be 0).
        lowercase: lowercase texts before tokenizing.

    >>> build_tokenizer("word", ["a b b"]).encode("b a c")
    [2, 3, 1]
    >>> build_tokenizer("chars", ["a"])
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: unknown tokenizer "chars"; did you mean char?
    (choices: bpe, char, jamo, minilm, morpheme, syllable, word)
    """
    if name not in TOKENIZERS:
        raise ConfigError(unknown_choice("tokenizer", name, list(TOKENIZERS)))
    return TOKENIZERS[name].fit(texts, vocab_size=vocab_size, lowercase=lowercase)


def load_tokenizer(source: str | os.PathLike[str]) -> TextTokenizer:
    """Read a saved tokenizer: a JSON file, a run directory holding ``tokenizer.json``, or JSON text.

    The JSON's ``"type"`` picks the class; a Keras ``tokenizer.to_json()`` file (``"class_name":
    "Tokenizer"``) loads as a word tokenizer. Nothing is ever unpickled.

    Args:
        source: a path, or the JSON text itself (anything starting with ``{``).

    >>> saved = build_tokenizer("char", ["a"]).to_json()
    >>> saved
    '{"type": "char", "version": 1, "lowercase": false, "tokens": ["<pad>", "<unk>", "<bos>", "<eos>", "a"]}'
    >>> load_tokenizer(saved).encode("aa")
    [4, 4]
    >>> load_tokenizer("no/such/tokenizer.json")
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: tokenizer file not found: no/such/tokenizer.json
    """
    if isinstance(source, str) and source.lstrip().startswith("{"):
        text, where = source, "tokenizer JSON"
    else:
        path = Path(source)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.is_file():
            raise DataError(f"tokenizer file not found: {path}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"cannot read tokenizer file {path}: {err}") from None
        where = str(path)

    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{where} is not JSON ({err}); expected a file written by tokenizer.save") from None
    if isinstance(data, dict) and data.get("class_name") == "Tokenizer" and "type" not in data:
        return WordTokenizer.from_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise DataError(f'{where} has no "type" field; expected a file written by tokenizer.save')
    if data["type"] not in TOKENIZERS:
        raise DataError(f"{where}: " + unknown_choice("tokenizer type", data["type"], list(TOKENIZERS)))
    try:
        return TOKENIZERS[data["type"]].from_json(text)
    except DataError as err:
        raise DataError(f"{where}: {err}") from None


__all__ = ["build_tokenizer", "load_tokenizer", "TOKENIZERS"]
