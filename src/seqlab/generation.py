"""Text generation: prompt ids, a model and a tokenizer in, a stream of text pieces out.

The one path from a prompt to text. :meth:`seqlab.run.Run.sample` (through the language-model
task) and the server's language-model adapter (which serves the terminal chat too) call
:func:`continue_text`; the seq2seq adapter, whose decoder starts from BOS, calls
:func:`generate_text` under it, which submits the request to a decoding engine
(:class:`seqlab.engine.BatchEngine`: the server's shared one, which steps every running request
as one batch, or a private one) with a :class:`seqlab.decode.TextStream` that turns its ids into
text pieces. What comes back is a :class:`Generation`: an iterator of text pieces that counts the
tokens it generated and knows why it ended, so the server can fill ``usage`` and
``finish_reason`` exactly.

Importing this module does not import torch (the server's package imports it and stays light);
:func:`generate_text` does.

>>> gen = Generation(iter(["to ", "be"]), prompt_tokens=3)
>>> "".join(gen), gen.completion_tokens, gen.finish_reason
('to be', 2, 'stop')
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from seqlab.errors import SeqlabError

if TYPE_CHECKING:
    from seqlab.decode import EncoderDecoder, SamplingParams, Steppable
    from seqlab.engine import BatchEngine
    from seqlab.text.base import TextTokenizer


class PromptError(SeqlabError, ValueError):
    """A prompt that cannot be continued as it is: not text, or not valid Unicode (the server says 400)."""

    code = "invalid_prompt"


def check_prompt(prompt: object) -> str:
    """``prompt`` if it is text that every tokenizer can encode, else a :class:`PromptError` saying why.

    Args:
        prompt: what the caller gave as the prompt.

    >>> check_prompt("to be")
    'to be'
    >>> check_prompt(["to be"])
    Traceback (most recent call last):
    ...
    seqlab.generation.PromptError: the prompt must be text (a str), not list (got ['to be'])
    >>> check_prompt("a\\ud800")
    Traceback (most recent call last):
    ...
    seqlab.generation.PromptError: the prompt is not valid Unicode: it holds a lone surrogate '\\ud800' at position 1
    """
    if not isinstance(prompt, str):
        shown = repr(prompt) if len(repr(prompt)) <= 60 else repr(prompt)[:57] + "..."
        raise PromptError(f"the prompt must be text (a str), not {type(prompt).__name__} (got {shown})")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as err:
        raise PromptError(
            f"the prompt is not valid Unicode: it holds a lone surrogate {prompt[err.start]!r} at position {err.start}"
        ) from None
    return prompt


def prompt_ids(tokenizer: TextTokenizer, prompt: str) -> list[int]:
    """Ids to start generation from; an empty prompt starts from a newline (or BOS).

    Args:
        tokenizer: encodes the prompt.
        prompt: the text to continue (anything else is a :class:`PromptError`, see :func:`check_prompt`).

    >>> from seqlab.text import CharTokenizer
    >>> tok = CharTokenizer.fit(["ab\\n"])
    >>> prompt_ids(tok, "ab") == tok.encode("ab"), prompt_ids(tok, "") == tok.encode("\\n")
    (True, True)
    """
    prompt = check_prompt(prompt)
    ids = tokenizer.encode(prompt) if prompt else []
    if ids:
        return ids
    newline = tokenizer.encode("\n")
    if newline and newline != [tokenizer.unk_id]:
        return newline
    start = tokenizer.bos_id if tokenizer.bos_id is not None else tokenizer.unk_id
    if start is None:
        raise ValueError("this tokenizer has no newline, BOS or UNK id to start an empty prompt from")
    return [start]


class TextGeneration(Protocol):
    """What a running generation offers its reader (the server, the terminal, ``seqlab sample``).

    Iterating yields text pieces; ``prompt_tokens`` and ``completion_tokens`` fill ``usage``;
    ``finish_reason`` is None until it ends; ``close()`` cancels it.
    :class:`seqlab.engine.Stream` (every model's text) and :class:`Generation` (any iterator of
    pieces, as in tests) both are one.
    """

    prompt_tokens: int
    finish_reason: str | None

    def __iter__(self) -> Iterator[str]: ...

    @property
    def completion_tokens(self) -> int: ...

    def close(self) -> None: ...


class Generation:
    """An iterator of text pieces that counts generated tokens and records why it ended.

    ``finish_reason`` is None while it runs, then ``"stop"`` (EOS or a stop string), ``"length"``
    (``max_tokens`` reached) or ``"cancelled"`` (closed before the end). This class wraps any
    iterator of pieces (one piece per token); the engine's :class:`seqlab.engine.Stream` is the
    one every model's text comes through.

    Args:
        pieces: the text pieces.
        prompt_tokens: how many tokens the prompt had (for ``usage``).

    >>> gen = Generation(iter(["a", "b"]), prompt_tokens=1)
    >>> list(gen), gen.completion_tokens, gen.finish_reason
    (['a', 'b'], 2, 'stop')
    """

    def __init__(self, pieces: Iterator[str], *, prompt_tokens: int) -> None:
        self._pieces = pieces
        self._own_count = 0
        self.prompt_tokens = prompt_tokens
        self.finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            piece = next(self._pieces)
        except StopIteration:
            if self.finish_reason is None:
                self.finish_reason = "stop"
            raise
        self._own_count += 1
        return piece

    @property
    def completion_tokens(self) -> int:
        """Tokens generated so far."""
        return self._own_count

    def close(self) -> None:
        """Stop generating (a stopped generation's finish_reason is ``"cancelled"`` if unfinished)."""
        if self.finish_reason is None:
            self.finish_reason = "cancelled"
        close = getattr(self._pieces, "close", None)  # a generator holds the model's state until closed
        if close is not None:
            close()


def generate_text(
    model: Steppable | EncoderDecoder,
    ids: Sequence[int],
    tokenizer: TextTokenizer,
    params: SamplingParams,
    *,
    prompt_tokens: int | None = None,
    lstrip: bool = False,
    state: Any = None,
    engine: BatchEngine | None = None,
) -> TextGeneration:
    """The text that ``model`` writes after ``ids``: sampled with ``params``, ending at EOS, a stop
    string or ``params.max_tokens``.

    Args:
        model: a language model (``init_state`` and ``step``) or a seq2seq decoder (with ``state``).
        ids: the ids read before the first new token (:func:`prompt_ids` for a text prompt; BOS
            for a seq2seq reply).
        tokenizer: decodes the new ids; its ``eos_id`` (if any) ends the text.
        params: how to sample, how long, and the stop strings.
        prompt_tokens: what ``usage.prompt_tokens`` reports (default ``len(ids)``; a seq2seq
            reply counts its source instead).
        lstrip: drop the text's leading spaces.
        state: a prepared decoding state (a seq2seq model's ``start(src, src_mask)``).
        engine: the decoding engine to join (the server's, shared by every request for this
            model); None decodes in a private one, driven by whoever reads the text.

    >>> import torch
    >>> from seqlab.decode import SamplingParams
    >>> from seqlab.text import CharTokenizer
    >>> tok = CharTokenizer.fit(["ab"])
    >>> class Ab(torch.nn.Module):  # a, b, a, b, ...
    ...     def init_state(self, batch_size): return None
    ...     def step(self, ids, state):
    ...         following = torch.tensor(tok.encode("ba"))[(ids == tok.encode("b")[0]).long()]
    ...         return torch.nn.functional.one_hot(following, tok.vocab_size).float(), state
    >>> gen = generate_text(Ab(), tok.encode("b"), tok, SamplingParams(max_tokens=5, temperature=0))
    >>> "".join(gen), gen.prompt_tokens, gen.completion_tokens, gen.finish_reason
    ('ababa', 1, 5, 'length')
    >>> gen = generate_text(Ab(), tok.encode("b"), tok, SamplingParams(max_tokens=5, temperature=0, stop=["b"]))
    >>> "".join(gen), gen.finish_reason
    ('a', 'stop')
    """
    from seqlab.decode import TextStream  # torch, only once something is generated
    from seqlab.engine import BatchEngine

    engine = engine if engine is not None else BatchEngine(model, max_batch=1)
    return engine.submit(
        ids,
        params,
        stop_ids=[tokenizer.eos_id] if tokenizer.eos_id is not None else [],
        text=TextStream(tokenizer, stop=params.stop),
        state=state,
        prompt_tokens=prompt_tokens,
        lstrip=lstrip,
    )


def continue_text(
    model: Steppable,
    prompt: str,
    tokenizer: TextTokenizer,
    params: SamplingParams,
    *,
    lstrip: bool = False,
    engine: BatchEngine | None = None,
) -> TextGeneration:
    """The text that ``model`` writes after ``prompt``: :func:`generate_text` from :func:`prompt_ids`.

    What :meth:`seqlab.run.Run.sample` and the server's language-model adapter both call. Nothing
    is generated until the first piece is asked for, so a caller can still check
    ``prompt_tokens`` against a context length and drop the generation.

    Args:
        model: a generating model (see :func:`generate_text`).
        prompt: the text to continue; an empty one starts from a newline (or BOS).
        tokenizer: encodes the prompt and decodes the reply.
        params: how to sample, how long, and the stop strings.
        lstrip: drop the text's leading spaces.
        engine: the decoding engine to join (see :func:`generate_text`).

    >>> import torch
    >>> from seqlab.decode import SamplingParams
    >>> from seqlab.text import CharTokenizer
    >>> tok = CharTokenizer.fit(["ab"])
    >>> [a] = tok.encode("a")
    >>> class Echo(torch.nn.Module):  # always predicts "a"
    ...     def init_state(self, batch_size): return None
    ...     def step(self, ids, state):
    ...         return torch.nn.functional.one_hot(torch.full_like(ids, a), tok.vocab_size).float(), state
    >>> gen = continue_text(Echo(), "ba", tok, SamplingParams(max_tokens=3, temperature=0))
    >>> gen.prompt_tokens, "".join(gen), gen.finish_reason
    (2, 'aaa', 'length')
    """
    return generate_text(model, prompt_ids(tokenizer, prompt), tokenizer, params, lstrip=lstrip, engine=engine)


def with_stop(params: SamplingParams, stop: Sequence[str]) -> SamplingParams:
    """``params`` with more stop strings (a chat template's end of turn) before its own.

    >>> from seqlab.decode import SamplingParams
    >>> with_stop(SamplingParams(stop=["!"]), ["\\n"]).stop
    ('\\n', '!')
    """
    return replace(params, stop=(*stop, *(s for s in params.stop if s not in stop)))


__all__ = [
    "Generation",
    "TextGeneration",
    "PromptError",
    "check_prompt",
    "continue_text",
    "generate_text",
    "prompt_ids",
    "with_stop",
]
