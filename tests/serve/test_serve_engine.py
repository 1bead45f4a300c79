"""The engine in-process: adapters over a real run, generation off the event loop, cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from seqlab.decode import SamplingParams
from seqlab.generation import Generation
from seqlab.serve.engine import Engine, LanguageModelAdapter, PromptTooLongError, adapter_for


@pytest.fixture(scope="module")
def adapter(chat_run_dir):
    from seqlab.run import load

    return adapter_for(load(chat_run_dir), name="chat", context_length=200)


def test_chat_reply_is_one_turn_and_counts_are_exact(adapter):
    gen = adapter.chat([{"role": "user", "content": "hello"}], SamplingParams(max_tokens=50, temperature=0.0))
    reply = "".join(gen)
    assert "\n" not in reply and gen.finish_reason in ("stop", "length")
    assert gen.prompt_tokens == len("User: hello\nBot: ")
    assert gen.completion_tokens >= len(reply)  # a char model: one token per character, plus the newline


def test_completion_runs_to_max_tokens_and_seed_reproduces(adapter):
    params = SamplingParams(max_tokens=30, temperature=1.0, seed=0)  # a seed whose 30 tokens hold no EOS
    first, second = adapter.complete("User:", params), adapter.complete("User:", params)
    assert "".join(first) == "".join(second)
    assert first.completion_tokens == 30 and first.finish_reason == "length"


def test_over_long_prompts_are_refused(adapter):
    with pytest.raises(PromptTooLongError, match="context length is 200 tokens"):
        adapter.complete("x" * 190, SamplingParams(max_tokens=20))


def test_runs_that_cannot_generate_are_refused():
    from types import SimpleNamespace

    from seqlab.errors import ConfigError

    with pytest.raises(ConfigError, match="classification run, which cannot generate"):
        adapter_for(SimpleNamespace(task="classification"), name="clf")
    with pytest.raises(ConfigError):
        LanguageModelAdapter(SimpleNamespace(task="classification", meta={}), name="clf")


def slow_pieces(stopped: threading.Event, count: int = 1000):
    try:
        for i in range(count):
            time.sleep(0.005)
            yield f"{i} "
    finally:
        stopped.set()


def test_leaving_a_stream_stops_its_worker():
    engine = Engine(max_workers=4)
    stopped = threading.Event()

    async def main() -> list[str]:
        got = []
        async for piece in engine.stream(Generation(slow_pieces(stopped), prompt_tokens=0)):
            got.append(piece)
            if len(got) == 3:
                break
        return got

    assert asyncio.run(main()) == ["0 ", "1 ", "2 "]
    assert stopped.wait(5)
    deadline = time.monotonic() + 5
    while engine.stats.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.stats.active == 0 and engine.stats.cancelled == 1
    engine.shutdown()


def test_streams_run_concurrently_and_the_loop_stays_free():
    engine = Engine(max_workers=8)
    lock, running, most = threading.Lock(), 0, 0

    def counted_pieces(count: int):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            yield from slow_pieces(threading.Event(), count)
        finally:
            with lock:
                running -= 1

    async def main() -> tuple[list[str], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick = asyncio.create_task(ticker())
        texts = await asyncio.gather(
            *(engine.collect(Generation(counted_pieces(20), prompt_tokens=0)) for _ in range(8))
        )
        tick.cancel()
        return texts, ticks

    texts, ticks = asyncio.run(main())
    assert all(t.startswith("0 1 2") for t in texts)
    assert most > 1  # generations overlapped in worker threads instead of running one after another
    assert ticks >= 3  # the event loop kept running while the workers generated
    engine.shutdown()


def test_errors_in_a_worker_reach_the_consumer():
    def broken():
        yield "a"
        raise RuntimeError("boom")

    engine = Engine()
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(engine.collect(Generation(broken(), prompt_tokens=0)))
    assert engine.stats.failed == 1
    engine.shutdown()


def test_a_bpe_model_is_prompted_without_the_lone_trailing_space():
    """Byte-level BPE learnt "Bot:" + " I"; the adapter leaves that space to the model and strips it."""
    from types import SimpleNamespace

    import torch

    from seqlab.text import build_tokenizer

    tok = build_tokenizer("bpe", ["User: hi\nBot: I am here\n\n" * 50], vocab_size=300)
    [space_i] = tok.encode(" I")  # one token: the space belongs to the word

    class Seen(torch.nn.Module):
        """Always predicts " I", then the newline; remembers the prompt it read."""

        def init_state(self, batch_size):
            return 0

        def step(self, ids, state):
            if state == 0:
                self.prompt = ids[0].tolist()
            nxt = space_i if state == 0 else tok.encode("\n")[0]
            return torch.nn.functional.one_hot(torch.tensor([[nxt]]), tok.vocab_size).float() * 9, state + 1

    model = Seen()
    run = SimpleNamespace(task="language-model", meta={}, tokenizer=tok, model=model)
    gen = LanguageModelAdapter(run, name="bpe").chat(
        [{"role": "user", "content": "hi"}], SamplingParams(max_tokens=5, temperature=0)
    )
    assert "".join(gen) == "I"
    assert tok.decode(model.prompt) == "User: hi\nBot:" and gen.prompt_tokens == len(model.prompt)
