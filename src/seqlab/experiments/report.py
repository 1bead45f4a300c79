"""Report folders: ``report.md`` and a self-contained ``report.html`` from one list of blocks.

A study (comparison, sweep, LR range test) keeps what it measured in ``study.json``; its
``render`` function turns that into blocks (headings, paragraphs, tables, images, code), and
:func:`write_report` writes both files: Markdown that links the PNGs next to it, and HTML with
the same PNGs embedded as base64, so the one file can be mailed or uploaded. ``seqlab report DIR``
re-renders a folder from its ``study.json`` (:func:`seqlab.experiments.render_folder`).

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> paths = write_report(folder, [Heading("Demo"), Para("best: **gru**"), Table(["a", "b"], [["1", "2"]])])
>>> [p.name for p in paths]
['report.md', 'report.html']
>>> print((folder / "report.md").read_text())
# Demo
<BLANKLINE>
best: **gru**
<BLANKLINE>
| a | b |
|---|---|
| 1 | 2 |
<BLANKLINE>
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.errors import ConfigError

STUDY_FILE = "study.json"


@dataclass(frozen=True)
class Heading:
    """A section title (level 1 is the report's title)."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Para:
    """A paragraph; ``**bold**``, `` `code` `` and ``[text](link)`` work in both formats."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of strings; ``highlight`` is the index of a row to emphasise (the best variant)."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    highlight: int | None = None


@dataclass(frozen=True)
class Image:
    """A PNG in the report folder (linked from Markdown, embedded in HTML)."""

    filename: str
    alt: str


@dataclass(frozen=True)
class Code:
    """A preformatted block (a command to re-run, a config)."""

    text: str
    language: str = ""


Block = Heading | Para | Table | Image | Code


def _inline_html(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', out)


def _cell_md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown text."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Para):
            parts.append(block.text)
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(_cell_md(h) for h in block.header) + " |", "|---" * len(block.header) + "|"]
            lines += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        elif isinstance(block, Image):
            parts.append(f"![{block.alt}]({block.filename})")
        elif isinstance(block, Code):
            parts.append(f"```{block.language}\n{block.text.rstrip()}\n```")
    return "\n\n".join(parts) + "\n"


_CSS = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans KR", "NanumGothic", sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
tr.best td { background: #fff4c2; font-weight: 600; }
img { max-width: 100%; margin: 0.5em 0; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
code { background: #f3f3f3; padding: 0 3px; }
"""


def to_html(blocks: Sequence[Block], *, folder: Path, title: str) -> str:
    """The blocks as one HTML page; images are read from ``folder`` and embedded as base64."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            body.append(f"<p>{_inline_html(block.text)}</p>")
        elif isinstance(block, Table):
            rows = ["<tr>" + "".join(f"<th>{_inline_html(h)}</th>" for h in block.header) + "</tr>"]
            for index, row in enumerate(block.rows):
                css = ' class="best"' if index == block.highlight else ""
                rows.append(f"<tr{css}>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>")
            body.append("<table>\n" + "\n".join(rows) + "\n</table>")
        elif isinstance(block, Image):
            path = folder / block.filename
            if path.exists():
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                body.append(f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">')
            else:
                body.append(f"<p><em>missing image {html.escape(block.filename)}</em></p>")
        elif isinstance(block, Code):
            body.append(f"<pre><code>{html.escape(block.text.rstrip())}</code></pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def write_report(folder: str | Path, blocks: Sequence[Block]) -> list[Path]:
    """Write ``report.md`` and ``report.html`` into ``folder`` (the PNGs must already be there).

    Args:
        folder: the report folder.
        blocks: the content, top to bottom.

    Returns:
        The two paths written.
    """
    from seqlab.rundir import write_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    title = next((b.text for b in blocks if isinstance(b, Heading)), "seqlab report")
    md, page = folder / "report.md", folder / "report.html"
    write_atomic(md, to_markdown(blocks))
    write_atomic(page, to_html(blocks, folder=folder, title=title))
    return [md, page]


# ----------------------------------------------------------------------------- study.json


def write_study(folder: str | Path, study: dict[str, Any]) -> None:
    """Save a study's plan and results (atomic, so a kill never leaves half a file)."""
    from seqlab.rundir import write_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / STUDY_FILE, json.dumps(study, indent=2, ensure_ascii=False))


def read_study(folder: str | Path) -> dict[str, Any]:
    """Read a report folder's ``study.json``."""
    path = Path(folder) / STUDY_FILE
    if not path.is_file():
        raise ConfigError(
            f"{folder} is not a seqlab report folder (no {STUDY_FILE}); give the folder "
            "`seqlab compare`, `seqlab study`, `seqlab sweep` or `seqlab lr-find` wrote"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON ({err})") from None


# ----------------------------------------------------------------------------- formatting


def mean_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value).

    >>> mean_spread([1.0, 2.0, 3.0])
    (2.0, 1.0)
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), (statistics.stdev(finite) if len(finite) > 1 else 0.0)


def fmt(value: float | None, *, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, thousands separators for big ones, "-" for none.

    >>> fmt(0.123456), fmt(12345.6), fmt(None), fmt(3e-5)
    ('0.1235', '12,346', '-', '3e-05')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def fmt_spread(values: Sequence[float], *, digits: int = 4) -> str:
    """``mean ± std`` over repeats (just the value for one run).

    >>> fmt_spread([0.8, 0.82]), fmt_spread([0.8])
    ('0.81 ± 0.014', '0.8')
    """
    mean, std = mean_spread(values)
    if len([v for v in values if v is not None]) > 1 and not math.isnan(std):
        return f"{fmt(mean, digits=digits)} ± {fmt(std, digits=2)}"
    return fmt(mean, digits=digits)


def relative(path: Path, folder: Path) -> str:
    """A POSIX path of ``path`` relative to ``folder`` when it is inside, else absolute."""
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


@dataclass
class Section:
    """A list of blocks under construction (keeps the render functions short)."""

    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)


__all__ = [
    "Heading",
    "Para",
    "Table",
    "Image",
    "Code",
    "Block",
    "Section",
    "to_markdown",
    "to_html",
    "write_report",
    "write_study",
    "read_study",
    "mean_spread",
    "fmt",
    "fmt_spread",
    "relative",
    "STUDY_FILE",
]
