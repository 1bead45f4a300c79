"""Issue 13, aim 1: the character LM on tiny-shakespeare, lever by lever (benchmarks/charlm.md).

Every row is one ``seqlab train shakespeare-char`` in its own process, through the CLI a user
runs, on tiny-shakespeare with nanoGPT's 90/10 split, evaluated at the end over the WHOLE
validation split (``train.final_eval_batches = 0``). Peak RSS is the process's own (``/usr/bin/time
-f %M``, imports included); steps, training seconds and tokens/s come from the run's last checkpoint.

Run from the repository root:

    .venv/bin/python benchmarks/bench_charlm.py run NAME [--time 300] [--steps N] [--threads K]
    .venv/bin/python benchmarks/bench_charlm.py probe [--seconds 30]   # steps/s of each recipe, no quality
    .venv/bin/python benchmarks/bench_charlm.py table                   # the Markdown table of all rows
    .venv/bin/python benchmarks/bench_charlm.py evaluate RUN_DIR        # val loss read both ways

``run`` appends one JSON row to ``benchmarks/charlm-runs.jsonl`` (name, overrides, budget, figures,
load average before and after, date); ``table`` prints them. ``NAME`` is one of :data:`VARIANTS`:
the recipe as it was before this work (``old``), the recipe now (``recipe``), and one lever each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
ROWS = ROOT / "benchmarks" / "charlm-runs.jsonl"
SPLIT = ["data.val_fraction=0.1", "data.test_fraction=0", "train.final_eval_batches=0"]

# The recipe before issue 13 (commit d65cad5), spelt out so the row stays the same as the recipe moves on.
OLD = [
    "data.stateful=false",
    "data.block_size=128",
    "model.embed_dim=64",
    "model.hidden_size=384",
    "model.num_layers=1",
    "model.dropout=0.0",
    "train.lr=3e-3",
    "train.batch_size=32",
    "train.max_steps=3000",
    "train.warmup_steps=100",
    "train.eval_every=250",
    "train.eval_batches=20",
]
VARIANTS: dict[str, list[str]] = {
    "old": OLD,
    "recipe": [],
    "old+stateful": [*OLD, "data.stateful=true"],
}


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    import torch

    return f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, Python {platform.python_version()}"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run(name: str, *, seconds: float, steps: int, threads: int, extra: list[str]) -> dict[str, object]:
    """Train variant ``name`` once in a fresh process; return its row."""
    overrides = [*VARIANTS[name], *SPLIT, f"train.max_time={seconds:g}", *extra]
    if steps:
        overrides.append(f"train.max_steps={steps}")
    if threads:
        overrides.append(f"train.threads={threads}")
    run_dir = Path(tempfile.gettempdir()) / "bench-charlm" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    argv = [sys.executable, "-m", "seqlab", "train", "shakespeare-char", "--data", str(DATA), "--run-dir"]
    argv.append(str(run_dir))
    for item in [*overrides, "sample.max_tokens=200"]:
        argv += ["--set", item]
    before, started = load(), time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "peak-rss-kb %M", *argv], capture_output=True, text=True, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - started
    if not (run_dir / "model.safetensors").exists():
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    # the figures come from the trained weights and the last checkpoint, so a failure after training (in the
    # samples) still gives the row; its final line is kept in the row
    peak = int(next(line for line in done.stderr.splitlines() if line.startswith("peak-rss-kb")).split()[1])
    checkpoints = sorted((run_dir / "checkpoints").iterdir())
    state = json.loads((checkpoints[-1] / "state.json").read_text())
    config = (run_dir / "config.toml").read_text()
    both = _both_ways(run_dir)
    tokens = state["step"] * state["global_batch"] * _block_size(config)
    return {
        "name": name,
        "overrides": [*VARIANTS[name], *extra],
        "budget_s": seconds,
        "max_steps": steps,
        "threads": threads,
        "val_loss": both["stateful"] if _stateful(run_dir) else both["windows"],  # what the run's own evaluation reads
        "val_loss_stateful": both["stateful"],
        "val_loss_windows": both["windows"],
        "run_dir": str(run_dir),
        "error": "" if done.returncode == 0 else done.stderr.strip().splitlines()[-2][-300:],
        "steps": state["step"],
        "train_s": round(state["elapsed"], 1),
        "wall_s": round(wall, 1),
        "tokens_per_s": round(tokens / state["elapsed"]),
        "peak_rss_mb": round(peak / 1024),
        "stop": state["stop_reason"],
        "load_before": before,
        "load_after": load(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _both_ways(run_dir: Path) -> dict[str, float]:
    """The run's validation loss read both ways, in another process: streams with the state carried, and
    windows of ``block_size`` each from a zero state (the figure of a stateless recipe)."""
    argv = [sys.executable, __file__, "evaluate", str(run_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.splitlines()[-1])


def evaluate_both(run_dir: str) -> dict[str, float]:
    """Validation loss over the whole split of a trained run: stateful streams and stateless windows."""
    import seqlab
    from seqlab.config import with_overrides
    from seqlab.devices import Precision
    from seqlab.training import evaluate

    run = seqlab.load(run_dir, device="cpu")
    precision = Precision.resolve(run.config.train.precision, next(run.model.parameters()).device)
    result = {}
    for name, stateful in (("stateful", True), ("windows", False)):
        config = with_overrides(run.config, [f"data.stateful={str(stateful).lower()}"])
        data = run.kind.prepare(config, preprocessing=run.preprocessing).data
        with precision.autocast():
            result[name] = round(evaluate(run.model, data, data.split_batches("val"))["loss"], 4)
    return result


def _stateful(run_dir: Path) -> bool:
    import tomllib

    return bool(tomllib.loads((run_dir / "config.toml").read_text())["data"].get("stateful", False))


def _block_size(config_toml: str) -> int:
    import tomllib

    return int(tomllib.loads(config_toml)["data"]["block_size"])


def probe(seconds: float, names: list[str]) -> None:
    """Steps/s of each variant over a short run without its final evaluation: how many steps 5 minutes buy."""
    for name in names:
        row = run(name, seconds=seconds, steps=0, threads=0, extra=["train.final_eval_batches=1"])
        print(f"{name}: {row['steps'] / row['train_s']:.2f} steps/s ({row['tokens_per_s']:,} tokens/s), load {load()}")


def table() -> str:
    """The rows of :data:`ROWS` as Markdown: the variant's extra overrides, budget, figures and load."""
    rows = [json.loads(line) for line in ROWS.read_text().splitlines() if line.strip()]
    lines = [
        "| variant | budget | threads | steps | train s | tokens/s | val loss, as trained | stateful | windows "
        "| peak RSS MB | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        budget = f"{r['budget_s']:g} s" if r["budget_s"] else ""
        budget += (" / " if budget and r["max_steps"] else "") + (f"{r['max_steps']} steps" if r["max_steps"] else "")
        extra = " ".join(r["overrides"][len(VARIANTS.get(r["name"], [])) :])
        lines.append(
            f"| {r['name']} {extra} | {budget} | {r['threads'] or 'default'} | {r['steps']:,} | {r['train_s']:.0f} | "
            f"{r['tokens_per_s']:,} | **{r['val_loss']:.3f}** | {r['val_loss_stateful']:.3f} | "
            f"{r['val_loss_windows']:.3f} | {r['peak_rss_mb']} | {r['load_before']} -> {r['load_after']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("name", choices=sorted(VARIANTS))
    one.add_argument("--time", type=float, default=300.0, help="train.max_time in seconds (0 = none)")
    one.add_argument("--steps", type=int, default=0, help="train.max_steps (0 = the variant's)")
    one.add_argument("--threads", type=int, default=0, help="train.threads (0 = torch's default)")
    one.add_argument("--set", action="append", default=[], help="one more override")
    quick = sub.add_parser("probe")
    quick.add_argument("--seconds", type=float, default=30.0)
    quick.add_argument("names", nargs="*", default=["old", "recipe"])
    sub.add_parser("table")
    both = sub.add_parser("evaluate", help="a run's validation loss, stateful and as stateless windows")
    both.add_argument("run_dir")
    args = parser.parse_args()
    if args.command == "run":
        row = run(args.name, seconds=args.time, steps=args.steps, threads=args.threads, extra=args.set)
        row["machine"] = machine()
        with ROWS.open("a") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row))
    elif args.command == "probe":
        print(machine())
        probe(args.seconds, args.names)
    elif args.command == "evaluate":
        print(json.dumps(evaluate_both(args.run_dir)))
    else:
        print(table())


if __name__ == "__main__":
    main()
