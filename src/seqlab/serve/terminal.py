"""The terminal chat behind ``seqlab chat RUN``: streaming replies, history, a few slash commands.

The loop reads a line, sends the whole conversation through the model's adapter (the same one
the server uses, so the chat template is the same), and prints the reply as it streams. Ctrl-C
while a reply streams stops that reply and keeps what was said; Ctrl-C at the prompt clears the
line; Ctrl-D or ``/quit`` leaves.

Input and output are injected (``read``, ``console``), so the loop is tested without a terminal.

>>> from io import StringIO
>>> from rich.console import Console
>>> from seqlab.generation import Generation
>>> class Parrot:
...     name, task, has_chat_template = "parrot", "language-model", True
...     def chat(self, messages, params):
...         return Generation(iter(["you said ", messages[-1]["content"]]), prompt_tokens=1)
>>> lines = iter(["hello", "/quit"])
>>> out = StringIO()
>>> history = chat_loop(Parrot(), read=lambda prompt: next(lines), console=Console(file=out, width=80))
>>> history[-1]
{'role': 'assistant', 'content': 'you said hello'}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from rich.console import Console
from rich.markup import escape

from seqlab.decode import SamplingError, SamplingParams
from seqlab.serve.engine import Adapter, PromptError

HELP = """commands:
  /reset              forget the conversation
  /temperature 0.8    sampling temperature (0 = greedy)
  /top-k 40           sample among the k most likely tokens (0 = all)
  /top-p 0.9          nucleus sampling mass (1 = off)
  /max-tokens 200     longest reply
  /system TEXT        set a system message (empty to remove)
  /help               this list
  /quit               leave (or Ctrl-D)
Ctrl-C stops a reply that is streaming."""


def chat_loop(
    model: Adapter,
    *,
    read: Callable[[str], str],
    console: Console,
    params: SamplingParams | None = None,
    system: str = "",
) -> list[dict[str, str]]:
    """Chat with ``model`` until the user leaves; returns the conversation.

    Args:
        model: an adapter (:mod:`seqlab.serve.engine`) with ``chat(messages, params)``.
        read: shows a prompt and returns a line; raises EOFError to leave, KeyboardInterrupt
            to clear the line (``input`` does both).
        console: where replies and messages go.
        params: the starting sampling settings, changed with slash commands (default: 200 tokens
            at temperature 0.8).
        system: a starting system message.
    """
    params = params or SamplingParams(max_tokens=200, temperature=0.8)
    history: list[dict[str, str]] = []
    console.print(f"[bold]chatting with {escape(model.name)}[/] (/help for commands, Ctrl-D to leave)")
    if not getattr(model, "has_chat_template", True):
        console.print(
            "[dim]this run was trained on plain text, not dialogue: its replies continue the conversation "
            "as text in its style[/]"
        )
    while True:
        try:
            line = read("you> ")
        except EOFError:
            console.print()
            return history
        except KeyboardInterrupt:
            console.print()
            continue
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            command, _, arg = line.partition(" ")
            if command in ("/quit", "/exit"):
                return history
            outcome = _command(command, arg.strip(), params, system, history)
            if isinstance(outcome, str):
                console.print(f"[yellow]{escape(outcome)}[/]")
                continue
            params, system, message = outcome
            console.print(f"[dim]{escape(message)}[/]")
            continue
        history.append({"role": "user", "content": line})
        reply = _reply(model, history, system, params, console)
        history.append({"role": "assistant", "content": reply})


# slash command -> the SamplingParams field it sets, and the type of its value
SETTINGS: dict[str, tuple[str, type[int] | type[float]]] = {
    "/temperature": ("temperature", float),
    "/top-k": ("top_k", int),
    "/top-p": ("top_p", float),
    "/max-tokens": ("max_tokens", int),
}


def _command(
    command: str, arg: str, params: SamplingParams, system: str, history: list[dict[str, str]]
) -> tuple[SamplingParams, str, str] | str:
    """Apply a slash command: the new (params, system, message), or an error message."""
    if command == "/reset":
        history.clear()
        return params, system, "conversation cleared"
    if command == "/help":
        return params, system, HELP
    if command == "/system":
        return params, arg, f"system message: {arg!r}" if arg else "system message removed"
    if command not in SETTINGS:
        return f"unknown command {command}; /help lists the commands"
    field, kind = SETTINGS[command]
    try:
        value = kind(arg)
    except ValueError:
        return f"{command} needs a number, e.g. {command} {'200' if kind is int else '0.8'}"
    try:
        changed = SamplingParams(**{**asdict(params), field: value})
    except SamplingError as err:  # SamplingParams checks the value, as it does for the CLI and the server
        return str(err)
    return changed, system, f"{command[1:]} {value:g}"


def _reply(model: Adapter, history: list[dict[str, str]], system: str, params: SamplingParams, console: Console) -> str:
    """Stream one reply; the oldest turns are dropped when the conversation no longer fits."""
    start = 0
    while True:
        messages = ([{"role": "system", "content": system}] if system else []) + history[start:]
        try:
            generation = model.chat(messages, params)
            break
        except PromptError as err:
            if start >= len(history) - 1:
                console.print(f"[red]{escape(str(err))}[/]")
                return ""
            start += 2  # forget the oldest exchange (a user turn and its reply)
    console.print(f"[bold cyan]{escape(model.name)}>[/] ", end="")
    pieces: list[str] = []
    try:
        for piece in generation:
            pieces.append(piece)
            console.print(piece, end="", markup=False, highlight=False, soft_wrap=True)
    except KeyboardInterrupt:
        generation.close()
        console.print(" [dim](stopped)[/]", end="")
    console.print()
    return "".join(pieces).strip()


__all__ = ["chat_loop", "HELP"]
