"""What ``seqlab predict`` and ``seqlab inspect`` print for a seq2seq run (translations, attention).

The commands live in :mod:`seqlab.cli.train` and dispatch here on ``run.task == "seq2seq"``.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def show_translations(run, texts: list[str], *, beam: int | None, n_best: int, console: Console) -> None:
    """Translate ``texts`` (greedy or beam search) and print a table (with ``n_best`` alternatives)."""
    from seqlab.tasks.seq2seq import translate_texts

    results = translate_texts(run, texts, beam_width=beam, n_best=n_best)
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


def show_attention(run, text: str, *, out_dir: Path | None, beam: int | None, console: Console) -> None:
    """Translate ``text``, print the tokens and where each output token looked, and save the heatmap."""
    from seqlab.tasks.seq2seq import attention_for

    target = (Path(out_dir) if out_dir is not None else Path(run.run_dir)) / "inspect-attention.png"
    view = attention_for(run, text, out_path=target, beam_width=beam)
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
