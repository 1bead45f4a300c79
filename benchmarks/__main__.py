"""Run the benchmarks and regenerate their Markdown tables: ``python -m benchmarks [NAMES...]``.

Run from the repository root (``make bench`` runs them all):

    python -m benchmarks --list                  # the names, what each measures, how long it takes
    python -m benchmarks                         # every benchmark, one after another (hours)
    python -m benchmarks core memory             # some of them
    python -m benchmarks --quick core            # each at a tiny budget: checks that the script runs

Each benchmark is a script in this folder, run in its own process (one after another, never side
by side: they would slow each other). A script that prints its tables has what it prints written
into its Markdown file (``core.md``, ``memory.md``...) between two marker lines, under a
description of the machine (CPU, cores, memory, torch, date, load average before and after); the
prose around the markers is kept, and a file without them gets the block appended. A script that
writes its own file (``bench_vs_keras.py``: ``keras.md``) is left to do so. ``--quick`` never
touches the recorded tables: its output goes to ``--out`` (a new temporary folder by default).

The load average says whether the machine was shared: the benchmark itself counts about 1, and
more means other work ran beside it, so its figures are slower than an idle machine's.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Bench:
    """One benchmark script and how to run it.

    Args:
        script: the file in benchmarks/.
        what: what it measures, in one line.
        minutes: how long the full run takes on 2 idle cores (roughly).
        runs: the argument lists of the full run (one process each, in order); ``{work}`` is a
            scratch folder of the benchmark's own (shown as ``SCRATCH`` in the Markdown).
        quick: the argument lists of the tiny-budget run.
        table: the Markdown file its output is written into (relative to benchmarks/).
        writes_itself: the script writes ``table`` itself (its output is not copied there).
        before: commands run first (e.g. training the run a benchmark serves), same placeholders.
        needs: a check that returns why the benchmark cannot run here, or None.
        python: the interpreter (default: this one).
    """

    script: str
    what: str
    minutes: float
    runs: tuple[tuple[str, ...], ...]
    quick: tuple[tuple[str, ...], ...]
    table: str
    writes_itself: bool = False
    before: tuple[tuple[str, ...], ...] = ()
    quick_before: tuple[tuple[str, ...], ...] = ()
    needs: str = ""
    python: str = ""


TINY_LM = (
    "-m",
    "seqlab",
    "train",
    "shakespeare-char",
    "--run-dir",
    "{work}/lm",
    "--set",
    "train.max_steps=3",
    "--set",
    "model.hidden_size=32",
    "--set",
    "data.limit=20000",
    "--set",
    "train.final_eval_batches=2",
    "--set",
    "sample.max_tokens=5",
)
TINY = ("--set", "train.max_steps=2", "--set", "train.max_time=0")

# name -> benchmark, in the order `python -m benchmarks` runs them (cheap ones first)
BENCHMARKS: dict[str, Bench] = {
    "core": Bench(
        "bench_core.py",
        "trainer tax (fit vs a hand-written loop), generation, fused vs scratch; recipe quality",
        25,
        runs=(("speed",), ("quality",)),
        quick=(("speed", "--quick"),),
        table="core.md",
    ),
    "detok": Bench(
        "bench_detok.py",
        "streaming detokenization: re-decoding against TextStream, every tokenizer",
        6,
        runs=((),),
        quick=(("--sizes", "200", "--old-limit", "1", "--only", "char"),),
        table="detok.md",
    ),
    "memory": Bench(
        "bench_memory.py",
        "peak memory of seqlab train on 1, 50 and 500 MB of text",
        10,
        runs=((),),
        quick=(("--sizes", "1"),),
        table="memory.md",
    ),
    "devices": Bench(
        "bench_devices.py",
        "fp32 against bf16 at equal time; 1 against 2 processes",
        12,
        runs=(("precision",), ("processes",)),
        quick=(("processes", "--steps", "2"),),
        table="devices.md",
    ),
    "serve": Bench(
        "serve_latency.py",
        "time to first token and tokens/s at 1-64 concurrent streams, both engines",
        5,
        runs=(("runs/shakespeare-char",),),
        quick=(("{work}/lm", "--max-tokens", "5", "--repeats", "1", "--concurrency", "1,2"),),
        table="serve.md",
        needs="run:runs/shakespeare-char",
        quick_before=(TINY_LM,),
    ),
    "studies": Bench(
        "bench_studies.py",
        "the RNN/LSTM/GRU study on rotten-tomatoes, the learning-rate study on shakespeare-char",
        15,
        runs=(("--work", "{work}"),),
        quick=(("--work", "{work}", "--only", "cells", "--budget", "2", "--reports", "{work}/reports"),),
        table="studies.md",
    ),
    "forecast": Bench(
        "bench_forecast.py",
        "each forecaster against naive and seasonal naive on co2, air-passengers, electricity",
        20,
        runs=(("--out", "{work}"),),
        quick=(("--out", "{work}", "--only", "co2-lstm", *TINY),),
        table="forecast.md",
    ),
    "charlm": Bench(
        "bench_charlm.py",
        "the character LM on tiny-shakespeare: the old recipe against the new one, 5 minutes each",
        12,
        runs=(("run", "old"), ("run", "recipe"), ("table",)),
        quick=(("probe", "--seconds", "3", "recipe"),),
        table="charlm.md",
    ),
    "images": Bench(
        "bench_images.py",
        "the image recipes at their budgets: MLP accuracy, VAE ELBO, anomaly AUC, the GANs' judge figures",
        45,
        runs=(("--runs", "{work}"),),
        quick=(("fashion-mlp", "--runs", "{work}", "--out", "{work}/images", *TINY),),
        table="images.md",
    ),
    "seq2seq": Bench(
        "bench_seq2seq.py",
        "num2words, dates, en-ko with and without attention, the Transformer LM and its KV cache",
        75,
        runs=(("--out", "{work}"),),
        quick=(("--out", "{work}", "--only", "num2words", *TINY),),
        table="seq2seq.md",
    ),
    "keras": Bench(
        "bench_vs_keras.py",
        "seqlab against Keras, same model and data, SimpleRNN/LSTM/GRU, sentiment and a char LM",
        15,
        runs=((),),
        quick=(("--smoke",),),
        table="keras.md",
        writes_itself=True,
        needs="tensorflow",
        python=".venv-bench/bin/python",
    ),
}


def machine() -> str:
    """CPU model, cores, memory, torch and Python versions, the date (UTC) and the load average now.

    >>> "cores" in machine() and "load average" in machine()
    True
    """
    cpu = "?"
    memory = "?"
    if Path("/proc/cpuinfo").exists():
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")
    if Path("/proc/meminfo").exists():
        total = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        memory = f"{int(total.split()[1]) / 2**20:.0f} GiB"
    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "not installed"
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory} memory; torch {torch}, Python {platform.python_version()}; "
        f"{date}; {load()}"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f}"


def missing(bench: Bench, *, quick: bool) -> str | None:
    """Why ``bench`` cannot run here (a missing optional install or input), or None."""
    python = ROOT / bench.python if bench.python else None
    if bench.needs == "tensorflow":
        if python is None or not python.exists():
            return f"needs the opt-in bench extra in {bench.python.split('/bin')[0]} (make bench-keras creates it)"
        found = subprocess.run([str(python), "-c", "import tensorflow, keras"], capture_output=True)
        if found.returncode:
            return f"tensorflow is not installed in {python} (make bench-keras installs the bench extra)"
    if bench.needs.startswith("run:") and not quick:
        run_dir = ROOT / bench.needs.removeprefix("run:")
        if not (run_dir / "model.safetensors").exists():
            return f"needs a trained run in {run_dir.relative_to(ROOT)} (make demo trains it)"
    return None


def fill(args: tuple[str, ...], work: Path) -> list[str]:
    return [arg.replace("{work}", str(work)) for arg in args]


def run_bench(name: str, bench: Bench, *, quick: bool, work: Path) -> str:
    """Run one benchmark's processes; return the Markdown block (machine, commands, what they printed)."""
    python = str(ROOT / bench.python) if bench.python else sys.executable
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    before = load()
    lines = [f"Machine: {machine()}", ""]
    for command in bench.quick_before if quick else bench.before:
        done = subprocess.run([python, *fill(command, work)], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{name}: preparing with {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    started = time.perf_counter()
    for args in bench.quick if quick else bench.runs:
        command = [python, str(HERE / bench.script), *fill(args, work)]
        shown = " ".join([bench.python or "python", f"benchmarks/{bench.script}", *args]).replace("{work}", "SCRATCH")
        print(f"$ {shown}", file=sys.stderr, flush=True)
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        lines += [f"Command: `{shown}`", "", done.stdout.rstrip(), ""]
        if done.returncode:
            raise SystemExit(f"{name}: {shown} failed (exit {done.returncode}); its output:\n{done.stdout[-3000:]}")
    lines.append(
        f"Took {time.perf_counter() - started:.0f} s; {before} before, {load()} after (the benchmark itself "
        f"counts about 1; more means other work shared the {os.cpu_count()} cores with it)."
    )
    return "\n".join(lines) + "\n"


def begin_marker(name: str) -> str:
    return f"<!-- python -m benchmarks {name}: generated from here to the end marker, rewritten on every run -->"


def end_marker(name: str) -> str:
    return f"<!-- python -m benchmarks {name}: end -->"


def write_block(path: Path, name: str, block: str) -> None:
    """Put ``block`` between the benchmark's markers in ``path`` (appended under a heading if they are absent).

    >>> import tempfile
    >>> page = Path(tempfile.mkdtemp()) / "page.md"
    >>> _ = page.write_text("# Title\\n\\nProse.\\n")
    >>> write_block(page, "x", "first\\n"); write_block(page, "x", "second\\n")
    >>> text = page.read_text(); text.startswith("# Title"), "first" in text, text.count("second")
    (True, False, 1)
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    generated = f"{begin_marker(name)}\n{block}{end_marker(name)}\n"
    pattern = re.compile(re.escape(begin_marker(name)) + r".*?" + re.escape(end_marker(name)) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: generated, text, count=1)
    else:
        heading = f"## Latest run of `python -m benchmarks {name}`\n\n"
        text = (text.rstrip("\n") + "\n\n" if text else "") + heading + generated
    path.write_text(text, encoding="utf-8")


def list_benchmarks() -> str:
    rows = ["| name | script | full run | writes | measures |", "|---|---|---:|---|---|"]
    for name, bench in BENCHMARKS.items():
        note = f" (needs {bench.needs.removeprefix('run:')})" if bench.needs else ""
        rows.append(
            f"| {name} | {bench.script} | ~{bench.minutes:g} min | benchmarks/{bench.table} | {bench.what}{note} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their durations, run nothing")
    parser.add_argument("--quick", action="store_true", help="tiny budgets; output to --out, tables untouched")
    parser.add_argument(
        "--out", type=Path, help="where scratch runs and --quick's Markdown go (default: a temp folder)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.list:
        print(list_benchmarks())
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="seqlab-bench-"))
    failed = []
    for name in args.names or list(BENCHMARKS):
        bench = BENCHMARKS[name]
        reason = missing(bench, quick=args.quick)
        if reason:
            print(f"{name}: skipped, {reason}", flush=True)
            continue
        print(f"{name}: running benchmarks/{bench.script}{' --quick' if args.quick else ''} ...", flush=True)
        try:
            block = run_bench(name, bench, quick=args.quick, work=out / name)
        except SystemExit as err:
            print(err, file=sys.stderr, flush=True)
            failed.append(name)
            continue
        target = out / bench.table if args.quick else HERE / bench.table
        if args.quick or not bench.writes_itself:
            write_block(target, name, block)
        print(f"{name}: done, {target}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
