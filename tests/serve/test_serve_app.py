"""The app in-process with a scripted adapter: one SamplingParams per request, one event stream for both endpoints."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from seqlab.decode import SamplingParams
from seqlab.generation import Generation
from seqlab.serve.app import create_app


class Scripted:
    """An adapter that answers with fixed pieces and remembers the params it was given."""

    name, task, has_chat_template = "bot", "language-model", True

    def __init__(self, pieces: list[str], *, fail: bool = False) -> None:
        self.pieces, self.fail = pieces, fail
        self.params: list[SamplingParams] = []

    def _generation(self, params: SamplingParams) -> Generation:
        self.params.append(params)

        def pieces():
            yield from self.pieces
            if self.fail:
                raise RuntimeError("the model fell over")

        return Generation(pieces(), prompt_tokens=2)

    def chat(self, messages, params):
        return self._generation(params)

    def complete(self, prompt, params):
        return self._generation(params)

    def shutdown(self):
        pass

    def stats(self):
        return {}


def events(response) -> list:
    """The data of each server-sent event, JSON decoded ([DONE] kept as a string)."""
    data = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in data]


@pytest.fixture
def served():
    model = Scripted(["to ", "be"])
    with TestClient(create_app([model])) as client:
        yield model, client


def test_every_sampling_field_of_the_request_reaches_the_adapter_as_one_sampling_params(served):
    model, client = served
    body = {
        "model": "bot",
        "prompt": "x",
        "max_tokens": 7,
        "temperature": 0.5,
        "top_k": 40,
        "top_p": 0.9,
        "seed": 3,
        "stop": ["\n", "User:"],
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
    }
    assert client.post("/v1/completions", json=body).status_code == 200
    assert model.params[-1] == SamplingParams(
        max_tokens=7,
        temperature=0.5,
        top_k=40,
        top_p=0.9,
        seed=3,
        stop=("\n", "User:"),
        frequency_penalty=0.5,
        presence_penalty=-0.5,
    )
    chat = {"model": "bot", "messages": [{"role": "user", "content": "hi"}], "top_k": None}
    assert client.post("/v1/chat/completions", json=chat).status_code == 200
    assert model.params[-1] == SamplingParams()  # null is the default; a chat reply's default length is 256

    bad = client.post("/v1/completions", json={**body, "top_k": -1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "top_k"


def test_both_endpoints_stream_through_the_same_event_shape(served):
    _, client = served
    chat = {
        "model": "bot",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    got = events(client.post("/v1/chat/completions", json=chat))
    assert got[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"] for c in got[1:3]] == [{"content": "to "}, {"content": "be"}]
    assert got[3]["choices"][0]["finish_reason"] == "stop" and got[3]["choices"][0]["delta"] == {}
    assert got[4]["choices"] == [] and got[4]["usage"]["total_tokens"] == 4 and got[5] == "[DONE]"
    assert all(c["usage"] is None for c in got[:4]) and len({c["id"] for c in got[:5]}) == 1

    text = {"model": "bot", "prompt": "x ", "echo": True, "stream": True}
    got = events(client.post("/v1/completions", json=text))
    assert [c["choices"][0]["text"] for c in got[:-1]] == ["x ", "to ", "be", ""]
    assert got[-2]["choices"][0]["finish_reason"] == "stop" and got[-1] == "[DONE]"
    assert all("usage" not in c for c in got[:-1]) and all(c["object"] == "text_completion" for c in got[:-1])


def test_a_generation_that_fails_mid_stream_says_so_in_band():
    with TestClient(create_app([Scripted(["a"], fail=True)])) as client:
        got = events(client.post("/v1/completions", json={"model": "bot", "prompt": "x", "stream": True}))
    assert got[0]["choices"][0]["text"] == "a"
    assert got[1]["error"]["type"] == "server_error" and "fell over" in got[1]["error"]["message"]
    assert got[2] == "[DONE]"


def test_the_api_key_is_read_from_the_app_state():
    with TestClient(create_app([Scripted(["a"])], api_key="k")) as client:
        assert client.get("/v1/models").status_code == 401
        assert client.get("/health").status_code == 200  # health needs no key
        ok = client.get("/v1/models/bot", headers={"Authorization": "Bearer k"})
        assert ok.status_code == 200 and ok.json()["id"] == "bot"
        missing = client.get("/v1/models/nope", headers={"Authorization": "Bearer k"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_the_in_band_error_is_one_data_line_before_done_and_openai_clients_raise_it():
    import openai

    app = create_app([Scripted(["a", "b"], fail=True)])
    with TestClient(app) as http:
        raw = http.post("/v1/chat/completions", json={"model": "bot", "messages": [], "stream": True})
        assert raw.status_code == 400  # an empty conversation is refused before any stream starts
        body = {"model": "bot", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        raw = http.post("/v1/chat/completions", json=body)
        assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/event-stream")
        frames = raw.text.split("\n\n")
        assert frames[-2:] == ["data: [DONE]", ""] and raw.text.count("[DONE]") == 1
        error = json.loads(frames[-3].removeprefix("data: "))
        assert error == {
            "error": {
                "message": "generation failed: the model fell over",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
        assert all(f.startswith("data: {") and "\n" not in f for f in frames[:-2])  # one line of JSON each

        client = openai.OpenAI(base_url="http://testserver/v1", api_key="none", http_client=http, max_retries=0)
        received = []
        with pytest.raises(openai.APIError, match="generation failed: the model fell over"):
            for chunk in client.chat.completions.create(model="bot", messages=body["messages"], stream=True):
                received.append(chunk.choices[0].delta.content)
        assert received == ["", "a", "b"]  # the pieces before the failure arrived


def test_unexpected_errors_are_500_in_openai_shape():
    class Broken(Scripted):
        def complete(self, prompt, params):
            raise RuntimeError("a bug")

    with TestClient(create_app([Broken([])]), raise_server_exceptions=False) as client:
        response = client.post("/v1/completions", json={"model": "bot", "prompt": "x"})
    assert response.status_code == 500
    assert response.json()["error"] == {
        "message": "internal error: RuntimeError: a bug",
        "type": "server_error",
        "param": None,
        "code": None,
    }
