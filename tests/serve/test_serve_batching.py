"""Many clients at once: one batched decoding loop per model, through the official `openai` client.

The real server on a free port (``seqlab serve``, its default batched engine); clients are the
async `openai` client. What a client gets must not depend on who else is asking: the same seeded
request gives the same text alone and among 31 others, usage counts are exact, a client that goes
away leaves the batch, and a full queue answers 429 instead of hanging.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

PROMPT = "User: hello\nBot:"


def client_for(server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=120)


async def stream_text(client, *, seed: int, max_tokens: int, model: str = "plain") -> tuple[str, object, str]:
    """A streamed completion: its text, its usage chunk and its finish reason."""
    text, usage, finish = "", None, ""
    stream = await client.completions.create(
        model=model,
        prompt=PROMPT,
        temperature=1.0,
        seed=seed,
        max_tokens=max_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].text
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage is not None:
            usage = chunk.usage
    return text, usage, finish


def health(server) -> dict:
    return httpx.get(f"{server.root}/health", timeout=10).json()


def test_32_concurrent_streams_complete_with_exact_usage_and_a_seed_gives_the_same_text_alone_or_in_the_batch(
    server,
):
    async def main():
        async with client_for(server) as client:
            solo = await stream_text(client, seed=7, max_tokens=60)
            crowd = await asyncio.gather(*(stream_text(client, seed=7 + i, max_tokens=60) for i in range(32)))
            return solo, crowd

    solo, crowd = asyncio.run(main())
    assert crowd[0][0] == solo[0] and crowd[0][2] == solo[2]  # seed 7 among 31 others: the same text
    for text, usage, finish in crowd:
        assert finish in ("stop", "length")
        assert usage.prompt_tokens == len(PROMPT)  # a character model: one token per character
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        # a token per character, and some that write nothing (a sampled BOS or PAD)
        assert usage.completion_tokens >= len(text)
        assert usage.completion_tokens == 60 if finish == "length" else usage.completion_tokens < 60
    whole = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=60)
    reply = whole.completions.create(model="plain", prompt=PROMPT, temperature=1.0, seed=7, max_tokens=60)
    assert reply.choices[0].text == solo[0] and reply.usage.completion_tokens == solo[1].completion_tokens
    assert len({text for text, _, _ in crowd}) > 16  # different seeds, different texts
    assert health(server)["engines"]["plain"]["largest_batch"] >= 8  # they really were decoded together


def test_clients_that_disconnect_leave_the_batch_and_the_next_request_is_answered(long_server):
    server = long_server
    before = health(server)

    async def leave_early(client, seed: int) -> None:
        # 500,000 tokens: minutes of decoding, so a row that leaves was cancelled, not finished
        stream = await client.completions.create(
            model="chat", prompt=PROMPT, max_tokens=500_000, temperature=1.0, seed=seed, stream=True
        )
        got = 0
        async for _ in stream:
            got += 1
            if got == 3:
                break
        await stream.close()  # the connection goes away mid-stream

    async def main():
        async with client_for(server) as client:
            await asyncio.gather(*(leave_early(client, seed) for seed in range(10)))

    asyncio.run(main())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = health(server)
        if now["engines"]["chat"]["batch"] == 0 and now["cancelled"] >= before["cancelled"] + 10:
            break
        time.sleep(0.2)
    assert now["engines"]["chat"]["batch"] == 0, now
    assert now["cancelled"] >= before["cancelled"] + 10
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=60)
    reply = client.completions.create(model="chat", prompt=PROMPT, max_tokens=5, temperature=0)
    assert reply.usage.completion_tokens <= 5 and reply.choices[0].finish_reason in ("stop", "length")


@pytest.fixture(scope="module")
def endless_run_dir(chat_run_dir, tmp_path_factory):
    """The chat run with its end-of-text token's output bias at -10,000: it never ends a text by itself."""
    import shutil

    from safetensors.torch import load_file, save_file

    from seqlab.text import load_tokenizer

    folder = tmp_path_factory.mktemp("endless") / "endless"
    shutil.copytree(chat_run_dir, folder, ignore=shutil.ignore_patterns("checkpoints"))
    weights = load_file(folder / "model.safetensors")
    eos = load_tokenizer(folder / "tokenizer.json").eos_id
    weights["head.bias"][eos] = -1e4
    save_file(weights, folder / "model.safetensors")
    return folder


@pytest.fixture(scope="module")
def long_server(endless_run_dir, tmp_path_factory, proc_tools):
    """`seqlab serve` of a model that never ends by itself, with a context that lets replies outlast any disconnect."""
    log = tmp_path_factory.mktemp("long") / "serve.log"
    with proc_tools.serving([f"chat={endless_run_dir}"], log, context=10**6) as running:
        yield running


@pytest.fixture(scope="module")
def queued_server(endless_run_dir, tmp_path_factory, proc_tools):
    """`seqlab serve` with room for 2 requests in the batch and 3 in the queue."""
    log = tmp_path_factory.mktemp("queued") / "serve.log"
    with proc_tools.serving(
        [f"chat={endless_run_dir}"], log, context=10**6, extra=("--max-batch", "2", "--max-queue", "3")
    ) as running:
        yield running


def test_a_request_beyond_the_queue_gets_429_in_openais_shape(queued_server):
    server = queued_server

    async def main():
        async with client_for(server) as client:
            streams = [
                await client.completions.create(
                    model="chat", prompt=PROMPT, max_tokens=500_000, temperature=1.0, stream=True
                )
                for _ in range(5)
            ]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                engine = health(server)["engines"]["chat"]
                if engine["batch"] == 2 and engine["queued"] == 3:
                    break
                await asyncio.sleep(0.1)
            assert (engine["batch"], engine["queued"]) == (2, 3)
            with pytest.raises(openai.RateLimitError) as refused:
                await client.completions.create(model="chat", prompt=PROMPT, max_tokens=5)
            for stream in streams:
                await stream.close()
            return refused.value

    error = asyncio.run(main())
    assert error.status_code == 429
    body = error.body
    assert body["code"] == "rate_limit_exceeded" and "2 generations are running and 3 are waiting" in body["message"]
    deadline = time.monotonic() + 60
    while health(server)["engines"]["chat"]["batch"] and time.monotonic() < deadline:
        time.sleep(0.2)
    reply = openai.OpenAI(
        base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=60
    ).completions.create(model="chat", prompt=PROMPT, max_tokens=3, temperature=0)
    assert reply.choices[0].finish_reason in ("stop", "length")  # room again once the others left


def test_ctrl_c_ends_open_streams_with_a_last_event_and_stops_without_a_traceback(chat_run_dir, tmp_path, proc_tools):
    import json
    import signal
    import subprocess
    import sys

    port, log = proc_tools.free_port(), tmp_path / "serve.log"
    command = [sys.executable, "-m", "seqlab", "serve", f"chat={chat_run_dir}", "--port", str(port)]
    with open(log, "w") as out:
        proc = subprocess.Popen(command, env=proc_tools.child_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        proc_tools.wait_until_up(f"http://127.0.0.1:{port}/health", proc, log)
        request = {"model": "chat", "prompt": PROMPT, "max_tokens": 2000, "seed": 1, "stream": True}
        events: list[str] = []
        with httpx.stream("POST", f"http://127.0.0.1:{port}/v1/completions", json=request, timeout=60) as response:
            for line in response.iter_lines():
                if not line:
                    continue  # the blank line between events
                events.append(line)
                if len(events) == 5:
                    # what Ctrl-C in the terminal sends, pressed twice as an impatient user does:
                    # the second press must not turn a clean stop into a traceback
                    proc.send_signal(signal.SIGINT)
                    proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) in (0, 130)
    finally:
        proc_tools.stop(proc)
    assert events[-1] == "data: [DONE]"
    last = json.loads(events[-2].removeprefix("data: "))
    assert last["choices"][0]["finish_reason"] == "cancelled"  # ended by the server, said so in-band
    assert len(events) < 2000
    text = log.read_text()
    assert "Traceback" not in text and "Shutting down" in text
