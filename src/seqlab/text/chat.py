"""The chat template: how a list of messages becomes model input, and how the reply is cut.

A language model only continues text, so a conversation has to be written down as text the model
has seen during training. seqlab writes every exchange as two lines and ends it with a blank line::

    User: how are you?
    Bot: I am fine, thank you.
    <blank line>

Training data for a chat model (pairs of a turn and the turn after it) is rendered with
:meth:`ChatTemplate.render_pairs`; at chat time :meth:`ChatTemplate.render` writes the history the
same way and ends with ``"Bot: "``, so the model's continuation *is* the reply. The reply ends at
the first newline (:attr:`ChatTemplate.stop`), which is where every training reply ended.

Rules, all visible in :meth:`ChatTemplate.render`:

* newlines inside a message become spaces (a turn is one line), and surrounding spaces go;
* a system message is written first as ``System: ...`` (training data has none, so a small model
  mostly ignores it);
* a user message without an answer yet starts an exchange; consecutive messages of one role are
  joined with a space.

The template is plain text on purpose: a character-level tokenizer can read it, and no special
tokens have to exist in the vocabulary.

>>> template = ChatTemplate()
>>> print(template.render([{"role": "user", "content": "hi"}]), end="|")
User: hi
Bot: |
>>> template.cut_reply(" hello there\\nUser: more")
'hello there'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from seqlab.errors import ConfigError

ROLES: tuple[str, ...] = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatTemplate:
    """How messages are written as text for a language model, and where its reply ends.

    Args:
        user: the prefix of a user turn.
        assistant: the prefix of an assistant (model) turn.
        system: the prefix of a system message.
        turn_end: what ends every turn; the reply is cut at its first occurrence.
        exchange_end: what follows every finished exchange (user turn + assistant turn).

    >>> ChatTemplate().render_pair("안녕", "안녕하세요")
    'User: 안녕\\nBot: 안녕하세요\\n\\n'
    """

    user: str = "User: "
    assistant: str = "Bot: "
    system: str = "System: "
    turn_end: str = "\n"
    exchange_end: str = "\n"

    @property
    def stop(self) -> tuple[str, ...]:
        """Strings that end a reply (give them to the sampler as ``stop``).

        >>> ChatTemplate().stop
        ('\\n',)
        """
        return (self.turn_end,)

    def render_pair(self, source: str, target: str) -> str:
        """One training exchange: a turn and the reply to it.

        Args:
            source: what the user says.
            target: what the model should answer.

        >>> ChatTemplate().render_pair("Hi\\nthere", "Hello!")
        'User: Hi there\\nBot: Hello!\\n\\n'
        """
        return (
            f"{self.user}{one_line(source)}{self.turn_end}"
            f"{self.assistant}{one_line(target)}{self.turn_end}{self.exchange_end}"
        )

    def render_pairs(self, sources: Sequence[str], targets: Sequence[str]) -> str:
        """A training corpus: every (turn, reply) pair as one exchange, in order.

        Args:
            sources: the turns.
            targets: the replies, ``targets[i]`` answering ``sources[i]``.

        >>> print(ChatTemplate().render_pairs(["a", "b"], ["c", "d"]), end="")
        User: a
        Bot: c
        <BLANKLINE>
        User: b
        Bot: d
        <BLANKLINE>
        """
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} sources but {len(targets)} targets; pairs need one of each")
        return "".join(self.render_pair(s, t) for s, t in zip(sources, targets))

    def render(self, messages: Sequence[Mapping[str, str]], *, add_reply_prefix: bool = True) -> str:
        """Write a conversation as model input.

        Args:
            messages: ``{"role": "system" | "user" | "assistant", "content": str}`` in order.
            add_reply_prefix: end with the assistant prefix so the continuation is the reply.

        >>> msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        ...         {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Who are you?"}]
        >>> print(ChatTemplate().render(msgs), end="|")
        System: Be brief.
        <BLANKLINE>
        User: Hi
        Bot: Hello.
        <BLANKLINE>
        User: Who are you?
        Bot: |
        """
        parts: list[str] = []
        pending_user: list[str] = []
        pending_reply: list[str] = []

        def close_exchange() -> None:
            if pending_user or pending_reply:
                parts.append(f"{self.user}{' '.join(pending_user)}{self.turn_end}")
                parts.append(f"{self.assistant}{' '.join(pending_reply)}{self.turn_end}{self.exchange_end}")
            pending_user.clear()
            pending_reply.clear()

        for index, message in enumerate(messages):
            role, content = message.get("role"), one_line(str(message.get("content") or ""))
            if role not in ROLES:
                raise ConfigError(f"messages[{index}].role must be one of {', '.join(ROLES)} (got {role!r})")
            if role == "system":
                close_exchange()
                parts.append(f"{self.system}{content}{self.turn_end}{self.exchange_end}")
            elif role == "user":
                if pending_reply:
                    close_exchange()
                pending_user.append(content)
            else:
                pending_reply.append(content)
        if pending_reply:
            close_exchange()
        if pending_user:
            parts.append(f"{self.user}{' '.join(pending_user)}{self.turn_end}")
        if add_reply_prefix:
            parts.append(self.assistant)
        return "".join(parts)

    def cut_reply(self, text: str) -> str:
        """The reply in a continuation: everything before the first turn end, trimmed.

        >>> ChatTemplate().cut_reply("Fine.\\n\\nUser: and you?")
        'Fine.'
        """
        return text.split(self.turn_end, 1)[0].strip()

    def to_json(self) -> str:
        """The template as JSON (a run's meta.json keeps it under ``"chat_template"``).

        >>> ChatTemplate.from_dict(json.loads(ChatTemplate(assistant="A: ").to_json())).assistant
        'A: '
        """
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> ChatTemplate:
        """Read a template back from :meth:`to_json`'s fields; unknown fields are an error.

        >>> ChatTemplate.from_dict({"user": "Q: "}).user
        'Q: '
        """
        fields = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ConfigError(
                f"unknown chat template field(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}"
            )
        return cls(**{k: str(v) for k, v in data.items()})


def one_line(text: str) -> str:
    """A message as one line: newlines and tabs become spaces, runs of spaces collapse, ends trimmed.

    >>> one_line("  two\\nlines\\t here ")
    'two lines here'
    """
    return " ".join(text.split())


DEFAULT_TEMPLATE = ChatTemplate()

__all__ = ["ChatTemplate", "DEFAULT_TEMPLATE", "ROLES", "one_line"]
