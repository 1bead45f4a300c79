"""Byte-level BPE (as in GPT-2), trained and run by the Hugging Face ``tokenizers`` library.

Byte-level means the 256 byte values are all in the vocabulary, so any text (Korean, emoji,
control characters) encodes without UNK and decodes back exactly.

>>> tok = BPETokenizer.fit(["low lower lowest"] * 10, vocab_size=270)
>>> tok.decode(tok.encode("slower 😀")) == "slower 😀"
True
"""

from __future__ import annotations

import codecs
import functools
import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from seqlab.errors import DataError
from seqlab.text.base import (
    SPECIALS,
    BackendTokenizer,
    StreamDecoder,
    WindowDecoder,
    as_texts,
    check_vocab_size,
    parse_tokenizer_json,
    require_field,
)

DEFAULT_VOCAB_SIZE = 4096
MIN_VOCAB_SIZE = len(SPECIALS) + 256  # the specials and every byte


def _lines(texts: Iterable[str]) -> Iterator[str]:
    # a corpus often arrives as one long string; lines keep the trainer's batches small
    for text in texts:
        yield from text.splitlines(keepends=True)


class BPETokenizer(BackendTokenizer):
    """Byte-level BPE: PAD=0, UNK=1, BOS=2, EOS=3, then 256 bytes, then learned merges.

    Args:
        backend: a ``tokenizers.Tokenizer`` whose first four tokens are the specials.

    >>> tok = BPETokenizer.fit(["the theme of the thesis"] * 5, vocab_size=265)
    >>> tok.vocab_size, tok.id_to_token(0), tok.id_to_token(3)
    (265, '<pad>', '<eos>')
    >>> tok.tokenize("the")
    ['the']
    >>> BPETokenizer.fit("ab ab", vocab_size=262).tokenize("ab ab")  # a leading space shows as Ġ
    ['ab', 'Ġab']
    """

    type: ClassVar[str] = "bpe"
    pad_id: int = 0
    unk_id: int | None = 1
    bos_id: int | None = 2
    eos_id: int | None = 3

    def __init__(self, backend: Any) -> None:
        for i, special in enumerate(SPECIALS):
            if backend.token_to_id(special) != i:
                raise DataError(f"BPE vocabulary must start with {', '.join(SPECIALS)} (ids 0-3)")
        # a literal "<pad>" in the text is text, not the special token
        backend.encode_special_tokens = True
        self.backend = backend

    @classmethod
    def fit(cls, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False) -> BPETokenizer:
        """Train byte-level BPE merges on texts.

        Args:
            texts: one string or an iterable of strings.
            vocab_size: total ids, specials and the 256 bytes included (at least 260); 0 means
                4096. A small corpus may give fewer (training stops when no pair repeats).
            lowercase: lowercase texts (a normalizer saved with the tokenizer).

        >>> BPETokenizer.fit("aaaa bbbb", vocab_size=262).tokenize("aaaa")
        ['aa', 'aa']
        """
        tokenizers = _tokenizers()
        check_vocab_size(vocab_size, minimum=MIN_VOCAB_SIZE, what=cls.type)
        backend = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token=SPECIALS[1]))
        if lowercase:
            backend.normalizer = tokenizers.normalizers.Lowercase()
        backend.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = tokenizers.decoders.ByteLevel()
        trainer = tokenizers.trainers.BpeTrainer(
            vocab_size=vocab_size or DEFAULT_VOCAB_SIZE,
            special_tokens=list(SPECIALS),
            initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        backend.train_from_iterator(_lines(as_texts(texts)), trainer=trainer)
        return cls(backend)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text; the special tokens are dropped.

        Args:
            ids: a sequence of ids (list, 1-D array or 1-D tensor).
        """
        return self.backend.decode(self.known_ids(ids), skip_special_tokens=True)

    def stream_decoder(self) -> StreamDecoder:
        """Decode ids one at a time, holding back an incomplete UTF-8 character (see :class:`ByteLevelStream`).

        A backend whose decoder is not byte-level (a foreign tokenizer file) gets a
        :class:`~seqlab.text.base.WindowDecoder` instead.

        >>> tok = BPETokenizer.fit(["naïve"] * 3, vocab_size=260)  # bytes only: ï is two ids
        >>> stream = tok.stream_decoder()
        >>> [stream.push(i) for i in tok.encode("ï!")]
        ['', 'ï', '!']
        """
        decoders = _tokenizers().decoders
        if isinstance(self.backend.decoder, decoders.ByteLevel):
            return ByteLevelStream(self)
        return WindowDecoder(self)

    @classmethod
    def from_json(cls, text: str) -> BPETokenizer:
        """Rebuild from :meth:`to_json` output.

        >>> tok = BPETokenizer.fit("abc abc", vocab_size=262)
        >>> BPETokenizer.from_json(tok.to_json()).encode("abc") == tok.encode("abc")
        True
        """
        tokenizers = _tokenizers()
        data = parse_tokenizer_json(text, expected_type=cls.type)
        backend_json = require_field(data, "tokenizer", dict)
        try:
            backend = tokenizers.Tokenizer.from_str(json.dumps(backend_json))
        except Exception as err:  # the Rust side raises plain Exception
            raise DataError(f"bpe tokenizer JSON is not a valid tokenizers model: {err}") from None
        return cls(backend)

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"


@functools.lru_cache(maxsize=1)
def byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet read backwards: the byte each of its 256 characters stands for.

    Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, soft hyphen)
    are shifted to U+0100 and up, in byte order, so that every token is printable.

    >>> table = byte_of_char()
    >>> len(table), table["a"], table["Ġ"], table["Ċ"]  # Ġ is the space, Ċ the newline
    (256, 97, 32, 10)
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {chr(b): b for b in printable}
    for n, b in enumerate(sorted(set(range(256)) - set(printable))):
        table[chr(256 + n)] = b
    return table


class ByteLevelStream:
    """Streaming byte-level decoding: each token's bytes go through an incremental UTF-8 decoder.

    What the ``tokenizers`` ByteLevel decoder does to the whole id list (special tokens skipped,
    each token's characters mapped back to bytes, or its own UTF-8 if a character is outside the
    alphabet, then the bytes decoded with U+FFFD for what is invalid), done an id at a time: an
    incomplete character waits for its next bytes, and ``flush`` turns a never-completed one
    into U+FFFD.

    Args:
        tokenizer: a :class:`BPETokenizer` with a ByteLevel decoder.

    >>> tok = BPETokenizer.fit(["abc"], vocab_size=260)
    >>> stream = ByteLevelStream(tok)
    >>> [stream.push(i) for i in tok.encode("한")], stream.push(tok.eos_id)
    (['', '', '한'], '')
    """

    def __init__(self, tokenizer: BPETokenizer) -> None:
        backend = tokenizer.backend
        self.tokenizer = tokenizer
        self._vocab_size = tokenizer.vocab_size
        self._special = {i for i, added in backend.get_added_tokens_decoder().items() if added.special}
        self._table = byte_of_char()
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, token: int) -> str:
        """Add one id; the characters its bytes complete."""
        if not 0 <= token < self._vocab_size:
            raise DataError(f"id {token} is outside the bpe vocabulary (ids 0..{self._vocab_size - 1})")
        if token in self._special:
            return ""
        piece = self.tokenizer.backend.id_to_token(token)
        try:
            data = bytes([self._table[ch] for ch in piece])
        except KeyError:  # a character outside the alphabet: the token's own UTF-8, as the decoder does
            data = piece.encode("utf-8")
        return self._utf8.decode(data)

    def flush(self) -> str:
        """U+FFFD for a character whose bytes never completed, else ''."""
        return self._utf8.decode(b"", final=True)


def _tokenizers():
    import tokenizers  # core dependency, imported late because it is slow-ish to load
    import tokenizers.decoders
    import tokenizers.models
    import tokenizers.normalizers
    import tokenizers.pre_tokenizers
    import tokenizers.trainers

    return tokenizers


__all__ = ["BPETokenizer", "ByteLevelStream", "byte_of_char"]
