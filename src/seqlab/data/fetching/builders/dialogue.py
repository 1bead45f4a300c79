"""Dialogue pairs from plays: each short speech and the speech that answers it.

A builder like those in :mod:`seqlab.data.fetching.builders.text` (pure: ``dict[member path, bytes] -> bytes``,
members in sorted order, UTF-8 JSON lines out), kept in its own file because the chat models are
its only user.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

from seqlab.data.fetching.archives import Members, member_text
from seqlab.data.fetching.builders.text import render_play

MAX_TURN_CHARS = 240
_SPEAKER_LINE = re.compile(r"^[A-Z][A-Z0-9 .,'&-]*:$")
_STAGE = re.compile(r"\[[^\]]*\]")


def play_turns(play_text: str) -> list[list[str]]:
    """The speeches of a rendered play (:func:`~seqlab.data.fetching.builders.text.render_play`), in runs.

    A run is a stretch of consecutive speeches; anything else (a heading, a stage direction)
    ends it, so no pair crosses a scene. Stage directions in brackets are dropped from speeches.

    >>> play_turns("ACT I\\n\\nA:\\nHi there.\\n\\nB:\\n[Aside] Hello.\\n\\nScene 2\\n\\nA:\\nBye.\\n")
    [['Hi there.', 'Hello.'], ['Bye.']]
    """
    runs: list[list[str]] = [[]]
    for paragraph in play_text.split("\n\n"):
        lines = [line for line in paragraph.strip().split("\n") if line]
        if len(lines) >= 2 and _SPEAKER_LINE.match(lines[0]):
            speech = " ".join(_STAGE.sub(" ", " ".join(lines[1:])).split())
            if speech:
                runs[-1].append(speech)
                continue
        if runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def build_play_dialogue(members: Members) -> bytes:
    """JSON lines ``{"source", "target", "language", "topic"}``: each speech and the next one.

    Only pairs where both speeches are at most ``MAX_TURN_CHARS`` characters are kept (short
    exchanges are what a chat model learns from). ``topic`` is the play's file stem.

    >>> md = b"**A**  \\nWho's there?\\n\\n**B**  \\nNay, answer me.\\n"
    >>> print(build_play_dialogue({"plays/tragedies/hamlet.md": md}).decode(), end="")
    {"source": "Who's there?", "target": "Nay, answer me.", "language": "en", "topic": "hamlet"}
    """
    lines: list[str] = []
    for path in sorted(members):
        topic = PurePosixPath(path).stem
        for run in play_turns(render_play(member_text(members[path], path))):
            for source, target in zip(run, run[1:]):
                if len(source) <= MAX_TURN_CHARS and len(target) <= MAX_TURN_CHARS:
                    record = {"source": source, "target": target, "language": "en", "topic": topic}
                    lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


__all__ = ["build_play_dialogue", "play_turns", "MAX_TURN_CHARS"]
