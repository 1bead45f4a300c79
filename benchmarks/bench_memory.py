"""Issue 16 benchmark: peak memory of a token file and its windows, for 1 MB, 50 MB and 500 MB of text.

Run from the repository root (figures go to stdout as Markdown; copy them to benchmarks/memory.md):

    .venv/bin/python benchmarks/bench_memory.py                  # 1, 50 and 500 MB (~2 min, ~1.5 GB of disk)
    .venv/bin/python benchmarks/bench_memory.py --sizes 1 50     # what a busy machine allows
    .venv/bin/python benchmarks/bench_memory.py --sizes 1 50 --in-memory   # also the old way, for contrast

Each corpus is the catalog's ``shakespeare`` text repeated to the size, written to a temporary
folder. Each measurement runs in a fresh subprocess (so one size's pages cannot flatter the
next), with its own empty token cache: fit a char tokenizer on the Shakespeare text, build the
token file (streaming, :func:`seqlab.data.tokens.token_file`), open it again (a cache hit), then
read one epoch of random (batch_size, block_size) windows through
:class:`~seqlab.data.tokens.TokenWindows`, as training does. ``/proc/self/status`` is read
after the imports (baseline), after building, and every 100 batches: ``VmHWM`` is the peak
resident set the kernel records; ``RssAnon`` is the process's own memory, ``RssFile`` the pages of
mapped files (the token map among them) that are resident: shared with every other process that
maps the file (each DDP rank), and dropped by the kernel under memory pressure, not swapped.
``--in-memory`` adds the way the language-model task reads a corpus today (the whole text as a
``str``, ``tokenizer.encode`` of it, a ``torch.long`` tensor of the ids).
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

MB = 1_000_000


def status() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of this process, in bytes."""
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def child(corpus: Path, shakespeare: Path, *, block_size: int, batch_size: int, in_memory: bool) -> dict:
    """Measure one corpus in this (fresh) process; returns the figures."""
    import numpy as np
    import torch

    from seqlab.data.readers import read_text
    from seqlab.data.tokens import TokenWindows, token_file
    from seqlab.text import CharTokenizer

    torch.set_num_threads(1)
    tokenizer = CharTokenizer.fit(read_text(shakespeare))
    result: dict = {"baseline": status()}
    if in_memory:
        start = time.perf_counter()
        ids = torch.tensor(tokenizer.encode(read_text(corpus)), dtype=torch.long)
        result.update(tokens=len(ids), dtype="int64 (in memory)", build_s=time.perf_counter() - start)
        result["built"] = status()
        return result
    with tempfile.TemporaryDirectory(prefix="bench-memory-cache-") as cache:
        start = time.perf_counter()
        tokens = token_file(corpus, tokenizer, root=Path(cache))
        result.update(tokens=len(tokens), dtype=tokens.ids.dtype.name, build_s=time.perf_counter() - start)
        result["built"] = status()
        start = time.perf_counter()
        again = token_file(corpus, tokenizer, root=Path(cache))
        assert again.from_cache
        result["reopen_s"] = time.perf_counter() - start
        num_batches = max(1, len(again) // (block_size * batch_size))
        windows = TokenWindows.random(again.ids, block_size, num_batches=num_batches, batch_size=batch_size, seed=0)
        peak = {"RssAnon": 0, "RssFile": 0}
        start, checksum = time.perf_counter(), 0
        for i in range(len(windows)):
            x, y = windows[i]
            checksum += int(x[:, 0].sum()) + int(y[:, -1].sum())
            if i % 100 == 0 or i == len(windows) - 1:
                now = status()
                peak = {key: max(peak[key], now[key]) for key in peak}
        result.update(iterate_s=time.perf_counter() - start, batches=len(windows), peak=peak, end=status())
        assert checksum > 0 and isinstance(again.ids, np.memmap)
    return result


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
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--in-memory", action="store_true", help="also measure the whole-text, in-memory way")
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "SHAKESPEARE"), help=argparse.SUPPRESS)
    parser.add_argument("--child-in-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        corpus, shakespeare = (Path(p) for p in args.child)
        figures = child(
            corpus,
            shakespeare,
            block_size=args.block_size,
            batch_size=args.batch_size,
            in_memory=args.child_in_memory,
        )
        print(json.dumps(figures))
        return

    from seqlab.data import fetch

    shakespeare = fetch("shakespeare")
    print(f"Machine: {machine()}  \nCommand: `{' '.join([Path(sys.executable).name, *sys.argv])}`  ")
    print(f"Corpus: `shakespeare` ({shakespeare.stat().st_size / MB:.1f} MB) repeated; char tokenizer; ", end="")
    print(f"block_size {args.block_size}, batch_size {args.batch_size}; sizes in MiB\n")
    print(
        "| text | way | tokens | dtype | build s | reopen s | epoch s (batches) | baseline RSS | peak RSS "
        "(VmHWM) | peak above baseline | peak RssAnon | peak RssFile |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ways = [("token file", False)] + ([("in memory", True)] if args.in_memory else [])
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        for size in args.sizes:
            corpus = make_corpus(shakespeare, size * MB, Path(folder))
            for way, in_memory in ways:
                command = [sys.executable, __file__, "--child", str(corpus), str(shakespeare)]
                command += ["--block-size", str(args.block_size), "--batch-size", str(args.batch_size)]
                command += ["--child-in-memory"] if in_memory else []
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                hwm = (r.get("end") or r["built"])["VmHWM"]
                base = r["baseline"]["VmRSS"]
                # the in-memory way is not sampled while it runs: its RssAnon / RssFile are at the end
                peak = r.get("peak", {"RssAnon": r["built"]["RssAnon"], "RssFile": r["built"]["RssFile"]})
                at = "" if "peak" in r else " (end)"
                epoch = f"{r['iterate_s']:.1f} ({r['batches']})" if "iterate_s" in r else "-"
                reopen = f"{r['reopen_s']:.2f}" if "reopen_s" in r else "-"
                print(
                    f"| {size} MB | {way} | {r['tokens']:,} | {r['dtype']} | {r['build_s']:.1f} | {reopen} | {epoch} "
                    f"| {mib(base)} | {mib(hwm)} | {mib(hwm - base)} "
                    f"| {mib(peak['RssAnon'])}{at} | {mib(peak['RssFile'])}{at} |",
                    flush=True,
                )
            corpus.unlink()


if __name__ == "__main__":
    main()
