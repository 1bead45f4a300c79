"""Text artifacts: Shakespeare's plays as play text, Rotten Tomatoes snippets, chatterbot dialogue pairs.

The chatterbot corpus is YAML, read with PyYAML's ``safe_load``: PyYAML is a core dependency
anyway, reads all of YAML where a hand-written reader read a subset, and ``safe_load`` builds no
Python objects from tags, so a corpus file cannot run code.
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import re
from pathlib import PurePosixPath

import yaml

from seqlab.data.fetching.archives import Members, member_text
from seqlab.errors import DataError

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*$")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_ESCAPE = re.compile(r"\\(.)")


def render_play(markdown: str) -> str:
    """Render one play's Markdown into plain play text: ``SPEAKER:`` then the speech.

    Headings become their text, ``**NAME**`` becomes ``NAME:``, emphasis marks (``_`` and
    ``*``, which Shakespeare's text never uses) and Markdown escapes are dropped, Markdown's
    two-space line breaks become plain line ends, and paragraphs are separated by one blank line.

    Args:
        markdown: the ``.md`` text of one play.

    >>> print(render_play("# Hamlet\\n\\n**HAMLET**  \\nTo be, or not to be  \\n_\\\\[Aside]_ that is the question\\n"))
    Hamlet
    <BLANKLINE>
    HAMLET:
    To be, or not to be
    [Aside] that is the question
    <BLANKLINE>
    """
    paragraphs: list[list[str]] = [[]]
    for raw in markdown.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        heading = _HEADING.match(line)
        speaker = _SPEAKER.match(line)
        if heading:
            line = heading.group(1)
        elif speaker:
            line = speaker.group(1).strip() + ":"
        line = _ESCAPE.sub(r"\1", line.replace("*", "").replace("_", "")).strip()
        if line:
            paragraphs[-1].append(" ".join(line.split()))
    return "\n\n".join("\n".join(p) for p in paragraphs if p) + "\n"


def build_plays(members: Members) -> bytes:
    """All plays, in sorted member order, rendered by :func:`render_play`, one blank line apart.

    >>> build_plays({"b.md": b"**B**  \\nhi", "a.md": b"# A"}).decode()
    'A\\n\\nB:\\nhi\\n'
    """
    plays = [render_play(member_text(members[path], path)) for path in sorted(members)]
    return "\n".join(plays).encode("utf-8")


def build_rotten_tomatoes(members: Members) -> bytes:
    """JSON lines ``{"text", "label", "movie"}`` for the fresh/rotten critic snippets.

    The CSV also holds plot summaries (``category == "plot"``), which are not reviews and are
    dropped. Whitespace runs inside a snippet (wrapped lines in the source) become one space.

    >>> import bz2
    >>> csv_text = 'category,text,movie_name\\nplot,A story.,m\\nfresh,"Great\\n fun",m\\n'
    >>> build_rotten_tomatoes({"x.csv.bz2": bz2.compress(csv_text.encode())}).decode()
    '{"text": "Great fun", "label": "fresh", "movie": "m"}\\n'
    """
    lines: list[str] = []
    for path in sorted(members):
        data = members[path]
        if path.endswith(".bz2"):
            data = bz2.decompress(data)
        for row in csv.DictReader(io.StringIO(member_text(data, path), newline="")):
            label = row["category"].strip()
            text = " ".join(row["text"].split())
            if label == "plot" or not text:
                continue
            record = {"text": text, "label": label, "movie": row.get("movie_name", "")}
            lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


_LANGUAGE_CODES = {"english": "en", "korean": "ko"}


def build_dialogue_pairs(members: Members) -> bytes:
    """JSON lines ``{"source", "target", "language", "topic"}``: each turn and the turn after it.

    Members are chatterbot-corpus YAML files ``.../data/<language>/<topic>.yml``. A
    conversation of n turns gives n - 1 pairs; entries that are not a list of turns are skipped.

    >>> yml = "conversations:\\n- - Hi\\n  - Hello\\n  - How are you?\\n"
    >>> print(build_dialogue_pairs({"data/english/greetings.yml": yml.encode()}).decode(), end="")
    {"source": "Hi", "target": "Hello", "language": "en", "topic": "greetings"}
    {"source": "Hello", "target": "How are you?", "language": "en", "topic": "greetings"}
    """
    lines: list[str] = []
    for path in sorted(members):
        parts = PurePosixPath(path).parts
        language = _LANGUAGE_CODES.get(parts[-2], parts[-2]) if len(parts) >= 2 else ""
        topic = PurePosixPath(path).stem
        try:
            document = yaml.safe_load(member_text(members[path], path)) or {}
        except yaml.YAMLError as err:
            raise DataError(f"{path} is not valid YAML: {err}") from None
        for conversation in document.get("conversations") or []:
            if not isinstance(conversation, list):
                continue
            turns = [str(turn).strip() for turn in conversation if turn is not None]
            for source, target in zip(turns, turns[1:]):
                if source and target:
                    record = {"source": source, "target": target, "language": language, "topic": topic}
                    lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")
