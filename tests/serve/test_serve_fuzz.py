"""Fuzzing the real server from its own OpenAPI schema with schemathesis: no request gets a 5xx.

schemathesis reads ``/openapi.json`` of a running `seqlab serve` (a tiny trained run with a
512-token context, so every accepted request is answered in well under a second) and, for each
operation, hypothesis draws requests that fit the schema (positive) and requests that break it
(negative: wrong types, values out of range, missing fields). Whatever is sent, the answer must be
a 2xx, or a 4xx in OpenAI's error shape. The schema lists the served model names as ``model``'s
values, so the generated requests reach the model rather than stopping at 404.

Every 5xx is collected (not only the first), so a failure says how many there were and shows a
curl command per operation and status. Before the fixes of issue 15, a top_p or temperature that
is 0 in float32 (5e-324) made the probabilities NaN and the POST endpoints answered 500: with
the decoder's fixes undone, this test gets 5 of its first 202 requests answered 500.

(schemathesis's own pytest integration, ``schemathesis.pytest.from_fixture``, fails on pytest 9.2,
whose items no longer have ``_nodeid``; its documented ``as_strategy`` under hypothesis's
``@given`` generates the same requests.)
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the API fuzz test needs schemathesis (the dev extra)")
hypothesis = pytest.importorskip("hypothesis")

from schemathesis.generation import GenerationMode  # noqa: E402

MAX_EXAMPLES = 100  # per operation and mode: about 500 requests, under 10 s on one core


def test_no_generated_request_gets_a_server_error(small_server):
    schema = schemathesis.openapi.from_url(f"{small_server.root}/openapi.json")
    headers = {"Authorization": f"Bearer {small_server.api_key}"}
    server_errors: dict[tuple[str, int], str] = {}  # (operation, status) -> a curl command that got it
    count = {"requests": 0, "5xx": 0, "refused": 0}

    def send(case) -> None:
        response = case.call(headers=headers, timeout=30)
        count["requests"] += 1
        if response.status_code >= 500:
            count["5xx"] += 1
            curl = case.as_curl_command(headers={"Authorization": "Bearer KEY"})
            server_errors.setdefault(
                (case.operation.label, response.status_code), f"{curl}\n  -> {response.text[:200]}"
            )
        elif response.status_code >= 400:  # every refusal is OpenAI's error shape, with a message
            count["refused"] += 1
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"} and error["message"], response.text

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz = hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,  # a request that generates tokens takes longer than hypothesis's 200 ms
                derandomize=True,  # the same requests on every run, so CI is stable
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # collected, not shrunk
            )(hypothesis.given(case=operation.as_strategy(generation_mode=mode))(send))
            try:
                fuzz()
            except hypothesis.errors.Unsatisfiable:
                # nothing a GET takes can break its schema: /health and /v1/models take no input, and
                # /v1/models/{name} takes any string
                assert mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET", operation.label

    shown = "\n".join(f"{label} -> {status}:\n  {curl}" for (label, status), curl in server_errors.items())
    assert not server_errors, f"{count['5xx']} of {count['requests']} requests got a 5xx:\n{shown}"
    assert count["requests"] >= 5 * MAX_EXAMPLES and count["refused"] > 0  # it ran, and reached the validation


def test_the_schema_names_the_served_models_and_the_sampling_ranges(small_server):
    import httpx

    spec = httpx.get(f"{small_server.root}/openapi.json").json()
    for request in ("ChatCompletionRequest", "CompletionRequest"):
        fields = spec["components"]["schemas"][request]["properties"]
        assert fields["model"]["enum"] == ["chat"]
        assert fields["top_p"]["exclusiveMinimum"] == 0.0 and fields["top_p"]["maximum"] == 1.0
        assert (fields["seed"]["minimum"], fields["seed"]["maximum"]) == (-(2**63), 2**64 - 1)
