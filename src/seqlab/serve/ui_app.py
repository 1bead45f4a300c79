"""The Streamlit chat page behind ``seqlab ui``; it talks to any OpenAI-compatible endpoint.

Run it with ``seqlab ui [--base-url URL] [--api-key KEY]`` (or ``streamlit run`` on this file).
The sidebar picks the model from the endpoint's ``/v1/models`` and sets temperature, top-p, the
reply length and a repetition penalty (``frequency_penalty``); the page keeps the conversation,
streams each reply with ``st.write_stream``, and has a clear button and a stop button (pressing
it reruns the page, which ends the stream; the part already received is kept).

Settings come from the environment, then from a ``.env`` file in the working folder:
``SEQLAB_BASE_URL`` (or ``OPENAI_BASE_URL``; default ``http://127.0.0.1:8000/v1``) and
``SEQLAB_API_KEY`` (or ``OPENAI_API_KEY``). A key from there stays in the page's Python process,
which makes the requests: it is never put into a widget, so it never reaches the browser. The
sidebar's key field starts empty and, when filled in, is used instead.

Importing this module draws nothing; Streamlit runs it as ``__main__``.

>>> settings({"OPENAI_BASE_URL": "http://localhost:9/v1"}, dotenv={}).base_url
'http://localhost:9/v1'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
STOPPED = " …(stopped)"


@dataclass(frozen=True)
class Settings:
    """Where the page sends requests.

    Args:
        base_url: the OpenAI-compatible API, ending in ``/v1``.
        api_key: the bearer key, or an empty string when none is needed.
    """

    base_url: str
    api_key: str


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a .env file (comments, blank lines and ``export`` allowed; quotes removed).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / ".env"
    >>> _ = p.write_text('# key\\nexport OPENAI_API_KEY="sk-1"\\nSEQLAB_BASE_URL=http://h/v1\\n')
    >>> read_dotenv(p)
    {'OPENAI_API_KEY': 'sk-1', 'SEQLAB_BASE_URL': 'http://h/v1'}
    """
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def settings(environ: Mapping[str, str] = os.environ, *, dotenv: Mapping[str, str] | None = None) -> Settings:
    """The page's settings: the environment first, then ``.env``, then the defaults.

    Args:
        environ: the environment.
        dotenv: the .env values (read from ``./.env`` when ``None``).

    >>> settings({}, dotenv={"OPENAI_API_KEY": "sk-2"})
    Settings(base_url='http://127.0.0.1:8000/v1', api_key='sk-2')
    """
    file_values = read_dotenv(Path(".env")) if dotenv is None else dotenv

    def first(*names: str) -> str:
        for source in (environ, file_values):
            for name in names:
                if source.get(name):
                    return source[name]
        return ""

    return Settings(
        first("SEQLAB_BASE_URL", "OPENAI_BASE_URL") or DEFAULT_BASE_URL, first("SEQLAB_API_KEY", "OPENAI_API_KEY")
    )


def make_client(base_url: str, api_key: str) -> Any:
    """An ``openai.OpenAI`` client for the endpoint (no retries: a failure shows at once)."""
    from seqlab.errors import needs_extra

    with needs_extra("ui"):
        import openai
    # the client insists on a key; seqlab's server without --api-key accepts any
    return openai.OpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0, timeout=120.0)


def stream_reply(
    client: Any,
    *,
    model: str,
    messages: list[dict[str, str]],
    temperature: float,
    top_p: float,
    max_tokens: int,
    received: list[str],
    frequency_penalty: float = 0.0,
) -> Iterator[str]:
    """Yield the reply's text pieces, appending each to ``received`` (kept if the stream is stopped).

    Args:
        client: an OpenAI client.
        model: the model id.
        messages: the conversation, oldest first.
        temperature, top_p, max_tokens: sampling settings.
        received: collects the pieces as they arrive.
        frequency_penalty: OpenAI's repetition penalty (0 = off); small models loop without it.
    """
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        frequency_penalty=frequency_penalty,
        stream=True,
    )
    try:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                piece = chunk.choices[0].delta.content
                received.append(piece)
                yield piece
    finally:
        stream.close()  # closing the connection tells the server to stop generating


def render_page() -> None:
    """Draw the page once (Streamlit calls the script again on every interaction)."""
    import streamlit as st

    st.set_page_config(page_title="seqlab chat", page_icon="💬")
    state = st.session_state
    defaults = settings()
    state.setdefault("messages", [])
    state.setdefault("receiving", None)

    with st.sidebar:
        st.header("Settings")
        base_url = st.text_input("API base URL", value=defaults.base_url, key="base_url")
        typed_key = st.text_input(
            "API key",
            value="",  # the environment's key is used below, never sent to the browser
            type="password",
            key="api_key",
            placeholder="the key from the environment" if defaults.api_key else "none",
            help="Leave empty to use SEQLAB_API_KEY or OPENAI_API_KEY from the environment or .env",
        )
        api_key = typed_key or defaults.api_key
        client = make_client(base_url, api_key)
        models = _models(st, client, base_url, api_key)
        model = st.selectbox("Model", models, key="model", placeholder="no models") if models else None
        temperature = st.slider("Temperature", 0.0, 2.0, 0.8, 0.05, key="temperature")
        top_p = st.slider("Top-p", 0.05, 1.0, 1.0, 0.05, key="top_p")
        max_tokens = st.slider("Max tokens", 8, 1024, 200, 8, key="max_tokens")
        penalty = st.slider(
            "Repetition penalty",
            0.0,
            2.0,
            0.0,
            0.1,
            key="frequency_penalty",
            help="OpenAI's frequency_penalty: lowers the odds of tokens the reply already used",
        )
        if st.button("Clear conversation", key="clear"):
            state.messages = []
            state.receiving = None

    st.title("seqlab chat")
    if state.receiving is not None:
        # the stop button (or any widget) interrupted a streaming reply: keep what had arrived
        state.messages.append({"role": "assistant", "content": "".join(state.receiving).strip() + STOPPED})
        state.receiving = None
    for message in state.messages:
        with st.chat_message(message["role"]):
            st.markdown(message["content"])

    prompt = st.chat_input("Say something (한국어도 됩니다)", key="prompt", disabled=model is None)
    if not prompt or model is None:
        return
    state.messages.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        stop_slot = st.empty()
        stop_slot.button("Stop", key="stop", help="Stop this reply")
        state.receiving = []
        history = [{"role": m["role"], "content": m["content"].removesuffix(STOPPED)} for m in state.messages]
        try:
            reply = st.write_stream(
                stream_reply(
                    client,
                    model=model,
                    messages=history,
                    temperature=temperature,
                    top_p=top_p,
                    max_tokens=max_tokens,
                    received=state.receiving,
                    frequency_penalty=penalty,
                )
            )
        except Exception as err:  # the endpoint refused or went away: say so on the page
            state.receiving = None
            stop_slot.empty()
            st.error(f"the server answered with an error: {err}")
            return
        stop_slot.empty()
        state.receiving = None
        text = reply if isinstance(reply, str) else "".join(str(part) for part in reply)
        state.messages.append({"role": "assistant", "content": text.strip()})


def _models(st: Any, client: Any, base_url: str, api_key: str) -> list[str]:
    """Model ids from ``/v1/models``, remembered per (base URL, key) for the session (the key hashed:
    session state is no place for it)."""
    cache = st.session_state.setdefault("model_lists", {})
    key = (base_url, hashlib.sha256(api_key.encode()).hexdigest()[:16])
    if key not in cache or st.sidebar.button("Reload models", key="reload"):
        try:
            cache[key] = sorted(m.id for m in client.models.list())
        except Exception as err:
            st.sidebar.error(f"cannot list models at {base_url}: {err}")
            return []
    return cache[key]


if __name__ == "__main__":
    render_page()
