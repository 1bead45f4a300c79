"""Issue 16 benchmark: peak memory of `seqlab train` of shakespeare-char on 1 MB, 50 MB and 500 MB of text.

Run from the repository root (figures go to stdout as Markdown; copy them to benchmarks/memory.md):

    .venv/bin/python benchmarks/bench_memory.py                  # 1, 50 and 500 MB (~10 min, ~2 GB of disk)
    .venv/bin/python benchmarks/bench_memory.py --sizes 1 50     # what a busy machine allows

Each corpus is the catalog's ``shakespeare`` text repeated to the size, written to a temporary
folder. For each size, two real training runs (``seqlab train shakespeare-char --data CORPUS``,
20 steps, 5 final evaluation batches, tiny samples; see ``TRAIN``) run one after the other, each in
a fresh subprocess, with one token cache of their own (``SEQLAB_CACHE`` set to an empty temporary
folder): the first tokenizes the corpus into the token file, the second finds it in the cache.
The subprocess calls ``seqlab.cli.main`` itself, reads ``/proc/self/status`` after the imports
(baseline) and every 20 ms from a thread while training: ``VmHWM`` is the peak resident set the
kernel records; ``RssAnon`` is the process's own memory, ``RssFile`` the resident pages of mapped
files (the token map and the libraries among them): shared with every other process that maps the
file (each DDP rank), and dropped by the kernel under memory pressure, not swapped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MB = 1_000_000
TRAIN = [
    "train.max_steps=20",
    "train.final_eval_batches=5",
    "train.eval_every=10",
    "train.eval_batches=2",
    "train.checkpoint_every=20",
    "train.threads=1",
    "sample.num_samples=1",
    "sample.max_tokens=20",
]


def status() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of this process, in bytes."""
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def child(corpus: Path, run_dir: Path) -> dict:
    """Train shakespeare-char on ``corpus`` in this (fresh) process through the CLI; returns the figures."""
    import torch  # noqa: F401  (in the baseline, as in any training process)

    from seqlab.cli import main

    baseline = status()
    peak = {"RssAnon": 0, "RssFile": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            now = status()
            for key in peak:
                peak[key] = max(peak[key], now[key])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    args = ["train", "shakespeare-char", "--data", str(corpus), "--run-dir", str(run_dir), "--force"]
    for setting in TRAIN:
        args += ["--set", setting]
    try:
        main(args)
    except SystemExit as err:
        assert not err.code, f"seqlab train exited with {err.code}"
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    end = status()
    peak = {key: max(peak[key], end[key]) for key in peak}
    tokens = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))["tokens"]
    return {"baseline": baseline, "end": end, "peak": peak, "seconds": seconds, "tokens": sum(tokens.values())}


def make_corpus(shakespeare: Path, size: int, folder: Path) -> Path:
    """``shakespeare`` repeated to ``size`` bytes (cut at a line end), streamed to a file."""
    text = shakespeare.read_bytes()
    path = folder / f"corpus-{size // MB}mb.txt"
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = text[: size - written]
            if len(piece) < len(text):
                piece = piece[: piece.rfind(b"\n") + 1] or piece
            handle.write(piece)
            written += len(piece)
    return path


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    import torch

    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 50, 500], help="corpus sizes in MB")
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "RUN_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        corpus, run_dir = (Path(p) for p in args.child)
        print(json.dumps(child(corpus, run_dir)))
        return

    from seqlab.data import fetch

    shakespeare = fetch("shakespeare")
    print(f"Machine: {machine()}  \nCommand: `{' '.join([Path(sys.executable).name, *sys.argv])}`  ")
    print(f"Corpus: `shakespeare` ({shakespeare.stat().st_size / MB:.1f} MB) repeated; ", end="")
    print(f"`seqlab train shakespeare-char --data CORPUS` with {' '.join(TRAIN)}; sizes in MiB\n")
    print(
        "| text | run | tokens | wall s | baseline RSS | peak RSS (VmHWM) | peak above baseline "
        "| peak RssAnon | peak RssFile |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        for size in args.sizes:
            corpus = make_corpus(shakespeare, size * MB, Path(folder))
            cache = Path(folder) / f"cache-{size}"
            env = {**os.environ, "SEQLAB_CACHE": str(cache)}
            for run in ("1st (tokenizes)", "2nd (cached)"):
                command = [sys.executable, __file__, "--child", str(corpus), str(Path(folder) / f"run-{size}")]
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode:
                    sys.exit(f"{size} MB, {run} run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
                r = json.loads(done.stdout.strip().splitlines()[-1])
                hwm, base = r["end"]["VmHWM"], r["baseline"]["VmRSS"]
                print(
                    f"| {size} MB | {run} | {r['tokens']:,} | {r['seconds']:.0f} | {mib(base)} | {mib(hwm)} "
                    f"| {mib(hwm - base)} | {mib(r['peak']['RssAnon'])} | {mib(r['peak']['RssFile'])} |",
                    flush=True,
                )
            corpus.unlink()


if __name__ == "__main__":
    main()
