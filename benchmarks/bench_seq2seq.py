"""Seq2seq and Transformer benchmarks: the real recipes at their real budgets, then a Markdown table.

    python benchmarks/bench_seq2seq.py [--only num2words,dates,en-ko,lm,speed] [--out DIR] [--set train.max_time=5m ...]
        [--en-ko en-ko-luong,... (which en-ko recipes to train)] [--reuse (report finished en-ko runs in --out)]

1. num2words-ko: exact match on held-out numbers (never seen in training); aim 99 %.
2. dates-iso: exact match on held-out dates; aim 99 %.
3. en-ko: BLEU / chrF / character BLEU on the held-out test split for no attention, Bahdanau,
   Luong and the Transformer, each at the same budget (the recipes' max_time).
4. shakespeare-transformer next to shakespeare-char at the same wall-clock budget (validation loss).
5. Generation speed of the trained Transformer LM with and without the KV cache (tokens/s).

Runs go one after another (never in parallel: they would slow each other). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from io import StringIO
from pathlib import Path

from rich.console import Console

EN_KO = ("en-ko-no-attention", "en-ko-attention", "en-ko-luong", "en-ko-transformer")
OVERRIDES: list[str] = []  # --set, applied to every recipe


def machine() -> str:
    cpu = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.strip()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} CPUs ({cpu or platform.processor()}); {load}"


def final_metrics(run_dir: Path) -> dict[str, dict[str, float]]:
    """The `| split | ... |` rows of summary.md's final metrics table."""
    lines = (run_dir / "summary.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("## Final metrics")
    header = [c.strip() for c in lines[start + 2].strip("|").split("|")]
    table = {}
    for line in lines[start + 4 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[cells[0]] = {name: float(value) for name, value in zip(header[1:], cells[1:])}
    return table


def samples(run_dir: Path, count: int = 4) -> list[str]:
    lines = (run_dir / "summary.md").read_text(encoding="utf-8").splitlines()
    rows = [
        line for line in lines if line.startswith("| ") and line.count("|") == 5 and not line.startswith("| source")
    ]
    return rows[:count]


def train_recipe(name: str, out: Path, log: list[str]) -> tuple[Path, float, int]:
    from seqlab.config import load_config
    from seqlab.run import train

    run_dir = out / name
    started = time.perf_counter()
    log.append(f"- {name}: started with load `{machine().split('load average:')[-1].strip()}`")
    train(load_config(name, overrides=OVERRIDES), run_dir=run_dir, console=Console(file=StringIO()))
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = max(row.get("step", 0) for row in rows)
    print(f"{name}: {seconds:.0f} s, {steps} steps", flush=True)
    return run_dir, seconds, steps


def bench_generated(out: Path, log: list[str], names: tuple[str, ...]) -> list[str]:
    lines = [
        "## Generated pairs: exact match on held-out data",
        "",
        "| recipe | steps | wall time | test exact match | val exact match | aim | met |",
        "|---|---|---|---|---|---|---|",
    ]
    shown = []
    for name in names:
        run_dir, seconds, steps = train_recipe(name, out, log)
        m = final_metrics(run_dir)
        exact = m["test"]["exact_match"]
        lines.append(
            f"| {name} | {steps} | {seconds / 60:.1f} min | {exact:.2%} | {m['val']['exact_match']:.2%} | "
            f"99% | {'yes' if exact >= 0.99 else 'no'} |"
        )
        shown += [
            f"{name} sample outputs (test split, greedy):",
            "",
            "| source | reference | output | exact |",
            "|---|---|---|---|",
            *samples(run_dir),
            "",
        ]
    return lines + [""] + shown


def bench_en_ko(out: Path, log: list[str], names: tuple[str, ...] = EN_KO, reuse: bool = False) -> list[str]:
    """Train the en-ko recipes in ``names`` (with ``reuse``, report runs already in ``out`` instead)."""
    lines = [
        "## en-ko: held-out test split, same budget",
        "",
        "| recipe | model | params | steps | decoding | BLEU | chrF | char BLEU | exact | val loss |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    scores, shown = {}, []
    for name in EN_KO:
        if reuse and (out / name / "final_metrics.json").is_file():
            run_dir = out / name
            rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
            steps = max(row.get("step", 0) for row in rows)
        elif name in names:
            run_dir, seconds, steps = train_recipe(name, out, log)
        else:
            continue
        import seqlab

        run = seqlab.load(run_dir)
        params = sum(p.numel() for p in run.model.parameters())
        m = final_metrics(run_dir)
        t = m["test"]
        scores[name] = t
        model = (
            run.config.model.arch if run.config.model.arch == "transformer" else f"biGRU + {run.config.model.attention}"
        )
        data = run.config.data
        decoding = "greedy" if data.beam_width == 1 else f"beam {data.beam_width}, lp {data.length_penalty:g}"
        lines.append(
            f"| {name} | {model} | {params:,} | {steps} | {decoding} | {t['bleu']:.2f} | {t['chrf']:.2f} | "
            f"{t.get('bleu_char', float('nan')):.2f} | {t['exact_match']:.2%} | {m['val']['loss']:.3f} |"
        )
        shown += [
            f"{name} sample outputs:",
            "",
            "| source | reference | output | exact |",
            "|---|---|---|---|",
            *samples(run_dir),
            "",
        ]
    base = scores.get("en-ko-no-attention")
    if base is not None:
        lines += [
            "",
            "Gain over no attention (test): "
            + "; ".join(
                f"{n}: BLEU {scores[n]['bleu'] - base['bleu']:+.2f}, chrF {scores[n]['chrf'] - base['chrf']:+.2f}"
                for n in EN_KO[1:]
                if n in scores
            ),
            "",
        ]
    return lines + shown


def bench_lm(out: Path, log: list[str]) -> tuple[list[str], Path]:
    lines = [
        "## shakespeare-transformer vs shakespeare-char (same wall-clock budget)",
        "",
        "| recipe | params | steps | wall time | val loss | test loss | test bits/char |",
        "|---|---|---|---|---|---|---|",
    ]
    transformer_dir = out / "shakespeare-transformer"
    for name in ("shakespeare-char", "shakespeare-transformer"):
        run_dir, seconds, steps = train_recipe(name, out, log)
        import seqlab

        run = seqlab.load(run_dir)
        m = final_metrics(run_dir)
        lines.append(
            f"| {name} | {sum(p.numel() for p in run.model.parameters()):,} | {steps} | {seconds / 60:.1f} min | "
            f"{m['val']['loss']:.3f} | {m['test']['loss']:.3f} | {m['test'].get('bits_per_token', float('nan')):.3f} |"
        )
    return lines + [""], transformer_dir


def bench_speed(run_dir: Path) -> list[str]:
    import torch

    import seqlab
    from seqlab.decode import SamplingParams
    from seqlab.engine import generate
    from seqlab.models.transformer import UncachedLM

    run = seqlab.load(run_dir)
    prompt = run.tokenizer.encode("ROMEO:")
    lines = [
        "## Generation speed of shakespeare-transformer (batch 1, sampling, tokens/s)",
        "",
        f"block_size {run.config.data.block_size}; past it, the cached decoder re-reads the last half block once "
        "and the uncached one re-reads the whole window every token.",
        "",
        "| tokens | with KV cache | without cache | speed-up |",
        "|---|---|---|---|",
    ]
    torch.manual_seed(0)
    for count in (100, 1000):
        rates = []
        for model in (run.model, UncachedLM(run.model)):
            started = time.perf_counter()
            params = SamplingParams(max_tokens=count, temperature=1.0, seed=0)
            produced = sum(1 for _ in generate(model, prompt, params))
            rates.append(produced / (time.perf_counter() - started))
        lines.append(f"| {count} | {rates[0]:,.0f} | {rates[1]:,.0f} | {rates[0] / rates[1]:.1f}x |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="num2words,dates,en-ko,lm,speed")
    parser.add_argument("--out", type=Path, default=Path("/tmp/seqlab-bench-seq2seq"))
    parser.add_argument("--set", action="append", default=[], help="override for every recipe, e.g. train.threads=1")
    parser.add_argument(
        "--en-ko", default=",".join(EN_KO), help="the en-ko recipes to train (two processes can share the work)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="report en-ko runs already in --out instead of training them"
    )
    args = parser.parse_args()
    OVERRIDES.extend(args.set)
    threads = [s.split("=", 1)[1] for s in args.set if s.startswith("train.threads=")]
    if threads and int(threads[-1]):
        import torch

        torch.set_num_threads(int(threads[-1]))  # the speed benchmark too
    parts = set(args.only.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    report = [f"Machine: {machine()}", "", f"Overrides: {' '.join(args.set) or 'none'}", ""]
    generated = tuple(n for part, n in (("num2words", "num2words-ko"), ("dates", "dates-iso")) if part in parts)
    if generated:
        report += bench_generated(args.out, log, generated)
    if "en-ko" in parts:
        report += bench_en_ko(args.out, log, tuple(args.en_ko.split(",")), reuse=args.reuse)
    transformer_dir = args.out / "shakespeare-transformer"
    if "lm" in parts:
        lines, transformer_dir = bench_lm(args.out, log)
        report += lines
    if "speed" in parts:
        report += bench_speed(transformer_dir)
    report += ["Load when each run started:", "", *log, "", f"Finished: {machine()}"]
    text = "\n".join(report) + "\n"
    (args.out / "results.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
