"""`seqlab chat` and `seqlab serve` from the command line, in-process."""

from __future__ import annotations

from io import StringIO

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
