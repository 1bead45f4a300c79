"""The protocol every seqlab tokenizer follows, and the vocabulary machinery most of them share.

A tokenizer turns text into ids and back. ``pad_id`` is always 0; ``unk_id``, ``bos_id`` and
``eos_id`` follow in that order where a tokenizer has them (else ``None``). Every tokenizer saves
itself as JSON with a ``"type"`` field, so :func:`seqlab.text.load_tokenizer` can read any of them
back without unpickling anything.

>>> from seqlab.text import CharTokenizer
>>> tok = CharTokenizer.fit(["hello"])
>>> isinstance(tok, TextTokenizer)
True
>>> tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id
(0, 1, 2, 3)
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from seqlab.errors import ConfigError, DataError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS)
# U+FFFD is Unicode's "a character could not be decoded"; char-like tokenizers decode UNK to it
REPLACEMENT = "\ufffd"
JSON_VERSION = 1


@runtime_checkable
class TextTokenizer(Protocol):
    """What every seqlab tokenizer offers (see docs/internals.md).

    >>> from seqlab.text import CharTokenizer
    >>> isinstance(CharTokenizer.fit(["ab"]), TextTokenizer)
    True
    """

    type: ClassVar[str]
    pad_id: int
    unk_id: int | None
    bos_id: int | None
    eos_id: int | None

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included."""
        ...

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Text to ids; BOS/EOS only when asked."""
        ...

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text; PAD, BOS and EOS are dropped."""
        ...

    def tokenize(self, text: str) -> list[str]:
        """The token strings ``encode`` numbers, one per id."""
        ...

    def id_to_token(self, i: int) -> str:
        """The token string of one id."""
        ...

    def token_to_id(self, token: str) -> int | None:
        """The id of one token string, or None when it is not in the vocabulary."""
        ...

    def to_json(self) -> str:
        """The whole tokenizer as JSON text with a ``"type"`` field."""
        ...

    @classmethod
    def from_json(cls, text: str) -> TextTokenizer:
        """Rebuild a tokenizer from :meth:`to_json` output."""
        ...

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to a file."""
        ...


# ----------------------------------------------------------------------------- helpers


def as_texts(texts: str | Iterable[str]) -> Iterable[str]:
    """Treat one string as a corpus of one text (a ``Corpus`` is one long string).

    >>> list(as_texts("abc")), list(as_texts(["a", "b"]))
    (['abc'], ['a', 'b'])
    """
    return [texts] if isinstance(texts, str) else texts


def ids_list(ids: Iterable[int]) -> list[int]:
    """Turn a list, tuple, 1-D numpy array or 1-D tensor of ids into a list of ints.

    >>> import numpy as np
    >>> ids_list(np.array([3, 4]))
    [3, 4]
    """
    tolist = getattr(ids, "tolist", None)
    values = tolist() if callable(tolist) else ids
    return [int(i) for i in values]


def check_vocab_size(vocab_size: int, *, minimum: int, what: str) -> None:
    """Raise a ConfigError unless vocab_size is 0 (everything) or at least ``minimum``.

    >>> check_vocab_size(0, minimum=5, what="char")
    >>> check_vocab_size(3, minimum=5, what="char")
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: vocab_size for the char tokenizer must be 0 (keep everything) or at least 5 (got 3)
    """
    if vocab_size != 0 and vocab_size < minimum:
        raise ConfigError(
            f"vocab_size for the {what} tokenizer must be 0 (keep everything) or at least {minimum} (got {vocab_size})"
        )


def most_frequent(counts: Counter[str], keep: int) -> list[str]:
    """The ``keep`` most frequent tokens (all when keep is 0), ties broken by first appearance.

    >>> most_frequent(Counter("abbccc"), 2)
    ['c', 'b']
    """
    ranked = [token for token, _ in counts.most_common()]  # most_common is stable on ties
    return ranked if keep <= 0 else ranked[:keep]


def with_specials(ids: list[int], tokenizer: Any, *, add_bos: bool, add_eos: bool) -> list[int]:
    """Wrap ids in the tokenizer's BOS/EOS when asked; a ConfigError if it has none.

    >>> from seqlab.text import CharTokenizer
    >>> with_specials([7], CharTokenizer([]), add_bos=True, add_eos=True)
    [2, 7, 3]
    """
    for wanted, attr in ((add_bos, "bos_id"), (add_eos, "eos_id")):
        if wanted and getattr(tokenizer, attr) is None:
            raise ConfigError(
                f"the {tokenizer.type} tokenizer has no {attr[:3].upper()} token; "
                "char, bpe, syllable, jamo, morpheme and minilm tokenizers have one"
            )
    return [*([tokenizer.bos_id] if add_bos else []), *ids, *([tokenizer.eos_id] if add_eos else [])]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text so that a reader never sees half a file (temp file + rename).

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "tok.json"
    >>> write_text_atomic(target, "{}")
    >>> target.read_text()
    '{}'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def parse_tokenizer_json(text: str, *, expected_type: str) -> dict[str, Any]:
    """Parse saved tokenizer JSON and check its ``"type"``; a DataError says what is wrong.

    >>> parse_tokenizer_json('{"type": "char", "tokens": []}', expected_type="char")["type"]
    'char'
    >>> parse_tokenizer_json('{"type": "bpe"}', expected_type="char")
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: this is a "bpe" tokenizer, not a "char" one; read it with seqlab.text.load_tokenizer
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as err:
        raise DataError(f"tokenizer JSON cannot be parsed: {err}") from None
    if not isinstance(data, dict) or "type" not in data:
        raise DataError('tokenizer JSON must be an object with a "type" field (as written by tokenizer.save)')
    if data["type"] != expected_type:
        raise DataError(
            f'this is a "{data["type"]}" tokenizer, not a "{expected_type}" one; '
            "read it with seqlab.text.load_tokenizer"
        )
    return data


def require_field(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """Fetch one field of saved tokenizer JSON, or raise a DataError naming it.

    >>> require_field({"tokens": ["a"]}, "tokens", list)
    ['a']
    """
    if key not in data or not isinstance(data[key], kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(f'{data.get("type", "tokenizer")} tokenizer JSON needs a "{key}" field of type {names}')
    return data[key]


# ----------------------------------------------------------------------------- streaming


class StreamDecoder(Protocol):
    """Ids in one at a time, text out: what a tokenizer's ``stream_decoder()`` returns.

    ``push`` returns the text that one more id adds to ``decode(ids so far)``, holding back
    whatever a later id could still change (a partial UTF-8 character, a Hangul syllable still
    being spelled); ``flush`` returns what is held back once no id will follow. So
    ``"".join(pushes) + flush()`` is ``decode(ids)``, and each id costs O(1), not O(ids so far).
    The text is decode's own, U+FFFD included: :class:`seqlab.decode.TextStream` drops those.
    """

    def push(self, token: int) -> str:
        """The text one more id adds ('' while it is held back)."""
        ...

    def flush(self) -> str:
        """The text still held back, at the end of the ids."""
        ...


class WindowDecoder:
    """A :class:`StreamDecoder` for any tokenizer with ``decode(ids)``: it re-decodes a short window.

    The window is the ids of the last piece shown (context, for decoders whose text depends on
    the token before, such as word pieces) plus the ids not shown yet. A piece is shown once
    ``decode(window)`` extends ``decode(context)`` and does not end in U+FFFD (an incomplete
    character, which later ids may finish). A window that has waited ``max_pending`` ids is
    shown as it is, so a token costs at most two decodes of about ``2 * max_pending`` ids.

    Args:
        tokenizer: anything with ``decode(ids) -> str``.
        max_pending: the most ids held back waiting for a character to complete.

    >>> class Bytes:
    ...     def decode(self, ids): return bytes(ids).decode("utf-8", errors="replace")
    >>> stream = WindowDecoder(Bytes())
    >>> [stream.push(b) for b in "é!".encode()], stream.flush()
    (['', 'é', '!'], '')
    """

    def __init__(self, tokenizer: Any, *, max_pending: int = 64) -> None:
        self.tokenizer = tokenizer
        self.max_pending = max_pending
        self._window: list[int] = []  # context ids, then pending ids
        self._context = 0  # how many ids of the window were shown already
        self._context_text = ""  # decode(window[:context])

    def push(self, token: int) -> str:
        """Add one id; the new text, or '' while it waits."""
        self._window.append(token)
        text = self.tokenizer.decode(self._window)
        pending = len(self._window) - self._context
        grown = len(text) > len(self._context_text) and text.startswith(self._context_text)
        if pending < self.max_pending and not (grown and not text.endswith(REPLACEMENT)):
            return ""  # also when the ids added no text yet: they stay, as context for the next
        return self._show(text)

    def flush(self) -> str:
        """The ids still pending, decoded as they are."""
        if len(self._window) == self._context:
            return ""
        return self._show(self.tokenizer.decode(self._window))

    def _show(self, text: str) -> str:
        new = text[len(self._context_text) :]  # (after max_pending ids, even if the context's text changed)
        del self._window[: self._context]  # the ids just shown become the next context
        self._context = len(self._window)
        self._context_text = self.tokenizer.decode(self._window)
        return new


# ----------------------------------------------------------------------------- vocabulary tokenizers


class SavedAsJson:
    """Saving, equality and hashing for a tokenizer that is defined by its :meth:`to_json` text."""

    def to_json(self) -> str:
        raise NotImplementedError

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path`` (atomically)."""
        write_text_atomic(path, self.to_json())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SavedAsJson) and type(other) is type(self) and other.to_json() == self.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())


class BackendTokenizer(SavedAsJson):
    """Look-ups and JSON for a tokenizer that wraps a ``tokenizers.Tokenizer`` as ``self.backend``.

    The JSON is ``{"type": ..., "version": 1, "tokenizer": <the tokenizers library's JSON>}``.
    """

    type: ClassVar[str]
    backend: Any

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included."""
        return self.backend.get_vocab_size(with_added_tokens=True)

    def tokenize(self, text: str) -> list[str]:
        """The token strings of ``text``, as the backend splits it (no special tokens).

        Args:
            text: any string.
        """
        return self.backend.encode(text, add_special_tokens=False).tokens

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Text to ids; the tokenizer's BOS / EOS only when asked.

        Args:
            text: any string.
            add_bos: put BOS first.
            add_eos: put EOS last.
        """
        ids = self.backend.encode(text, add_special_tokens=False).ids
        return with_specials(ids, self, add_bos=add_bos, add_eos=add_eos)

    def known_ids(self, ids: Iterable[int]) -> list[int]:
        """``ids`` as a list, checked to lie in ``range(vocab_size)`` (a DataError names the first that does not).

        Args:
            ids: a sequence of ids (list, 1-D array or 1-D tensor).
        """
        values = ids_list(ids)
        for i in values:
            if not 0 <= i < self.vocab_size:
                raise DataError(f"id {i} is outside the {self.type} vocabulary (ids 0..{self.vocab_size - 1})")
        return values

    def id_to_token(self, i: int) -> str:
        """The token string of one id.

        Args:
            i: an id in ``range(vocab_size)``.
        """
        token = self.backend.id_to_token(i) if i >= 0 else None
        if token is None:
            raise DataError(f"id {i} is outside the {self.type} vocabulary (ids 0..{self.vocab_size - 1})")
        return token

    def token_to_id(self, token: str) -> int | None:
        """The id of one token string, or None when it is not in the vocabulary."""
        return self.backend.token_to_id(token)

    def to_json(self) -> str:
        """``{"type": ..., "version": 1, "tokenizer": <the tokenizers library's JSON>}``."""
        backend = json.loads(self.backend.to_str())
        return json.dumps({"type": self.type, "version": JSON_VERSION, "tokenizer": backend}, ensure_ascii=False)


class VocabTokenizer(SavedAsJson):
    """A tokenizer with an explicit token list: PAD=0, UNK=1, BOS=2, EOS=3, then ``tokens``.

    Subclasses say how text splits into token strings (:meth:`tokenize`) and how token strings
    join back into text (:meth:`join`); this class numbers them.

    Args:
        tokens: the vocabulary after the four specials, in id order (ids 4, 5, ...).
        lowercase: lowercase text before tokenizing.

    >>> from seqlab.text import CharTokenizer
    >>> tok = CharTokenizer(["a", "b"])
    >>> tok.encode("abz", add_eos=True), tok.vocab_size, tok.id_to_token(4)
    ([4, 5, 1, 3], 6, 'a')
    """

    type: ClassVar[str] = ""
    pad_id: int = 0
    unk_id: int | None = 1
    bos_id: int | None = 2
    eos_id: int | None = 3

    def __init__(self, tokens: Sequence[str], *, lowercase: bool = False) -> None:
        self.lowercase = lowercase
        self.itos: list[str] = [*SPECIALS, *tokens]
        self.stoi: dict[str, int] = {}
        for i, token in enumerate(self.itos):
            if token in self.stoi:
                raise ConfigError(
                    f"token {token!r} appears twice in the {self.type} vocabulary (ids {self.stoi[token]} and {i})"
                )
            self.stoi[token] = i

    # subclasses override these two
    def tokenize(self, text: str) -> list[str]:
        """The token strings ``encode`` numbers, one per id."""
        raise NotImplementedError

    def join(self, tokens: list[str]) -> str:
        """Token strings back to text (UNK already replaced by U+FFFD)."""
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included."""
        return len(self.itos)

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Text to ids; tokens outside the vocabulary become UNK.

        Args:
            text: any string.
            add_bos: put BOS (2) first.
            add_eos: put EOS (3) last.
        """
        unk = self.unk_id
        assert unk is not None  # a vocabulary tokenizer always has UNK (1)
        ids = [self.stoi.get(token, unk) for token in self.tokenize(text)]
        return with_specials(ids, self, add_bos=add_bos, add_eos=add_eos)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text: PAD, BOS and EOS are dropped, UNK becomes U+FFFD.

        Args:
            ids: a sequence of ids (list, 1-D array or 1-D tensor).
        """
        skip = {self.pad_id, self.bos_id, self.eos_id}
        pieces = []
        for i in ids_list(ids):  # decoded_token inlined: a method call per id would slow every decode
            if i in skip:
                continue
            if i == self.unk_id:
                pieces.append(REPLACEMENT)
            else:
                pieces.append(self.id_to_token(i))
        return self.join(pieces)

    def decoded_token(self, i: int) -> str | None:
        """What :meth:`decode` makes of one id before joining: None for PAD, BOS and EOS, U+FFFD for UNK.

        Args:
            i: an id in ``range(vocab_size)``.

        >>> from seqlab.text import CharTokenizer
        >>> tok = CharTokenizer(["a"])
        >>> tok.decoded_token(4), tok.decoded_token(1), tok.decoded_token(3)
        ('a', '\ufffd', None)
        """
        if i == self.pad_id or i == self.bos_id or i == self.eos_id:
            return None
        if i == self.unk_id:
            return REPLACEMENT
        return self.id_to_token(i)

    def stream_decoder(self) -> StreamDecoder:
        """A decoder that takes ids one at a time (:class:`StreamDecoder`); this one re-decodes a
        bounded window (:class:`WindowDecoder`), subclasses join their own tokens incrementally.

        >>> from seqlab.text import CharTokenizer
        >>> stream = VocabTokenizer.stream_decoder(CharTokenizer(["a", "b"]))
        >>> [stream.push(i) for i in (4, 5, 4)], stream.flush()
        (['a', 'b', 'a'], '')
        """
        return WindowDecoder(self)

    def id_to_token(self, i: int) -> str:
        """The token string of one id.

        Args:
            i: an id in ``range(vocab_size)``.
        """
        if not 0 <= i < len(self.itos):
            raise DataError(f"id {i} is outside the {self.type} vocabulary (ids 0..{len(self.itos) - 1})")
        return self.itos[i]

    def token_to_id(self, token: str) -> int | None:
        """The id of one token string, or None when it is not in the vocabulary."""
        return self.stoi.get(token)

    def to_json(self) -> str:
        """The tokenizer as JSON: type, version, lowercase and the token list (specials first)."""
        return json.dumps(
            {"type": self.type, "version": JSON_VERSION, "lowercase": self.lowercase, "tokens": self.itos},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str):
        """Rebuild the tokenizer from :meth:`to_json` output."""
        data = parse_tokenizer_json(text, expected_type=cls.type)
        tokens = require_field(data, "tokens", list)
        lowercase = require_field(data, "lowercase", bool)
        if list(tokens[: len(SPECIALS)]) != list(SPECIALS) or not all(isinstance(t, str) for t in tokens):
            raise DataError(
                f"{cls.type} tokenizer JSON must list the tokens as strings, starting with {', '.join(SPECIALS)}"
            )
        return cls(tokens[len(SPECIALS) :], lowercase=lowercase)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, lowercase={self.lowercase})"


__all__ = [
    "TextTokenizer",
    "VocabTokenizer",
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "SPECIALS",
    "REPLACEMENT",
    "as_texts",
    "ids_list",
    "write_text_atomic",
    "SavedAsJson",
    "StreamDecoder",
    "WindowDecoder",
]
