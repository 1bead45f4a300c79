"""Serving latency: time to first token and tokens/s at 1, 8, 32 and 64 concurrent streams,
the batched engine and the thread-per-stream one side by side.

For each engine, starts ``seqlab serve RUN --engine ENGINE`` on a free 127.0.0.1 port (its own
process, stopped before the next), then streams ``/v1/completions`` replies of a fixed length (no
stop string, so every reply is ``--max-tokens`` tokens unless the model writes its end-of-text
token) and prints a Markdown table for benchmarks/serve.md (``--out FILE`` also writes it there).

    python benchmarks/serve_latency.py runs/shakespeare-char [--max-tokens 200] [--repeats 5]

Time to first token is measured from sending the request to receiving the first text piece;
tokens/s of a stream is its token count over its whole duration; "total tok/s" is all tokens of
a round over the round's wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROMPT = "User: hello, how are you?\nBot: "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def one_stream(client: httpx.AsyncClient, url: str, max_tokens: int, seed: int) -> dict:
    body = {
        "model": "bench",
        "prompt": PROMPT,
        "max_tokens": max_tokens,
        "temperature": 0.8,
        "seed": seed,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    first = None
    tokens = 0
    async with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {(await response.aread())[:200]!r}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                raise RuntimeError(event["error"]["message"])
            if event["choices"] and event["choices"][0]["text"] and first is None:
                first = time.perf_counter()
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
    end = time.perf_counter()
    return {"ttft": (first or end) - start, "tokens": tokens, "seconds": end - start}


async def round_of(url: str, streams: int, max_tokens: int, seed: int) -> tuple[list[dict], int, float]:
    limits = httpx.Limits(max_connections=streams + 4)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(one_stream(client, url, max_tokens, seed + i) for i in range(streams)), return_exceptions=True
        )
        wall = time.perf_counter() - start
    ok = [r for r in results if isinstance(r, dict)]
    errors = [r for r in results if not isinstance(r, dict)]
    for err in errors[:3]:
        print(f"  error: {err!r}", file=sys.stderr)
    return ok, len(errors), wall


def serve(run: str, engine: str) -> tuple[subprocess.Popen, str, object]:
    """``seqlab serve`` with ``engine`` on a free port; returns the process, the URL and its log."""
    port = free_port()
    # stays open while the server writes to it; closed by stop()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"serve-bench-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "seqlab", "serve", f"bench={run}", "--port", str(port), "--engine", engine],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise SystemExit("the server did not start")
    return proc, f"http://127.0.0.1:{port}/v1/completions", log


def stop(proc: subprocess.Popen, log: object) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()  # type: ignore[attr-defined]


def measure(url: str, streams: int, rounds: int, max_tokens: int) -> dict:
    """``rounds`` rounds of ``streams`` concurrent streams: first-token times, rates, errors."""
    results, errors, walls, tokens = [], 0, 0.0, 0
    for r in range(rounds):
        ok, bad, wall = asyncio.run(round_of(url, streams, max_tokens, 1000 * r))
        results += ok
        errors += bad
        walls += wall
        tokens += sum(x["tokens"] for x in ok)
    ttfts = sorted(x["ttft"] * 1000 for x in results)
    return {
        "rounds": rounds,
        "errors": errors,
        "ttft_median": statistics.median(ttfts) if ttfts else float("nan"),
        "ttft_p95": ttfts[min(len(ttfts) - 1, int(0.95 * len(ttfts)))] if ttfts else float("nan"),
        "rate": statistics.median(x["tokens"] / x["seconds"] for x in results) if results else float("nan"),
        "total": tokens / walls if walls else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a language-model run directory")
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5, help="rounds at 1 stream (more streams: 2 rounds each)")
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--engines", default="threads,batched", help="engines to measure, in this order")
    parser.add_argument("--out", help="also write the table (with the machine and model lines) to this file")
    args = parser.parse_args()

    from seqlab.run import load

    run = load(args.run)
    params = sum(p.numel() for p in run.model.parameters())
    m = run.config.model
    lines = [
        f"machine: nproc {os.cpu_count()}, {cpu_model()}; python {platform.python_version()}; "
        f"load average at start {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"model: {run.config.name}, {getattr(m, 'cell', 'model').upper()} {getattr(m, 'num_layers', '?')}x"
        f"{getattr(m, 'hidden_size', '?')}, {params:,} parameters, {run.config.data.tokenizer} tokenizer, "
        f"vocabulary {run.tokenizer.vocab_size}",
        f"reply: {args.max_tokens} tokens, prompt {len(PROMPT)} characters, temperature 0.8",
        "",
        "| streams | engine | rounds | errors | first token median (ms) | first token p95 (ms) | "
        "tok/s per stream (median) | total tok/s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    del run
    table: dict[tuple[str, int], dict] = {}
    concurrency = [int(x) for x in args.concurrency.split(",")]
    for engine in args.engines.split(","):
        proc, url, log = serve(args.run, engine)
        try:
            asyncio.run(round_of(url, 1, 8, 0))  # warm-up: first-call costs of torch and the server
            for streams in concurrency:
                table[engine, streams] = measure(url, streams, args.repeats if streams == 1 else 2, args.max_tokens)
                print(f"{engine} {streams}: {table[engine, streams]}", file=sys.stderr)
        finally:
            stop(proc, log)
    for streams in concurrency:
        for engine in args.engines.split(","):
            x = table[engine, streams]
            lines.append(
                f"| {streams} | {engine} | {x['rounds']} | {x['errors']} | {x['ttft_median']:.1f} | "
                f"{x['ttft_p95']:.1f} | {x['rate']:.0f} | {x['total']:.0f} |"
            )
    for engine in args.engines.split(","):
        if (engine, 1) in table:
            base = table[engine, 1]["total"]
            ratios = ", ".join(f"{n} streams {table[engine, n]['total'] / base:.1f}x" for n in concurrency[1:])
            lines.append(f"\n{engine}: total tok/s over the 1-stream figure: {ratios}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
