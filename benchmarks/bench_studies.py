"""Benchmark: the built-in RNN/LSTM/GRU study on rotten-tomatoes and the learning-rate study on shakespeare-char.

Runs each study at its real budget (``seqlab study NAME``: 2 minutes per cell, 400 steps per
learning rate) into a work folder, then copies each report (report.md, its PNGs, study.json) to
benchmarks/studies/<study>/ and prints a Markdown table of the results. Not a test; run by hand:

    .venv/bin/python benchmarks/bench_studies.py [--work /tmp/seqlab-bench-studies] [--only cells]

Rerunning with the same work folder resumes (finished runs are kept).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
STUDIES = {"cells": "rotten-tomatoes-bilstm", "learning-rate": "shakespeare-char"}


def run_study(name: str, recipe: str, work: Path, budget: str = "") -> Path:
    folder = work / name
    command = [sys.executable, "-m", "seqlab", "study", name, recipe, "--out", str(folder)]
    command += ["--budget", budget] if budget else []
    print("$", " ".join(command[1:]), file=sys.stderr)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=sys.stderr)  # stdout is for the tables
    print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder


def keep_report(folder: Path, target: Path) -> None:
    """Copy the report and its images (not the run directories) into the repository."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in [folder / "report.md", folder / "study.json", *folder.glob("*.png")]:
        shutil.copy2(path, target / path.name)


def table(folder: Path) -> str:
    study = json.loads((folder / "study.json").read_text())
    metric = study["metric"]
    test = "test_accuracy" if metric.endswith("accuracy") else "test_loss"
    lines = [
        f"### {study['title']}",
        "",
        f"| variant | {metric} | {test} | parameters | train s | tokens/s | latency ms | steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant in study["variants"]:
        for run in variant["runs"]:
            r = run["result"]
            if r is None:
                continue
            lines.append(
                f"| {variant['name']} | {r['metrics'].get(metric, float('nan')):.4f} "
                f"| {r['metrics'].get(test, float('nan')):.4f} "
                f"| {r['params']:,} | {r['train_time']:.0f} | {r['tokens_per_s']:,.0f} | "
                f"{(r['latency_ms'] or float('nan')):.2f} | {r['steps']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/seqlab-bench-studies"))
    parser.add_argument("--only", choices=sorted(STUDIES), action="append")
    parser.add_argument("--budget", default="", help="per run, as seqlab study --budget (default: the study's)")
    parser.add_argument("--reports", type=Path, default=HERE / "studies", help="where the reports are copied")
    args = parser.parse_args()
    for name in args.only or list(STUDIES):
        folder = run_study(name, STUDIES[name], args.work, args.budget)
        keep_report(folder, args.reports / name)
        print(table(folder), "\n", flush=True)


if __name__ == "__main__":
    main()
