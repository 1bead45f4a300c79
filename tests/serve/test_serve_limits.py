"""What the model cannot honour is refused with a 4xx naming the field, never a 500: on the real
server (raw HTTP, so NaN, infinities and lone surrogates can be sent) and in the Python API."""

from __future__ import annotations

import json

import httpx
import pytest

from seqlab.errors import SeqlabError

GOOD = {"model": "chat", "prompt": "User: hello\nBot:", "max_tokens": 8, "temperature": 0}


@pytest.fixture
def http(small_server):
    """One httpx client (one keep-alive connection) with the server's key."""
    headers = {"Authorization": f"Bearer {small_server.api_key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=small_server.base_url, headers=headers, timeout=30) as client:
        yield client


def post_raw(http: httpx.Client, path: str, fields: dict[str, str]) -> httpx.Response:
    """POST a body whose values are JSON text as given (``NaN`` and ``Infinity`` included)."""
    base = {**GOOD, **({"messages": [{"role": "user", "content": "hello"}]} if "chat" in path else {})}
    if "chat" in path:
        del base["prompt"]
    body = {k: json.dumps(v) for k, v in base.items() if k not in fields} | fields
    return http.post(path, content="{" + ", ".join(f'"{k}": {v}' for k, v in body.items()) + "}")


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/completions", "seed", "18446744073709551616"),  # 2**64: past torch.Generator's range
        ("/completions", "seed", "-9223372036854775809"),  # -2**63 - 1
        ("/chat/completions", "seed", "true"),
        ("/completions", "max_tokens", "true"),
        ("/completions", "max_tokens", "0"),
        ("/chat/completions", "max_completion_tokens", "false"),
        ("/completions", "top_k", "true"),
        ("/completions", "n", "true"),
        ("/completions", "temperature", "NaN"),
        ("/chat/completions", "temperature", "Infinity"),
        ("/completions", "top_p", "-Infinity"),
        ("/completions", "top_p", "true"),
        ("/chat/completions", "frequency_penalty", "NaN"),
        ("/completions", "presence_penalty", "1e999"),  # JSON's way to write infinity
        ("/completions", "prompt", '"\\ud800"'),  # a lone surrogate: no tokenizer or reply can hold it
        ("/chat/completions", "messages", '[{"role": "user", "content": "a\\udfff"}]'),
        ("/completions", "stop", '["\\ud800"]'),
    ],
)
def test_numbers_and_text_the_model_cannot_honour_get_400_naming_the_field(http, path, field, value):
    response = post_raw(http, path, {field: value})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"].split(".")[0] == field and field in error["message"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_value"
    assert http.post("/completions", json=GOOD).status_code == 200  # and the same connection goes on


def test_the_edges_of_the_ranges_are_accepted(http):
    for fields in ({"seed": str(2**64 - 1)}, {"seed": str(-(2**63))}, {"top_p": "1"}, {"temperature": "2"}):
        response = post_raw(http, "/completions", fields)
        assert response.status_code == 200, (fields, response.text)


def test_a_temperature_or_top_p_that_is_zero_in_float32_decodes_greedily(http):
    greedy = http.post("/completions", json={**GOOD, "max_tokens": 30}).json()["choices"][0]["text"]
    assert len(greedy) > 0
    for fields in ({"temperature": 1.0, "top_p": 5e-324}, {"temperature": 1e-300}, {"temperature": 5e-324}):
        for seed in (1, 2):
            response = http.post("/completions", json={**GOOD, "max_tokens": 30, "seed": seed, **fields})
            assert response.status_code == 200 and response.json()["choices"][0]["text"] == greedy, fields


def test_a_prompt_above_the_context_gets_400_naming_the_limit(http, small_server):
    response = http.post("/completions", json={**GOOD, "prompt": "x" * small_server.context})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded" and error["param"] == "prompt"
    assert f"context length is {small_server.context} tokens" in error["message"]
    assert http.post("/completions", json=GOOD).status_code == 200


def test_a_body_above_the_limit_gets_413_and_the_connection_stays_usable(http, small_server):
    limit = small_server.max_request_bytes
    big = json.dumps({**GOOD, "prompt": "x" * limit}).encode()
    answers = [
        http.post("/completions", content=big),  # Content-Length declared: refused before the body is parsed
        http.post("/completions", content=iter([big[:4000], big[4000:]])),  # chunked: counted as it arrives
    ]
    for response in answers:
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error["code"] == "request_too_large" and error["type"] == "invalid_request_error"
        assert f"limit of {limit} bytes" in error["message"] and "--max-request-bytes" in error["message"]
        assert response.headers.get("connection", "").lower() != "close"
        good = http.post("/completions", json=GOOD)  # the next request on the same client
        assert good.status_code == 200 and good.json()["choices"][0]["text"]
    just_fits = json.dumps({**GOOD, "prompt": "y" * 100}).encode().ljust(limit)  # padded with spaces, still JSON
    assert len(just_fits) == limit and http.post("/completions", content=just_fits).status_code == 200


def test_errors_then_a_good_request_on_one_connection(http):
    """404, 400, 401 and 413 in a row, each followed by a request that is answered."""
    bad = [
        http.post("/completions", json={**GOOD, "model": "nope"}),
        http.post("/completions", content=b'{"model": "chat", "prompt": '),
        http.get("/models", headers={"Authorization": "Bearer wrong"}),
        http.post("/chat/completions", json={"model": "chat", "messages": []}),
    ]
    assert [r.status_code for r in bad] == [404, 400, 401, 400]
    for response in bad:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert http.post("/completions", json=GOOD).status_code == 200


def test_the_python_api_refuses_what_the_server_refuses(chat_run_dir):
    from seqlab.decode import SamplingError
    from seqlab.generation import PromptError
    from seqlab.run import load

    run = load(chat_run_dir)
    for prompt in (123, b"hello", ["hello"], None, "a\ud800"):
        with pytest.raises(PromptError) as err:
            run.sample(prompt, max_tokens=5)  # type: ignore[arg-type]
        assert "prompt" in str(err.value) and "\n" not in str(err.value)
    for field, value in [("max_tokens", 0), ("max_tokens", -1), ("max_tokens", True), ("seed", 2**64)]:
        with pytest.raises(SamplingError) as err:
            run.sample("hello", **{field: value})
        assert err.value.field == field and isinstance(err.value, SeqlabError)
    greedy = "".join(run.sample("User: hello\nBot:", max_tokens=20, temperature=0))
    assert "".join(run.sample("User: hello\nBot:", max_tokens=20, temperature=1.0, top_p=1e-50, seed=4)) == greedy
