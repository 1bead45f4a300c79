"""``seqlab serve RUN [RUN ...]``, ``seqlab chat RUN`` and ``seqlab ui``: talk to trained runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from seqlab.cli import app, device_option
from seqlab.errors import ConfigError, unknown_choice

if TYPE_CHECKING:
    from seqlab.serve.engine import Adapter

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _console() -> Console:
    return Console(highlight=False)


def parse_run_arg(text: str) -> tuple[str, Path]:
    """``NAME=RUN_DIR`` or ``RUN_DIR`` (named after its folder) -> (model name, folder).

    >>> parse_run_arg("bot=runs/chat-lm-1")
    ('bot', PosixPath('runs/chat-lm-1'))
    >>> parse_run_arg("runs/chat-lm-1/")
    ('chat-lm-1', PosixPath('runs/chat-lm-1'))
    """
    name, sep, path = text.partition("=")
    if sep and name and not Path(text).exists():
        return name, Path(path)
    folder = Path(text)
    return folder.resolve().name if folder.name in ("", ".", "..") else folder.name, folder


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without an API key.

    >>> check_bind("127.0.0.1", None)
    >>> check_bind("0.0.0.0", None)
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: --host 0.0.0.0 makes the server reachable from other machines;
    give an API key with --api-key KEY or SEQLAB_API_KEY, or bind 127.0.0.1
    """
    if host not in LOOPBACK and not api_key:
        raise ConfigError(
            f"--host {host} makes the server reachable from other machines; give an API key with "
            "--api-key KEY or SEQLAB_API_KEY, or bind 127.0.0.1"
        )


def streamlit_command(script: str, *, host: str, port: int) -> list[str]:
    """The command that serves the chat page: Streamlit on ``host:port``, given on its command
    line, which wins over Streamlit's config files and ``STREAMLIT_SERVER_ADDRESS``.

    >>> streamlit_command("ui_app.py", host="127.0.0.1", port=8501)[4:8]
    ['--server.address', '127.0.0.1', '--server.port', '8501']
    """
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        script,
    ]


def load_adapters(runs: list[str], *, context_length: int, device: str | None = None, **options: Any) -> list[Adapter]:
    """Load each run and wrap it in the adapter for its task.

    Args:
        runs: ``NAME=RUN_DIR`` or ``RUN_DIR`` texts (:func:`parse_run_arg`).
        context_length: the most tokens a prompt plus its reply may have.
        device: where the models run (None: the CPU).
        options: ``batched``, ``max_batch``, ``max_queue`` for every adapter.
    """
    from seqlab.run import load
    from seqlab.serve.engine import adapter_for

    adapters: list[Adapter] = []
    for text in runs:
        name, folder = parse_run_arg(text)
        if any(a.name == name for a in adapters):
            raise ConfigError(f'two runs are named "{name}"; name them apart with NAME=RUN, e.g. bot2={folder}')
        run = load(folder, device=device)
        adapters.append(adapter_for(run, name=name, context_length=context_length, **options))
    return adapters


@app.command()
def serve(
    runs: list[str] = typer.Argument(
        ..., help="Language-model or seq2seq run directories to serve (NAME=RUN to choose the model id)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but loopback needs an API key."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="SEQLAB_API_KEY",
        show_envvar=True,
        help="Require `Authorization: Bearer KEY` on /v1 requests.",
    ),
    max_context: int = typer.Option(
        4096, "--max-context", min=16, help="Most tokens a prompt plus its reply may have."
    ),
    max_batch: int = typer.Option(
        32, "--max-batch", min=1, help="Requests per model decoded together as one batch; more wait in the queue."
    ),
    max_queue: int = typer.Option(
        256, "--max-queue", min=0, help="Requests per model waiting for a place in the batch; more get HTTP 429."
    ),
    engine: str = typer.Option(
        "batched",
        "--engine",
        help="batched: one decoding loop per model steps every request together; "
        "threads: each request decodes alone in a worker thread (for comparison).",
    ),
    workers: int = typer.Option(64, "--workers", min=1, help="Worker threads for --engine threads."),
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=0,
        help="torch threads per decoding step (0 = torch's default; default: 0 batched, 1 with --engine threads).",
    ),
    max_request_bytes: int = typer.Option(
        2**20, "--max-request-bytes", min=1, help="Larger request bodies are refused with 413 (default 1 MiB)."
    ),
    device: str | None = device_option(trains=False),
) -> None:
    """Serve runs over an OpenAI-compatible HTTP API (chat completions, completions, SSE streaming).

    Language-model runs continue a prompt or a chat; seq2seq runs answer (or translate) the last message.
    Ctrl-C ends open streams with their last event and stops the server.
    """
    from seqlab.errors import needs_extra

    with needs_extra("serve"):
        import fastapi  # noqa: F401  (checked here, so a missing extra is one line before any work)
        import uvicorn
    import torch

    from seqlab.serve.app import close, create_app
    from seqlab.serve.engine import Engine

    engines = ("batched", "threads")
    if engine not in engines:
        raise ConfigError(unknown_choice("--engine", engine, list(engines)))
    check_bind(host, api_key)
    threads = threads if threads is not None else (0 if engine == "batched" else 1)
    if threads:
        # many small steps from many streams: one thread each beats oversubscribing the cores
        torch.set_num_threads(threads)
    adapters = load_adapters(
        runs,
        context_length=max_context,
        device=device,
        batched=engine == "batched",
        max_batch=max_batch,
        max_queue=max_queue,
    )
    console = _console()
    shown = f"[{host}]" if ":" in host else host
    for a in adapters:
        kind = "chat" if a.has_chat_template else "plain text (chat uses the default template)"
        console.print(f"model [bold]{escape(a.name)}[/]: {a.task}, {kind}")
    console.print(
        f"OpenAI-compatible API on [bold]http://{shown}:{port}/v1[/]" + (" (API key required)" if api_key else "")
    )
    app_ = create_app(
        adapters, api_key=api_key, engine=Engine(max_workers=workers), max_request_bytes=max_request_bytes
    )

    class Server(uvicorn.Server):
        """uvicorn's server, ending the open streams as soon as it is asked to stop."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            if self.should_exit:
                # Already stopping: the streams have had their last event and the wait for their
                # connections is bounded (timeout_graceful_shutdown). uvicorn would take a second
                # Ctrl-C as "force quit", skip the app's shutdown and leave its lifespan task to be
                # cancelled with a logged CancelledError traceback; nothing is left to force.
                return
            # Marked first: a second signal can arrive while this handler is still running
            # (Python runs a handler between any two bytecodes, even inside another handler).
            super().handle_exit(sig, frame)
            # uvicorn raises the signal again once it has stopped; inside asyncio's runner that
            # second SIGINT cancels the main task, and under load the cancellation can land at an
            # await and end in a logged CancelledError traceback. The stop asked for is done here.
            self._captured_signals.clear()
            close(app_)  # every open stream gets its last event, so its connection can finish

    config = uvicorn.Config(app_, host=host, port=port, log_level="info", timeout_graceful_shutdown=2)
    Server(config).run()
    console.print("server stopped")


@app.command()
def chat(
    run: Path = typer.Argument(..., help="A language-model or seq2seq run directory."),
    temperature: float = typer.Option(0.8, "--temperature", "-t", help="0 is greedy; higher is more random."),
    top_k: int = typer.Option(0, "--top-k", help="Sample among the k most likely tokens (0 = all)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling mass, in (0, 1] (1 = off)."),
    max_tokens: int = typer.Option(200, "--max-tokens", "-n", help="Longest reply, in tokens."),
    frequency_penalty: float = typer.Option(
        0.0, "--frequency-penalty", help="-2 to 2: lowers a token's odds each time the reply repeats it."
    ),
    presence_penalty: float = typer.Option(
        0.0, "--presence-penalty", help="-2 to 2: lowers the odds of every token the reply already holds."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Make replies reproducible."),
    system: str = typer.Option("", "--system", help="A system message to start with."),
    device: str | None = device_option(trains=False),
) -> None:
    """Chat with a run in the terminal: streaming replies, /reset, /temperature 0.8, Ctrl-C stops a reply.

    Language-model runs read the whole conversation; seq2seq runs answer the last message.
    """
    from seqlab.decode import SamplingParams
    from seqlab.run import load
    from seqlab.serve.engine import adapter_for
    from seqlab.serve.terminal import chat_loop

    params = SamplingParams(
        max_tokens=max_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        frequency_penalty=frequency_penalty,
        presence_penalty=presence_penalty,
    )
    adapter = adapter_for(load(run, device=device), name=parse_run_arg(str(run))[0])
    chat_loop(adapter, read=input, console=_console(), params=params, system=system)


@app.command()
def ui(
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        envvar="SEQLAB_BASE_URL",
        show_envvar=True,
        help="The OpenAI-compatible API (default http://127.0.0.1:8000/v1).",
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", help="API key (default: SEQLAB_API_KEY or OPENAI_API_KEY, from the environment or .env)."
    ),
    port: int = typer.Option(8501, "--port", min=0, max=65535, help="Port of the web page."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address of the web page: this machine only, unless you name another."
    ),
) -> None:
    """Open a Streamlit chat page for seqlab's server or any OpenAI-compatible endpoint.

    The page listens on 127.0.0.1 unless --host names another address. An API key from the
    environment stays in the page's process, which makes the requests; it is never sent to the browser.
    """
    from seqlab.errors import needs_extra

    with needs_extra("ui"):
        import openai  # noqa: F401  (checked before Streamlit starts, so a missing extra is one line)
        import streamlit  # noqa: F401
    from seqlab.serve import ui_app

    env = dict(os.environ)
    if base_url:
        env["SEQLAB_BASE_URL"] = base_url
    if api_key:
        env["SEQLAB_API_KEY"] = api_key  # through the environment: a key on a command line shows in `ps`
    command = streamlit_command(str(ui_app.__file__), host=host, port=port)
    console = _console()
    if host not in LOOPBACK:
        console.print(
            f"[yellow]--host {escape(host)}: the page is reachable from other machines, and whoever opens it "
            "sends requests to the API with this page's key[/]"
        )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"chat page on [bold]http://{shown}:{port}[/] (Ctrl-C to stop)")
    # SIGTERM ends this process through SystemExit, so subprocess.call kills Streamlit on the way out
    # instead of leaving it serving as an orphan
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        raise typer.Exit(subprocess.call(command, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
