"""Korean tokenizers: syllables, jamo (letters) and morphemes.

A Hangul syllable block (U+AC00..U+D7A3) is built by arithmetic from three letters (jamo):
``code = 0xAC00 + (choseong * 21 + jungseong) * 28 + jongseong``, with 19 initial consonants
(choseong), 21 vowels (jungseong) and 27 final consonants (jongseong, 0 meaning none). The jamo
tokenizer spells syllables out as conjoining jamo (U+1100..U+11C2) and puts them back together
when decoding; everything else (Latin, digits, compatibility jamo like ㅋㅋ, emoji) passes through.

>>> tok = JamoTokenizer.fit(["ok ㅋㅋ 😀"])
>>> tok.tokenize("한글")
['ᄒ', 'ᅡ', 'ᆫ', 'ᄀ', 'ᅳ', 'ᆯ']
>>> tok.decode(tok.encode("한글 ㅋㅋ 😀"))
'한글 ㅋㅋ 😀'
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from typing import Any, ClassVar

from seqlab.errors import needs_extra
from seqlab.text.base import SPECIALS, VocabTokenizer, as_texts, check_vocab_size, most_frequent
from seqlab.text.char import CharTokenizer

SYLLABLE_FIRST, SYLLABLE_LAST = 0xAC00, 0xD7A3
CHOSEONG_FIRST, JUNGSEONG_FIRST, JONGSEONG_FIRST = 0x1100, 0x1161, 0x11A7  # jongseong 0 = none, so 0x11A7 is never used
NUM_CHOSEONG, NUM_JUNGSEONG, NUM_JONGSEONG = 19, 21, 28
CHOSEONG = tuple(chr(CHOSEONG_FIRST + i) for i in range(NUM_CHOSEONG))
JUNGSEONG = tuple(chr(JUNGSEONG_FIRST + i) for i in range(NUM_JUNGSEONG))
JONGSEONG = tuple(chr(JONGSEONG_FIRST + i) for i in range(1, NUM_JONGSEONG))
ALL_JAMO = CHOSEONG + JUNGSEONG + JONGSEONG  # the 67 modern conjoining jamo
_COMPOSABLE = frozenset(ALL_JAMO)
_CHOSEONG_SET, _JUNGSEONG_SET, _JONGSEONG_SET = frozenset(CHOSEONG), frozenset(JUNGSEONG), frozenset(JONGSEONG)


def is_syllable(ch: str) -> bool:
    """True for a precomposed Hangul syllable (U+AC00..U+D7A3).

    >>> is_syllable("한"), is_syllable("ㅎ"), is_syllable("a")
    (True, False, False)
    """
    return SYLLABLE_FIRST <= ord(ch) <= SYLLABLE_LAST


def split_syllable(ch: str) -> tuple[str, str, str]:
    """Split one Hangul syllable into (choseong, jungseong, jongseong or "").

    >>> split_syllable("한"), split_syllable("가")
    (('ᄒ', 'ᅡ', 'ᆫ'), ('ᄀ', 'ᅡ', ''))
    """
    if not is_syllable(ch):
        raise ValueError(f"{ch!r} is not a Hangul syllable (U+AC00..U+D7A3)")
    index = ord(ch) - SYLLABLE_FIRST
    initial, rest = divmod(index, NUM_JUNGSEONG * NUM_JONGSEONG)
    vowel, final = divmod(rest, NUM_JONGSEONG)
    return CHOSEONG[initial], JUNGSEONG[vowel], (chr(JONGSEONG_FIRST + final) if final else "")


def join_syllable(initial: str, vowel: str, final: str = "") -> str:
    """Build one Hangul syllable from conjoining jamo (the inverse of :func:`split_syllable`).

    >>> join_syllable("ᄒ", "ᅡ", "ᆫ"), join_syllable("ᄀ", "ᅡ")
    ('한', '가')
    """
    final_index = ord(final) - JONGSEONG_FIRST if final else 0
    index = ((ord(initial) - CHOSEONG_FIRST) * NUM_JUNGSEONG + ord(vowel) - JUNGSEONG_FIRST) * NUM_JONGSEONG
    return chr(SYLLABLE_FIRST + index + final_index)


def _escape(ch: str) -> str:
    # a conjoining jamo that was in the text itself (old or NFD-normalised Hangul) must not be
    # glued into a syllable when decoding, so it gets a token of its own: "<ᄀ>"
    return f"<{ch}>"


def to_jamo(text: str) -> list[str]:
    """Spell text as jamo tokens: each syllable becomes 2 or 3 conjoining jamo, other characters stay.

    A conjoining jamo already present in the text becomes the token ``"<ᄀ>"`` (bracketed) so
    that :func:`from_jamo` gives the text back exactly.

    >>> to_jamo("값 a")
    ['ᄀ', 'ᅡ', 'ᆹ', ' ', 'a']
    >>> to_jamo("\u1100\u1161")  # NFD text: already-split jamo stay apart
    ['<ᄀ>', '<ᅡ>']
    """
    tokens: list[str] = []
    for ch in text:
        if SYLLABLE_FIRST <= ord(ch) <= SYLLABLE_LAST:
            initial, vowel, final = split_syllable(ch)
            tokens.append(initial)
            tokens.append(vowel)
            if final:
                tokens.append(final)
        elif ch in _COMPOSABLE:
            tokens.append(_escape(ch))
        else:
            tokens.append(ch)
    return tokens


def from_jamo(tokens: list[str]) -> str:
    """Join jamo tokens back into text: choseong + jungseong (+ jongseong) become one syllable.

    A jamo that cannot start or finish a syllable (as a model may generate) is kept as it is.

    >>> from_jamo(['ᄀ', 'ᅡ', 'ᆹ', ' ', 'a'])
    '값 a'
    >>> from_jamo(to_jamo("한글, 漢字, ㅎㄱ, 😀")) == "한글, 漢字, ㅎㄱ, 😀"
    True
    """
    pieces: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if token in _CHOSEONG_SET and i + 1 < n and tokens[i + 1] in _JUNGSEONG_SET:
            final = tokens[i + 2] if i + 2 < n and tokens[i + 2] in _JONGSEONG_SET else ""
            pieces.append(join_syllable(token, tokens[i + 1], final))
            i += 3 if final else 2
            continue
        if len(token) == 3 and token[0] == "<" and token[2] == ">" and token[1] in _COMPOSABLE:
            token = token[1]
        pieces.append(token)
        i += 1
    return "".join(pieces)


# ----------------------------------------------------------------------------- tokenizers


class SyllableTokenizer(CharTokenizer):
    """One token per character, so one per Hangul syllable block (음절): the Korean char-level model.

    Korean text uses a few thousand of the 11,172 possible syllables; ``vocab_size`` keeps the
    most frequent ones and the rest become UNK. Seen text round-trips exactly.

    Args:
        tokens: the characters (ids 4, 5, ...).
        lowercase: lowercase Latin letters before encoding.

    >>> tok = SyllableTokenizer.fit(["안녕하세요", "안녕"])
    >>> tok.tokenize("안녕!"), tok.encode("안녕!")
    (['안', '녕', '!'], [6, 4, 1])
    """

    type: ClassVar[str] = "syllable"


class JamoTokenizer(VocabTokenizer):
    """Hangul spelled out letter by letter (자모): PAD, UNK, BOS, EOS, the 67 modern jamo, then other characters.

    Every Hangul syllable is encodable (its jamo are always in the vocabulary, seen or not);
    other characters are in the vocabulary when they were seen in training. Any text made of
    Hangul and seen characters round-trips exactly.

    Args:
        tokens: the non-jamo tokens (ids 71, 72, ...); the jamo come first automatically.
        lowercase: lowercase Latin letters before encoding.

    >>> tok = JamoTokenizer.fit("a")
    >>> tok.vocab_size, tok.encode("가a")
    (72, [4, 23, 71])
    >>> tok.decode(tok.encode("똠얌꿍a"))
    '똠얌꿍a'
    """

    type: ClassVar[str] = "jamo"

    def __init__(self, tokens: Iterable[str], *, lowercase: bool = False) -> None:
        others = [t for t in tokens if t not in _COMPOSABLE]
        super().__init__([*ALL_JAMO, *others], lowercase=lowercase)

    @classmethod
    def fit(cls, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False) -> JamoTokenizer:
        """Build the vocabulary: the 67 jamo plus the other characters seen in texts.

        Args:
            texts: one string or an iterable of strings.
            vocab_size: cap on the total (specials and jamo included, so at least 72): the most
                frequent other characters are kept; 0 keeps every one.
            lowercase: lowercase the texts first.

        >>> JamoTokenizer.fit(["ab", "b"], vocab_size=72).tokenize("ab")
        ['a', 'b']
        >>> JamoTokenizer.fit(["ab", "b"], vocab_size=72).encode("ab")
        [1, 71]
        """
        base = len(SPECIALS) + len(ALL_JAMO)
        check_vocab_size(vocab_size, minimum=base + 1, what=cls.type)
        counts: Counter[str] = Counter()
        for text in as_texts(texts):
            counts.update(t for t in to_jamo(text.lower() if lowercase else text) if t not in _COMPOSABLE)
        keep = most_frequent(counts, vocab_size - base if vocab_size else 0)
        return cls(sorted(keep), lowercase=lowercase)

    def to_json(self) -> str:
        """The tokenizer as JSON: type, version, lowercase and the whole token list (jamo included)."""
        return super().to_json()

    @classmethod
    def from_json(cls, text: str) -> JamoTokenizer:
        """Rebuild from :meth:`to_json` output.

        >>> tok = JamoTokenizer.fit(["한 a"])
        >>> JamoTokenizer.from_json(tok.to_json()) == tok
        True
        """
        return super().from_json(text)

    def tokenize(self, text: str) -> list[str]:
        """Jamo tokens of ``text`` (see :func:`to_jamo`).

        >>> JamoTokenizer([]).tokenize("닭")
        ['ᄃ', 'ᅡ', 'ᆰ']
        """
        return to_jamo(text.lower() if self.lowercase else text)

    def join(self, tokens: list[str]) -> str:
        """Jamo tokens back to text (see :func:`from_jamo`)."""
        return from_jamo(tokens)

    def stream_decoder(self) -> JamoStream:
        """Decode ids one at a time, holding back a syllable until its last jamo is known.

        >>> tok = JamoTokenizer.fit("a")
        >>> stream = tok.stream_decoder()
        >>> [stream.push(i) for i in tok.encode("간다")], stream.flush()  # 다 might still take a final
        (['', '', '간', '', ''], '다')
        """
        return JamoStream(self)


class JamoStream:
    """Streaming :func:`from_jamo`: a choseong waits for a vowel, choseong + vowel wait for a final.

    At most two jamo are held back, and the text shown is what :func:`from_jamo` makes of all
    the tokens, exactly (same greedy left-to-right joining; PAD, BOS and EOS are skipped before
    joining, as :meth:`JamoTokenizer.decode` skips them).

    Args:
        tokenizer: a :class:`JamoTokenizer`.

    >>> tok = JamoTokenizer([])
    >>> stream = JamoStream(tok)
    >>> "".join(stream.push(tok.token_to_id(j)) for j in to_jamo("한글")) + stream.flush()
    '한글'
    """

    def __init__(self, tokenizer: VocabTokenizer) -> None:
        self.tokenizer = tokenizer
        self._held: list[str] = []  # [] or [choseong] or [choseong, jungseong]

    def push(self, token: int) -> str:
        """Add one id; the text of the syllables and characters it completes."""
        piece = self.tokenizer.decoded_token(token)
        return "" if piece is None else self._add(piece)

    def flush(self) -> str:
        """The jamo still held back: a lone choseong, or an open syllable without a final."""
        held, self._held = self._held, []
        return join_syllable(*held) if len(held) == 2 else "".join(held)

    def _add(self, piece: str) -> str:
        held = self._held
        if len(held) == 1 and piece in _JUNGSEONG_SET:
            held.append(piece)
            return ""
        if len(held) == 2 and piece in _JONGSEONG_SET:
            self._held = []
            return join_syllable(held[0], held[1], piece)
        shown = self.flush()  # the piece cannot extend what is held, which is final now
        if piece in _CHOSEONG_SET:
            self._held = [piece]
            return shown
        if len(piece) == 3 and piece[0] == "<" and piece[2] == ">" and piece[1] in _COMPOSABLE:
            piece = piece[1]
        return shown + piece


# ----------------------------------------------------------------------------- morphemes


_WHITESPACE_TOKENS = (" ", "\n")  # always in the vocabulary (ids 4 and 5)


@functools.lru_cache(maxsize=1)
def _kiwi_instance(kiwi_class: Any) -> Any:
    return kiwi_class()  # loading the model takes seconds; one per process


def _kiwi() -> Any:
    with needs_extra("ko"):
        import kiwipiepy
    return _kiwi_instance(kiwipiepy.Kiwi)


class MorphemeTokenizer(VocabTokenizer):
    """Korean morphemes (형태소) from the Kiwi analyser: tokens like ``먹/VV``, ``었/EP``, plus space tokens.

    Needs the ``ko`` extra (``pip install 'seqlab[ko]'``, which installs kiwipiepy).
    Whitespace between words is kept as a token (" " or "\\n"); decoding joins morphemes with
    Kiwi (so 하/VV + 었/EP gives 했), which gives back the text up to Kiwi's normalisation.

    Args:
        tokens: the morpheme tokens ("form/TAG"), after " " and "\\n" (ids 4 and 5).
        lowercase: lowercase Latin letters before analysis.

    >>> tok = MorphemeTokenizer.fit(["나는 밥을 먹었다."])  # doctest: +SKIP
    >>> tok.tokenize("밥을 먹었다")  # doctest: +SKIP
    ['밥/NNG', '을/JKO', ' ', '먹/VV', '었/EP', '다/EF']
    >>> tok.decode(tok.encode("밥을 먹었다"))  # doctest: +SKIP
    '밥을 먹었다'
    """

    type: ClassVar[str] = "morpheme"

    def __init__(self, tokens: Iterable[str], *, lowercase: bool = False) -> None:
        others = [t for t in tokens if t not in _WHITESPACE_TOKENS]
        super().__init__([*_WHITESPACE_TOKENS, *others], lowercase=lowercase)

    @classmethod
    def fit(cls, texts: str | Iterable[str], *, vocab_size: int = 0, lowercase: bool = False) -> MorphemeTokenizer:
        """Analyse texts with Kiwi and keep the morphemes seen (the most frequent when capped).

        Args:
            texts: one string or an iterable of strings.
            vocab_size: cap on the total (specials and the two whitespace tokens included);
                0 keeps every morpheme.
            lowercase: lowercase the texts first.
        """
        base = len(SPECIALS) + len(_WHITESPACE_TOKENS)
        check_vocab_size(vocab_size, minimum=base + 1, what=cls.type)
        counts: Counter[str] = Counter()
        for text in as_texts(texts):
            for line in (text.lower() if lowercase else text).splitlines():  # Kiwi is quicker on short inputs
                counts.update(t for t in _morphemes(line) if t not in _WHITESPACE_TOKENS)
        keep = most_frequent(counts, vocab_size - base if vocab_size else 0)
        return cls(keep, lowercase=lowercase)

    def tokenize(self, text: str) -> list[str]:
        """Morpheme tokens "form/TAG", with " " or "\\n" where the text had whitespace."""
        return _morphemes(text.lower() if self.lowercase else text)

    def join(self, tokens: list[str]) -> str:
        """Morpheme tokens back to text, word by word, through ``Kiwi.join``."""
        kiwi = _kiwi()
        pieces: list[str] = []
        word: list[tuple[str, str]] = []
        for token in tokens:
            form, sep, tag = token.rpartition("/")
            if sep and form:
                word.append((form, tag))
                continue
            if word:
                pieces.append(kiwi.join(word))
                word = []
            pieces.append(token)  # whitespace, or U+FFFD for UNK
        if word:
            pieces.append(kiwi.join(word))
        return "".join(pieces)

    def stream_decoder(self) -> MorphemeStream:
        """Decode ids one at a time, a word at a time (see :class:`MorphemeStream`)."""
        return MorphemeStream(self)


class MorphemeStream:
    """Streaming :meth:`MorphemeTokenizer.join`: a word's morphemes are held until the word ends.

    Kiwi joins a word's morphemes with contractions (하/VV + 었/EP gives 했), so a word's text is
    known only at the space, newline or UNK after it (or at the end); then it is joined once.
    Each morpheme is joined once, so the cost stays linear in the ids.

    Args:
        tokenizer: a :class:`MorphemeTokenizer`.

    >>> tok = MorphemeTokenizer([])
    >>> stream = MorphemeStream(tok)
    >>> [stream.push(i) for i in (2, 4, 5)], stream.flush()
    (['', ' ', '\\n'], '')
    """

    def __init__(self, tokenizer: VocabTokenizer) -> None:
        self.tokenizer = tokenizer
        self._word: list[tuple[str, str]] = []  # (form, tag) of the open word's morphemes

    def push(self, token: int) -> str:
        """Add one id; the text of the word it ends, and the separator itself."""
        piece = self.tokenizer.decoded_token(token)
        if piece is None:
            return ""
        form, sep, tag = piece.rpartition("/")
        if sep and form:
            self._word.append((form, tag))
            return ""
        return self.flush() + piece

    def flush(self) -> str:
        """The open word's text (Kiwi needed only if there is one)."""
        word, self._word = self._word, []
        return _kiwi().join(word) if word else ""


def _morphemes(text: str) -> list[str]:
    kiwi = _kiwi()
    tokens: list[str] = []
    end = 0
    for morph in kiwi.tokenize(text):
        if morph.start > end and tokens:
            gap = text[end : morph.start]
            tokens.append("\n" if "\n" in gap else " ")
        tokens.append(f"{morph.form}/{morph.tag}")
        end = max(end, morph.start + morph.len)
    return tokens


__all__ = [
    "SyllableTokenizer",
    "JamoTokenizer",
    "MorphemeTokenizer",
    "JamoStream",
    "MorphemeStream",
    "split_syllable",
    "join_syllable",
    "to_jamo",
    "from_jamo",
    "is_syllable",
    "ALL_JAMO",
]
