"""Exact ports of the legacy Keras text API: ``Tokenizer``, ``text_to_word_sequence``, ``pad_sequences``.

Code written against ``keras.preprocessing.text`` / ``tf.keras.preprocessing`` runs unchanged
and gives the same numbers, quirks included (they are listed in each docstring). That is why
these three keep Keras' signatures (positional arguments allowed) instead of seqlab's
keyword-only options. Only misuse that Keras answers with a confusing traceback (or silently
wrong numbers) gets a clear error here instead.

>>> tok = Tokenizer(num_words=3, oov_token="<OOV>")
>>> tok.fit_on_texts(["the cat sat", "the dog"])
>>> tok.word_index
{'<OOV>': 1, 'the': 2, 'cat': 3, 'sat': 4, 'dog': 5}
>>> tok.texts_to_sequences(["the cat ate"])
[[2, 1, 1]]
>>> pad_sequences([[1], [2, 3]], maxlen=3)
array([[0, 0, 1],
       [0, 2, 3]], dtype=int32)
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from seqlab.errors import DataError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(
    input_text: str,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
) -> list[str]:
    """Split a text into words the way Keras does.

    Quirks: lowercasing happens first; every character of ``filters`` is replaced by ``split``
    (so the apostrophe, curly quotes, "…" and ``\\r`` survive); the text is split on ``split``
    exactly (not on any whitespace) and empty strings are dropped.

    Args:
        input_text: one text.
        filters: characters to turn into separators.
        lower: lowercase the text first.
        split: the separator.

    >>> text_to_word_sequence("Don't panic!  It's\\tfine…")
    ["don't", 'panic', "it's", 'fine…']
    """
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate({ord(c): split for c in filters})
    return [word for word in input_text.split(split) if word]


def _check_texts(texts: Any, method: str) -> None:
    # Keras iterates a bare string character by character, silently; say so instead
    if isinstance(texts, str):
        raise TypeError(f"Tokenizer.{method} takes a list of texts, not one string; wrap it: [{texts[:20]!r}...]")


class Tokenizer:
    """The legacy Keras word (or character) tokenizer, quirks included.

    Quirks kept from Keras:

    - id 0 is reserved (never a word); with ``oov_token`` that token is id 1.
    - ``word_index`` keeps every word ever seen; ``num_words`` only limits what
      :meth:`texts_to_sequences` emits: ids ``>= num_words`` are dropped, or become the OOV id
      when ``oov_token`` is set. ``num_words=0`` means no limit.
    - words are ranked by count, ties by first appearance (a stable sort of ``word_counts``,
      which keeps insertion order); each :meth:`fit_on_texts` call adds to the counts and
      re-ranks everything.
    - ``char_level=True`` makes every character a token and ignores ``filters`` (spaces and
      punctuation are tokens); a text given as a list of strings is taken as ready-made tokens
      (lowercased when ``lower``, never filtered).
    - if the OOV token itself occurs in the texts, it keeps its place but takes the id of its
      rank, and id 1 is left without a word (Keras builds ``word_index`` with ``dict(zip(...))``).
    - :meth:`sequences_to_texts` turns every unknown id (0 included) into the OOV token when
      there is one.

    Args:
        num_words: keep ids below this in :meth:`texts_to_sequences` (None or 0: all).
        filters: characters removed (turned into ``split``) before splitting.
        lower: lowercase texts.
        split: word separator.
        char_level: every character is a token.
        oov_token: the token (id 1) that replaces unknown words.
        document_count: texts seen so far (Keras' JSON carries it).

    >>> tok = Tokenizer()
    >>> tok.fit_on_texts(["b a", "a b c"])
    >>> tok.word_index, dict(tok.word_counts)
    ({'b': 1, 'a': 2, 'c': 3}, {'b': 2, 'a': 2, 'c': 1})
    """

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        document_count: int = 0,
    ) -> None:
        self.word_counts: OrderedDict[str, int] = OrderedDict()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs: defaultdict[int, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _tokens(self, text: str | list[str]) -> Sequence[str]:
        if self.char_level or isinstance(text, list):
            if not self.lower:
                return text
            return [t.lower() for t in text] if isinstance(text, list) else text.lower()
        if not isinstance(text, str):
            raise TypeError(f"each text must be a string or a list of token strings (got {type(text).__name__})")
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[str | list[str]]) -> None:
        """Count the words of ``texts`` (added to earlier fits) and re-rank the vocabulary.

        Args:
            texts: strings, or lists of token strings, or a generator of either.

        >>> tok = Tokenizer(char_level=True)
        >>> tok.fit_on_texts(["Ab a!"])
        >>> tok.word_index
        {'a': 1, 'b': 2, ' ': 3, '!': 4}
        """
        _check_texts(texts, "fit_on_texts")
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            # dict.fromkeys: each distinct token once, in a fixed order (Keras uses a set here)
            for token in dict.fromkeys(tokens):
                self.word_docs[token] += 1

        ranked = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)  # stable
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + [word for word, _ in ranked]
        self.word_index = {}
        for i, word in enumerate(vocabulary, start=1):
            # a repeated word (the OOV token seen in texts) keeps its first slot but takes the later id
            self.word_index[word] = i
        self.index_word = {i: word for word, i in self.word_index.items()}
        for word, count in self.word_docs.items():
            self.index_docs[self.word_index[word]] = count

    def fit_on_sequences(self, sequences: Sequence[Sequence[int]]) -> None:
        """Count documents per id from id sequences (for ``tfidf`` without :meth:`fit_on_texts`).

        Args:
            sequences: lists of ids.

        >>> tok = Tokenizer(num_words=4)
        >>> tok.fit_on_sequences([[1, 1, 2], [2]])
        >>> tok.document_count, dict(tok.index_docs)
        (2, {1: 1, 2: 2})
        """
        self.document_count += len(sequences)
        for seq in sequences:
            for i in dict.fromkeys(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts: Iterable[str | list[str]]) -> list[list[int]]:
        """Turn each text into a list of word ids.

        Unknown words and ids ``>= num_words`` are dropped, or become the OOV id when there is
        an OOV token.

        Args:
            texts: strings or lists of token strings.

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["a b b"])
        >>> tok.texts_to_sequences(["b a z"])
        [[1, 2]]
        """
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts: Iterable[str | list[str]]) -> Iterator[list[int]]:
        """Like :meth:`texts_to_sequences`, one text at a time.

        >>> tok = Tokenizer(oov_token="?")
        >>> tok.fit_on_texts(["a"])
        >>> next(tok.texts_to_sequences_generator(["a z"]))
        [2, 1]
        """
        _check_texts(texts, "texts_to_sequences")
        limit = self.num_words
        oov_id = self._oov_id()
        for text in texts:
            ids = []
            for token in self._tokens(text):
                i = self.word_index.get(token)
                if i is None or (limit and i >= limit):
                    if oov_id is not None:
                        ids.append(oov_id)
                else:
                    ids.append(i)
            yield ids

    def sequences_to_texts(self, sequences: Iterable[Sequence[int]]) -> list[str]:
        """Turn id lists back into space-joined words.

        Unknown ids (0 included) and ids ``>= num_words`` are dropped, or become the OOV token.

        Args:
            sequences: lists of ids.

        >>> tok = Tokenizer(oov_token="?")
        >>> tok.fit_on_texts(["a b"])
        >>> tok.sequences_to_texts([[2, 3, 0, 9]])
        ['a b ? ?']
        """
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[Sequence[int]]) -> Iterator[str]:
        """Like :meth:`sequences_to_texts`, one sequence at a time.

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["a b"])
        >>> next(tok.sequences_to_texts_generator([[2, 1]]))
        'b a'
        """
        limit = self.num_words
        oov_id = self._oov_id()
        for seq in sequences:
            words = []
            for i in seq:
                word = self.index_word.get(i)
                if word is None or (limit and i >= limit):
                    if oov_id is not None:
                        words.append(self.index_word[oov_id])
                else:
                    words.append(word)
            yield " ".join(words)

    def stream_decoder(self) -> WordStream:
        """Like :meth:`sequences_to_texts` for one sequence given an id at a time (an extension, not Keras API).

        >>> tok = Tokenizer(oov_token="?")
        >>> tok.fit_on_texts(["a b"])
        >>> stream = tok.stream_decoder()
        >>> [stream.push(i) for i in [2, 3, 0, 9]]
        ['a', ' b', ' ?', ' ?']
        """
        return WordStream(self)

    def _oov_id(self) -> int | None:
        if self.oov_token is None:
            return None
        if self.oov_token not in self.word_index:
            # Keras would emit None ids (or a KeyError) here
            raise ValueError("this Tokenizer has an oov_token but was never fitted; call fit_on_texts first")
        return self.word_index[self.oov_token]

    def texts_to_matrix(self, texts: Sequence[str | list[str]], mode: str = "binary") -> np.ndarray:
        """One row per text, one column per id: ``binary``, ``count``, ``tfidf`` or ``freq``.

        Args:
            texts: strings or lists of token strings.
            mode: one of binary, count, tfidf, freq.

        Returns:
            float64 array (len(texts), num_words or len(word_index) + 1).

        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(["a a b"])
        >>> tok.texts_to_matrix(["a a b", "b z"], mode="count")
        array([[0., 2., 1.],
               [0., 0., 1.]])
        """
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: Sequence[Sequence[int]], mode: str = "binary") -> np.ndarray:
        """One row per id sequence, as :meth:`texts_to_matrix`; ids ``>= num_words`` are skipped.

        Args:
            sequences: lists of ids.
            mode: one of binary, count, tfidf, freq.

        >>> Tokenizer(num_words=3).sequences_to_matrix([[1, 1, 5]], mode="freq")
        array([[0.        , 0.66666667, 0.        ]])
        """
        import numpy as np

        if mode not in MATRIX_MODES:
            raise ValueError(f"mode must be one of {', '.join(MATRIX_MODES)} (got {mode!r})")
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")

        matrix = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            if not seq:
                continue
            counts: dict[int, int] = {}
            for j in seq:
                if j < width:
                    counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                if mode == "count":
                    matrix[row, j] = c
                elif mode == "freq":
                    matrix[row, j] = c / len(seq)  # len(seq) counts skipped ids too, as in Keras
                elif mode == "binary":
                    matrix[row, j] = 1
                else:
                    # tf-idf weighting scheme 2 (log-scaled tf, smoothed idf), as Keras
                    tf = 1 + math.log(c)
                    idf = math.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    matrix[row, j] = tf * idf
        return matrix

    def get_config(self) -> dict[str, Any]:
        """Keras' config dict: the settings, with the five tables as JSON strings.

        >>> sorted(Tokenizer().get_config())[:3]
        ['char_level', 'document_count', 'filters']
        """
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """Keras' JSON: ``{"class_name": "Tokenizer", "config": get_config()}``.

        Args:
            indent: passed to ``json.dumps`` for pretty output.

        >>> tok = Tokenizer(oov_token="<OOV>")
        >>> tok.fit_on_texts(["한국어 text"])
        >>> Tokenizer.from_json(tok.to_json()).word_index
        {'<OOV>': 1, '한국어': 2, 'text': 3}
        """
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, indent=indent)

    @classmethod
    def from_json(cls, json_string: str) -> Tokenizer:
        """Rebuild a Tokenizer from :meth:`to_json` (or Keras') output; same as :func:`tokenizer_from_json`.

        >>> Tokenizer.from_json(Tokenizer(num_words=7).to_json()).num_words
        7
        """
        return tokenizer_from_json(json_string)

    def __repr__(self) -> str:
        return f"Tokenizer(num_words={self.num_words}, words={len(self.word_index)}, oov_token={self.oov_token!r})"


class WordStream:
    """Streaming :meth:`Tokenizer.sequences_to_texts`: each id adds its word, after a space if one came before.

    Args:
        tokenizer: a fitted :class:`Tokenizer` (its vocabulary must not change while streaming).

    >>> tok = Tokenizer()
    >>> tok.fit_on_texts(["a b"])
    >>> stream = WordStream(tok)
    >>> [stream.push(i) for i in [2, 9, 1]], stream.flush()  # no oov_token: unknown ids are dropped
    (['b', '', ' a'], '')
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._limit = tokenizer.num_words
        oov_id = tokenizer._oov_id()
        self._oov = None if oov_id is None else tokenizer.index_word[oov_id]
        self._started = False

    def push(self, token: int) -> str:
        """One id's word ('' for a dropped id)."""
        word = self.tokenizer.index_word.get(token)
        if word is None or (self._limit and token >= self._limit):
            word = self._oov
        if word is None:
            return ""
        if self._started:
            return " " + word
        self._started = True
        return word

    def flush(self) -> str:
        """Nothing is held back."""
        return ""


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """Rebuild a :class:`Tokenizer` from Keras-format JSON (``tokenizer.to_json()``).

    Integer keys (which JSON turns into strings) come back as ints, as in Keras.

    Args:
        json_string: the text written by ``to_json``.

    >>> tok = tokenizer_from_json(Tokenizer().to_json())
    >>> tok.word_index
    {}
    """
    try:
        data = json.loads(json_string)
        config = dict(data["config"])
        names = ("word_counts", "word_docs", "index_docs", "index_word", "word_index")
        tables = {key: json.loads(config.pop(key)) for key in names}
        tokenizer = Tokenizer(**config)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise DataError(
            f'not Keras Tokenizer JSON (expected {{"class_name": "Tokenizer", "config": {{...}}}}): {err!r}'
        ) from None
    tokenizer.word_counts = OrderedDict(tables["word_counts"])
    tokenizer.word_docs = defaultdict(int, tables["word_docs"])
    tokenizer.index_docs = defaultdict(int, {int(k): v for k, v in tables["index_docs"].items()})
    tokenizer.index_word = {int(k): v for k, v in tables["index_word"].items()}
    tokenizer.word_index = tables["word_index"]
    return tokenizer


# ----------------------------------------------------------------------------- padding


def pad_sequences(
    sequences: Sequence[Sequence[Any]] | Iterable[Sequence[Any]],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0,
) -> np.ndarray:
    """Pad (and cut) sequences to one length, exactly as Keras' ``pad_sequences``.

    Quirks kept from Keras: the length is the longest sequence unless ``maxlen`` is given;
    cutting and padding both happen at the front by default ("pre"); the output is cast to
    ``dtype`` (int32 by default, so floats are truncated towards zero and a float ``value``
    like 0.5 pads with 0); empty sequences become rows of ``value``; sequences of vectors give
    a 3-D array (the item shape is taken from the first non-empty sequence). ``maxlen=0`` with
    ``truncating="post"`` gives a (N, 0) array.

    Where Keras fails with a numpy message, this raises a ValueError that says why: no
    sequences and no ``maxlen``; ``maxlen=0`` with ``truncating="pre"`` and a non-empty
    sequence longer than 1 (Keras' ``s[-0:]`` keeps the whole sequence and cannot fit it). ``padding`` and
    ``truncating`` are checked up front (Keras checks them only on a non-empty sequence).

    Args:
        sequences: N sequences of ids (or of equal-shape vectors), lists or arrays.
        maxlen: output length T; None means the longest sequence.
        dtype: numpy dtype of the result; ``object`` or a string dtype for text values.
        padding: "pre" or "post": where padding goes.
        truncating: "pre" or "post": which end of a too-long sequence is cut.
        value: the padding value.

    Returns:
        array (N, T) or (N, T, ...) of ``dtype``.

    >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post", truncating="post")
    array([[1, 0],
           [2, 3],
           [4, 5]], dtype=int32)
    """
    import numpy as np  # imported here so that importing seqlab.text stays cheap

    for name, given in (("padding", padding), ("truncating", truncating)):
        if given not in ("pre", "post"):
            raise ValueError(f'{name} must be "pre" or "post" (got {given!r})')
    if not hasattr(sequences, "__len__"):
        sequences = list(sequences)

    lengths = []
    item_shape: tuple[int, ...] = ()  # (...) of one time step; () for plain ids
    found_item_shape = False
    for position, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError(
                f"`sequences` must be a list of iterables (lists or arrays); item {position} is {seq!r}"
            ) from None
        if lengths[-1] and not found_item_shape:
            item_shape = np.asarray(seq).shape[1:]
            found_item_shape = True

    if maxlen is None:
        if not lengths:
            raise ValueError(
                "pad_sequences got no sequences and no maxlen, so the output length is unknown; pass maxlen"
            )
        maxlen = max(lengths)
    if maxlen < 0:
        raise ValueError(f"maxlen must be >= 0 (got {maxlen})")

    text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and not text_dtype and np.dtype(dtype) != np.dtype(object):
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )

    out = np.full((len(lengths), maxlen, *item_shape), value, dtype=dtype)  # (N, T, ...)
    for row, seq in enumerate(sequences):
        if not lengths[row]:
            continue
        if maxlen == 0:
            # Keras keeps s[-0:], the whole sequence, and numpy fits it into 0 columns only when
            # it has one item (broadcasting); longer ones fail there
            if truncating == "pre" and lengths[row] > 1:
                raise ValueError(
                    "maxlen=0 with truncating='pre' cannot cut a sequence of length > 1 (Keras keeps s[-0:], "
                    "the whole sequence, and fails); use truncating='post' for an empty (N, 0) result"
                )
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {row} "
                f"is different from expected shape {item_shape}"
            )
        if padding == "post":
            out[row, : len(kept)] = kept
        else:
            out[row, maxlen - len(kept) :] = kept
    return out


__all__ = [
    "Tokenizer",
    "tokenizer_from_json",
    "text_to_word_sequence",
    "pad_sequences",
    "DEFAULT_FILTERS",
    "WordStream",
]
