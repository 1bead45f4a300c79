"""A small reader for the block-style YAML subset that dialogue corpora are written in.

It exists so that ``chatterbot`` builds without PyYAML. It reads block mappings with plain keys,
block sequences (``- - a`` compact nesting included), plain scalars folded over lines, single
and double quoted scalars, and literal ``|`` block scalars; every scalar comes back as ``str``.
Anything else (flow collections, anchors, tags, folded ``>`` scalars) raises
:class:`seqlab.errors.DataError`. :func:`load_yaml` uses PyYAML when it is installed; the tests
check that both give the same result on the real corpus files.

>>> parse("conversations:\\n- - Hello\\n  - Hi, how are you?\\n- - '1963'\\n  - |\\n    a\\n     b\\n")
{'conversations': [['Hello', 'Hi, how are you?'], ['1963', 'a\\n b\\n']]}
"""

from __future__ import annotations

import re
from typing import Any

from seqlab.errors import DataError

_KEY = re.compile(r"^([^\s'\"#\-\[\]{}][^:#]*?):(?:\s+|$)(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", '"': '"', "\\": "\\", "/": "/", " ": " ", "e": "\x1b"}


def load_yaml(text: str, *, where: str = "YAML") -> Any:
    """Parse YAML text with PyYAML's ``safe_load`` if installed, else with :func:`parse`.

    Args:
        text: the document.
        where: names the document in error messages.

    >>> load_yaml("- a\\n- b\\n")
    ['a', 'b']
    """
    try:
        import yaml
    except ImportError:
        return parse(text, where=where)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise DataError(f"{where} is not valid YAML: {err}") from None


def parse(text: str, *, where: str = "YAML") -> Any:
    """Parse the block-YAML subset described in the module docstring.

    Args:
        text: the document.
        where: names the document in error messages.

    >>> parse("a: 1\\nb:\\n- x\\n- y z\\n  w\\n")
    {'a': '1', 'b': ['x', 'y z w']}
    """
    return _Parser(text, where).document()


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        text = text.lstrip("\ufeff").replace("\r\n", "\n")
        # (indent, content) per line; content of blank and comment-only lines is ""
        self.lines: list[tuple[int, str]] = []
        for raw in text.split("\n"):
            stripped = raw.lstrip(" ")
            if stripped.startswith("#") or not stripped.strip(" \t"):
                self.lines.append((len(raw) - len(stripped), ""))
            else:
                self.lines.append((len(raw) - len(stripped), stripped.rstrip(" \t")))
        self.raw = text.split("\n")
        self.where = where

    def fail(self, i: int, what: str) -> DataError:
        return DataError(
            f"{self.where} line {i + 1}: {what} (the small YAML reader; pip install pyyaml reads all YAML)"
        )

    def next_content(self, i: int) -> int:
        while i < len(self.lines) and not self.lines[i][1]:
            i += 1
        return i

    def document(self) -> Any:
        i = self.next_content(0)
        if i == len(self.lines):
            return None
        value, i = self.node(i, self.lines[i][0], parent=-1)
        i = self.next_content(i)
        if i < len(self.lines):
            raise self.fail(i, "unexpected content after the document")
        return value

    def node(self, i: int, indent: int, *, parent: int) -> tuple[Any, int]:
        content = self.lines[i][1]
        if content == "-" or content.startswith("- "):
            return self.sequence(i, indent)
        if _KEY.match(content) and not content.startswith(("'", '"')):
            return self.mapping(i, indent)
        return self.scalar(i, parent=parent)

    def sequence(self, i: int, indent: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        while i < len(self.lines):
            col, content = self.lines[i]
            if col != indent or not (content == "-" or content.startswith("- ")):
                break
            rest = content[1:].lstrip(" ")
            if not rest:
                j = self.next_content(i + 1)
                if j < len(self.lines) and self.lines[j][0] > indent:
                    value, i = self.node(j, self.lines[j][0], parent=indent)
                else:
                    value, i = None, i + 1
            else:
                self.lines[i] = (indent + len(content) - len(rest), rest)
                value, i = self.node(i, self.lines[i][0], parent=indent)
            items.append(value)
            i = self.next_content(i)
        return items, i

    def mapping(self, i: int, indent: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        while i < len(self.lines):
            col, content = self.lines[i]
            match = _KEY.match(content)
            if col != indent or not match:
                break
            key, rest = match.group(1).strip(), match.group(2)
            if not rest or rest.startswith("#"):
                j = self.next_content(i + 1)
                # a sequence may sit at the key's own indentation
                if j < len(self.lines) and (
                    self.lines[j][0] > indent or (self.lines[j][0] == indent and self.lines[j][1].startswith("-"))
                ):
                    value, i = self.node(j, self.lines[j][0], parent=indent)
                else:
                    value, i = None, i + 1
            else:
                self.lines[i] = (col + len(content) - len(rest), rest)
                value, i = self.scalar(i, parent=indent)
            result[key] = value
            i = self.next_content(i)
        return result, i

    def scalar(self, i: int, *, parent: int) -> tuple[str, int]:
        content = self.lines[i][1]
        if content[0] in "|>":
            return self.block_scalar(i, parent=parent)
        if content[0] in "'\"":
            return self.quoted(i, parent=parent)
        if content[0] in "[{&*!%@`":
            raise self.fail(i, f"unsupported YAML syntax {content[0]!r}")
        return self.plain(i, parent=parent)

    def plain(self, i: int, *, parent: int) -> tuple[str, int]:
        pieces: list[str] = []
        blank_run = 0
        first = True
        while i < len(self.lines):
            col, content = self.lines[i]
            if not first:
                if not content:
                    if self.raw[i].lstrip(" ").startswith("#"):
                        break
                    blank_run += 1
                    i += 1
                    continue
                if col <= parent:
                    break
            text, comment = _cut_comment(content)
            if pieces:
                pieces.append("\n" * blank_run if blank_run else " ")
            pieces.append(text)
            blank_run = 0
            first = False
            i += 1
            if comment:
                break
        # trailing blank lines belong to whatever follows, not to the scalar
        while i > 0 and not self.lines[i - 1][1]:
            i -= 1
        return "".join(pieces), i

    def quoted(self, i: int, *, parent: int) -> tuple[str, int]:
        quote = self.lines[i][1][0]
        text = self.lines[i][1][1:]
        lines: list[str] = []
        while True:
            end = _closing_quote(text, quote)
            if end >= 0:
                lines.append(text[:end])
                break
            lines.append(text)
            i += 1
            if i >= len(self.lines):
                raise self.fail(i - 1, f"unterminated {quote}-quoted string")
            text = self.raw[i].strip(" ")
        folded = lines[0].rstrip(" ") if len(lines) > 1 else lines[0]
        blank_run = 0
        for k, line in enumerate(lines[1:], start=1):
            if not line.strip() and k < len(lines) - 1:
                blank_run += 1
                continue
            if quote == '"' and folded.endswith("\\") and not folded.endswith("\\\\"):
                folded = folded[:-1]
            else:
                folded += "\n" * blank_run if blank_run else " "
            folded += line.strip(" ") if k < len(lines) - 1 else line.lstrip(" ")
            blank_run = 0
        value = folded.replace("''", "'") if quote == "'" else _unescape(folded)
        return value, i + 1

    def block_scalar(self, i: int, *, parent: int) -> tuple[str, int]:
        header = _cut_comment(self.lines[i][1])[0]
        if header[0] == ">":
            raise self.fail(i, "folded '>' scalars are not supported")
        chomp = "+" if "+" in header else "-" if "-" in header else ""
        digits = [c for c in header if c.isdigit()]
        j = i + 1
        block: list[str] = []
        content_indent = parent + int(digits[0]) + (1 if parent < 0 else 0) if digits else -1
        while j < len(self.raw):
            raw = self.raw[j]
            if raw.strip(" "):
                col = len(raw) - len(raw.lstrip(" "))
                if content_indent < 0:
                    if col <= parent:
                        break
                    content_indent = col
                if col < content_indent:
                    break
                block.append(raw[content_indent:])
            else:
                block.append(raw[content_indent:] if content_indent >= 0 else "")
            j += 1
        body_end = len(block)
        while body_end > 0 and not block[body_end - 1].strip(" "):
            body_end -= 1
        body = "\n".join(block[:body_end])
        trailing = len(block) - body_end
        # the last line of the file has no newline of its own when the text ends with one
        if j == len(self.raw) and trailing and self.raw[-1] == "":
            trailing -= 1
        if chomp == "-" or not body:
            value = body
        elif chomp == "+":
            value = body + "\n" + "\n" * trailing
        else:
            value = body + "\n"
        end = j
        while end > i + 1 and not self.lines[end - 1][1]:
            end -= 1
        return value, max(end, i + 1) if chomp != "+" else j


def _cut_comment(text: str) -> tuple[str, bool]:
    at = text.find(" #")
    return (text[:at].rstrip(" "), True) if at >= 0 else (text, False)


def _closing_quote(text: str, quote: str) -> int:
    k = 0
    while k < len(text):
        ch = text[k]
        if quote == "'" and ch == "'":
            if text[k + 1 : k + 2] == "'":
                k += 2
                continue
            return k
        if quote == '"':
            if ch == "\\":
                k += 2
                continue
            if ch == '"':
                return k
        k += 1
    return -1


def _unescape(text: str) -> str:
    out: list[str] = []
    k = 0
    while k < len(text):
        ch = text[k]
        if ch != "\\":
            out.append(ch)
            k += 1
            continue
        code = text[k + 1 : k + 2]
        if code in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[code]
            out.append(chr(int(text[k + 2 : k + 2 + width], 16)))
            k += 2 + width
        else:
            out.append(_ESCAPES.get(code, "\\" + code))
            k += 2
    return "".join(out)
