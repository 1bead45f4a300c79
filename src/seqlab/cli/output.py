"""Tables for people and for scripts: how every command that prints a table prints it.

A command builds :class:`Rows` (column names and raw values) and calls :func:`print_rows`:

* in a terminal, a rich table;
* when standard output is a pipe or a file, plain rows: a header line, then one line per row,
  columns aligned with spaces, never wrapped or cut, no borders (``seqlab recipes | grep en-ko``
  finds whole names);
* with ``--json`` (:data:`JSON_OPTION`), a JSON list with one object per row, keyed by column,
  numbers kept as numbers.

Aligned columns rather than tabs: a pipe into ``grep``, ``less`` or a log stays readable, and a
script that parses reads ``--json``.

>>> from io import StringIO
>>> from rich.console import Console
>>> rows = Rows(["split", Column("loss", format=".3f")], [["val", 1.23456], ["test", 1.5]], title="demo")
>>> out = StringIO()
>>> print_rows(rows, console=Console(file=out))
>>> print(out.getvalue(), end="")
split  loss
val    1.235
test   1.500
>>> out = StringIO()
>>> print_rows(rows, console=Console(file=out), as_json=True)
>>> json.loads(out.getvalue())
[{'split': 'val', 'loss': 1.23456}, {'split': 'test', 'loss': 1.5}]
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

JSON_OPTION: Any = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Column:
    """A column of :class:`Rows`.

    Args:
        name: the header, and the key of the value in ``--json`` output unless ``key`` is given.
        format: a format spec for numbers in the table (``".4f"``, ``","``); JSON keeps the number.
        right: right-align it in a terminal (default: for columns with a ``format``).
        style: a rich style for its cells in a terminal, e.g. ``"dim"``.
        key: the key in ``--json`` output when the header is words for people (``"expects next"``
            -> ``"expects_next"``).
    """

    name: str
    format: str = ""
    right: bool | None = None
    style: str = ""
    key: str = ""


@dataclass(frozen=True)
class Rows:
    """A table as data: columns and one sequence of raw values per row.

    Args:
        columns: :class:`Column` or plain names.
        rows: one value per column (str, int, float, bool or None).
        title: shown above the table in a terminal only.
    """

    columns: Sequence[Column | str]
    rows: Sequence[Sequence[Cell]]
    title: str = ""

    def __post_init__(self) -> None:
        assert all(len(row) == len(self.columns) for row in self.rows), "every row has one value per column"

    @property
    def specs(self) -> tuple[Column, ...]:
        """The columns, each as a :class:`Column`."""
        return tuple(c if isinstance(c, Column) else Column(c) for c in self.columns)

    def records(self) -> list[dict[str, Cell]]:
        """One ``{column: value}`` dict per row, as ``--json`` prints them.

        >>> Rows(["name", Column("|h|", key="hidden_norm")], [["a", 1]]).records()
        [{'name': 'a', 'hidden_norm': 1}]
        """
        return [{c.key or c.name: value for c, value in zip(self.specs, row)} for row in self.rows]

    def cells(self) -> list[list[str]]:
        """The rows as the strings shown in a table (``None`` is ``-``, a bool is yes/no).

        >>> Rows([Column("n", format=","), "ok", "x"], [[12345, True, None]]).cells()
        [['12,345', 'yes', '-']]
        """
        return [[_show(value, c.format) for c, value in zip(self.specs, row)] for row in self.rows]


def _show(value: Cell, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if spec and isinstance(value, (int, float)):
        return format(value, spec)
    return " ".join(str(value).split()) if isinstance(value, str) and ("\n" in value or "\t" in value) else str(value)


def print_rows(rows: Rows, *, console: Console, as_json: bool = False, title_in_pipe: bool = False) -> None:
    """Print a table: rich in a terminal, aligned plain rows in a pipe, a JSON list with ``as_json``.

    Args:
        rows: what to print.
        console: where; plain rows when ``console.is_terminal`` is false.
        as_json: print ``rows.records()`` as JSON instead.
        title_in_pipe: in a pipe, print the title on a line of its own before the header (for a
            title that says something the rows do not, such as the time a forecast starts after).

    >>> from io import StringIO
    >>> out = StringIO()
    >>> rows = Rows(["time", "value"], [["1961", 5.0]], title="next 1 step")
    >>> print_rows(rows, console=Console(file=out), title_in_pipe=True)
    >>> out.getvalue().splitlines()
    ['next 1 step', 'time  value', '1961  5.0']
    """
    if as_json:
        print_json(rows.records(), console=console)
    elif console.is_terminal:
        console.print(_rich_table(rows))
    else:
        if title_in_pipe and rows.title:
            console.out(rows.title, highlight=False)
        for line in plain_lines(rows):
            console.out(line, highlight=False)


def print_line(text: str, *, console: Console, style: str = "") -> None:
    """Print one line of plain text (never read as markup, never wrapped in a pipe), bold or dim in a terminal.

    Args:
        text: the line; ``[`` and ``]`` are shown as they are.
        console: where.
        style: a rich style applied in a terminal only, e.g. ``"bold"``.

    >>> from io import StringIO
    >>> out = StringIO()
    >>> print_line("tokens: ['[x]']", console=Console(file=out, width=8))
    >>> print(out.getvalue(), end="")
    tokens: ['[x]']
    """
    if console.is_terminal:
        console.print(Text(text, style=style))
    else:
        console.out(text, highlight=False)


def print_json(value: Any, *, console: Console) -> None:
    """Print ``value`` as indented JSON (non-ASCII text kept as is), nothing else.

    Args:
        value: lists, dicts, strings, numbers, booleans and None; paths are written as strings,
            NaN and infinities as null (JSON has no such numbers).
        console: where.
    """
    console.out(json.dumps(_finite(value), indent=2, ensure_ascii=False, default=str), highlight=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def plain_lines(rows: Rows) -> list[str]:
    """The header and the rows as lines of space-aligned columns (wide characters counted as two).

    >>> plain_lines(Rows(["name", Column("n", format=",")], [["한국어", 1200], ["ab", 3]]))
    ['name    n', '한국어  1,200', 'ab      3']
    """
    lines = [[c.name for c in rows.specs], *rows.cells()]
    widths = [max(cell_len(line[i]) for line in lines) for i in range(len(rows.specs))]
    return ["  ".join(cell + " " * (w - cell_len(cell)) for cell, w in zip(line, widths)).rstrip() for line in lines]


def _rich_table(rows: Rows) -> Table:
    table = Table(title=rows.title or None, title_justify="left")
    for i, column in enumerate(rows.specs):
        right = column.right if column.right is not None else bool(column.format)
        # the first column names the row: kept whole; the others fold rather than hide text behind "…"
        table.add_column(
            column.name,
            justify="right" if right else "left",
            style=column.style or None,
            no_wrap=i == 0,
            overflow="fold",
        )
    for cells in rows.cells():
        table.add_row(*(Text(cell) for cell in cells))
    return table
