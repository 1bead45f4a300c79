"""What ``seqlab predict`` and ``seqlab inspect`` print for a seq2seq run (translations, attention).

The commands live in :mod:`seqlab.cli.train`; they print here what ``run.predict`` and
``run.inspect`` return for a seq2seq run (:class:`~seqlab.tasks.seq2seq.Translation`,
:class:`~seqlab.tasks.seq2seq.AttentionView`), through :mod:`seqlab.cli.output`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console

from seqlab.cli.output import Column, Rows, print_json, print_line, print_rows

if TYPE_CHECKING:
    from seqlab.run import Run
    from seqlab.tasks.seq2seq import AttentionView, Translation


def translation_rows(run: Run, results: list[Translation], *, beam: int | None) -> Rows:
    """Translations as a table: one row per text, or one per hypothesis with their ranks and scores.

    Args:
        run: the seq2seq run that translated.
        results: what ``run.predict`` returned.
        beam: the beam width asked for (None: the run's ``data.beam_width``), for the title.
    """
    n_best = max((len(result.alternatives) for result in results), default=0)
    width = beam or run.config.data.beam_width
    title = f"{run.config.name}: " + ("greedy" if width == 1 else f"beam {width}")
    if n_best <= 1:
        return Rows(["source", Column("translation", style="bold")], [[r.source, r.text] for r in results], title=title)
    # each hypothesis names its source, so that a line read alone (grep) still says what it translates
    rows: list[list[Any]] = [
        [result.source, rank + 1, text, float(score)]
        for result in results
        for rank, (text, score) in enumerate(result.alternatives)
    ]
    return Rows(["source", "rank", "translation", Column("score", format=".3f")], rows, title=title)


def show_attention(view: AttentionView, *, console: Console, as_json: bool = False) -> None:
    """Print the tokens of a translation and where each output token looked; name the heatmap file.

    Args:
        view: what ``run.inspect`` returned for a seq2seq run.
        console: where it goes.
        as_json: one JSON object (tokens, translation, one row per output token, the figure) instead.
    """
    best = view.weights.max(dim=-1)
    table = Rows(
        [
            Column("step", right=True),
            Column("output token", key="output_token"),
            Column("most attended source token", key="source_token"),
            Column("weight", format=".2f"),
        ],
        [
            [t, token, view.source_tokens[where], float(weight)]
            for t, (token, weight, where) in enumerate(
                zip(view.target_tokens, best.values.tolist(), best.indices.tolist())
            )
        ],
        title="attention: the source token each output token looked at most",
    )
    figure = str(view.figure_path) if view.figure_path is not None else None
    if as_json:
        print_json(
            {
                "source_tokens": view.source_tokens,
                "target_tokens": view.target_tokens,
                "translation": view.translation,
                "attention": table.records(),
                "weights": view.weights.tolist(),
                "figure": figure,
            },
            console=console,
        )
        return
    print_line(f"source tokens ({len(view.source_tokens)}): {view.source_tokens}", console=console)
    print_line(f"translation: {view.translation}", console=console)
    print_rows(table, console=console, title_in_pipe=True)
    print_line(f"heatmap: {figure}", console=console)
