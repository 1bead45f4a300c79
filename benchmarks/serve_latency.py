"""Serving latency: time to first token and tokens/s at 1, 8 and 32 concurrent streams.

Starts ``seqlab serve RUN`` on a free 127.0.0.1 port (its own process, stopped at the end), then
streams ``/v1/completions`` replies of a fixed length (no stop string, so every reply is exactly
``--max-tokens`` tokens) and prints a Markdown table for benchmarks/serve.md.

    python benchmarks/serve_latency.py runs/chat-lm-... [--max-tokens 200] [--repeats 5]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a language-model run directory")
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5, help="rounds at 1 stream (8 and 32: 2 rounds each)")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()

    port = free_port()
    # stays open while the server writes to it; closed in the finally below
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"serve-bench-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "seqlab", "serve", f"bench={args.run}", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        url = f"http://127.0.0.1:{port}/v1/completions"
        asyncio.run(round_of(url, 1, 8, 0))  # warm-up: first-call costs of torch and the server
        from seqlab.run import load

        run = load(args.run)
        params = sum(p.numel() for p in run.model.parameters())
        m = run.config.model
        print(f"machine: nproc {os.cpu_count()}, {cpu_model()}; python {platform.python_version()}")
        print(
            f"model: {run.config.name}, {m.cell.upper()} {m.num_layers}x{m.hidden_size}, embed {m.embed_dim}, "
            f"{params:,} parameters, {run.config.data.tokenizer} tokenizer, vocabulary {run.tokenizer.vocab_size}"
        )
        print(f"reply: {args.max_tokens} tokens, prompt {len(PROMPT)} characters, temperature 0.8\n")
        print(
            "| streams | rounds | errors | first token median (ms) | first token p95 (ms) | "
            "tok/s per stream (median) | total tok/s |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for streams in [int(x) for x in args.concurrency.split(",")]:
            rounds = args.repeats if streams == 1 else 2
            results, errors, walls, tokens = [], 0, 0.0, 0
            for r in range(rounds):
                ok, bad, wall = asyncio.run(round_of(url, streams, args.max_tokens, 1000 * r))
                results += ok
                errors += bad
                walls += wall
                tokens += sum(x["tokens"] for x in ok)
            ttfts = sorted(x["ttft"] * 1000 for x in results)
            p95 = ttfts[min(len(ttfts) - 1, int(0.95 * len(ttfts)))] if ttfts else float("nan")
            rate = statistics.median(x["tokens"] / x["seconds"] for x in results) if results else float("nan")
            print(
                f"| {streams} | {rounds} | {errors} | {statistics.median(ttfts):.1f} | {p95:.1f} | "
                f"{rate:.0f} | {tokens / walls:.0f} |"
            )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


if __name__ == "__main__":
    main()
