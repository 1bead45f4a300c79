"""Issue 16 benchmarks: fp32 vs bf16 at equal time, and 1 vs 2 processes, side by side in one run.

Run from the repository root on an otherwise idle machine (figures go to stdout as Markdown; copy
them to benchmarks/devices.md):

    .venv/bin/python benchmarks/bench_devices.py precision [--seconds 60]   # ~9 min
    .venv/bin/python benchmarks/bench_devices.py processes [--steps 60]     # ~3 min

Every run is a real `seqlab train` of a recipe in its own process, so each starts from the same
state. precision: the two recipes at equal training time, fp32 then bf16 then fp32 then bf16 (A B A B),
each pair's final validation loss (the whole validation split) and tokens/s (median of the logged
train rows). processes: the character LM at a fixed number of steps and the same global batch, one
process with two threads against `--nproc 2` with one thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEQLAB = [sys.executable, "-m", "seqlab"]


def machine() -> str:
    import torch

    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )


def train(recipe: str, run_dir: Path, overrides: list[str], *, extra: list[str] = ()) -> dict[str, float]:
    """Train one run in a fresh process; its final val loss, median train tokens/s, steps and wall seconds."""
    args = [*SEQLAB, "train", recipe, "--run-dir", str(run_dir), *extra]
    for override in overrides:
        args += ["--set", override]
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    train_rows = [r for r in rows if r.get("split") == "train" and "tokens_per_s" in r]
    speeds = [r["tokens_per_s"] for r in train_rows[1:]] or [r["tokens_per_s"] for r in train_rows]
    final = json.loads((run_dir / "final_metrics.json").read_text())
    return {
        "val_loss": final["val"]["loss"],
        "tokens_per_s": statistics.median(speeds),
        "steps": max(r["step"] for r in rows),
        "wall_s": wall,
    }


def precision(seconds: int) -> None:
    print(f"## fp32 vs bf16 at equal time ({seconds} s of training each)\n\n{machine()}\n")
    print("| recipe | precision | final val loss | train tokens/s (median) | steps | wall s |")
    print("|---|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {}
    for recipe in ("shakespeare-char", "rotten-tomatoes-bilstm"):
        for _repeat in range(2):
            for mode in ("fp32", "bf16"):
                with tempfile.TemporaryDirectory() as scratch:
                    overrides = [f"train.precision={mode!r}".replace("'", '"'), f"train.max_time={seconds}s"]
                    result = train(recipe, Path(scratch) / "run", overrides)
                print(
                    f"| {recipe} | {mode} | {result['val_loss']:.4f} | {result['tokens_per_s']:,.0f} | "
                    f"{result['steps']} | {result['wall_s']:.0f} |",
                    flush=True,
                )
                ratios.setdefault(f"{recipe} {mode}", []).append(result["tokens_per_s"])
    print()
    for recipe in ("shakespeare-char", "rotten-tomatoes-bilstm"):
        fp32 = statistics.median(ratios[f"{recipe} fp32"])
        bf16 = statistics.median(ratios[f"{recipe} bf16"])
        print(f"- {recipe}: bf16 / fp32 tokens/s = {bf16 / fp32:.2f}")


def processes(steps: int) -> None:
    print(f"## 1 vs 2 processes ({steps} steps, global batch 64)\n\n{machine()}\n")
    print("| setup | train tokens/s (median) | final val loss | wall s |")
    print("|---|---|---|---|")
    common = [f"train.max_steps={steps}", "train.max_time=0", "train.eval_every=20", "train.checkpoint_every=20"]
    speeds: dict[str, list[float]] = {}
    for _ in range(2):
        for name, overrides, extra in (
            ("1 process, 2 threads, batch 64", ["train.batch_size=64", "train.threads=2"], []),
            (
                "2 processes (--nproc 2), 1 thread each, batch 32 each",
                ["train.batch_size=32", "train.threads=1"],
                ["--nproc", "2"],
            ),
        ):
            with tempfile.TemporaryDirectory() as scratch:
                result = train("shakespeare-char", Path(scratch) / "run", [*common, *overrides], extra=extra)
            speed = result["tokens_per_s"]  # under torchrun fit logs the tokens of all ranks
            speeds.setdefault(name, []).append(speed)
            print(f"| {name} | {speed:,.0f} | {result['val_loss']:.4f} | {result['wall_s']:.0f} |", flush=True)
    one, two = (statistics.median(v) for v in speeds.values())
    print(f"\n- 2 processes / 1 process tokens/s = {two / one:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["precision", "processes"])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    precision(args.seconds) if args.which == "precision" else processes(args.steps)


if __name__ == "__main__":
    main()
