"""``seqlab export RUN``: a trained run's networks as ONNX files, each checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from seqlab.cli import app
from seqlab.cli.output import JSON_OPTION, Column, Rows, print_line, print_rows


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="A run folder written by `seqlab train`."),
    format: str = typer.Option("onnx", "--format", "-f", help="The export format: onnx."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="A folder (one NAME.onnx per network) or a .onnx file; default RUN/export/."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Export the run's networks (a language model as one step, seq2seq as encoder + decoder...) to ONNX.

    Each file runs in onnxruntime at export time; the table shows its largest difference from PyTorch.

    A folder also gets the run's tokenizer (or scaler), which the graphs' inputs need.
    """
    from seqlab.errors import SeqlabError
    from seqlab.export import TOLERANCE, check_format, export_run
    from seqlab.run import load

    check_format(format)  # before loading anything
    run = load(run_dir)
    results = export_run(run, out, format=format)
    console = Console(highlight=False)
    table = Rows(
        [
            "graph",
            "file",
            "inputs -> outputs",
            Column("max abs diff", format=".2e", key="max_abs_diff"),
            "note",
        ],
        [[r.name, str(r.path), r.signature, r.max_abs_diff, r.note] for r in results],
        title=f"{run_dir}: exported to ONNX, checked with onnxruntime",
    )
    print_rows(table, console=console, as_json=as_json)
    bad = [r.name for r in results if not r.ok]
    if bad:
        raise SeqlabError(
            f"onnxruntime differs from PyTorch by more than {TOLERANCE:g} in {', '.join(bad)}; "
            "the files are written, but check them before use"
        )
    if not as_json:
        print_line(f"{len(results)} graph(s) written; each matches PyTorch within {TOLERANCE:g}", console=console)
