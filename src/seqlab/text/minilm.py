"""MiniLM's word-piece tokenizer (BERT's uncased WordPiece) behind seqlab's tokenizer protocol.

It is not fitted: its 30,522 word pieces are the rows of the pretrained MiniLM embedding matrix
(catalog entry ``minilm``), so a classifier can start from those vectors
(``model.pretrained_embeddings = "minilm"``). The ids are BERT's own, so row i of the matrix is
the vector of id i with no renumbering:

=========  ====  ===========================================================
seqlab     id    BERT token
=========  ====  ===========================================================
``pad``    0     ``[PAD]`` (seqlab's PAD is always 0, and so is BERT's)
``unk``    100   ``[UNK]``
``bos``    101   ``[CLS]`` (BERT puts it first)
``eos``    102   ``[SEP]`` (BERT puts it last)
=========  ====  ===========================================================

ids 1-99 are BERT's unused placeholders and 103 is ``[MASK]``; real word pieces start at 999.
The vocabulary is uncased: text is always lowercased (``data.lowercase`` changes nothing).
``encode`` adds no ``[CLS]``/``[SEP]`` unless asked, cuts nothing and pads nothing (the
``tokenizer.json`` of the package pads and truncates to 128; both are switched off).

>>> words = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "[MASK]",
...          "the", "film", "##s", "good", "!"]
>>> tok = MiniLMTokenizer.from_vocab(words)
>>> tok.tokenize("The films, GOOD!")
['the', 'film', '##s', '[UNK]', 'good', '!']
>>> tok.encode("The films", add_bos=True, add_eos=True)
[101, 104, 105, 106, 102]
>>> tok.decode([101, 104, 105, 106, 102, 0, 0])
'the films'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from seqlab.errors import ConfigError, DataError
from seqlab.text.base import BackendTokenizer, StreamDecoder, WindowDecoder, parse_tokenizer_json, require_field

# BERT's special tokens and the ids every BERT vocabulary gives them
BERT_SPECIALS: dict[str, int] = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102}
VECTORS = "minilm"  # the catalog entry holding the vocabulary (and the matrix it numbers)


class MiniLMTokenizer(BackendTokenizer):
    """BERT uncased WordPiece with BERT's ids: PAD=0, UNK=100, BOS=[CLS]=101, EOS=[SEP]=102.

    Args:
        backend: a ``tokenizers.Tokenizer`` with a WordPiece model whose ``[PAD]``, ``[UNK]``,
            ``[CLS]`` and ``[SEP]`` have ids 0, 100, 101 and 102. Its padding and truncation
            are switched off.

    >>> words = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "play", "##ful"]
    >>> tok = MiniLMTokenizer.from_vocab(words)
    >>> tok.vocab_size, tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id, tok.id_to_token(101)
    (105, 0, 100, 101, 102, '[CLS]')
    >>> tok.tokenize("Playful"), tok.encode("playful", add_bos=True)  # lowercased; "##" continues a word
    (['play', '##ful'], [101, 103, 104])
    """

    type: ClassVar[str] = "minilm"
    pad_id: int = BERT_SPECIALS["[PAD]"]
    unk_id: int | None = BERT_SPECIALS["[UNK]"]
    bos_id: int | None = BERT_SPECIALS["[CLS]"]
    eos_id: int | None = BERT_SPECIALS["[SEP]"]

    def __init__(self, backend: Any) -> None:
        for token, i in BERT_SPECIALS.items():
            if backend.token_to_id(token) != i:
                raise DataError(
                    "a minilm tokenizer needs BERT's special ids ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102); "
                    f"this vocabulary gives {token} id {backend.token_to_id(token)}"
                )
        # the package's tokenizer.json pads and cuts every text to 128 pieces; batching pads here
        backend.no_padding()
        backend.no_truncation()
        # a literal "[SEP]" in a review is text, not the special token
        backend.encode_special_tokens = True
        self.backend = backend

    @classmethod
    def fit(cls, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False) -> MiniLMTokenizer:
        """Load the pretrained MiniLM vocabulary (fetched once into the cache); ``texts`` are not used.

        Args:
            texts: ignored: the vocabulary is fixed by the pretrained vectors.
            vocab_size: must be 0 (every one of the 30,522 word pieces is kept, each is a matrix row).
            lowercase: ignored: the vocabulary is uncased and always lowercases.

        >>> MiniLMTokenizer.fit([], vocab_size=20000)
        Traceback (most recent call last):
        ...
        seqlab.errors.ConfigError: data.vocab_size must be 0 with data.tokenizer = "minilm":
        its 30,522 word pieces are fixed by the pretrained vectors (got 20000)
        """
        if vocab_size != 0:
            raise ConfigError(
                f'data.vocab_size must be 0 with data.tokenizer = "{cls.type}": its 30,522 word pieces are fixed '
                f"by the pretrained vectors (got {vocab_size})"
            )
        from seqlab.data.vectors import load_vectors

        return cls.from_tokenizer_json(load_vectors(VECTORS).tokenizer_json)

    @classmethod
    def from_tokenizer_json(cls, text: str) -> MiniLMTokenizer:
        """Wrap a Hugging Face ``tokenizer.json`` (the text of the file) of a BERT WordPiece model.

        >>> words = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "hi"]
        >>> text = MiniLMTokenizer.from_vocab(words).backend.to_str()
        >>> MiniLMTokenizer.from_tokenizer_json(text).encode("Hi")
        [103]
        """
        try:
            backend = _tokenizers().Tokenizer.from_str(text)
        except Exception as err:  # the Rust side raises plain Exception
            raise DataError(f"not a valid tokenizers file: {err}") from None
        return cls(backend)

    @classmethod
    def from_vocab(cls, tokens: Sequence[str]) -> MiniLMTokenizer:
        """A BERT uncased WordPiece tokenizer over ``tokens`` (the lines of a ``vocab.txt``, in id order).

        Args:
            tokens: token strings, id 0 first; continuation pieces start with ``##``.

        >>> words = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "un", "##like", "##ly"]
        >>> MiniLMTokenizer.from_vocab(words).tokenize("Unlikely")
        ['un', '##like', '##ly']
        """
        tokenizers = _tokenizers()
        vocab: dict[str, int] = {}
        for i, token in enumerate(tokens):
            if token in vocab:
                raise DataError(f"token {token!r} appears twice in the vocabulary (ids {vocab[token]} and {i})")
            vocab[token] = i
        backend = tokenizers.Tokenizer(
            tokenizers.models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100)
        )
        backend.normalizer = tokenizers.normalizers.BertNormalizer(lowercase=True)
        backend.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
        backend.decoder = tokenizers.decoders.WordPiece(prefix="##", cleanup=True)
        backend.add_special_tokens([t for t in BERT_SPECIALS if t in vocab])
        return cls(backend)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text: PAD, ``[CLS]`` and ``[SEP]`` are dropped, pieces joined, UNK shown as ``[UNK]``.

        Args:
            ids: a sequence of ids (list, 1-D array or 1-D tensor).
        """
        skip = {self.pad_id, self.bos_id, self.eos_id}
        return self.backend.decode([i for i in self.known_ids(ids) if i not in skip], skip_special_tokens=False)

    def stream_decoder(self) -> StreamDecoder:
        """Decode ids one at a time: "##" pieces glue to the word before (see :class:`WordPieceStream`).

        A backend whose decoder is not WordPiece gets a :class:`~seqlab.text.base.WindowDecoder`.

        >>> words = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "play", "##ful", "!"]
        >>> tok = MiniLMTokenizer.from_vocab(words)
        >>> stream = tok.stream_decoder()
        >>> [stream.push(i) for i in tok.encode("Playful play!", add_bos=True)]
        ['', 'play', 'ful', ' play', '!']
        """
        decoder = self.backend.decoder
        if isinstance(decoder, _tokenizers().decoders.WordPiece):
            return WordPieceStream(self, prefix=decoder.prefix, cleanup=decoder.cleanup)
        return WindowDecoder(self)

    @classmethod
    def from_json(cls, text: str) -> MiniLMTokenizer:
        """Rebuild from :meth:`to_json` output (no fetching: the vocabulary is in the JSON).

        >>> words = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "ok"]
        >>> tok = MiniLMTokenizer.from_vocab(words)
        >>> MiniLMTokenizer.from_json(tok.to_json()) == tok
        True
        """
        data = parse_tokenizer_json(text, expected_type=cls.type)
        backend_json = require_field(data, "tokenizer", dict)
        try:
            return cls.from_tokenizer_json(json.dumps(backend_json))
        except DataError as err:
            raise DataError(f"minilm tokenizer JSON: {err}") from None

    def __repr__(self) -> str:
        return f"MiniLMTokenizer(vocab_size={self.vocab_size})"


# the WordPiece decoder's clean-up (the tokenizers library's, for BERT's English), applied to each piece
_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


class WordPieceStream:
    """Streaming WordPiece decoding, as the ``tokenizers`` WordPiece decoder does it to each token.

    PAD, ``[CLS]`` and ``[SEP]`` are dropped (as :meth:`MiniLMTokenizer.decode` drops them);
    after the first token kept, a token that starts with the prefix loses it and any other gets a
    space before it; with ``cleanup`` the piece then loses the space before punctuation and
    English contractions. A token's text never depends on the tokens after it, so nothing is held.

    Args:
        tokenizer: a :class:`MiniLMTokenizer`.
        prefix: what marks a continuation piece (``"##"``).
        cleanup: apply the decoder's clean-up to each piece.

    >>> words = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]", "it", "'s", "##s"]
    >>> stream = WordPieceStream(MiniLMTokenizer.from_vocab(words), prefix="##", cleanup=True)
    >>> [stream.push(i) for i in (105, 103, 104, 100)]
    ['##s', ' it', "'s", ' [UNK]']
    """

    def __init__(self, tokenizer: MiniLMTokenizer, *, prefix: str, cleanup: bool) -> None:
        self.tokenizer = tokenizer
        self.prefix, self.cleanup = prefix, cleanup
        self._vocab_size = tokenizer.vocab_size
        self._skip = {tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id}
        self._first = True

    def push(self, token: int) -> str:
        """One id's text."""
        if not 0 <= token < self._vocab_size:
            raise DataError(f"id {token} is outside the minilm vocabulary (ids 0..{self._vocab_size - 1})")
        if token in self._skip:
            return ""
        piece = self.tokenizer.backend.id_to_token(token)
        if self._first:
            self._first = False
        elif piece.startswith(self.prefix):
            piece = piece[len(self.prefix) :]
        else:
            piece = " " + piece
        if self.cleanup:
            for dirty, clean in _CLEANUP:
                piece = piece.replace(dirty, clean)
        return piece

    def flush(self) -> str:
        """Nothing is held back."""
        return ""


def _tokenizers():
    import tokenizers  # core dependency, imported late because it is slow-ish to load
    import tokenizers.decoders
    import tokenizers.models
    import tokenizers.normalizers
    import tokenizers.pre_tokenizers

    return tokenizers


__all__ = ["MiniLMTokenizer", "BERT_SPECIALS", "WordPieceStream"]
