"""Request and response shapes of the OpenAI HTTP API that seqlab speaks (pydantic models).

Only what a recurrent or seq2seq model can honour is accepted with a meaning; other OpenAI fields
that clients send by habit (``user``, ``logit_bias``, ...) are accepted and ignored, so chat
apps written for OpenAI work unchanged. Values are checked here, and a bad one becomes an
OpenAI-shaped error naming the field (see :func:`error_body`): numbers must be finite, a boolean
is not a number, a seed must fit the sampler's generator, and text must be valid Unicode (a lone
surrogate, which JSON can carry, is refused before it reaches a tokenizer or a reply).

The sampling fields become one :class:`seqlab.decode.SamplingParams` (``sampling_params()``), the
form the CLI and :meth:`seqlab.run.Run.sample` use too; the field ranges here are OpenAI's (they
show in the OpenAPI schema), and SamplingParams checks them again on the way to the decoder.

>>> req = ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
>>> req.temperature, req.top_p, req.stream
(1.0, 1.0, False)
>>> req.sampling_params().max_tokens == DEFAULT_CHAT_TOKENS
True
>>> error_body("no such model", param="model", code="model_not_found")["error"]["type"]
'invalid_request_error'
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

if TYPE_CHECKING:
    from seqlab.decode import SamplingParams

MAX_STOP = 4
SEED_RANGE = (-(2**63), 2**64 - 1)  # torch.Generator's, as seqlab.decode.SEED_RANGE (not imported: no torch here)
DEFAULT_CHAT_TOKENS = 256  # OpenAI's chat reply runs to the context length; a small model's is better kept short
_DEFAULTS = {"temperature": 1.0, "top_p": 1.0, "top_k": 0, "frequency_penalty": 0.0, "presence_penalty": 0.0}


def _not_bool(value: Any) -> Any:
    # JSON's true is not 1 here: a boolean where a number belongs is a client's mistake
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _valid_unicode(*texts: str) -> None:
    # checked after a union (str | list) has matched, so the error names the field, not a union member
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(
                f"must be valid Unicode text; {text[err.start]!r} at position {err.start} is a lone surrogate"
            ) from None


Integer = Annotated[int, BeforeValidator(_not_bool)]
Number = Annotated[float, BeforeValidator(_not_bool)]


class _Request(BaseModel):
    # clients send many optional OpenAI fields; unknown ones are ignored rather than refused
    model_config = ConfigDict(extra="ignore")


class ContentPart(BaseModel):
    """One part of a message's content in the list form (only text parts are understood)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class Message(BaseModel):
    """One chat message.

    >>> Message(role="user", content=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]).text
    'ab'
    """

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None

    @field_validator("content")
    @classmethod
    def _check_content(cls, value: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        _valid_unicode(*([value] if isinstance(value, str) else [part.text for part in value or []]))
        return value

    @property
    def text(self) -> str:
        """The content as one string."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)

    def as_template_message(self) -> dict[str, str]:
        """``{"role", "content"}`` for :class:`seqlab.text.chat.ChatTemplate` (developer counts as system)."""
        return {"role": "system" if self.role == "developer" else self.role, "content": self.text}


class StreamOptions(BaseModel):
    """``stream_options``: ``include_usage`` adds a last chunk with the token counts."""

    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class _Sampling(_Request):
    model: str = Field(min_length=1)
    temperature: Number = Field(1.0, ge=0.0, le=2.0, allow_inf_nan=False)
    top_p: Number = Field(1.0, gt=0.0, le=1.0, allow_inf_nan=False)
    top_k: Integer = Field(0, ge=0, description="sample among the k most likely tokens, 0 = all (not OpenAI's; vLLM's)")
    frequency_penalty: Number = Field(0.0, ge=-2.0, le=2.0, allow_inf_nan=False)
    presence_penalty: Number = Field(0.0, ge=-2.0, le=2.0, allow_inf_nan=False)
    stop: str | list[str] | None = None
    # the range is checked below: pydantic's own message would print 2**64 - 1 as a float
    seed: Integer | None = Field(None, json_schema_extra={"minimum": SEED_RANGE[0], "maximum": SEED_RANGE[1]})
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Integer = Field(1, ge=1, le=1, description="one choice per request")

    @field_validator(*_DEFAULTS, mode="before")
    @classmethod
    def _none_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        # some clients send null for "use the default"
        return _DEFAULTS[info.field_name] if value is None and info.field_name else value

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, value: str | list[str] | None) -> str | list[str] | None:
        items = [value] if isinstance(value, str) else (value or [])
        if len(items) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop sequences (got {len(items)})")
        if any(item == "" for item in items):
            raise ValueError("stop sequences must not be empty strings")
        _valid_unicode(*items)
        return value

    @field_validator("seed")
    @classmethod
    def _check_seed(cls, value: int | None) -> int | None:
        if value is not None and not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
            raise ValueError(f"must be an integer from {SEED_RANGE[0]} to {SEED_RANGE[1]}")
        return value

    @property
    def stop_list(self) -> list[str]:
        """``stop`` as a list."""
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    @property
    def include_usage(self) -> bool:
        """Whether a streamed reply ends with a usage chunk."""
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)

    @property
    def token_limit(self) -> int:
        """The requested reply length."""
        raise NotImplementedError

    def sampling_params(self) -> SamplingParams:
        """The request's sampling settings as the decoder takes them.

        Raises:
            seqlab.decode.SamplingError: a value the decoder refuses (its ``field`` names it).
        """
        from seqlab.decode import SamplingParams  # torch: only once a request is answered

        return SamplingParams(
            max_tokens=self.token_limit,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            seed=self.seed,
            stop=tuple(self.stop_list),
            frequency_penalty=self.frequency_penalty,
            presence_penalty=self.presence_penalty,
        )


class ChatCompletionRequest(_Sampling):
    """``POST /v1/chat/completions``.

    >>> ChatCompletionRequest.model_validate({"model": "m", "messages": []})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ChatCompletionRequest
    messages
      List should have at least 1 item after validation, not 0 [type=too_short, input_value=[], input_type=list]
    ...
    """

    messages: list[Message] = Field(min_length=1)
    max_tokens: Integer | None = Field(None, ge=1)
    max_completion_tokens: Integer | None = Field(None, ge=1)

    @property
    def token_limit(self) -> int:
        """The requested reply length (``max_completion_tokens`` wins over ``max_tokens``)."""
        return self.max_completion_tokens or self.max_tokens or DEFAULT_CHAT_TOKENS


class CompletionRequest(_Sampling):
    """``POST /v1/completions`` (plain continuation of a prompt).

    >>> CompletionRequest.model_validate({"model": "m", "prompt": ["to be"]}).prompt_text
    'to be'
    """

    prompt: str | list[str] = Field(description="one prompt (a list holding exactly one is accepted)")
    max_tokens: Integer = Field(16, ge=1)
    echo: bool = False

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError(f"give one prompt (got a list of {len(value)})")
        _valid_unicode(*([value] if isinstance(value, str) else value))
        return value

    @property
    def prompt_text(self) -> str:
        """The prompt as one string."""
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    @property
    def token_limit(self) -> int:
        """The requested continuation length."""
        return self.max_tokens


# ----------------------------------------------------------------------------- responses


def new_id(prefix: str) -> str:
    """A fresh response id such as ``chatcmpl-1a2b...``.

    >>> new_id("chatcmpl").startswith("chatcmpl-")
    True
    """
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    """Unix time in seconds, as the ``created`` fields carry it."""
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """The ``usage`` object.

    >>> usage(3, 4)
    {'prompt_tokens': 3, 'completion_tokens': 4, 'total_tokens': 7}
    """
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chat_completion(
    id_: str, model: str, created: int, text: str, finish_reason: str, counts: dict[str, int]
) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    return {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": counts,
    }


def chat_chunk(
    id_: str,
    model: str,
    created: int,
    delta: dict[str, str],
    finish_reason: str | None,
    *,
    with_usage_field: bool = False,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` carrying ``choices[0].delta``.

    >>> chat_chunk("c", "m", 0, {"content": "hi"}, None)["choices"][0]["delta"]
    {'content': 'hi'}
    """
    chunk: dict[str, Any] = {
        "id": id_,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if with_usage_field:
        chunk["usage"] = None
    return chunk


def usage_chunk(id_: str, model: str, created: int, counts: dict[str, int], *, object_: str) -> dict[str, Any]:
    """The last streamed chunk when ``stream_options.include_usage`` is set: no choices, the usage."""
    return {
        "id": id_,
        "object": object_,
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [],
        "usage": counts,
    }


def text_completion(
    id_: str,
    model: str,
    created: int,
    text: str,
    finish_reason: str | None,
    counts: dict[str, int] | None,
    *,
    with_usage_field: bool = True,
) -> dict[str, Any]:
    """A ``text_completion`` object (whole, or one streamed piece with ``counts=None``)."""
    body: dict[str, Any] = {
        "id": id_,
        "object": "text_completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}],
    }
    if with_usage_field:
        body["usage"] = counts
    return body


@dataclass(frozen=True)
class Reply:
    """One response of either endpoint, in the shape of its API: a chat reply or a text completion.

    Knows the fields every chunk repeats (id, model, created) and builds each object the endpoint
    sends, so one event generator streams both endpoints.

    Args:
        kind: ``"chat"`` (``/v1/chat/completions``) or ``"text"`` (``/v1/completions``).
        model: the served model's name.
        echo: text put before the reply (``echo`` of a completion: the prompt).
        include_usage: a streamed reply ends with a usage chunk, and every chunk has ``usage: null``.

    >>> reply = Reply("chat", "m")
    >>> reply.opening()["choices"][0]["delta"], reply.piece("hi")["choices"][0]["delta"]
    ({'role': 'assistant', 'content': ''}, {'content': 'hi'})
    >>> Reply("text", "m", echo="to ").whole("be", "stop", usage(2, 1))["choices"][0]["text"]
    'to be'
    """

    kind: Literal["chat", "text"]
    model: str
    echo: str = ""
    include_usage: bool = False
    id: str = ""
    created: int = field(default_factory=now)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", new_id("chatcmpl" if self.kind == "chat" else "cmpl"))

    def whole(self, text: str, finish_reason: str, counts: dict[str, int]) -> dict[str, Any]:
        """The whole (not streamed) response."""
        if self.kind == "chat":
            return chat_completion(self.id, self.model, self.created, text, finish_reason, counts)
        return text_completion(self.id, self.model, self.created, self.echo + text, finish_reason, counts)

    def opening(self) -> dict[str, Any] | None:
        """The first streamed chunk: the assistant's role (chat), the echoed prompt, or none."""
        if self.kind == "chat":
            return self._chunk({"role": "assistant", "content": ""}, "", None)
        return self._chunk({}, self.echo, None) if self.echo else None

    def piece(self, text: str) -> dict[str, Any]:
        """A streamed chunk carrying one piece of the reply."""
        return self._chunk({"content": text}, text, None)

    def last(self, finish_reason: str) -> dict[str, Any]:
        """The streamed chunk that carries ``finish_reason``."""
        return self._chunk({}, "", finish_reason)

    def usage(self, counts: dict[str, int]) -> dict[str, Any]:
        """The usage chunk that ends a stream when ``include_usage`` is set."""
        object_ = "chat.completion.chunk" if self.kind == "chat" else "text_completion"
        return usage_chunk(self.id, self.model, self.created, counts, object_=object_)

    def _chunk(self, delta: dict[str, str], text: str, finish_reason: str | None) -> dict[str, Any]:
        """A streamed chunk: a chat ``delta``, or a completion's ``text``."""
        if self.kind == "chat":
            return chat_chunk(
                self.id, self.model, self.created, delta, finish_reason, with_usage_field=self.include_usage
            )
        return text_completion(
            self.id, self.model, self.created, text, finish_reason, None, with_usage_field=self.include_usage
        )


def model_card(name: str, created: int, *, task: str, chat: bool) -> dict[str, Any]:
    """One entry of ``GET /v1/models`` (OpenAI fields, plus what kind of seqlab run it is)."""
    return {
        "id": name,
        "object": "model",
        "created": created,
        "owned_by": "seqlab",
        "task": task,
        "chat_template": chat,
    }


def error_body(
    message: str, *, type_: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The OpenAI error JSON: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


__all__ = [
    "DEFAULT_CHAT_TOKENS",
    "SEED_RANGE",
    "Reply",
    "ChatCompletionRequest",
    "CompletionRequest",
    "Message",
    "StreamOptions",
    "chat_completion",
    "chat_chunk",
    "usage_chunk",
    "text_completion",
    "model_card",
    "usage",
    "error_body",
    "new_id",
    "now",
]
