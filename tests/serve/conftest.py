"""Fixtures for the server tests: a tiny chat run trained for real, and `seqlab serve` running on it.

Each server is a real process on a free 127.0.0.1 port, started here and stopped by its process id:
``server`` as a user would start it, ``small_server`` with a short context and a small body limit,
so every request a fuzzer makes is answered quickly and the limits are easy to reach.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from rich.console import Console

import seqlab

API_KEY = "test-key-123"
CONTEXT = 2048
SMALL_CONTEXT = 512
SMALL_BODY = 8192
PAIRS = [
    ("hello", "hi there"),
    ("how are you?", "i am fine, thank you"),
    ("what is your name?", "my name is bot"),
    ("안녕하세요", "안녕하세요 반가워요"),
    ("잘 지내요?", "네 잘 지내요"),
    ("good night", "sleep well"),
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process that imports this checkout of seqlab."""
    env = dict(os.environ)
    src = str(Path(seqlab.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, *, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; fail with the process output if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    """Stop a process we started, by its id: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def chat_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A character-level chat LM trained for a few seconds on English and Korean turn pairs."""
    from seqlab.config import load_config
    from seqlab.run import train

    folder = tmp_path_factory.mktemp("chat")
    data = folder / "pairs.jsonl"
    rows = [json.dumps({"source": s, "target": t}, ensure_ascii=False) for s, t in PAIRS] * 30
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = load_config(
        "shakespeare-char",
        overrides=[
            f'data.dataset="{data}"',
            "data.block_size=32",
            "model.embed_dim=16",
            "model.hidden_size=48",
            "model.num_layers=1",
            "model.dropout=0.0",
            "train.batch_size=16",
            "train.max_steps=60",
            "train.max_time=0",
            "train.warmup_steps=0",
            "train.eval_every=60",
            "train.checkpoint_every=60",
            "train.eval_batches=2",
            "sample.max_tokens=20",
            'sample.prompt="User: hello\\nBot: "',
            "name=chat-test",
        ],
    )
    run_dir = folder / "chat-test"
    train(config, run_dir=run_dir, console=Console(file=StringIO()))
    return run_dir


@dataclass
class Server:
    """A running `seqlab serve`: where it listens and the key it wants."""

    base_url: str
    api_key: str
    proc: subprocess.Popen
    log: Path
    context: int = CONTEXT
    max_request_bytes: int = 2**20

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")


@contextmanager
def serving(
    runs: list[str], log: Path, *, context: int, max_request_bytes: int = 2**20, extra: tuple[str, ...] = ()
) -> Iterator[Server]:
    """`seqlab serve RUNS [EXTRA]` on a free port with an API key, stopped when the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "seqlab", "serve", *runs, "--port", str(port), "--max-context", str(context)]
    command += ["--max-request-bytes", str(max_request_bytes), *extra]
    with open(log, "w") as out:  # a file, not a pipe: nobody reads a pipe and a full one blocks the server
        proc = subprocess.Popen(command, env=child_env(SEQLAB_API_KEY=API_KEY), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", proc, log)
        yield Server(f"http://127.0.0.1:{port}/v1", API_KEY, proc, log, context, max_request_bytes)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def server(chat_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`seqlab serve chat=RUN plain=RUN` on a free port, with an API key (stopped after the session)."""
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with serving([f"chat={chat_run_dir}", f"plain={chat_run_dir}"], log, context=CONTEXT) as running:
        yield running


@pytest.fixture(scope="session")
def small_server(chat_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`seqlab serve chat=RUN` with a 512-token context and an 8 KiB body limit."""
    log = tmp_path_factory.mktemp("small-server") / "serve.log"
    with serving([f"chat={chat_run_dir}"], log, context=SMALL_CONTEXT, max_request_bytes=SMALL_BODY) as running:
        yield running


@pytest.fixture(scope="session")
def proc_tools() -> SimpleNamespace:
    """The process helpers above, for tests that start their own process (conftest is not importable by name)."""
    return SimpleNamespace(
        free_port=free_port, child_env=child_env, wait_until_up=wait_until_up, stop=stop, serving=serving
    )
