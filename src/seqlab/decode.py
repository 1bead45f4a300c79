"""Decoding: the protocols a generating model offers, sampling settings, text streaming, beam search.

Decoding is kept apart from models (as OpenNMT does): a generating model only has to offer

* ``init_state(batch_size)`` -> an initial recurrent / cache state (or ``None``), and
* ``step(ids (B, T), state)`` -> ``(logits (B, T, V), state)``, which reads T new tokens and
  carries the state forward.

Here are :class:`SamplingParams` (the one form of sampling settings), :class:`TextStream` (ids to
text in O(1) per token), and the searches that evaluation uses (:func:`beam_search`,
:func:`greedy_batch`). Sampling itself, for one request or many at once, is the decoding engine's
(:mod:`seqlab.engine`): one loop steps every running request together.

A recurrent model's state holds everything it has read, so producing token n costs the same as
token 1: the prompt is read once, then each step reads only the newest token.

>>> import torch
>>> class Counter(torch.nn.Module):  # a toy "model" that always predicts previous id + 1
...     def init_state(self, batch_size): return None
...     def step(self, ids, state):
...         logits = torch.full((ids.shape[0], ids.shape[1], 10), -1e9)
...         logits.scatter_(2, ((ids + 1) % 10).unsqueeze(-1), 0.0)
...         return logits, state
>>> greedy_batch(Counter(), [[3]], max_tokens=4, eos_id=None)
[[4, 5, 6, 7]]
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from seqlab.errors import SeqlabError
from seqlab.text.base import REPLACEMENT, StreamDecoder, WindowDecoder


@runtime_checkable
class Steppable(Protocol):
    """What a model must offer to be decoded."""

    def init_state(self, batch_size: int) -> Any: ...

    def step(self, ids: Tensor, state: Any) -> tuple[Tensor, Any]: ...


@runtime_checkable
class EncoderDecoder(Protocol):
    """What a seq2seq model offers: ``start`` reads the source once; its state is decoded through
    :class:`Conditioned`."""

    def start(self, src: Tensor, src_mask: Tensor) -> Any: ...

    def step(self, ids: Tensor, state: Any) -> tuple[Tensor, Any]: ...

    def reorder_state(self, state: Any, index: Tensor) -> Any: ...


class Detokenizer(Protocol):
    """What :func:`decode_stream` needs from a tokenizer (every seqlab tokenizer has it)."""

    def decode(self, ids: Sequence[int]) -> str: ...


SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed takes


class SamplingError(SeqlabError, ValueError):
    """A sampling setting is out of range; ``field`` names it (the server's ``param``).

    Args:
        field: the :class:`SamplingParams` field at fault.
        message: what is wrong and what would be right.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SamplingParams:
    """How a reply is generated: its length, how each token is chosen, and what ends it.

    The one form these settings take from the CLI, the HTTP request and :meth:`seqlab.run.Run.sample`
    down to :func:`generate`; a bad value fails here, once, with the field, the value and the range.

    Args:
        max_tokens: the most new tokens.
        temperature: divides the logits; 0 means greedy (argmax), as does one so small that it
            rounds to zero in float32 (see :attr:`greedy`).
        top_k: keep only the k most likely tokens; 0 keeps all.
        top_p: keep the smallest set of tokens whose probability adds up to at least p (nucleus);
            one that rounds to zero in float32 keeps only the most likely token, i.e. greedy.
        seed: makes sampling reproducible (a private generator; the global RNG is untouched);
            an integer in :data:`SEED_RANGE`, the range of ``torch.Generator.manual_seed``.
        stop: strings that end the text (not included); a list is kept as a tuple. They act on
            text, so :func:`decode_stream` applies them, not :func:`generate`.
        frequency_penalty: subtracted from a token's logit once per time it was already generated
            (OpenAI's meaning, -2 to 2); positive values discourage repeating words.
        presence_penalty: subtracted once from the logit of every token generated so far.

    >>> SamplingParams(max_tokens=20, temperature=0.0).top_p
    1.0
    >>> SamplingParams(top_p=1.5)
    Traceback (most recent call last):
    ...
    seqlab.decode.SamplingError: top_p must be in (0, 1] (got 1.5)
    >>> SamplingParams(top_p=1e-50).greedy  # 1e-50 is 0.0 in float32
    True
    """

    max_tokens: int = 256
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0

    def __post_init__(self) -> None:
        def bad(field: str, expected: str) -> SamplingError:
            return SamplingError(field, f"{field} must be {expected} (got {getattr(self, field)!r})")

        if not _is_int(self.max_tokens) or self.max_tokens < 1:
            raise bad("max_tokens", "an integer >= 1")
        if not _is_number(self.temperature) or not self.temperature >= 0:
            raise bad("temperature", "a finite number >= 0")
        if not _is_int(self.top_k) or self.top_k < 0:
            raise bad("top_k", "an integer >= 0")
        if not _is_number(self.top_p) or not 0.0 < self.top_p <= 1.0:
            raise bad("top_p", "in (0, 1]")
        if self.seed is not None and not (_is_int(self.seed) and SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]):
            raise bad("seed", f"None or an integer from {SEED_RANGE[0]} to {SEED_RANGE[1]}")
        for name in ("frequency_penalty", "presence_penalty"):
            if not _is_number(getattr(self, name)) or not -2.0 <= getattr(self, name) <= 2.0:
                raise bad(name, "in [-2, 2]")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise bad("stop", "a sequence of non-empty strings")
        object.__setattr__(self, "stop", tuple(self.stop))

    @functools.cached_property  # asked once per token; a frozen dataclass still has a __dict__ to cache in
    def greedy(self) -> bool:
        """True when each token is the argmax: temperature 0, or a temperature or top_p that rounds
        to zero in float32 (the logits' precision), where only the most likely token is left."""
        return _float32(self.temperature) == 0.0 or _float32(self.top_p) == 0.0

    @property
    def penalised(self) -> bool:
        """True when either repetition penalty is set."""
        return bool(self.frequency_penalty or self.presence_penalty)


@contextlib.contextmanager
def evaluating(model: object) -> Iterator[None]:
    """Put a torch module in eval mode (no dropout) while decoding, and back in training mode after.

    >>> layer = torch.nn.Dropout(0.5)
    >>> with evaluating(layer):
    ...     layer.training
    False
    >>> layer.training
    True
    """
    if not (isinstance(model, torch.nn.Module) and model.training):
        yield
        return
    model.eval()
    try:
        yield
    finally:
        model.train()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _float32(value: float) -> float:
    return float(torch.tensor(value, dtype=torch.float32))


def _is_number(value: object) -> bool:
    """A real, finite number (NaN and infinity are refused)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class TextStream:
    """Push token ids one at a time, get the new text: incremental detokenization plus stop strings.

    Each id costs O(1): the tokenizer's ``stream_decoder()`` (see
    :class:`seqlab.text.base.StreamDecoder`) decodes only what the id adds, and a tokenizer
    without one is decoded through a short window of recent ids
    (:class:`seqlab.text.base.WindowDecoder`). A character that is not complete yet (byte-level
    BPE) waits for the next id; bytes that can never become a character (a small model can
    sample an invalid UTF-8 sequence) are dropped rather than shown as U+FFFD.

    Stop strings are never shown, not even in part (OpenAI's semantics): a tail of the text that
    could be the start of a stop string is held back until it can no longer be, and generation
    stops at the first character that completes one, cutting the text where that stop string
    (the longest, if several end there) begins. Matching runs a Knuth-Morris-Pratt automaton
    per stop string, so each new character costs O(number of stop strings), whatever the text
    so far.

    Args:
        tokenizer: anything with ``decode(ids) -> str``; ``stream_decoder()`` where it has one.
        stop: strings that end the text; they are not shown.

    >>> class Chars:
    ...     def decode(self, ids): return "".join(chr(i) for i in ids)
    >>> stream = TextStream(Chars(), stop=["</s>"])
    >>> [stream.push(ord(c)) for c in "hi</b"], stream.stopped
    (['h', 'i', '', '', '</b'], False)
    >>> [stream.push(ord(c)) for c in " </s> x"], stream.stopped, stream.flush()
    ([' ', '', '', '', '', '', ''], True, '')
    >>> stream = TextStream(Chars(), stop=["</s>"])
    >>> [stream.push(ord(c)) for c in "ok</"], stream.flush()  # a stop string cut short is text
    (['o', 'k', '', ''], '</')
    """

    def __init__(self, tokenizer: Detokenizer, *, stop: Sequence[str] = ()) -> None:
        make = getattr(tokenizer, "stream_decoder", None)
        self._decoder: StreamDecoder = make() if callable(make) else WindowDecoder(tokenizer)
        self._matchers = [_StopMatcher(s) for s in stop if s]
        self._held = ""  # shown text's tail that may be the start of a stop string
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """A stop string was met: the caller ends the generation."""
        return self._stopped

    def push(self, token: int) -> str:
        """Add one id; the text that can be shown now ('' while waiting, and once stopped).

        Args:
            token: the next id.
        """
        if self._stopped:
            return ""
        return self._release(self._decoder.push(token))

    def flush(self) -> str:
        """At the end of generation: the text held back (a partial stop string that never
        completed, an open syllable), minus anything undecodable; '' once stopped."""
        if self._stopped:
            return ""
        text = self._release(self._decoder.flush())
        if self._stopped:
            return text
        text, self._held = text + self._held, ""
        return text

    def _release(self, text: str) -> str:
        text = text.replace(REPLACEMENT, "")  # what the decoder could not decode never will be
        if not self._matchers or not text:
            return text
        shown: list[str] = []
        held = self._held
        for ch in text:
            held += ch
            keep = done = 0
            for matcher in self._matchers:
                matched = matcher.advance(ch)
                if matched == len(matcher.stop):
                    done = max(done, matched)
                keep = max(keep, matched)
            if done:
                shown.append(held[: len(held) - done])
                self._stopped, held = True, ""
                break
            if keep < len(held):
                shown.append(held[: len(held) - keep])
                held = held[len(held) - keep :]
        self._held = held
        return "".join(shown)


class _StopMatcher:
    """Knuth-Morris-Pratt matching of one stop string: after each character, the length of the
    longest prefix of the stop string that the text ends with."""

    def __init__(self, stop: str) -> None:
        self.stop = stop
        self.state = 0
        self.fallback = [0] * len(stop)  # fallback[i]: longest proper border of stop[: i + 1]
        k = 0
        for i in range(1, len(stop)):
            while k and stop[i] != stop[k]:
                k = self.fallback[k - 1]
            if stop[i] == stop[k]:
                k += 1
            self.fallback[i] = k

    def advance(self, ch: str) -> int:
        k = self.state
        if k == len(self.stop):
            k = self.fallback[k - 1]
        while k and ch != self.stop[k]:
            k = self.fallback[k - 1]
        if ch == self.stop[k]:
            k += 1
        self.state = k
        return k


def decode_stream(tokenizer: Detokenizer, ids: Iterator[int], *, stop: Sequence[str] = ()) -> Iterator[str]:
    """Turn a stream of token ids into a stream of text pieces (a :class:`TextStream` over them).

    A piece that ends in an incomplete character waits for the next id; bytes that never become
    a character are dropped rather than shown as U+FFFD. The stream ends at the first ``stop``
    string (no more ids are read), which is not shown, even in part; at the end of the ids, the
    text held back is yielded.

    Args:
        tokenizer: anything with ``decode(ids) -> str``; ``stream_decoder()`` where it has one.
        ids: the token ids, e.g. from :func:`generate`.
        stop: strings that end the stream; they are not yielded.

    >>> class Chars:
    ...     def decode(self, ids): return "".join(chr(i) for i in ids)
    >>> list(decode_stream(Chars(), iter([104, 105, 33, 10, 120]), stop=["\\n"]))
    ['h', 'i', '!']
    >>> list(decode_stream(Chars(), iter([104, 0xFFFD, 105])))  # an invalid sequence in the middle
    ['h', 'i']
    """
    stream = TextStream(tokenizer, stop=stop)
    for token in ids:
        piece = stream.push(token)
        if piece:
            yield piece
        if stream.stopped:
            return
    tail = stream.flush()
    if tail:
        yield tail


# ----------------------------------------------------------------------------- sources and beams


class Conditioned:
    """A model whose decoding state was prepared elsewhere (a seq2seq model that read a source).

    :func:`beam_search` and :func:`greedy_batch` call ``init_state``; this hands them the state a
    seq2seq model's ``start(src, src_mask)`` returned, so the same searches serve language
    models and translation.

    Args:
        model: has ``step(ids, state)`` (and ``reorder_state`` for beam search).
        state: the prepared state for ``batch`` rows.

    >>> class Echo:
    ...     def step(self, ids, state):
    ...         return torch.nn.functional.one_hot(state.expand(ids.shape[0], ids.shape[1]), 5).float(), state
    >>> greedy_batch(Conditioned(Echo(), torch.tensor([[4]])), [[0]], max_tokens=2, eos_id=None)
    [[4, 4]]
    """

    def __init__(self, model: Any, state: Any) -> None:
        self.model, self.state = model, state
        self.training = False

    def init_state(self, batch_size: int) -> Any:
        return self.state

    def step(self, ids: Tensor, state: Any) -> tuple[Tensor, Any]:
        return self.model.step(ids, state)

    def reorder_state(self, state: Any, index: Tensor) -> Any:
        return self.model.reorder_state(state, index)


def device_of(model: Any) -> torch.device:
    """Where a model's weights are, so decoding builds its ids there (the CPU for a model without any).

    >>> device_of(torch.nn.Linear(2, 2)), device_of(object())
    (device(type='cpu'), device(type='cpu'))
    """
    inner = model.model if isinstance(model, Conditioned) else model
    if isinstance(inner, torch.nn.Module):
        for parameter in inner.parameters():
            return parameter.device
    return torch.device("cpu")


@dataclass(frozen=True)
class Hypothesis:
    """One beam search result: the new token ids (EOS not included), their total log-probability,
    the score used to rank (log-probability divided by the length penalty), and whether it ended
    with EOS."""

    ids: tuple[int, ...]
    log_prob: float
    score: float
    finished: bool


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's length penalty ``((5 + length) / 6) ** alpha`` (Wu et al. 2016); alpha 0 turns it off.

    >>> length_penalty(1, 0.0), round(length_penalty(7, 1.0), 3)
    (1.0, 2.0)
    """
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def beam_search(
    model: Any,
    prompt_ids: Sequence[Sequence[int]],
    *,
    beam_width: int,
    max_tokens: int,
    eos_id: int | None,
    alpha: float = 0.0,
    n_best: int = 1,
) -> list[list[Hypothesis]]:
    """Batched beam search: the ``n_best`` highest-scoring continuations of each prompt.

    Every row keeps ``beam_width`` live hypotheses. At each step all live hypotheses are
    extended by every token, and the best ``2 * beam_width`` candidates of the row are taken in
    order: one ending in EOS is finished (scored ``log P / length_penalty``), the others refill
    the beam. A row stops when its ``beam_width`` best finished hypotheses all score at least as
    well as its best live one (or after ``max_tokens``, when its live ones count too). With
    ``beam_width=1`` this is greedy decoding.

    Args:
        model: ``init_state(B)``, ``step(ids, state)`` and ``reorder_state(state, index)``
            (wrap a seq2seq model's source state in :class:`Conditioned`).
        prompt_ids: B prompts of equal length (for seq2seq: ``[[bos_id]] * B``).
        beam_width: K, hypotheses kept per row.
        max_tokens: the most new tokens per hypothesis.
        eos_id: the id that ends a hypothesis (not included in its ids); None: never ends early.
        alpha: length penalty exponent (0 = raw log-probability; larger favours longer outputs).
        n_best: hypotheses returned per row, best first (at most ``beam_width``).

    Returns:
        For each prompt, its ``n_best`` hypotheses, best first.

    >>> class Table:  # token 1 then EOS (3) is likelier overall than greedy's 2 2 2 ...
    ...     def init_state(self, b): return torch.zeros(b, dtype=torch.long)
    ...     def reorder_state(self, s, index): return s.index_select(0, index)
    ...     def step(self, ids, s):
    ...         last = ids[:, -1]
    ...         table = torch.log(torch.tensor([[.0, .4, .6, .0], [.0, .0, .0, 1.], [.0, .0, .55, .45]]) + 1e-9)
    ...         return table[last.clamp(max=2)].unsqueeze(1), s
    >>> [h.ids for h in beam_search(Table(), [[0]], beam_width=2, max_tokens=4, eos_id=3)[0]]
    [(1,)]
    >>> [h.ids for h in beam_search(Table(), [[0]], beam_width=1, max_tokens=2, eos_id=3)[0]]
    [(2, 2)]
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1 (got {beam_width})")
    if not 1 <= n_best <= beam_width:
        raise ValueError(f"n_best must be between 1 and beam_width={beam_width} (got {n_best})")
    if not prompt_ids or len({len(p) for p in prompt_ids}) != 1 or len(prompt_ids[0]) == 0:
        raise ValueError("prompt_ids must be one or more non-empty prompts of equal length")
    B, K = len(prompt_ids), beam_width
    device = device_of(model)  # the model steps there; the search's bookkeeping stays on the CPU
    with evaluating(model):
        state = model.init_state(B)
        prompts = torch.tensor([list(p) for p in prompt_ids], dtype=torch.long, device=device)
        logits, state = model.step(prompts, state)
        # every row starts with K copies of its one hypothesis; only the first may expand at step 0
        rows = torch.arange(B).repeat_interleave(K)  # (B*K,)
        state = model.reorder_state(state, rows.to(device))
        log_probs = torch.log_softmax(logits[:, -1].float().cpu(), dim=-1).index_select(0, rows)  # (B*K, V)
        beam_scores = torch.full((B, K), float("-inf"))
        beam_scores[:, 0] = 0.0
        tokens = torch.zeros(B, K, 0, dtype=torch.long)  # (B, K, t)
        finished: list[list[Hypothesis]] = [[] for _ in range(B)]
        done = [False] * B
        V = log_probs.shape[-1]
        for t in range(max_tokens):
            total = beam_scores.unsqueeze(-1) + log_probs.view(B, K, V)  # (B, K, V)
            top_scores, top_index = total.view(B, K * V).topk(min(2 * K, K * V), dim=-1)  # (B, 2K)
            new_scores = torch.full((B, K), float("-inf"))
            new_origin = torch.zeros(B, K, dtype=torch.long)
            new_token = torch.zeros(B, K, dtype=torch.long)
            for b in range(B):
                if done[b]:
                    continue
                filled = 0
                for score, index in zip(top_scores[b].tolist(), top_index[b].tolist()):
                    if score == float("-inf"):
                        break
                    origin, token = divmod(index, V)
                    if eos_id is not None and token == eos_id:
                        ids = tuple(tokens[b, origin].tolist())
                        finished[b].append(Hypothesis(ids, score, score / length_penalty(len(ids) + 1, alpha), True))
                        continue
                    new_scores[b, filled], new_origin[b, filled], new_token[b, filled] = score, origin, token
                    filled += 1
                    if filled == K:
                        break
                finished[b] = sorted(finished[b], key=lambda h: h.score, reverse=True)[:K]
                # done when K hypotheses are finished and the best live one no longer beats the worst of them
                # (exact for alpha = 0, where a score only falls as a hypothesis grows)
                if filled == 0 or (
                    len(finished[b]) >= K
                    and float(new_scores[b, 0]) / length_penalty(t + 1, alpha) <= finished[b][-1].score
                ):
                    done[b] = True
            if all(done):
                break
            flat_origin = (torch.arange(B).unsqueeze(1) * K + new_origin).view(-1)  # (B*K,)
            tokens = torch.cat(
                [tokens.view(B * K, -1).index_select(0, flat_origin).view(B, K, -1), new_token.unsqueeze(-1)], dim=-1
            )
            beam_scores = new_scores
            if t + 1 == max_tokens:
                break
            state = model.reorder_state(state, flat_origin.to(device))
            logits, state = model.step(new_token.view(B * K, 1).to(device), state)
            log_probs = torch.log_softmax(logits[:, -1].float().cpu(), dim=-1)
        results = []
        for b in range(B):
            pool = list(finished[b])
            if len(pool) < n_best:  # out of steps: unfinished live hypotheses count too
                for k in range(K):
                    score = float(beam_scores[b, k])
                    if score != float("-inf") and not done[b]:
                        ids = tuple(tokens[b, k].tolist())
                        pool.append(Hypothesis(ids, score, score / length_penalty(len(ids), alpha), False))
            pool.sort(key=lambda h: h.score, reverse=True)
            results.append(pool[:n_best])
        return results


def beam_generate(
    model: Any,
    prompt_ids: Sequence[int],
    *,
    beam_width: int,
    max_tokens: int,
    eos_id: int | None,
    alpha: float = 0.0,
) -> Iterator[int]:
    """Yield the best beam's token ids one at a time, so beam search plugs into what consumes
    :func:`generate` (the CLI, the server, the UI). The search finishes before the first id.

    >>> class Up:
    ...     def init_state(self, b): return None
    ...     def reorder_state(self, s, index): return s
    ...     def step(self, ids, s):
    ...         return torch.nn.functional.one_hot((ids[:, -1:] + 1) % 6, 6).float() * 9, s
    >>> list(beam_generate(Up(), [1], beam_width=3, max_tokens=9, eos_id=5))
    [2, 3, 4]
    """
    best = beam_search(
        model, [list(prompt_ids)], beam_width=beam_width, max_tokens=max_tokens, eos_id=eos_id, alpha=alpha
    )[0]
    yield from (best[0].ids if best else ())


@torch.no_grad()
def greedy_batch(
    model: Any,
    prompt_ids: Sequence[Sequence[int]],
    *,
    max_tokens: int,
    eos_id: int | None,
) -> list[list[int]]:
    """Greedy decoding of B prompts of equal length at once (what evaluation uses for speed).

    Gives the same ids as :func:`generate` with ``temperature=0`` for each prompt on its own, and
    as :func:`beam_search` with ``beam_width=1``.

    Args:
        model: ``init_state(B)`` and ``step(ids, state)`` (see :class:`Conditioned`).
        prompt_ids: B prompts of equal length.
        max_tokens: the most new tokens per row.
        eos_id: ends a row (not included); None never ends early.

    >>> class Up:
    ...     def init_state(self, b): return None
    ...     def step(self, ids, s): return torch.nn.functional.one_hot((ids[:, -1:] + 1) % 6, 6).float(), s
    >>> greedy_batch(Up(), [[1], [3]], max_tokens=9, eos_id=5)
    [[2, 3, 4], [4]]
    """
    if not prompt_ids or len({len(p) for p in prompt_ids}) != 1 or len(prompt_ids[0]) == 0:
        raise ValueError("prompt_ids must be one or more non-empty prompts of equal length")
    B = len(prompt_ids)
    device = device_of(model)
    with evaluating(model):
        state = model.init_state(B)
        logits, state = model.step(torch.tensor([list(p) for p in prompt_ids], dtype=torch.long, device=device), state)
        outputs: list[list[int]] = [[] for _ in range(B)]
        alive = [True] * B
        for _ in range(max_tokens):
            chosen = logits[:, -1].argmax(dim=-1).cpu()  # (B,)
            for b, token in enumerate(chosen.tolist()):
                if alive[b]:
                    if eos_id is not None and token == eos_id:
                        alive[b] = False
                    else:
                        outputs[b].append(token)
            if not any(alive):
                break
            logits, state = model.step(chosen.unsqueeze(1).to(device), state)
        return outputs
