"""Character-level tokenizer: one id per character, as in char-rnn and nanoGPT's shakespeare_char.

>>> tok = CharTokenizer.fit(["hello world"])
>>> tok.vocab_size
12
>>> tok.decode(tok.encode("hello"))
'hello'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import ClassVar

from seqlab.text.base import SPECIALS, VocabTokenizer, as_texts, check_vocab_size, most_frequent


class CharTokenizer(VocabTokenizer):
    """One token per character: PAD=0, UNK=1, BOS=2, EOS=3, then the characters in code-point order.

    Any text made of characters seen in training round-trips exactly; an unseen character
    becomes UNK (and decodes to U+FFFD).

    Args:
        tokens: the characters (ids 4, 5, ... in this order).
        lowercase: lowercase text before encoding.

    >>> tok = CharTokenizer.fit("abracadabra")
    >>> tok.tokenize("abz"), tok.encode("abz")
    (['a', 'b', 'z'], [4, 5, 1])
    >>> tok.decode([2, 4, 5, 1, 3, 0])
    'ab\ufffd'
    """

    type: ClassVar[str] = "char"

    @classmethod
    def fit(cls, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False) -> CharTokenizer:
        """Build the vocabulary from texts.

        Args:
            texts: one string (a whole corpus) or an iterable of strings.
            vocab_size: keep the ``vocab_size - 4`` most frequent characters (ties: first seen);
                0 keeps every character.
            lowercase: lowercase the texts first (and every text encoded later).

        >>> CharTokenizer.fit(["aab", "c"], vocab_size=6).tokenize("abc")
        ['a', 'b', 'c']
        >>> CharTokenizer.fit(["aab", "c"], vocab_size=6).encode("abc")
        [4, 5, 1]
        """
        check_vocab_size(vocab_size, minimum=len(SPECIALS) + 1, what=cls.type)
        counts: Counter[str] = Counter()
        for text in as_texts(texts):
            counts.update(text.lower() if lowercase else text)
        keep = most_frequent(counts, vocab_size - len(SPECIALS) if vocab_size else 0)
        return cls(sorted(keep), lowercase=lowercase)

    def tokenize(self, text: str) -> list[str]:
        """The characters of ``text`` (lowercased if the tokenizer lowercases).

        >>> CharTokenizer([]).tokenize("한글 ok")
        ['한', '글', ' ', 'o', 'k']
        """
        return list(text.lower() if self.lowercase else text)

    def join(self, tokens: list[str]) -> str:
        """Concatenate characters.

        >>> CharTokenizer([]).join(["a", "b"])
        'ab'
        """
        return "".join(tokens)

    def stream_decoder(self) -> CharStream:
        """Decode ids one at a time: each id is its own character (see :class:`CharStream`).

        >>> tok = CharTokenizer.fit("ab")
        >>> stream = tok.stream_decoder()
        >>> [stream.push(i) for i in tok.encode("ba", add_eos=True)]
        ['b', 'a', '']
        """
        return CharStream(self)


class CharStream:
    """Streaming decoder of a tokenizer whose text is its tokens concatenated (char, syllable).

    Nothing is ever held back: an id's text cannot change what came before.

    Args:
        tokenizer: a vocabulary tokenizer (``decoded_token`` gives one id's text).

    >>> stream = CharStream(CharTokenizer(["h", "i"]))
    >>> stream.push(4) + stream.push(1) + stream.push(5), stream.flush()
    ('h\ufffdi', '')
    """

    def __init__(self, tokenizer: VocabTokenizer) -> None:
        self.tokenizer = tokenizer

    def push(self, token: int) -> str:
        """One id's character ('' for PAD, BOS and EOS; U+FFFD for UNK)."""
        return self.tokenizer.decoded_token(token) or ""

    def flush(self) -> str:
        """Nothing is held back."""
        return ""


__all__ = ["CharTokenizer", "CharStream"]
