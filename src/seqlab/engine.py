"""The decoding engine: one loop that steps every running generation of a model as one batch.

Every text seqlab generates comes from here: ``seqlab sample``, :meth:`seqlab.run.Run.sample`,
the terminal chat and the server (through :func:`seqlab.generation.generate_text`). A request
joins the batch at the next step and leaves it when it ends, is cancelled, or its reader goes
away (continuous batching):

* **joining** runs the request's whole prompt in one forward pass (prefill) and merges its state
  into the batch's (``model.merge_states``: recurrent rows are stacked; Transformer key/value
  caches of different lengths are left-padded and masked);
* **each step** feeds every row its last token (one ``model.step`` over B rows) and picks each
  row's next token with that row's own settings (:func:`choose_rows`): temperature, top-k,
  top-p, penalties and a private random generator per row, so a request's text does not depend on
  what else is in the batch;
* **leaving** keeps the other rows (``model.reorder_state``).

A model is batched when it offers ``init_state``, ``step``, ``reorder_state`` and
``merge_states`` (:class:`Batchable`). The engine is driven either by whoever reads a stream
(``background=False``: reading a piece runs steps until one is ready; what other streams get on
the way waits in their buffers), or by a thread of its own (``background=True``, the server),
which sleeps while there is nothing to do.

>>> import torch
>>> class Up(torch.nn.Module):  # predicts the previous id + 1; a state-free toy
...     def init_state(self, batch_size): return None
...     def step(self, ids, state): return torch.nn.functional.one_hot((ids + 1) % 5, 5).float() * 9, state
...     def reorder_state(self, state, index): return None
...     def merge_states(self, states): return None
>>> engine = BatchEngine(Up(), max_batch=4)
>>> from seqlab.decode import SamplingParams
>>> first = engine.submit([0], SamplingParams(max_tokens=3, temperature=0))
>>> second = engine.submit([2], SamplingParams(max_tokens=9, temperature=0), stop_ids=[1])
>>> list(first.ids()), list(second.ids())
([1, 2, 3], [3, 4, 0])
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from seqlab.decode import SamplingParams, device_of, evaluating
from seqlab.errors import QueueFullError

DEFAULT_MAX_BATCH = 32
DEFAULT_MAX_QUEUE = 256


@runtime_checkable
class Batchable(Protocol):
    """What a model offers to be decoded in a shared batch."""

    def init_state(self, batch_size: int) -> Any: ...

    def step(self, ids: Tensor, state: Any) -> tuple[Tensor, Any]: ...

    def reorder_state(self, state: Any, index: Tensor) -> Any: ...

    def merge_states(self, states: Sequence[Any]) -> Any: ...


# ----------------------------------------------------------------------------- choosing tokens, row by row


def choose_rows(
    logits: Tensor,
    params: Sequence[SamplingParams],
    generators: Sequence[torch.Generator | None],
    counts: Tensor | None,
) -> Tensor:
    """Pick one token per row of (B, V) float32 CPU logits, each row by its own settings and generator.

    Every row's choice depends only on its own logits, settings and generator, never on the other
    rows, so a request samples the same text alone or in a batch. Greedy rows take the argmax;
    the others are scaled by their temperature, cut to their top-k / top-p (on the sorted
    distribution, only for rows that ask), and sampled by inverse CDF with one uniform draw from
    the row's generator (the global generator for a row without a seed).

    Args:
        logits: (B, V) scores, float32 on the CPU.
        params: each row's settings.
        generators: each row's random generator, or None.
        counts: (B, V) how often each row generated each token (for the penalties), or None when
            no row is penalised.

    >>> logits = torch.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 0.0]])
    >>> choose_rows(logits, [SamplingParams(temperature=0), SamplingParams(temperature=0)], [None, None], None)
    tensor([1, 0])
    >>> g = [torch.Generator().manual_seed(0)]
    >>> int(choose_rows(torch.tensor([[0.0, 0.0, 30.0]]), [SamplingParams(top_k=1)], g, None)[0])
    2
    """
    B, V = logits.shape
    if counts is not None:
        freq = torch.tensor([p.frequency_penalty for p in params]).unsqueeze(1)  # (B, 1)
        presence = torch.tensor([p.presence_penalty for p in params]).unsqueeze(1)
        logits = logits - freq * counts - presence * (counts > 0).to(logits.dtype)
    chosen = logits.argmax(dim=-1)  # (B,): right for the greedy rows
    sampled = [b for b, p in enumerate(params) if not p.greedy]
    if not sampled:
        return chosen
    uniform = torch.stack([torch.rand((), generator=generators[b]) for b in sampled])  # one draw per row
    filtered = [i for i, b in enumerate(sampled) if params[b].top_k or params[b].top_p < 1.0]
    plain = sorted(set(range(len(sampled))) - set(filtered))
    rows = logits[sampled]  # (S, V)
    temperature = torch.tensor([params[b].temperature for b in sampled]).unsqueeze(1)
    rows = (rows - rows.max(dim=-1, keepdim=True).values) / temperature  # largest 0, then scaled
    for subset, sort in ((plain, False), (filtered, True)):
        if not subset:
            continue
        index = torch.tensor(subset)
        scores = rows.index_select(0, index)  # (s, V)
        order = None
        if sort:
            scores, order = torch.sort(scores, dim=-1, descending=True)
            ks = torch.tensor([params[sampled[i]].top_k or V for i in subset]).unsqueeze(1)
            scores = scores.masked_fill(torch.arange(V).unsqueeze(0) >= ks, float("-inf"))
            top_p = torch.tensor([params[sampled[i]].top_p for i in subset]).unsqueeze(1)
            probs = torch.softmax(scores, dim=-1)
            before = torch.cumsum(probs, dim=-1) - probs  # the mass ahead of each token
            drop = before >= top_p
            drop[:, 0] = False  # the most likely token always stays
            scores = scores.masked_fill(drop, float("-inf"))
        cdf = torch.cumsum(torch.softmax(scores, dim=-1), dim=-1)  # (s, V)
        draw = (uniform.index_select(0, index) * cdf[:, -1]).unsqueeze(1)
        position = torch.searchsorted(cdf, draw).squeeze(1).clamp(max=V - 1)  # (s,)
        if order is not None:
            position = order.gather(1, position.unsqueeze(1)).squeeze(1)
        for i, token in zip(subset, position.tolist()):
            chosen[sampled[i]] = token
    return chosen


# ----------------------------------------------------------------------------- one request


class Stream:
    """One request's generation: token ids (and, with a text stream, text pieces) as the engine makes them.

    Iterating a stream yields its text pieces (:meth:`ids` yields token ids instead). It knows
    ``prompt_tokens``, ``completion_tokens`` so far and, once it ended, ``finish_reason``:
    ``"stop"`` (EOS or a stop string), ``"length"`` (``max_tokens``) or ``"cancelled"``.
    :meth:`close` cancels it: the engine drops its row before the next step.

    Made by :meth:`BatchEngine.submit`.
    """

    def __init__(
        self,
        engine: BatchEngine,
        prompt_ids: Sequence[int],
        params: SamplingParams,
        *,
        stop_ids: Sequence[int],
        text: Any,
        state: Any,
        prompt_tokens: int,
        lstrip: bool,
    ) -> None:
        self.engine = engine
        self.prompt_ids = list(prompt_ids)
        self.params = params
        self.stop_ids = frozenset(stop_ids)
        self.text = text  # a TextStream (push / stopped / flush), or None: ids only
        self.state = state  # a prepared state (a seq2seq source), or None
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.error: BaseException | None = None
        self.generator = torch.Generator().manual_seed(params.seed) if params.seed is not None else None
        self._lstrip = lstrip
        self._buffer: collections.deque[Any] = collections.deque()  # pieces (or ids) not read yet
        self._cancelled = False
        self._wake: Callable[[], None] | None = None

    # -- written by the engine (under its lock)

    def _emit(self, token: int) -> None:
        self.completion_tokens += 1
        if self.text is None:
            self._buffer.append(token)
            return
        piece = self.text.push(token)
        if self._lstrip and piece:
            piece = piece.lstrip(" ")
            self._lstrip = not piece
        if piece:
            self._buffer.append(piece)

    def _finish(self, reason: str, error: BaseException | None = None) -> None:
        if self.finish_reason is not None:
            return
        if self.text is not None and error is None and reason != "cancelled":
            rest = self.text.flush()
            if self._lstrip:
                rest = rest.lstrip(" ")
            if rest:
                self._buffer.append(rest)
        self.error = error
        self.finish_reason = reason

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake()

    # -- read by the consumer

    @property
    def done(self) -> bool:
        """True once the stream ended (however) and every piece was read."""
        return self.finish_reason is not None and not self._buffer

    def take(self) -> list[Any]:
        """The pieces made since the last call (thread-safe; an error the generation hit is raised here)."""
        taken = []
        while self._buffer:
            taken.append(self._buffer.popleft())
        if not taken and self.error is not None and self.finish_reason is not None:
            error, self.error = self.error, None
            raise error
        return taken

    def on_ready(self, wake: Callable[[], None] | None) -> None:
        """Call ``wake`` (from the engine's thread) whenever pieces arrive or the stream ends."""
        self._wake = wake

    def __iter__(self) -> Iterator[str]:
        return self._read()

    def ids(self) -> Iterator[int]:
        """The generated token ids (for a stream made without a text stream)."""
        return self._read()

    def _read(self) -> Iterator[Any]:
        while True:
            taken = self.take()
            yield from taken
            if self.finish_reason is not None and not self._buffer:
                if self.error is not None:
                    self.take()  # raises it
                return
            if not taken:
                self.engine.wait_for(self)

    def close(self) -> None:
        """Cancel the generation (its finish_reason becomes ``"cancelled"`` if it had not ended)."""
        self._cancelled = True
        self.engine.cancel(self)


# ----------------------------------------------------------------------------- the engine


class BatchEngine:
    """One decoding loop for one model: every running request is a row of one batch.

    Args:
        model: a :class:`Batchable` model (language model or seq2seq decoder).
        max_batch: the most requests stepped together; more wait in the queue.
        max_queue: the most requests waiting; one more is a :class:`QueueFullError`.
        background: step in a thread of the engine's own (the server) rather than in whichever
            thread reads a stream.
    """

    def __init__(
        self,
        model: Any,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_queue: int = DEFAULT_MAX_QUEUE,
        background: bool = False,
    ) -> None:
        if max_batch < 1 or max_queue < 0:
            raise ValueError(f"max_batch must be >= 1 and max_queue >= 0 (got {max_batch}, {max_queue})")
        self.model = model
        self.max_batch, self.max_queue, self.background = max_batch, max_queue, background
        self.device = device_of(model)
        self._waiting: collections.deque[Stream] = collections.deque()
        self._rows: list[Stream] = []  # the batch, in the order of the state's rows
        self._state: Any = None
        self._logits: Tensor | None = None  # (B, V) float32 CPU: each row's scores for its next token
        self._counts: Tensor | None = None  # (B, V) tokens generated per row (only while someone is penalised)
        self._lock = threading.RLock()  # one step at a time; guards the queue and the rows
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False
        self.steps = 0  # batched decoding steps run (for tests and /health)
        self.largest_batch = 0

    # -- requests

    def submit(
        self,
        prompt_ids: Sequence[int],
        params: SamplingParams,
        *,
        stop_ids: Sequence[int] = (),
        text: Any = None,
        state: Any = None,
        prompt_tokens: int | None = None,
        lstrip: bool = False,
    ) -> Stream:
        """Queue a request; it joins the batch at the next step.

        Args:
            prompt_ids: the ids read before the first new token (at least one).
            params: how to sample, how many tokens.
            stop_ids: ids that end the generation (not emitted).
            text: a :class:`seqlab.decode.TextStream` that turns ids into text pieces (and applies
                stop strings); None streams ids.
            state: a prepared state to decode from (a seq2seq model's ``start``); None starts from
                ``model.init_state(1)``.
            prompt_tokens: what ``usage`` reports as the prompt's size (default ``len(prompt_ids)``).
            lstrip: drop the text's leading spaces.

        Raises:
            QueueFullError: the batch and the queue are full.
        """
        if len(prompt_ids) == 0:
            raise ValueError("prompt_ids must hold at least one id (use the BOS id for an empty prompt)")
        stream = Stream(
            self,
            prompt_ids,
            params,
            stop_ids=stop_ids,
            text=text,
            state=state,
            prompt_tokens=len(prompt_ids) if prompt_tokens is None else prompt_tokens,
            lstrip=lstrip,
        )
        with self._lock:
            if self._closed:
                raise QueueFullError("this engine is shutting down and takes no new requests")
            if len(self._rows) >= self.max_batch and len(self._waiting) >= self.max_queue:
                raise QueueFullError(
                    f"the server is busy: {len(self._rows)} generations are running and {len(self._waiting)} "
                    f"are waiting (the limit); retry shortly (`seqlab serve --max-batch/--max-queue` set the limits)"
                )
            self._waiting.append(stream)
            if self.background:
                self._start_thread()
                self._changed.notify_all()
        return stream

    def cancel(self, stream: Stream) -> None:
        """Stop ``stream``: out of the queue now, out of the batch before the next step."""
        with self._lock:
            if stream in self._waiting:
                self._waiting.remove(stream)
                stream._finish("cancelled")
            elif stream not in self._rows:
                stream._finish("cancelled")
            self._changed.notify_all()

    @property
    def active(self) -> int:
        """Requests in the batch."""
        return len(self._rows)

    @property
    def queued(self) -> int:
        """Requests waiting to join."""
        return len(self._waiting)

    # -- driving

    def wait_for(self, stream: Stream) -> None:
        """Block until ``stream`` has something new: run a step (when driven by readers) or wait for one."""
        with self._lock:
            if stream._buffer or stream.finish_reason is not None:
                return
            if self.background:
                self._changed.wait(timeout=1.0)
            else:
                self.step()

    def step(self) -> bool:
        """Admit waiting requests, then run one decoding step over the batch; False when idle."""
        with self._lock:
            touched: list[Stream] = []
            try:
                self._drop_cancelled(touched)
                self._admit(touched)
                if not self._rows:
                    return False
                self._advance(touched)
            except Exception as err:  # a model error ends every running request with it
                for stream in [*self._rows, *touched]:
                    stream._finish("error", err)
                    touched.append(stream)
                self._rows, self._state, self._logits, self._counts = [], None, None, None
            finally:
                for stream in set(touched):
                    stream._notify()
                self._changed.notify_all()
            return bool(self._rows or self._waiting)

    def _drop_cancelled(self, touched: list[Stream]) -> None:
        keep = [i for i, s in enumerate(self._rows) if not s._cancelled]
        if len(keep) < len(self._rows):
            for stream in self._rows:
                if stream._cancelled:
                    stream._finish("cancelled")
                    touched.append(stream)
            self._keep(keep)

    def _admit(self, touched: list[Stream]) -> None:
        joined_states: list[Any] = []
        joined_logits: list[Tensor] = []
        joined: list[Stream] = []
        while self._waiting and len(self._rows) + len(joined) < self.max_batch:
            stream = self._waiting.popleft()
            try:
                with torch.no_grad(), evaluating(self.model):
                    start = stream.state if stream.state is not None else self.model.init_state(1)
                    prompt = torch.tensor([stream.prompt_ids], dtype=torch.long, device=self.device)
                    logits, state = self.model.step(prompt, start)  # the whole prompt in one pass
            except Exception as err:  # this request's prompt failed; the others go on
                stream._finish("error", err)
                touched.append(stream)
                continue
            stream.state = None  # the batch holds it from now on
            joined.append(stream)
            joined_states.append(state)
            joined_logits.append(logits[:, -1].float().cpu())
        if not joined:
            return
        states = ([self._state] if self._rows else []) + joined_states
        self._state = states[0] if len(states) == 1 else self.model.merge_states(states)
        self._logits = torch.cat(([self._logits] if self._rows and self._logits is not None else []) + joined_logits)
        self._rows.extend(joined)
        if self._counts is not None or any(s.params.penalised for s in joined):
            V = self._logits.shape[1]
            old = self._counts if self._counts is not None else torch.zeros(len(self._rows) - len(joined), V)
            self._counts = torch.cat([old, torch.zeros(len(joined), V)])
        self.largest_batch = max(self.largest_batch, len(self._rows))

    def _advance(self, touched: list[Stream]) -> None:
        assert self._logits is not None
        params = [s.params for s in self._rows]
        chosen = choose_rows(self._logits, params, [s.generator for s in self._rows], self._counts).tolist()
        keep = []
        for i, (stream, token) in enumerate(zip(self._rows, chosen)):
            touched.append(stream)
            if stream._cancelled:
                stream._finish("cancelled")
                continue
            if token in stream.stop_ids:
                stream._finish("stop")
                continue
            if self._counts is not None:
                self._counts[i, token] += 1
            stream._emit(token)
            if stream.text is not None and stream.text.stopped:
                stream._finish("stop")
            elif stream.completion_tokens >= stream.params.max_tokens:
                stream._finish("length")
            else:
                keep.append(i)
        self._keep(keep)
        if not self._rows:
            return
        ids = torch.tensor([[chosen[i]] for i in keep], dtype=torch.long, device=self.device)
        with torch.no_grad(), evaluating(self.model):
            logits, self._state = self.model.step(ids, self._state)
        self._logits = logits[:, -1].float().cpu()
        self.steps += 1

    def _keep(self, index: list[int]) -> None:
        """Keep only the batch rows at ``index`` (in that order)."""
        if len(index) == len(self._rows):
            return
        self._rows = [self._rows[i] for i in index]
        if not index:
            self._state, self._logits, self._counts = None, None, None
            return
        rows = torch.tensor(index, dtype=torch.long)
        self._state = self.model.reorder_state(self._state, rows.to(self.device))
        if self._logits is not None:
            self._logits = self._logits.index_select(0, rows)
        if self._counts is not None:
            self._counts = self._counts.index_select(0, rows) if any(s.params.penalised for s in self._rows) else None

    # -- the background thread

    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="seqlab-engine", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._rows and not self._waiting and not self._closed:
                    self._changed.wait()
                if self._closed and not self._rows and not self._waiting:
                    return
            self.step()  # the lock is released between steps, so requests can join and readers read

    def shutdown(self, *, reason: str = "cancelled") -> None:
        """End every request (``finish_reason`` = ``reason``) and stop the thread."""
        with self._lock:
            self._closed = True
            for stream in [*self._rows, *self._waiting]:
                stream._finish(reason)
                stream._notify()
            self._rows, self._state, self._logits, self._counts = [], None, None, None
            self._waiting.clear()
            self._changed.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def generate(
    model: Any,
    prompt_ids: Sequence[int],
    params: SamplingParams,
    *,
    stop_ids: Sequence[int] = (),
    state: Any = None,
) -> Iterator[int]:
    """Yield up to ``params.max_tokens`` new token ids after ``prompt_ids``: one request, decoded
    by a private engine (the same sampling as in any batch).

    Args:
        model: anything with ``init_state`` and ``step`` (a seq2seq model with ``state``).
        prompt_ids: the ids to condition on; at least one (use BOS for an empty prompt).
        params: how to choose each token and how many; the repetition penalties count the tokens
            generated here, not the prompt's. ``params.stop`` holds strings, which a
            :class:`seqlab.decode.TextStream` applies, not this.
        stop_ids: ids that end generation; the stop id itself is not yielded.
        state: a prepared state (a seq2seq model's ``start``).

    >>> class Up(torch.nn.Module):
    ...     def init_state(self, batch_size): return None
    ...     def step(self, ids, state): return torch.nn.functional.one_hot((ids + 1) % 5, 5).float(), state
    >>> list(generate(Up(), [0], SamplingParams(max_tokens=9, temperature=0.0), stop_ids=[4]))
    [1, 2, 3]
    """
    stream = BatchEngine(model, max_batch=1).submit(prompt_ids, params, stop_ids=stop_ids, state=state)
    try:
        yield from stream.ids()
    finally:
        stream.close()


__all__ = [
    "generate",
    "Batchable",
    "BatchEngine",
    "QueueFullError",
    "Stream",
    "choose_rows",
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MAX_QUEUE",
]
