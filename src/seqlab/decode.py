"""Decoding: turn a model's next-token logits into a stream of token ids.

Decoding is kept apart from models (as OpenNMT does): a generating model only has to offer

* ``init_state(batch_size)`` -> an initial recurrent / cache state (or ``None``), and
* ``step(ids (B, T), state)`` -> ``(logits (B, T, V), state)``, which reads T new tokens and
  carries the state forward,

and every function here yields token ids one at a time. The terminal prints them, the server wraps
them in server-sent events, the UI renders them: one generator serves all three.

A recurrent model's state holds everything it has read, so producing token n costs the same as
token 1: the prompt is read once, then each step reads only the newest token.

>>> import torch
>>> class Counter(torch.nn.Module):  # a toy "model" that always predicts previous id + 1
...     def init_state(self, batch_size): return None
...     def step(self, ids, state):
...         logits = torch.full((ids.shape[0], ids.shape[1], 10), -1e9)
...         logits.scatter_(2, ((ids + 1) % 10).unsqueeze(-1), 0.0)
...         return logits, state
>>> list(generate(Counter(), [3], max_tokens=4, temperature=0.0))
[4, 5, 6, 7]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor


class Steppable(Protocol):
    """What a model must offer to be decoded."""

    def init_state(self, batch_size: int) -> Any: ...

    def step(self, ids: Tensor, state: Any) -> tuple[Tensor, Any]: ...


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen.

    Args:
        temperature: divides the logits; 0 means greedy (argmax).
        top_k: keep only the k most likely tokens; 0 keeps all.
        top_p: keep the smallest set of tokens whose probability adds up to at least p (nucleus).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0 (got {self.temperature})")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (got {self.top_k})")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1] (got {self.top_p})")


def filter_logits(logits: Tensor, *, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """Set the logits of tokens outside the top-k / top-p set to -inf.

    Args:
        logits: (B, V) scores.
        top_k: keep the k largest; 0 keeps all.
        top_p: keep the smallest prefix of the sorted distribution whose mass reaches top_p.

    >>> filter_logits(torch.tensor([[1.0, 3.0, 2.0]]), top_k=2)
    tensor([[-inf, 3., 2.]])
    >>> filter_logits(torch.log(torch.tensor([[0.5, 0.3, 0.2]])), top_p=0.7).isinf().tolist()
    [[False, False, True]]
    """
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        # mass before each token; a token is kept while the mass before it is below top_p,
        # so the most likely token is always kept
        before = torch.cumsum(probs, dim=-1) - probs
        drop_sorted = before >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def choose_next(logits: Tensor, params: SamplingParams, generator: torch.Generator | None = None) -> Tensor:
    """Pick one token per row from (B, V) logits; returns (B,) ids.

    >>> choose_next(torch.tensor([[0.0, 5.0, 1.0]]), SamplingParams(temperature=0.0))
    tensor([1])
    """
    if params.temperature == 0.0:
        return logits.argmax(dim=-1)
    logits = filter_logits(logits / params.temperature, top_k=params.top_k, top_p=params.top_p)
    probs = torch.softmax(logits.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    model: Steppable,
    prompt_ids: Sequence[int],
    *,
    max_tokens: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop_ids: Sequence[int] = (),
) -> Iterator[int]:
    """Yield up to ``max_tokens`` new token ids after ``prompt_ids``, one at a time.

    Args:
        model: anything with ``init_state`` and ``step`` (see the module docstring).
        prompt_ids: the ids to condition on; at least one (use BOS for an empty prompt).
        max_tokens: the most new tokens to produce.
        temperature, top_k, top_p: see :class:`SamplingParams`; temperature 0 is greedy.
        seed: makes sampling reproducible (a private generator; global RNG untouched).
        stop_ids: ids that end generation; the stop id itself is not yielded.
    """
    if len(prompt_ids) == 0:
        raise ValueError("prompt_ids must hold at least one id (use the BOS id for an empty prompt)")
    params = SamplingParams(temperature=temperature, top_k=top_k, top_p=top_p)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        state = model.init_state(1)
        logits, state = model.step(torch.tensor([list(prompt_ids)], dtype=torch.long), state)  # read the prompt once
        stops = set(stop_ids)
        for _ in range(max_tokens):
            token = int(choose_next(logits[:, -1], params, generator)[0])
            if token in stops:
                return
            yield token
            logits, state = model.step(torch.tensor([[token]], dtype=torch.long), state)  # one step per token
    finally:
        if was_training:
            model.train()


def decode_stream(tokenizer: Any, ids: Iterator[int], *, stop: Sequence[str] = ()) -> Iterator[str]:
    """Turn a stream of token ids into a stream of text pieces.

    The text is decoded from all ids so far and only the new suffix is yielded, so tokenizers
    whose pieces are bytes (byte-level BPE) never emit half a character; a piece that ends in an
    incomplete character waits for the next id. Generation stops at the first ``stop`` string.

    Args:
        tokenizer: anything with ``decode(ids) -> str``.
        ids: the token ids, e.g. from :func:`generate`.
        stop: strings that end the stream; they are not yielded.

    >>> class Chars:
    ...     def decode(self, ids): return "".join(chr(i) for i in ids)
    >>> list(decode_stream(Chars(), iter([104, 105, 33, 10, 120]), stop=["\\n"]))
    ['h', 'i', '!']
    """
    seen: list[int] = []
    sent = ""
    for token in ids:
        seen.append(token)
        text = tokenizer.decode(seen)
        if text.endswith("\ufffd"):
            continue  # an incomplete multi-byte character; wait for the rest
        if stop:
            cut = min((i for i in (text.find(s, max(0, len(sent) - len(s))) for s in stop) if i >= 0), default=-1)
            if cut >= 0:
                if cut > len(sent):
                    yield text[len(sent):cut]
                return
        if len(text) > len(sent):
            yield text[len(sent):]
            sent = text

