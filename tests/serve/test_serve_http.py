"""The real server on a free port, driven by the official `openai` client (sync and async) and raw HTTP."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import pytest

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)


def test_models_and_health(server, client):
    ids = sorted(m.id for m in client.models.list())
    assert ids == ["chat", "plain"]
    health = httpx.get(f"{server.root}/health").json()
    assert health["status"] == "ok" and health["models"] == ["chat", "plain"]


def test_chat_stream_equals_whole_reply(client):
    whole = client.chat.completions.create(model="chat", messages=HELLO, temperature=0.8, seed=7, max_tokens=40)
    choice = whole.choices[0]
    assert whole.object == "chat.completion" and choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length") and "\n" not in choice.message.content
    assert whole.usage.completion_tokens >= 1 and whole.usage.prompt_tokens == len("User: hello\nBot: ")
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

    chunks = list(
        client.chat.completions.create(
            model="chat",
            messages=HELLO,
            temperature=0.8,
            seed=7,
            max_tokens=40,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == choice.message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == choice.finish_reason
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_max_tokens_gives_length_and_greedy_is_deterministic(client):
    a = client.completions.create(model="plain", prompt="User: how", max_tokens=5, temperature=0)
    b = client.completions.create(model="plain", prompt="User: how", max_tokens=5, temperature=0)
    assert a.choices[0].text == b.choices[0].text
    assert a.choices[0].finish_reason == "length" and a.usage.completion_tokens == 5
    echoed = client.completions.create(model="plain", prompt="User: how", max_tokens=5, temperature=0, echo=True)
    assert echoed.choices[0].text == "User: how" + a.choices[0].text
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(model="plain", prompt="User: how", max_tokens=5, temperature=0, stream=True)
        if c.choices
    )
    assert streamed == a.choices[0].text


def test_stop_strings_cut_the_text(client):
    text = (
        client.completions.create(model="plain", prompt="User: hello\n", max_tokens=60, temperature=0).choices[0].text
    )
    assert len(text) > 3
    cut = (
        client.completions.create(model="plain", prompt="User: hello\n", max_tokens=60, temperature=0, stop=[text[2:4]])
        .choices[0]
        .text
    )
    assert text.startswith(cut) and text[2:4] not in cut


def test_repetition_penalties_change_a_greedy_reply(client):
    def reply(**penalties):
        return (
            client.completions.create(model="plain", prompt="User: hello\n", max_tokens=60, temperature=0, **penalties)
            .choices[0]
            .text
        )

    plain = reply()
    assert reply(frequency_penalty=0, presence_penalty=None) == plain  # zero (or null) is the default
    penalised = reply(frequency_penalty=1.5, presence_penalty=0.5)
    assert penalised != plain  # a character model repeats itself within 60 characters
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="chat", messages=HELLO, presence_penalty=2.5)
    assert err.value.body["param"] == "presence_penalty"


def test_async_client_streams_and_eight_streams_at_once(server):
    async def one(client: openai.AsyncOpenAI, i: int) -> tuple[str, str | None]:
        stream = await client.chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": ["hello", "안녕하세요"][i % 2]}],
            max_tokens=60,
            temperature=1.0,
            seed=i,
            stream=True,
        )
        pieces, finish = [], None
        async for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
        return "".join(pieces), finish

    async def main() -> list[tuple[str, str | None]]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0) as client:
            return await asyncio.gather(*(one(client, i) for i in range(8)))

    results = asyncio.run(main())
    assert len(results) == 8 and all(finish in ("stop", "length") for _, finish in results)


def test_errors_have_the_openai_shape(server, client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="nope", messages=HELLO)
    assert err.value.status_code == 404 and err.value.body["code"] == "model_not_found"

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="chat", messages=HELLO, temperature=3.5)
    assert err.value.body["param"] == "temperature"

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="chat", messages=[{"role": "robot", "content": "hi"}])
    assert err.value.body["param"] == "messages.0.role"

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x" * server.context}])
    assert err.value.body["code"] == "context_length_exceeded"
    assert f"context length is {server.context} tokens" in err.value.body["message"]

    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model="plain", prompt="hi", max_tokens=0)
    assert err.value.body["param"] == "max_tokens"

    for key in (None, "wrong-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.get(f"{server.base_url}/models", headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0).models.list()

    auth = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
    response = httpx.post(
        f"{server.base_url}/chat/completions", content=b'{"model": "chat", "messages": [', headers=auth
    )
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]
    response = httpx.post(f"{server.base_url}/chat/completions", json={"model": "chat"}, headers=auth)
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages"


def test_a_raw_stream_is_one_json_line_per_event_and_ends_with_done(server, client):
    whole = client.chat.completions.create(model="chat", messages=HELLO, temperature=0, max_tokens=30)
    headers = {"Authorization": f"Bearer {server.api_key}"}
    body = {"model": "chat", "messages": HELLO, "temperature": 0, "max_tokens": 30, "stream": True}
    response = httpx.post(f"{server.base_url}/chat/completions", json=body, headers=headers, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    frames = response.text.split("\n\n")
    assert frames[-2:] == ["data: [DONE]", ""] and response.text.count("data: [DONE]") == 1  # the terminator, last
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-2]]
    assert all(f.startswith("data: {") and "\n" not in f for f in frames[:-2])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["finish_reason"] == whole.choices[0].finish_reason
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == whole.choices[0].message.content and text  # the greedy reply, streamed


def test_a_client_that_disconnects_stops_its_generation(server):
    def health() -> dict:
        return httpx.get(f"{server.root}/health").json()

    cancelled_before = health()["cancelled"]
    body = {
        "model": "plain",
        "prompt": "User: hello",
        "max_tokens": server.context - 20,
        "temperature": 1.0,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.stream("POST", f"{server.base_url}/completions", json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        events = 0
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                assert "choices" in json.loads(line[6:])
                events += 1
            if events == 3:
                break  # leaving the block closes the connection mid-stream
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (health()["active_generations"] or health()["cancelled"] == cancelled_before):
        time.sleep(0.05)
    state = health()
    assert state["active_generations"] == 0 and state["cancelled"] == cancelled_before + 1
