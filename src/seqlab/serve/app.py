"""The OpenAI-compatible HTTP API (FastAPI): health, models, chat completions, completions.

``create_app`` builds the app from adapters (:mod:`seqlab.serve.engine`); ``seqlab serve`` runs
it with uvicorn. The route handlers are the module's functions: each reads what it serves from
``request.app.state.served`` (a :class:`Served`). Replies stream as server-sent events exactly as
OpenAI sends them: one chunk per piece of text (``choices[0].delta`` for chat), a last chunk
carrying ``finish_reason``, a usage chunk if ``stream_options.include_usage`` asked for one, then
``data: [DONE]``; one generator (:func:`sse_events`) streams both endpoints. Errors use OpenAI's
JSON shape (``{"error": {"message", "type", "param", "code"}}``): 400 for a bad field (named in
``param``) or an over-long prompt (naming the context length), 401 for a missing or wrong API key,
404 for an unknown model, 413 for a request body above ``max_request_bytes`` (:class:`BodyLimit`),
429 when the model's decoding engine has a full batch and a full queue.
A refused request leaves its connection open for the next one. The OpenAPI schema (``/openapi.json``)
lists the served model names as the values ``model`` takes, so a client or a fuzzer generated
from it asks for models that exist.

This module needs the ``serve`` extra (FastAPI); ``seqlab serve`` checks for it before importing it.

>>> from fastapi.testclient import TestClient
>>> client = TestClient(create_app([]))
>>> client.get("/health").json()["status"]
'ok'
>>> request = {"model": "nope", "messages": [{"role": "user", "content": "hi"}]}
>>> client.post("/v1/chat/completions", json=request).status_code
404
>>> client.post("/v1/completions", content=b"x" * (MAX_REQUEST_BYTES + 1)).status_code
413
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seqlab.decode import SamplingError, SamplingParams
from seqlab.errors import QueueFullError
from seqlab.generation import TextGeneration
from seqlab.serve.engine import Adapter, Engine, PromptError
from seqlab.serve.protocol import (
    SEED_RANGE,
    ChatCompletionRequest,
    CompletionRequest,
    Reply,
    error_body,
    model_card,
    now,
    usage,
)

_TYPE_NAMES = {"str", "int", "float", "bool", "list", "dict"}
DONE = "data: [DONE]\n\n"
MAX_REQUEST_BYTES = 2**20  # a chat history that fills a 4096-token context is far smaller
DRAIN_BYTES = 16 * 2**20  # the most of a refused body read (and dropped) to keep its connection open


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


@dataclass
class Served:
    """What the handlers serve: the models by name, the engine, the API key, the start time.

    Args:
        models: the adapters by the name clients ask for.
        engine: runs generations off the event loop.
        api_key: if set, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
    """

    models: dict[str, Adapter]
    engine: Engine
    api_key: str | None = None
    started: int = field(default_factory=now)

    def find(self, name: str) -> Adapter:
        """The model called ``name``, or a 404 that lists the served ones."""
        if name not in self.models:
            served = ", ".join(sorted(self.models)) or "none"
            raise APIError(
                404,
                f'the model "{name}" does not exist; served models: {served}',
                param="model",
                code="model_not_found",
            )
        return self.models[name]

    def card(self, model: Adapter) -> dict[str, Any]:
        """The model's entry in ``/v1/models``."""
        return model_card(model.name, self.started, task=model.task, chat=model.has_chat_template)


def create_app(
    models: Sequence[Adapter],
    *,
    api_key: str | None = None,
    engine: Engine | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> FastAPI:
    """The FastAPI app serving ``models``.

    Args:
        models: the adapters to serve; clients pick one by its ``name``.
        api_key: if set, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
        engine: runs generations off the event loop (a fresh :class:`Engine` by default).
        max_request_bytes: a larger request body is refused with 413.
    """
    by_name = {m.name: m for m in models}
    if len(by_name) != len(models):
        raise ValueError("two served models have the same name; give each run its own name (NAME=RUN)")
    app = FastAPI(
        title="seqlab",
        description="OpenAI-compatible API for seqlab runs",
        lifespan=_lifespan,
        exception_handlers={
            APIError: api_error,
            RequestValidationError: invalid_request,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.served = Served(by_name, engine or Engine(), api_key)
    app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes)
    app.openapi = _schema_with_models(app, sorted(by_name))  # type: ignore[method-assign]
    return app


def _schema_with_models(app: FastAPI, names: list[str]) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with the served names as the values of the requests' ``model`` field, and the
    seed's range exact (FastAPI's OpenAPI model stores bounds as floats, and 2**64 - 1 is not one)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for request in ("ChatCompletionRequest", "CompletionRequest"):
            fields = schema["components"]["schemas"][request]["properties"]
            if names:
                fields["model"]["enum"] = names
            fields["seed"]["minimum"], fields["seed"]["maximum"] = SEED_RANGE
        return schema

    return openapi


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    close(app)


def close(app: FastAPI) -> None:
    """End every running generation (each open stream sends its last event) and stop the engines.

    ``seqlab serve`` calls it as soon as it is asked to stop (Ctrl-C), so open streams end at once
    rather than holding the shutdown until their replies are written; the app's shutdown calls it
    again (a no-op by then).
    """
    served: Served = app.state.served
    for model in served.models.values():
        model.shutdown()
    served.engine.shutdown()


def _served(request: Request) -> Served:
    return cast(Served, request.app.state.served)


# ----------------------------------------------------------------------------- errors


async def api_error(request: Request, err: APIError) -> JSONResponse:
    """An :class:`APIError` as OpenAI's error JSON."""
    headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
    body = error_body(err.message, type_=err.type, param=err.param, code=err.code)
    return JSONResponse(body, status_code=err.status, headers=headers)


async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
    """A request that does not parse: 400 naming the first bad field (``messages.0.role``)."""
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


async def http_error(request: Request, err: HTTPException) -> JSONResponse:
    """Starlette's own errors (an unknown path, a wrong method) and :class:`BodyTooLarge` in OpenAI's shape."""
    message = (
        "not found: see /v1/models, /v1/chat/completions, /v1/completions, /health"
        if err.status_code == 404
        else str(err.detail)
    )
    code = err.code if isinstance(err, BodyTooLarge) else None
    return JSONResponse(error_body(message, code=code), status_code=err.status_code, headers=err.headers)


async def server_error(request: Request, err: Exception) -> JSONResponse:
    """A bug of ours: 500 in OpenAI's shape (uvicorn logs the traceback)."""
    body = error_body(f"internal error: {type(err).__name__}: {err}", type_="server_error")
    return JSONResponse(body, status_code=500)


class BodyTooLarge(HTTPException):
    """A request body above the server's limit (413).

    Args:
        limit: the most bytes a body may have.
        size: the body's size, or how much of it was read before it passed the limit.
        declared: whether ``size`` is the Content-Length the client declared.
    """

    code = "request_too_large"

    def __init__(self, limit: int, size: int, *, declared: bool) -> None:
        got = f"Content-Length {size}" if declared else f"more than {limit} bytes received"
        detail = (
            f"the request body is larger than this server's limit of {limit} bytes ({got}); "
            "send a shorter prompt or history (`seqlab serve --max-request-bytes` sets the limit)"
        )
        super().__init__(413, detail)


class BodyLimit:
    """ASGI middleware: a request body above ``max_bytes`` gets 413 in OpenAI's error shape.

    A declared Content-Length above the limit is refused before the app runs; a chunked body is
    counted as it arrives. Either way the rest of the body is read and dropped (up to
    :data:`DRAIN_BYTES`) before the answer, so the client reads the 413 rather than a reset
    connection, and its connection stays open for the next request.

    Args:
        app: the ASGI app.
        max_bytes: the most bytes a request body may have.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            await _drain(receive, None)
            refusal = BodyTooLarge(self.max_bytes, int(length), declared=True)
            body = error_body(str(refusal.detail), code=refusal.code)
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    await _drain(receive, message)
                    raise BodyTooLarge(self.max_bytes, received, declared=False)  # answered by http_error
            return message

        await self.app(scope, counted, send)


async def _drain(receive: Receive, last: Message | None) -> None:
    """Read and drop the rest of a request body, up to :data:`DRAIN_BYTES`."""
    read = 0
    while (last is None or last.get("more_body", False)) and read <= DRAIN_BYTES:
        last = await receive()
        if last["type"] != "http.request":
            return  # the client went away
        read += len(last.get("body", b""))


async def check_key(request: Request) -> None:
    """Refuse a ``/v1`` request without the server's API key (when it has one)."""
    api_key = _served(request).api_key
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


# ----------------------------------------------------------------------------- routes

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Liveness, the served models and the engine's counts."""
    served = _served(request)
    stats = served.engine.stats
    return {
        "status": "ok",
        "models": sorted(served.models),
        "active_generations": stats.active,
        "finished": stats.finished,
        "cancelled": stats.cancelled,
        "failed": stats.failed,
        "engines": {name: model.stats() for name, model in served.models.items()},
    }


@router.get("/v1/models", dependencies=[Depends(check_key)])
async def list_models(request: Request) -> dict[str, Any]:
    """The served models."""
    served = _served(request)
    return {"object": "list", "data": [served.card(m) for m in served.models.values()]}


@router.get("/v1/models/{name}", dependencies=[Depends(check_key)])
async def get_model(name: str, request: Request) -> dict[str, Any]:
    """One served model."""
    served = _served(request)
    return served.card(served.find(name))


@router.post("/v1/chat/completions", dependencies=[Depends(check_key)])
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
    """The reply to a conversation, whole or streamed."""
    model = _served(request).find(body.model)
    params = _sampling(body)
    messages = [m.as_template_message() for m in body.messages]
    generation = await _start(lambda: model.chat(messages, params), param="messages")
    reply = Reply("chat", model.name, include_usage=body.include_usage)
    return await _respond(request, generation, reply, stream=body.stream)


@router.post("/v1/completions", dependencies=[Depends(check_key)])
async def completions(body: CompletionRequest, request: Request) -> Any:
    """The continuation of a prompt, whole or streamed."""
    model = _served(request).find(body.model)
    params = _sampling(body)
    prompt = body.prompt_text
    generation = await _start(lambda: model.complete(prompt, params), param="prompt")
    reply = Reply("text", model.name, echo=prompt if body.echo else "", include_usage=body.include_usage)
    return await _respond(request, generation, reply, stream=body.stream)


def _sampling(body: ChatCompletionRequest | CompletionRequest) -> SamplingParams:
    try:
        return body.sampling_params()
    except SamplingError as err:  # the schema's ranges catch most values first; this is the decoder's word
        raise APIError(400, str(err), param=err.field, code="invalid_value") from None


async def _start(make: Callable[[], TextGeneration], *, param: str) -> TextGeneration:
    # tokenizing a long prompt is real work; it runs off the loop like generation does
    try:
        return await asyncio.to_thread(make)
    except PromptError as err:
        raise APIError(400, str(err), param=param, code=err.code) from None
    except QueueFullError as err:
        raise APIError(429, str(err), code=err.code, type_="rate_limit_error") from None


async def _respond(request: Request, generation: TextGeneration, reply: Reply, *, stream: bool) -> Any:
    """The whole reply as JSON, or a stream of server-sent events."""
    engine = _served(request).engine
    if stream:
        return EventStream(sse_events(engine, generation, reply))
    text = await _collect_unless_disconnected(engine, generation, request)
    return reply.whole(text, generation.finish_reason or "stop", _usage(generation))


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response that closes its events however the response ends.

    A client that goes away while an event is being sent cancels the send, not the generator, and
    an async generator left open is only closed when it is garbage collected (perhaps much later,
    with its generation still running); closing it here stops the generation at once.

    Args:
        events: the encoded events.
    """

    def __init__(self, events: AsyncGenerator[str, None]) -> None:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(events, media_type="text/event-stream", headers=headers)
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._events.aclose()


async def sse_events(engine: Engine, generation: TextGeneration, reply: Reply) -> AsyncGenerator[str, None]:
    """A generation as OpenAI's server-sent events, for either endpoint (``reply`` shapes the chunks).

    When the client disconnects, :class:`EventStream` closes the events; leaving ``engine.stream``
    then stops the worker after its current token.

    Args:
        engine: runs the generation.
        generation: the text pieces.
        reply: the response the chunks belong to.
    """
    # The SSE framing is written here rather than taken from a library: every event is one line of
    # JSON (`data: {...}`, no event names, ids or retries) and the endpoints answer JSON or a stream
    # by the request's `stream` field. FastAPI's own SSE support (0.135+) only serves handlers that
    # are generators, and sse-starlette would add a dependency (and a second disconnect watcher)
    # for the one f-string below.
    opening = reply.opening()
    if opening is not None:
        yield _sse(opening)
    async with contextlib.aclosing(engine.stream(generation)) as pieces:
        try:
            async for piece in pieces:
                yield _sse(reply.piece(piece))
        except Exception as err:  # the stream has started: report in-band, as OpenAI does
            yield _sse(error_body(f"generation failed: {err}", type_="server_error"))
            yield DONE
            return
    yield _sse(reply.last(generation.finish_reason or "stop"))
    if reply.include_usage:
        yield _sse(reply.usage(_usage(generation)))
    yield DONE


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _usage(generation: TextGeneration) -> dict[str, int]:
    return usage(generation.prompt_tokens, generation.completion_tokens)


async def _collect_unless_disconnected(engine: Engine, generation: TextGeneration, request: Request) -> str:
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


__all__ = ["create_app", "close", "APIError", "BodyLimit", "BodyTooLarge", "EventStream", "Served", "sse_events"]
