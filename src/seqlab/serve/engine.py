"""Generation for the server: what a served model offers, and how its streams reach the event loop.

Two layers:

* an **adapter** turns a run into text generations. :class:`LanguageModelAdapter` serves any
  language-model run: chat messages go through the run's chat template
  (:mod:`seqlab.text.chat`), plain prompts are continued as they are. :class:`Seq2SeqAdapter`
  serves a seq2seq run: it answers the last user message. Another kind of run plugs in by
  offering the same two methods, ``chat(messages, params)`` and ``complete(prompt, params)``,
  and an entry in :data:`ADAPTERS`. Both generate through :func:`seqlab.generation.generate_text`,
  the path :meth:`seqlab.run.Run.sample` takes too. A batched adapter (the default) submits every
  request to one :class:`seqlab.engine.BatchEngine` for its model, whose thread steps all running
  requests together; with ``batched=False`` each request decodes alone (the thread-per-stream
  path, kept to measure against).
* the :class:`Engine` hands a generation's text pieces to the asyncio event loop: a batched
  stream wakes the loop when its pieces arrive; any other generation runs in a worker thread.
  When the consumer stops listening (the HTTP client went away) the generation is cancelled: a
  batched request leaves the batch before the next step.

>>> import asyncio
>>> from seqlab.generation import Generation
>>> gen = Generation(iter(["to ", "be"]), prompt_tokens=3)
>>> asyncio.run(Engine().collect(gen))
'to be'
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from seqlab.errors import ConfigError, unknown_choice
from seqlab.generation import PromptError, TextGeneration, generate_text, prompt_ids, with_stop
from seqlab.text.chat import DEFAULT_TEMPLATE, ChatTemplate

if TYPE_CHECKING:  # the server's package stays free of torch until a run is loaded
    from seqlab.decode import SamplingParams
    from seqlab.engine import BatchEngine
    from seqlab.run import Run

DEFAULT_CONTEXT = 4096
DEFAULT_MAX_BATCH = 32  # requests stepped together per model (seqlab.engine's default)
DEFAULT_MAX_QUEUE = 256  # requests waiting to join; one more is answered 429
SPACE_JOINING = ("bpe",)  # tokenizers whose tokens carry the space before a word


class PromptTooLongError(PromptError):
    """The prompt plus the requested reply do not fit the served model's context length."""

    code = "context_length_exceeded"


class Adapter(Protocol):
    """What the server needs from a served model."""

    name: str
    task: str
    has_chat_template: bool

    def chat(self, messages: Sequence[Mapping[str, str]], params: SamplingParams) -> TextGeneration: ...

    def complete(self, prompt: str, params: SamplingParams) -> TextGeneration: ...

    def shutdown(self) -> None: ...

    def stats(self) -> dict[str, int]: ...


class _RunAdapter:
    """What every adapter keeps: the run (of the task it serves), its name, its context length and
    the decoding engine its requests share."""

    serves: str  # the run task the adapter serves

    def __init__(
        self,
        run: Run,
        *,
        name: str,
        context_length: int = DEFAULT_CONTEXT,
        batched: bool = True,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        if run.task != self.serves:
            raise ConfigError(f"{name} is a {run.task} run; {type(self).__name__} serves {self.serves} runs")
        self.run = run
        self.name = name
        self.task = run.task
        self.context_length = context_length
        self.batched, self.max_batch, self.max_queue = batched, max_batch, max_queue
        self._engine: BatchEngine | None = None

    def engine(self) -> BatchEngine | None:
        """The engine every request of this model joins (made at the first request); None when
        each request decodes alone (``batched=False``)."""
        if not self.batched:
            return None
        if self._engine is None:
            from seqlab.engine import Batchable, BatchEngine

            # a model that cannot merge states (a custom one) still serves, one request at a time
            size = self.max_batch if isinstance(self.run.model, Batchable) else 1
            self._engine = BatchEngine(self.run.model, max_batch=size, max_queue=self.max_queue, background=True)
        return self._engine

    def shutdown(self) -> None:
        """End the running requests (each stream gets its last event) and stop the engine's thread."""
        if self._engine is not None:
            self._engine.shutdown()

    def stats(self) -> dict[str, int]:
        """The engine's counts for ``/health``: requests in the batch and waiting, the largest batch
        so far, the batched steps run (all 0 before the first request or when not batched)."""
        engine = self._engine
        if engine is None:
            return {"batch": 0, "queued": 0, "largest_batch": 0, "steps": 0}
        return {
            "batch": engine.active,
            "queued": engine.queued,
            "largest_batch": engine.largest_batch,
            "steps": engine.steps,
        }

    def _check_fits(self, used: int, params: SamplingParams, *, what: str, advice: str) -> None:
        """Refuse a request whose ``used`` tokens plus ``params.max_tokens`` exceed the context length."""
        if used + params.max_tokens > self.context_length:
            raise PromptTooLongError(
                f"this model's context length is {self.context_length} tokens, but the request needs "
                f"{used + params.max_tokens} ({used} in the {what}, {params.max_tokens} for the reply); {advice}"
            )


class LanguageModelAdapter(_RunAdapter):
    """Serve a language-model run: chat through its chat template, or plain continuation.

    Args:
        run: a loaded :class:`seqlab.run.Run` of a language model.
        name: the model id clients ask for.
        context_length: the most tokens prompt + reply may have (a recurrent model has no hard
            limit, but the cost of reading a prompt grows with it).
        batched: join the model's shared decoding engine (False: decode each request alone).
        max_batch: requests stepped together; max_queue: requests waiting beyond that.

    >>> import torch
    >>> from types import SimpleNamespace
    >>> from seqlab.decode import SamplingParams
    >>> from seqlab.text import CharTokenizer
    >>> class Echo(torch.nn.Module):  # always predicts "a"
    ...     def init_state(self, batch_size): return None
    ...     def step(self, ids, state):
    ...         return torch.nn.functional.one_hot(torch.full_like(ids, 4), 8).float() * 9, state
    >>> tok = CharTokenizer.fit("ab")
    >>> run = SimpleNamespace(task="language-model", meta={}, tokenizer=tok, model=Echo())
    >>> gen = LanguageModelAdapter(run, name="toy").complete("b", SamplingParams(max_tokens=3, temperature=0))
    >>> "".join(gen), gen.prompt_tokens, gen.completion_tokens, gen.finish_reason
    ('aaa', 1, 3, 'length')
    """

    serves = "language-model"

    def __init__(self, run: Run, *, name: str, **options: Any) -> None:
        super().__init__(run, name=name, **options)
        from seqlab.decode import Steppable

        if not isinstance(run.model, Steppable):
            raise ConfigError(f"{name}: this run's model has no init_state and step, so it cannot generate text")
        self.model: Steppable = run.model
        saved = run.meta.get("chat_template")
        self.has_chat_template = saved is not None
        self.template: ChatTemplate = ChatTemplate.from_dict(saved) if saved else DEFAULT_TEMPLATE

    def chat(self, messages: Sequence[Mapping[str, str]], params: SamplingParams) -> TextGeneration:
        """The reply to a conversation: the template's text, continued up to the end of the turn.

        Args:
            messages: ``{"role", "content"}`` dicts, oldest first.
            params: how to sample (the template's end of turn is added to the stop strings).
        """
        params = with_stop(params, self.template.stop)
        prompt = self.template.render(messages)
        if getattr(self.run.tokenizer, "type", "") in SPACE_JOINING and prompt.endswith(" "):
            # byte-level BPE learnt "Bot:" + " I"; a prompt ending in a lone " " token is one it never
            # saw, so the space is left for the model to write, and taken off the reply
            return self._generate(prompt.rstrip(" "), params, lstrip=True)
        return self._generate(prompt, params)

    def complete(self, prompt: str, params: SamplingParams) -> TextGeneration:
        """Continue ``prompt`` as plain text.

        Args:
            prompt: the text to continue.
            params: how to sample.
        """
        return self._generate(prompt, params)

    def _generate(self, prompt: str, params: SamplingParams, *, lstrip: bool = False) -> TextGeneration:
        # the path Run.sample takes; the prompt is checked against the context before it is queued
        ids = prompt_ids(self.run.tokenizer, prompt)
        advice = "shorten the prompt or the history, or lower max_tokens"
        self._check_fits(len(ids), params, what="prompt", advice=advice)
        return generate_text(self.model, ids, self.run.tokenizer, params, lstrip=lstrip, engine=self.engine())


class Seq2SeqAdapter(_RunAdapter):
    """Serve a seq2seq run: the model answers the last user message, as it was trained to.

    A seq2seq chat model is trained on (turn, reply) pairs, so its chat template is the simplest
    one there is: the source is the **last user message** (made one line, cut at the run's
    ``data.max_source_len`` tokens) and the reply is what the decoder writes until EOS. Earlier
    turns and system messages are not read: the model has never seen them in training. A plain
    completion treats the prompt as the source (translation runs answer with the translation).

    Args:
        run: a loaded :class:`seqlab.run.Run` of task ``seq2seq``.
        name: the model id clients ask for.
        context_length: the most tokens source + reply may have.
        batched, max_batch, max_queue: as :class:`LanguageModelAdapter`.
    """

    serves = "seq2seq"
    has_chat_template = True

    def __init__(self, run: Run, *, name: str, **options: Any) -> None:
        super().__init__(run, name=name, **options)
        from seqlab.decode import EncoderDecoder

        if not isinstance(run.model, EncoderDecoder):
            raise ConfigError(f"{name}: this run's model has no start, step and reorder_state; it cannot translate")
        self.model: EncoderDecoder = run.model
        self._lock = threading.Lock()  # the encoder call is cheap; one at a time keeps torch's state simple

    def chat(self, messages: Sequence[Mapping[str, str]], params: SamplingParams) -> TextGeneration:
        """The reply to the last user message.

        Args:
            messages: ``{"role", "content"}`` dicts, oldest first; at least one from the user.
            params: how to sample.
        """
        from seqlab.text.chat import one_line

        users = [m["content"] for m in messages if m.get("role") == "user"]
        if not users or not one_line(users[-1]):
            raise PromptError(
                "a seq2seq model answers the last user message, and there is none with text; "
                'add a {"role": "user", "content": "..."} message'
            )
        return self._generate(one_line(users[-1]), params)

    def complete(self, prompt: str, params: SamplingParams) -> TextGeneration:
        """The model's output for ``prompt`` read as a source text."""
        if not prompt.strip():
            raise PromptError("a seq2seq model needs a source text; the prompt is empty")
        return self._generate(prompt, params)

    def _generate(self, source: str, params: SamplingParams) -> TextGeneration:
        import torch

        from seqlab.errors import DataError
        from seqlab.tasks.seq2seq import encode_sources

        tokenizer, model = self.run.tokenizer, self.model
        try:
            src, mask = encode_sources(self.run, [source])
        except DataError as err:
            raise PromptError(str(err)) from None
        self._check_fits(src.shape[1], params, what="source", advice="lower max_tokens")
        with self._lock, torch.no_grad():
            state = model.start(src, mask)  # the run was loaded in eval mode
        assert tokenizer.bos_id is not None, "a seq2seq tokenizer always has BOS"
        return generate_text(
            model,
            [tokenizer.bos_id],
            tokenizer,
            params,
            prompt_tokens=int(src.shape[1]),
            state=state,
            engine=self.engine(),
        )


ADAPTERS: dict[str, Callable[..., Adapter]] = {
    "language-model": LanguageModelAdapter,
    "seq2seq": Seq2SeqAdapter,
}


def adapter_for(run: Run, *, name: str, **options: Any) -> Adapter:
    """The adapter that serves a run, chosen by its task.

    Args:
        run: a loaded run.
        name: the model id clients will use.
        options: ``context_length``, ``batched``, ``max_batch``, ``max_queue`` (see
            :class:`LanguageModelAdapter`).
    """
    if run.task not in ADAPTERS:
        raise ConfigError(
            f"{name} is a {run.task} run, which cannot generate text; "
            + unknown_choice("servable task", run.task, list(ADAPTERS)).split("; ", 1)[-1]
        )
    return ADAPTERS[run.task](run, name=name, **options)


@dataclass
class EngineStats:
    """Counts for ``/health`` and tests."""

    active: int = 0
    finished: int = 0
    cancelled: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, outcome: str) -> None:
        """One generation ended with ``outcome`` (``finished``, ``cancelled`` or ``failed``)."""
        with self.lock:
            self.active -= 1
            setattr(self, outcome, getattr(self, outcome) + 1)


class Engine:
    """Streams generations' text pieces into asyncio.

    A stream of a background :class:`seqlab.engine.BatchEngine` (a batched adapter's) is read as
    its engine thread fills it; any other generation (a private engine, a plain iterator) runs in
    a worker thread.

    Args:
        max_workers: generations that run in worker threads at the same time; more wait for a
            free worker (batched streams need none).

    >>> import asyncio
    >>> from seqlab.generation import Generation
    >>> async def main():
    ...     engine = Engine(max_workers=2)
    ...     return [p async for p in engine.stream(Generation(iter("abc"), prompt_tokens=0))]
    >>> asyncio.run(main())
    ['a', 'b', 'c']
    """

    def __init__(self, *, max_workers: int = 64) -> None:
        self.max_workers = max_workers
        self.stats = EngineStats()
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="seqlab-generate")
        return self._pool

    async def stream(self, generation: TextGeneration) -> AsyncGenerator[str, None]:
        """Yield a generation's pieces as they are made.

        Leaving the ``async for`` early (or the task being cancelled, as when an HTTP client
        disconnects) cancels the generation: a batched one leaves the batch before the next step,
        a threaded one stops after its current token.
        """
        from seqlab.engine import Stream  # torch is loaded by now: a run is served

        with self.stats.lock:
            self.stats.active += 1
        if isinstance(generation, Stream) and generation.engine.background:
            pieces = self._batched(generation)
        else:
            pieces = self._threaded(generation)
        async with contextlib.aclosing(pieces) as running:
            async for piece in running:
                yield piece

    async def _batched(self, stream: Any) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()

        def wake() -> None:
            try:
                loop.call_soon_threadsafe(ready.set)
            except RuntimeError:  # the event loop is gone; nobody is listening
                stream.close()

        stream.on_ready(wake)
        outcome = "cancelled"
        try:
            while True:
                ready.clear()
                try:
                    taken = stream.take()
                except Exception:
                    outcome = "failed"
                    raise
                for piece in taken:
                    yield piece
                if stream.done:
                    outcome = "cancelled" if stream.finish_reason == "cancelled" else "finished"
                    return
                if not taken:
                    await ready.wait()
        finally:
            stream.on_ready(None)
            if stream.finish_reason is None:
                stream.close()
            self.stats.count(outcome)

    async def _threaded(self, generation: TextGeneration) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()  # a piece, the error, None at the end
        cancel = threading.Event()

        def put(item: str | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                cancel.set()  # the event loop is gone; nobody is listening

        def work() -> None:
            outcome = "cancelled"
            error: BaseException | None = None
            try:
                if not cancel.is_set():
                    for piece in generation:
                        if cancel.is_set():
                            break
                        put(piece)
                    else:
                        outcome = "finished"
            except BaseException as err:  # handed to the consumer, which re-raises it
                outcome, error = "failed", err
            finally:
                if outcome != "finished":
                    generation.close()
                # counted before the consumer hears the end, so the stats are exact once it returns
                self.stats.count(outcome)
            put(error)

        self._executor().submit(work)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()

    async def collect(self, generation: TextGeneration) -> str:
        """The whole text of a generation (still generated off the event loop)."""
        return "".join([piece async for piece in self.stream(generation)])

    def shutdown(self) -> None:
        """Stop the worker threads once their generations end."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


__all__ = [
    "Adapter",
    "ADAPTERS",
    "Seq2SeqAdapter",
    "Engine",
    "EngineStats",
    "LanguageModelAdapter",
    "PromptError",
    "PromptTooLongError",
    "adapter_for",
    "DEFAULT_CONTEXT",
]
