"""Forecasting benchmark: each forecaster against naive and seasonal naive on co2, air-passengers, electricity.

Runs the shipped recipes at their real budgets (one at a time), plus two variants per dataset
(Conv1D + the recipe's RNN, and the small Transformer), and prints a Markdown table of test-split
MAE / RMSE on the original scale next to the baselines, with the gain over seasonal naive.

    python benchmarks/bench_forecast.py [--out benchmarks/forecast-runs] [--only co2-lstm] [--set train.threads=1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from io import StringIO
from pathlib import Path

from rich.console import Console

from seqlab.config import load_config
from seqlab.run import train

TRANSFORMER = [
    "model.arch=transformer",
    "model.hidden_size=32",
    "model.num_heads=4",
    "model.num_layers=2",
    "model.dropout=0.1",
]
CASES = {
    "co2-lstm": {
        "LSTM": [],
        "Conv1D+LSTM": ["model.conv_filters=32", "model.conv_kernel=5"],
        "Transformer": TRANSFORMER,
    },
    "air-passengers-gru": {
        "GRU": [],
        "Conv1D+GRU": ["model.conv_filters=16", "model.conv_kernel=3"],
        "Transformer": TRANSFORMER,
    },
    "electricity-conv-lstm": {"Conv1D+LSTM": [], "LSTM": ["model.conv_filters=0"], "Transformer": TRANSFORMER},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="benchmarks/forecast-runs")
    parser.add_argument("--only", default="")
    parser.add_argument("--set", action="append", default=[], help="override for every run, e.g. train.threads=1")
    args = parser.parse_args()
    print(f"Overrides: {' '.join(args.set) or 'none'}", flush=True)
    rows = []
    for recipe, variants in CASES.items():
        if args.only and recipe != args.only:
            continue
        for label, overrides in variants.items():
            config = load_config(recipe, overrides=[*overrides, *args.set])
            run_dir = Path(args.out) / f"{recipe}-{label.lower().replace('+', '-')}"
            shutil.rmtree(run_dir, ignore_errors=True)
            started = time.time()
            run = train(config, run_dir=run_dir, console=Console(file=StringIO()))
            seconds = time.time() - started
            report = json.loads((run.run_dir / "forecast.json").read_text())
            metrics = report["metrics"]
            seasonal = next(name for name in metrics if name.startswith("seasonal"))
            steps = max((row.get("step", 0) for row in run.metrics()), default=0)
            params = sum(p.numel() for p in run.model.parameters())
            rows.append(
                (
                    run.config.data.dataset,
                    label,
                    params,
                    steps,
                    seconds,
                    metrics["model"],
                    metrics["naive (last value)"],
                    metrics[seasonal],
                    seasonal,
                    report["gain_vs_seasonal"],
                )
            )
            print(
                f"done {recipe} {label}: MAE {metrics['model']['mae']:.3f} "
                f"vs {seasonal} {metrics[seasonal]['mae']:.3f} "
                f"({seconds:.0f} s)",
                flush=True,
            )
    print()
    print(
        "| data | forecaster | params | steps | time s | MAE | RMSE | naive MAE | naive RMSE | seasonal naive MAE | "
        "seasonal naive RMSE | MAE gain vs seasonal | RMSE gain vs seasonal |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for data, label, params, steps, seconds, model, naive, seasonal, name, gain in rows:
        print(
            f"| {data} | {label} | {params:,} | {steps} | {seconds:.0f} | {model['mae']:.3f} | {model['rmse']:.3f} | "
            f"{naive['mae']:.3f} | {naive['rmse']:.3f} | {seasonal['mae']:.3f} ({name.split('(')[1][:-1]}) | "
            f"{seasonal['rmse']:.3f} | {gain['mae']:+.1%} | {gain['rmse']:+.1%} |"
        )


if __name__ == "__main__":
    main()
