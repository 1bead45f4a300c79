"""Generation for the server: what a served model offers, and how streams run off the event loop.

Two layers:

* an **adapter** turns a run into text generations. :class:`LanguageModelAdapter` serves any
  language-model run: chat messages go through the run's chat template
  (:mod:`seqlab.text.chat`), plain prompts are continued as they are. :class:`Seq2SeqAdapter`
  serves a seq2seq run: it answers the last user message. Another kind of run plugs in by
  offering the same two methods, ``chat(messages, params)`` and ``complete(prompt, params)``,
  and an entry in :data:`ADAPTERS`.
* the :class:`Engine` runs each generation in a worker thread and hands its text pieces to the
  asyncio event loop through a queue, so many streams run at once and the loop never blocks on
  torch. When the consumer stops listening (the HTTP client went away) the worker stops after the
  current token.

A :class:`Generation` is an iterator of text pieces that counts tokens as it goes and knows why
it ended, so the server can fill ``usage`` and ``finish_reason`` exactly.

>>> import asyncio
>>> gen = Generation(iter(["to ", "be"]), prompt_tokens=3)
>>> asyncio.run(Engine().collect(gen))
'to be'
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from seqlab.errors import ConfigError, SeqlabError, unknown_choice
from seqlab.text.chat import DEFAULT_TEMPLATE, ChatTemplate

DEFAULT_CONTEXT = 4096
SPACE_JOINING = ("bpe",)  # tokenizers whose tokens carry the space before a word


class PromptError(SeqlabError):
    """The request's prompt or messages cannot be answered as they are (the server says 400)."""

    code = "invalid_prompt"


class PromptTooLongError(PromptError):
    """The prompt plus the requested reply do not fit the served model's context length."""

    code = "context_length_exceeded"


@dataclass(frozen=True)
class GenerationParams:
    """How one reply is generated.

    Args:
        max_tokens: the most new tokens.
        temperature: 0 is greedy; higher is more random.
        top_p: nucleus sampling mass (1 = off).
        seed: makes sampling reproducible.
        stop: strings that end the reply (not included).
        frequency_penalty, presence_penalty: lower the odds of tokens already in the reply
            (see :class:`seqlab.decode.SamplingParams`).
    """

    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0


class Generation:
    """An iterator of text pieces that counts generated tokens and records why it ended.

    Args:
        pieces: the text pieces.
        prompt_tokens: how many tokens the prompt had (for ``usage``).
        counter: a :class:`TokenCounter` the pieces are drawn through, if tokens are counted
            separately from pieces (one piece can hold several tokens, or wait for more).

    >>> gen = Generation(iter(["a", "b"]), prompt_tokens=1)
    >>> list(gen), gen.completion_tokens, gen.finish_reason
    (['a', 'b'], 2, 'stop')
    """

    def __init__(self, pieces: Iterator[str], *, prompt_tokens: int, counter: TokenCounter | None = None) -> None:
        self._pieces = pieces
        self._counter = counter
        self._own_count = 0
        self.prompt_tokens = prompt_tokens
        self.finish_reason: str | None = None

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> str:
        try:
            piece = next(self._pieces)
        except StopIteration:
            if self.finish_reason is None:
                self.finish_reason = "length" if self._counter is not None and self._counter.hit_limit else "stop"
            raise
        self._own_count += 1
        return piece

    @property
    def completion_tokens(self) -> int:
        """Tokens generated so far."""
        return self._counter.count if self._counter is not None else self._own_count

    def close(self) -> None:
        """Stop generating (a stopped generation's finish_reason is ``"cancelled"`` if unfinished)."""
        if self.finish_reason is None:
            self.finish_reason = "cancelled"
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()


class TokenCounter:
    """Passes token ids through, counting them; knows whether the token limit was what ended them.

    Args:
        ids: the token ids (e.g. from :func:`seqlab.decode.generate`).
        limit: the ``max_tokens`` the ids were generated with.

    >>> counter = TokenCounter(iter([5, 6]), limit=2)
    >>> list(counter), counter.count, counter.hit_limit
    ([5, 6], 2, True)
    """

    def __init__(self, ids: Iterator[int], *, limit: int) -> None:
        self._ids = ids
        self.limit = limit
        self.count = 0
        self.exhausted = False

    def __iter__(self) -> TokenCounter:
        return self

    def __next__(self) -> int:
        try:
            token = next(self._ids)
        except StopIteration:
            self.exhausted = True
            raise
        self.count += 1
        return token

    @property
    def hit_limit(self) -> bool:
        """True when generation ran to ``limit`` tokens (rather than a stop id or stop string)."""
        return self.exhausted and self.count >= self.limit


class Adapter(Protocol):
    """What the server needs from a served model."""

    name: str
    task: str
    has_chat_template: bool

    def chat(self, messages: Sequence[Mapping[str, str]], params: GenerationParams) -> Generation: ...

    def complete(self, prompt: str, params: GenerationParams) -> Generation: ...


class _RunAdapter:
    """What every adapter keeps: the run (of the task it serves), its name and its context length."""

    serves: str  # the run task the adapter serves

    def __init__(self, run: Any, *, name: str, context_length: int = DEFAULT_CONTEXT) -> None:
        if run.task != self.serves:
            raise ConfigError(f"{name} is a {run.task} run; {type(self).__name__} serves {self.serves} runs")
        self.run = run
        self.name = name
        self.task = run.task
        self.context_length = context_length


class LanguageModelAdapter(_RunAdapter):
    """Serve a language-model run: chat through its chat template, or plain continuation.

    Args:
        run: a loaded :class:`seqlab.run.Run` of a language model.
        name: the model id clients ask for.
        context_length: the most tokens prompt + reply may have (a recurrent model has no hard
            limit, but the cost of reading a prompt grows with it).

    >>> import torch
    >>> from types import SimpleNamespace
    >>> from seqlab.text import CharTokenizer
    >>> class Echo(torch.nn.Module):  # always predicts "a"
    ...     def init_state(self, batch_size): return None
    ...     def step(self, ids, state):
    ...         return torch.nn.functional.one_hot(torch.full_like(ids, 4), 8).float() * 9, state
    >>> tok = CharTokenizer.fit("ab")
    >>> run = SimpleNamespace(task="language-model", meta={}, tokenizer=tok, model=Echo())
    >>> gen = LanguageModelAdapter(run, name="toy").complete("b", GenerationParams(max_tokens=3, temperature=0))
    >>> "".join(gen), gen.prompt_tokens, gen.completion_tokens, gen.finish_reason
    ('aaa', 1, 3, 'length')
    """

    serves = "language-model"

    def __init__(self, run: Any, *, name: str, context_length: int = DEFAULT_CONTEXT) -> None:
        super().__init__(run, name=name, context_length=context_length)
        saved = run.meta.get("chat_template")
        self.has_chat_template = saved is not None
        self.template: ChatTemplate = ChatTemplate.from_dict(saved) if saved else DEFAULT_TEMPLATE

    def chat(self, messages: Sequence[Mapping[str, str]], params: GenerationParams) -> Generation:
        """The reply to a conversation: the template's text, continued up to the end of the turn.

        Args:
            messages: ``{"role", "content"}`` dicts, oldest first.
            params: how to sample.
        """
        stop = (*self.template.stop, *params.stop)
        prompt = self.template.render(messages)
        if getattr(self.run.tokenizer, "type", "") in SPACE_JOINING and prompt.endswith(" "):
            # byte-level BPE learnt "Bot:" + " I"; a prompt ending in a lone " " token is one it never
            # saw, so the space is left for the model to write, and taken off the reply
            return self._generate(prompt.rstrip(" "), params, stop=stop, lstrip=True)
        return self._generate(prompt, params, stop=stop)

    def complete(self, prompt: str, params: GenerationParams) -> Generation:
        """Continue ``prompt`` as plain text.

        Args:
            prompt: the text to continue.
            params: how to sample.
        """
        return self._generate(prompt, params, stop=params.stop)

    def _generate(
        self, prompt: str, params: GenerationParams, *, stop: Sequence[str], lstrip: bool = False
    ) -> Generation:
        from seqlab.tasks.language_model import prompt_ids

        tokenizer = self.run.tokenizer
        ids = prompt_ids(tokenizer, prompt)
        if len(ids) + params.max_tokens > self.context_length:
            raise PromptTooLongError(
                f"this model's context length is {self.context_length} tokens, but the request needs "
                f"{len(ids) + params.max_tokens} ({len(ids)} in the prompt, {params.max_tokens} for the reply); "
                "shorten the prompt or the history, or lower max_tokens"
            )
        return sampled(self.run.model, ids, tokenizer, params, stop=stop, prompt_tokens=len(ids), lstrip=lstrip)


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
    """

    serves = "seq2seq"
    has_chat_template = True

    def __init__(self, run: Any, *, name: str, context_length: int = DEFAULT_CONTEXT) -> None:
        super().__init__(run, name=name, context_length=context_length)
        self._lock = threading.Lock()  # the encoder call is cheap; one at a time keeps torch's state simple

    def chat(self, messages: Sequence[Mapping[str, str]], params: GenerationParams) -> Generation:
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

    def complete(self, prompt: str, params: GenerationParams) -> Generation:
        """The model's output for ``prompt`` read as a source text."""
        if not prompt.strip():
            raise PromptError("a seq2seq model needs a source text; the prompt is empty")
        return self._generate(prompt, params)

    def _generate(self, source: str, params: GenerationParams) -> Generation:
        from seqlab.decode import Conditioned
        from seqlab.errors import DataError
        from seqlab.tasks.seq2seq import encode_sources

        tokenizer, model = self.run.tokenizer, self.run.model
        try:
            src, mask = encode_sources(self.run, [source])
        except DataError as err:
            raise PromptError(str(err)) from None
        if src.shape[1] + params.max_tokens > self.context_length:
            raise PromptTooLongError(
                f"this model's context length is {self.context_length} tokens, but the request needs "
                f"{src.shape[1] + params.max_tokens} "
                f"({src.shape[1]} in the source, {params.max_tokens} for the reply); "
                "lower max_tokens"
            )
        import torch

        with self._lock, torch.no_grad():
            model.eval()
            state = model.start(src, mask)
        return sampled(
            Conditioned(model, state),
            [tokenizer.bos_id],
            tokenizer,
            params,
            stop=params.stop,
            prompt_tokens=int(src.shape[1]),
        )


def sampled(
    model: Any,
    ids: Sequence[int],
    tokenizer: Any,
    params: GenerationParams,
    *,
    stop: Sequence[str],
    prompt_tokens: int,
    lstrip: bool = False,
) -> Generation:
    """A :class:`Generation` sampling from ``model`` after ``ids`` with ``params``, ending at EOS or ``stop``.

    Args:
        model: anything :func:`seqlab.decode.generate` steps (a language model, or a
            :class:`seqlab.decode.Conditioned` seq2seq decoder).
        ids: the ids read before the first new token.
        tokenizer: decodes the new ids; its ``eos_id`` (if any) ends the reply.
        params: how to sample.
        stop: strings that end the reply.
        prompt_tokens: what ``usage.prompt_tokens`` reports.
        lstrip: drop the reply's leading spaces.
    """
    from seqlab.decode import decode_stream, generate

    counter = TokenCounter(
        generate(
            model,
            ids,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            frequency_penalty=params.frequency_penalty,
            presence_penalty=params.presence_penalty,
            stop_ids=[i for i in (tokenizer.eos_id,) if i is not None],
        ),
        limit=params.max_tokens,
    )
    pieces = decode_stream(tokenizer, counter, stop=stop)
    return Generation(_lstripped(pieces) if lstrip else pieces, prompt_tokens=prompt_tokens, counter=counter)


def _lstripped(pieces: Iterator[str]) -> Iterator[str]:
    """The pieces without the spaces they start with.

    >>> list(_lstripped(iter([" ", " I", " am"])))
    ['I', ' am']
    """
    started = False
    for piece in pieces:
        if not started:
            piece = piece.lstrip(" ")
            started = bool(piece)
        if piece:
            yield piece


ADAPTERS: dict[str, Callable[..., Adapter]] = {
    "language-model": LanguageModelAdapter,
    "seq2seq": Seq2SeqAdapter,
}


def adapter_for(run: Any, *, name: str, context_length: int = DEFAULT_CONTEXT) -> Adapter:
    """The adapter that serves a run, chosen by its task.

    Args:
        run: a loaded run.
        name: the model id clients will use.
        context_length: the most tokens prompt + reply may have.
    """
    if run.task not in ADAPTERS:
        raise ConfigError(
            f"{name} is a {run.task} run, which cannot generate text; "
            + unknown_choice("servable task", run.task, list(ADAPTERS)).split("; ", 1)[-1]
        )
    return ADAPTERS[run.task](run, name=name, context_length=context_length)


@dataclass
class EngineStats:
    """Counts for ``/health`` and tests."""

    active: int = 0
    finished: int = 0
    cancelled: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Engine:
    """Runs generations in worker threads and streams their pieces into asyncio.

    Args:
        max_workers: generations that run at the same time; more wait for a free worker.

    >>> import asyncio
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

    async def stream(self, generation: Generation) -> AsyncIterator[str]:
        """Yield a generation's pieces as a worker thread produces them.

        Leaving the ``async for`` early (or the task being cancelled, as when an HTTP client
        disconnects) tells the worker to stop after its current token.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancel = threading.Event()

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:
                cancel.set()  # the event loop is gone; nobody is listening

        def work() -> None:
            outcome, error = "cancelled", None
            try:
                if not cancel.is_set():
                    for piece in generation:
                        if cancel.is_set():
                            break
                        put("piece", piece)
                    else:
                        outcome = "finished"
            except BaseException as err:  # handed to the consumer, which re-raises it
                outcome, error = "failed", err
            finally:
                if outcome != "finished":
                    generation.close()
                # counted before the consumer hears the end, so the stats are exact once it returns
                with self.stats.lock:
                    self.stats.active -= 1
                    setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
            if error is not None:
                put("error", error)
            else:
                put("end", None)

        with self.stats.lock:
            self.stats.active += 1
        self._executor().submit(work)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "piece":
                    yield value
                elif kind == "end":
                    return
                else:
                    raise value
        finally:
            cancel.set()

    async def collect(self, generation: Generation) -> str:
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
    "Generation",
    "GenerationParams",
    "LanguageModelAdapter",
    "PromptError",
    "PromptTooLongError",
    "TokenCounter",
    "adapter_for",
    "DEFAULT_CONTEXT",
]
