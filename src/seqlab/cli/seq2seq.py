"""What ``seqlab predict`` and ``seqlab inspect`` print for a seq2seq run (translations, attention).

The commands live in :mod:`seqlab.cli.train`; they print here what ``run.predict`` and
``run.inspect`` return for a seq2seq run (:class:`~seqlab.tasks.seq2seq.Translation`,
:class:`~seqlab.tasks.seq2seq.AttentionView`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from seqlab.run import Run
    from seqlab.tasks.seq2seq import AttentionView, Translation


def show_translations(run: Run, results: list[Translation], *, beam: int | None, console: Console) -> None:
    """Print translations as a table (with the alternatives and their scores when there are several).

    Args:
        run: the seq2seq run that translated.
        results: what ``run.predict`` returned.
        beam: the beam width asked for (None: the run's ``data.beam_width``), for the title.
        console: where the table goes.
    """
    n_best = max((len(result.alternatives) for result in results), default=0)
    width = beam or run.config.data.beam_width
    table = Table(title=f"{run.config.name}: " + ("greedy" if width == 1 else f"beam {width}"))
    table.add_column("source")
    table.add_column("translation")
    if n_best > 1:
        table.add_column("score", justify="right")
    for result in results:
        if n_best > 1:
            for rank, (text, score) in enumerate(result.alternatives):
                table.add_row(escape(result.source) if rank == 0 else "", f"{rank + 1}. {escape(text)}", f"{score:.3f}")
        else:
            table.add_row(escape(result.source), f"[bold]{escape(result.text)}[/]")
    console.print(table)


def show_attention(view: AttentionView, *, console: Console) -> None:
    """Print the tokens of a translation and where each output token looked; name the heatmap file."""
    console.print(f"[bold]source tokens[/] ({len(view.source_tokens)}): {escape(str(view.source_tokens))}")
    console.print(f"[bold]translation[/]: {escape(view.translation)}")
    table = Table(title="attention: the source token each output token looked at most")
    for column in ("step", "output token", "most attended source token", "weight"):
        table.add_column(column, justify="right" if column in ("step", "weight") else "left")
    best = view.weights.max(dim=-1)
    for t, (token, weight, where) in enumerate(zip(view.target_tokens, best.values.tolist(), best.indices.tolist())):
        table.add_row(str(t), escape(token), escape(view.source_tokens[where]), f"{weight:.2f}")
    console.print(table)
    console.print(f"heatmap: {view.figure_path}")
