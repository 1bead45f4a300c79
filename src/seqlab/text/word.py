"""Word tokenizer: the Keras-compatible :class:`~seqlab.text.keras.Tokenizer` behind seqlab's protocol.

PAD=0 (Keras' reserved index), UNK=1 (Keras' ``oov_token``), then words by frequency. There is
no BOS or EOS: ids are exactly the ones ``Tokenizer.texts_to_sequences`` gives.

>>> tok = WordTokenizer.fit(["The cat sat.", "The dog sat!"], lowercase=True)
>>> tok.encode("the cat ran")
[2, 4, 1]
>>> tok.decode([2, 4, 1, 0, 0])
'the cat <unk>'
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import ClassVar

from seqlab.errors import DataError
from seqlab.text.base import (
    JSON_VERSION,
    PAD,
    UNK,
    SavedAsJson,
    as_texts,
    check_vocab_size,
    ids_list,
    parse_tokenizer_json,
    require_field,
    with_specials,
)
from seqlab.text.keras import Tokenizer, text_to_word_sequence, tokenizer_from_json


class WordTokenizer(SavedAsJson):
    """Words split and numbered exactly as the Keras Tokenizer does, with ``oov_token="<unk>"``.

    Args:
        keras: a fitted :class:`~seqlab.text.keras.Tokenizer` (its ``oov_token`` becomes UNK;
            a Tokenizer without one drops unknown words, as Keras does, and ``unk_id`` is None).

    >>> from seqlab.text.keras import Tokenizer
    >>> k = Tokenizer(num_words=3, oov_token="<unk>")
    >>> k.fit_on_texts(["a a b c"])
    >>> tok = WordTokenizer(k)
    >>> tok.vocab_size, tok.encode("a b c"), tok.tokenize("a b c")
    (3, [2, 1, 1], ['a', 'b', 'c'])
    """

    type: ClassVar[str] = "word"
    pad_id: int = 0
    bos_id: int | None = None
    eos_id: int | None = None

    def __init__(self, keras: Tokenizer) -> None:
        self.keras = keras
        self.unk_id: int | None = keras.word_index.get(keras.oov_token) if keras.oov_token is not None else None

    @classmethod
    def fit(cls, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False) -> WordTokenizer:
        """Fit a Keras Tokenizer (default filters, ``oov_token="<unk>"``) on texts.

        Args:
            texts: one string or an iterable of strings.
            vocab_size: Keras' ``num_words``: ids below it are kept, the rest become UNK;
                0 keeps every word.
            lowercase: Keras' ``lower``.

        >>> WordTokenizer.fit("b a b", vocab_size=3).encode("a b")
        [1, 2]
        """
        check_vocab_size(vocab_size, minimum=3, what=cls.type)
        keras = Tokenizer(num_words=vocab_size or None, lower=lowercase, oov_token=UNK)
        keras.fit_on_texts(list(as_texts(texts)))
        return cls(keras)

    @property
    def vocab_size(self) -> int:
        """``num_words`` when set, else the largest id + 1."""
        largest = max(self.keras.index_word, default=0) + 1
        return min(self.keras.num_words, largest) if self.keras.num_words else largest

    def tokenize(self, text: str) -> list[str]:
        """The words of ``text`` as Keras splits them (unknown words included; each is one id).

        >>> WordTokenizer.fit(["x"]).tokenize("Hello, World!")
        ['Hello', 'World']
        """
        k = self.keras
        if k.char_level:
            return list(text.lower() if k.lower else text)
        return text_to_word_sequence(text, k.filters, k.lower, k.split)

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """``Tokenizer.texts_to_sequences([text])[0]``.

        Args:
            text: any string.
            add_bos: not available (the word tokenizer has no BOS): raises ConfigError.
            add_eos: not available (no EOS): raises ConfigError.
        """
        return with_specials(self.keras.texts_to_sequences([text])[0], self, add_bos=add_bos, add_eos=add_eos)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to space-joined words; PAD is dropped, ids ``>= num_words`` become ``<unk>``.

        Args:
            ids: a sequence of ids (list, 1-D array or 1-D tensor).
        """
        kept = [i for i in ids_list(ids) if i != self.pad_id]
        vocab_size = self.vocab_size  # a scan of the whole index: once, not once per id
        for i in kept:
            if not 0 <= i < vocab_size and self.unk_id is None:
                raise DataError(f"id {i} is outside the word vocabulary (ids 0..{vocab_size - 1})")
        return self.keras.sequences_to_texts([kept])[0]

    def stream_decoder(self) -> WordIdStream:
        """Decode ids one at a time: each adds its word, after a space (see :class:`WordIdStream`).

        >>> tok = WordTokenizer.fit(["The cat sat."], lowercase=True)
        >>> stream = tok.stream_decoder()
        >>> [stream.push(i) for i in tok.encode("the cat ran")]
        ['the', ' cat', ' <unk>']
        """
        return WordIdStream(self)

    def id_to_token(self, i: int) -> str:
        """The word of one id (``<pad>`` for 0).

        >>> WordTokenizer.fit(["x"]).id_to_token(2)
        'x'
        """
        if i == self.pad_id:
            return PAD
        if not 0 <= i < self.vocab_size or i not in self.keras.index_word:
            raise DataError(f"id {i} is outside the word vocabulary (ids 0..{self.vocab_size - 1})")
        return self.keras.index_word[i]

    def token_to_id(self, token: str) -> int | None:
        """The id of one word, or None when it is unknown or beyond ``num_words``."""
        if token == PAD:
            return self.pad_id
        i = self.keras.word_index.get(token)
        return i if i is not None and i < self.vocab_size else None

    def to_json(self) -> str:
        """``{"type": "word", "version": 1, "keras": <Keras' Tokenizer JSON as an object>}``."""
        return json.dumps({"type": self.type, "version": JSON_VERSION, "keras": json.loads(self.keras.to_json())})

    @classmethod
    def from_json(cls, text: str) -> WordTokenizer:
        """Rebuild from :meth:`to_json` output, or straight from Keras' ``tokenizer.to_json()``.

        >>> tok = WordTokenizer.fit(["a b b"])
        >>> WordTokenizer.from_json(tok.to_json()).encode("b a")
        [2, 3]
        >>> WordTokenizer.from_json(tok.keras.to_json()).encode("b a")
        [2, 3]
        """
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"tokenizer JSON cannot be parsed: {err}") from None
        if isinstance(raw, dict) and raw.get("class_name") == "Tokenizer":
            return cls(tokenizer_from_json(text))
        data = parse_tokenizer_json(text, expected_type=cls.type)
        return cls(tokenizer_from_json(json.dumps(require_field(data, "keras", dict))))

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={self.vocab_size}, lowercase={self.keras.lower})"


class WordIdStream:
    """Streaming :meth:`WordTokenizer.decode`: PAD is dropped, the rest goes through Keras' :class:`WordStream`.

    Args:
        tokenizer: a :class:`WordTokenizer`.

    >>> tok = WordTokenizer.fit(["a b"])
    >>> stream = WordIdStream(tok)
    >>> stream.push(0) + stream.push(3) + stream.push(2), stream.flush()
    ('b a', '')
    """

    def __init__(self, tokenizer: WordTokenizer) -> None:
        self.tokenizer = tokenizer
        self._vocab_size = tokenizer.vocab_size  # computed from the whole index: once, not per id
        self._words = tokenizer.keras.stream_decoder()

    def push(self, token: int) -> str:
        """One id's text (a DataError for an id outside the vocabulary when there is no UNK)."""
        if token == self.tokenizer.pad_id:
            return ""
        if not 0 <= token < self._vocab_size and self.tokenizer.unk_id is None:
            raise DataError(f"id {token} is outside the word vocabulary (ids 0..{self._vocab_size - 1})")
        return self._words.push(token)

    def flush(self) -> str:
        """Nothing is held back."""
        return self._words.flush()


__all__ = ["WordTokenizer", "WordIdStream"]
