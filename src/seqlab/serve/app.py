"""The OpenAI-compatible HTTP API (FastAPI): health, models, chat completions, completions.

``create_app`` builds the app from adapters (:mod:`seqlab.serve.engine`); ``seqlab serve`` runs
it with uvicorn. Replies stream as server-sent events exactly as OpenAI sends them: one
``chat.completion.chunk`` per piece of text with ``choices[0].delta``, a last chunk carrying
``finish_reason``, a usage chunk if ``stream_options.include_usage`` asked for one, then
``data: [DONE]``. Errors use OpenAI's JSON shape (``{"error": {"message", "type", "param",
"code"}}``): 400 for a bad field (named in ``param``) or an over-long prompt, 401 for a missing or
wrong API key, 404 for an unknown model.

>>> from fastapi.testclient import TestClient
>>> client = TestClient(create_app([]))
>>> client.get("/health").json()["status"]
'ok'
>>> request = {"model": "nope", "messages": [{"role": "user", "content": "hi"}]}
>>> client.post("/v1/chat/completions", json=request).status_code
404
"""

# no `from __future__ import annotations`: FastAPI reads the handlers' annotations at runtime, and
# Request is imported inside create_app (FastAPI is an optional extra)
import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

from seqlab.errors import require_extra
from seqlab.serve.engine import Adapter, Engine, Generation, GenerationParams, PromptError
from seqlab.serve.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    chat_chunk,
    chat_completion,
    error_body,
    model_card,
    new_id,
    now,
    text_completion,
    usage,
    usage_chunk,
)

DEFAULT_CHAT_TOKENS = 256
_TYPE_NAMES = {"str", "int", "float", "bool", "list", "dict"}


class APIError(Exception):
    """An error the client caused, sent as OpenAI error JSON with an HTTP status.

    Args:
        status: the HTTP status code.
        message: what is wrong and what would be right.
        param: the request field at fault, if any.
        code: OpenAI's machine-readable code (``model_not_found``, ``invalid_api_key``, ...).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type_


def create_app(models: Sequence[Adapter], *, api_key: str | None = None, engine: Engine | None = None) -> Any:
    """The FastAPI app serving ``models``.

    Args:
        models: the adapters to serve; clients pick one by its ``name``.
        api_key: if set, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
        engine: runs generations off the event loop (a fresh :class:`Engine` by default).
    """
    fastapi = require_extra("fastapi", "serve")
    from fastapi import Depends, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException

    by_name = {m.name: m for m in models}
    if len(by_name) != len(models):
        raise ValueError("two served models have the same name; give each run its own name (NAME=RUN)")
    engine = engine or Engine()
    started = now()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        engine.shutdown()

    app = fastapi.FastAPI(title="seqlab", description="OpenAI-compatible API for seqlab runs", lifespan=lifespan)
    app.state.engine = engine

    @app.exception_handler(APIError)
    async def _api_error(request: Request, err: APIError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return JSONResponse(
            error_body(err.message, type_=err.type, param=err.param, code=err.code),
            status_code=err.status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problem = err.errors()[0]
        # a union (str | list) puts its member's type in the path; only field names and indexes matter
        loc = [
            str(part)
            for part in problem.get("loc", ())
            if part != "body" and str(part) not in _TYPE_NAMES and not any(c in str(part) for c in "[(")
        ]
        if problem.get("type") == "json_invalid":
            param, message = None, f"the request body is not valid JSON: {problem.get('msg')}"
        else:
            param = ".".join(loc) or None
            text = str(problem.get("msg", "")).removeprefix("Value error, ")
            got = problem.get("input")
            shown = (
                f" (got {got!r})"
                if problem.get("type") != "missing" and not isinstance(got, dict) and "(got" not in text
                else ""
            )
            message = f"{param or 'request body'}: {text}{shown}"
        return JSONResponse(error_body(message, param=param, code="invalid_value"), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> JSONResponse:
        message = (
            "not found: see /v1/models, /v1/chat/completions, /v1/completions, /health"
            if err.status_code == 404
            else str(err.detail)
        )
        return JSONResponse(error_body(message, code=None), status_code=err.status_code)

    async def check_key(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if not header:
            raise APIError(
                401,
                "missing API key: send the header `Authorization: Bearer <key>` "
                "(the key given to `seqlab serve --api-key` or SEQLAB_API_KEY)",
                code="invalid_api_key",
            )
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), api_key.encode()):
            raise APIError(401, "incorrect API key", code="invalid_api_key")

    def find(name: str) -> Adapter:
        if name not in by_name:
            served = ", ".join(sorted(by_name)) or "none"
            raise APIError(
                404,
                f'the model "{name}" does not exist; served models: {served}',
                param="model",
                code="model_not_found",
            )
        return by_name[name]

    def card(model: Adapter) -> dict[str, Any]:
        return model_card(model.name, started, task=model.task, chat=model.has_chat_template)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        stats = engine.stats
        return {
            "status": "ok",
            "models": sorted(by_name),
            "active_generations": stats.active,
            "finished": stats.finished,
            "cancelled": stats.cancelled,
            "failed": stats.failed,
        }

    @app.get("/v1/models", dependencies=[Depends(check_key)])
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [card(m) for m in by_name.values()]}

    @app.get("/v1/models/{name}", dependencies=[Depends(check_key)])
    async def get_model(name: str) -> dict[str, Any]:
        return card(find(name))

    async def start(make: Any) -> Generation:
        # tokenizing a long prompt is real work; it runs off the loop like generation does
        try:
            return await asyncio.to_thread(make)
        except PromptError as err:
            raise APIError(400, str(err), param="messages", code=err.code) from None

    @app.post("/v1/chat/completions", dependencies=[Depends(check_key)])
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        model = find(body.model)
        params = _params(body, body.token_limit or DEFAULT_CHAT_TOKENS)
        messages = [m.as_template_message() for m in body.messages]
        generation = await start(lambda: model.chat(messages, params))
        id_, created = new_id("chatcmpl"), now()
        if not body.stream:
            text = await _collect_unless_disconnected(engine, generation, request)
            counts = usage(generation.prompt_tokens, generation.completion_tokens)
            return chat_completion(id_, model.name, created, text, generation.finish_reason or "stop", counts)

        with_usage = body.include_usage

        async def events() -> AsyncIterator[str]:
            yield _sse(
                chat_chunk(
                    id_, model.name, created, {"role": "assistant", "content": ""}, None, with_usage_field=with_usage
                )
            )
            async with contextlib.aclosing(engine.stream(generation)) as pieces:
                try:
                    async for piece in pieces:
                        yield _sse(
                            chat_chunk(id_, model.name, created, {"content": piece}, None, with_usage_field=with_usage)
                        )
                except Exception as err:  # the stream has started: report in-band, as OpenAI does
                    yield _sse(error_body(f"generation failed: {err}", type_="server_error"))
                    yield "data: [DONE]\n\n"
                    return
            yield _sse(
                chat_chunk(
                    id_, model.name, created, {}, generation.finish_reason or "stop", with_usage_field=with_usage
                )
            )
            if with_usage:
                counts = usage(generation.prompt_tokens, generation.completion_tokens)
                yield _sse(usage_chunk(id_, model.name, created, counts, object_="chat.completion.chunk"))
            yield "data: [DONE]\n\n"

        return _event_stream(StreamingResponse, events())

    @app.post("/v1/completions", dependencies=[Depends(check_key)])
    async def completions(body: CompletionRequest, request: Request) -> Any:
        model = find(body.model)
        params = _params(body, body.token_limit)
        prompt = body.prompt_text
        try:
            generation = await start(lambda: model.complete(prompt, params))
        except APIError as err:
            err.param = "prompt" if err.code == "context_length_exceeded" else err.param
            raise
        id_, created = new_id("cmpl"), now()
        prefix = prompt if body.echo else ""
        if not body.stream:
            text = await _collect_unless_disconnected(engine, generation, request)
            counts = usage(generation.prompt_tokens, generation.completion_tokens)
            return text_completion(id_, model.name, created, prefix + text, generation.finish_reason or "stop", counts)

        with_usage = body.include_usage

        async def events() -> AsyncIterator[str]:
            if prefix:
                yield _sse(text_completion(id_, model.name, created, prefix, None, None, with_usage_field=with_usage))
            async with contextlib.aclosing(engine.stream(generation)) as pieces:
                try:
                    async for piece in pieces:
                        yield _sse(
                            text_completion(id_, model.name, created, piece, None, None, with_usage_field=with_usage)
                        )
                except Exception as err:
                    yield _sse(error_body(f"generation failed: {err}", type_="server_error"))
                    yield "data: [DONE]\n\n"
                    return
            yield _sse(
                text_completion(
                    id_, model.name, created, "", generation.finish_reason or "stop", None, with_usage_field=with_usage
                )
            )
            if with_usage:
                counts = usage(generation.prompt_tokens, generation.completion_tokens)
                yield _sse(usage_chunk(id_, model.name, created, counts, object_="text_completion"))
            yield "data: [DONE]\n\n"

        return _event_stream(StreamingResponse, events())

    return app


def _params(body: ChatCompletionRequest | CompletionRequest, max_tokens: int) -> GenerationParams:
    return GenerationParams(
        max_tokens=max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        seed=body.seed,
        stop=tuple(body.stop_list),
        frequency_penalty=body.frequency_penalty,
        presence_penalty=body.presence_penalty,
    )


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _event_stream(response_class: Any, events: AsyncIterator[str]) -> Any:
    return response_class(
        events, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


async def _collect_unless_disconnected(engine: Engine, generation: Generation, request: Any) -> str:
    """The whole reply; if the client goes away first, the generation is cancelled."""
    task = asyncio.ensure_future(engine.collect(generation))
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.25)
        if done:
            return task.result()
        if await request.is_disconnected():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise APIError(499, "the client closed the request")


__all__ = ["create_app", "APIError"]
