"""`seqlab chat` and `seqlab serve` from the command line, in-process."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from seqlab.generation import Generation
from seqlab.serve.terminal import chat_loop


def test_chat_command_streams_replies_and_understands_commands(chat_run_dir, monkeypatch, cli):
    lines = iter(["hello", "/temperature 0", "/temperature hot", "안녕하세요", "/reset", "/nope"])

    def fake_input(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    result = cli("chat", str(chat_run_dir), "--max-tokens", "20", "--seed", "1")
    assert result.code == 0, result.err
    assert "chatting with chat-test" in result.out
    assert "temperature 0" in result.out and "/temperature needs a number" in result.out
    assert "conversation cleared" in result.out and "unknown command /nope" in result.out
    assert result.out.count("chat-test>") == 2


class Slow:
    """An adapter whose reply is interrupted by Ctrl-C after two pieces."""

    name, task, has_chat_template = "slow", "language-model", True

    def __init__(self) -> None:
        self.closed = False

    def chat(self, messages, params):
        adapter = self

        def pieces():
            try:
                yield "one "
                yield "two "
                raise KeyboardInterrupt
            finally:
                adapter.closed = True

        return Generation(pieces(), prompt_tokens=1)


def test_ctrl_c_stops_one_reply_without_leaving():
    out = StringIO()
    model = Slow()
    reads = iter(["hi", "still here?", "/quit"])
    history = chat_loop(model, read=lambda p: next(reads), console=Console(file=out, width=100))
    assert model.closed and "(stopped)" in out.getvalue()
    assert [m["content"] for m in history] == ["hi", "one two", "still here?", "one two"]


def test_serve_refuses_other_addresses_without_a_key(chat_run_dir, cli, monkeypatch):
    monkeypatch.delenv("SEQLAB_API_KEY", raising=False)
    result = cli("serve", str(chat_run_dir), "--host", "0.0.0.0")
    assert result.code == 1 and "give an API key" in result.err


def test_serve_names_runs_apart(chat_run_dir, cli):
    result = cli("serve", f"a={chat_run_dir}", f"a={chat_run_dir}")
    assert result.code == 1 and 'two runs are named "a"' in result.err


def test_slash_commands_change_the_one_sampling_params_and_it_checks_them():
    from seqlab.decode import SamplingParams

    seen: list[SamplingParams] = []

    class Recorder:
        name, task, has_chat_template = "rec", "language-model", True

        def chat(self, messages, params):
            seen.append(params)
            return Generation(iter(["ok"]), prompt_tokens=1)

    out = StringIO()
    reads = iter(["/top-k 40", "/top-p 0", "/max-tokens 12", "/temperature 0", "hi", "/quit"])
    chat_loop(Recorder(), read=lambda p: next(reads), console=Console(file=out, width=100), params=SamplingParams())
    assert seen == [SamplingParams(top_k=40, max_tokens=12, temperature=0.0)]
    assert "top-k 40" in out.getvalue() and "top_p must be in (0, 1] (got 0.0)" in out.getvalue()


def test_chat_refuses_bad_sampling_options_with_a_message(chat_run_dir, cli):
    result = cli("chat", str(chat_run_dir), "--top-p", "0")
    assert result.code == 1 and "top_p must be in (0, 1] (got 0.0)" in result.err
    result = cli("chat", str(chat_run_dir), "--presence-penalty", "nan")
    assert result.code == 1 and "presence_penalty must be in [-2, 2] (got nan)" in result.err


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    import ipaddress

    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                # the kernel prints each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(str(ipaddress.ip_address(raw)))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from Linux's /proc/net/tcp")
def test_ui_listens_on_loopback_only_by_default(proc_tools, tmp_path):
    port = proc_tools.free_port()
    log = tmp_path / "ui.log"
    env = proc_tools.child_env(SEQLAB_API_KEY="sk-secret-from-env", STREAMLIT_SERVER_ADDRESS="0.0.0.0")
    command = [sys.executable, "-m", "seqlab", "ui", "--port", str(port)]
    with open(log, "w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        proc_tools.wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", proc, log)
        assert listening_addresses(port) == {"127.0.0.1"}  # not 0.0.0.0, whatever Streamlit's own settings say
        page = httpx.get(f"http://127.0.0.1:{port}/").text
        assert "sk-secret-from-env" not in page
    finally:
        proc_tools.stop(proc)
    assert f"chat page on http://127.0.0.1:{port}" in log.read_text()
    assert listening_addresses(port) == set()  # stopping seqlab ui stopped Streamlit too: no orphan serving


def test_ui_says_when_the_page_is_reachable_from_other_machines(cli, monkeypatch):
    import seqlab.cli.serve as serve_cli

    started: list[list[str]] = []
    monkeypatch.setattr(serve_cli.subprocess, "call", lambda command, env: started.append(command) or 0)
    result = cli("ui", "--host", "0.0.0.0", "--port", "8600")
    assert result.code == 0 and "reachable from other machines" in result.out
    assert started[0][started[0].index("--server.address") + 1] == "0.0.0.0"
    result = cli("ui", "--port", "8600")
    assert result.code == 0 and "reachable" not in result.out
    assert started[1][started[1].index("--server.address") + 1] == "127.0.0.1"
