"""Issue 12 benchmark: streaming detokenization, the old re-decoding algorithm against TextStream.

Run from the repository root (a Markdown table goes to stdout; copy it to benchmarks/detok.md):

    .venv/bin/python benchmarks/bench_detok.py                      # 1,600 and 16,000 ids (~6 min)
    .venv/bin/python benchmarks/bench_detok.py --sizes 1600 --old-limit 10

For every tokenizer in ``seqlab.text``, fitted on real text from the catalog (the ``shakespeare``
text for char, word and bpe, the Korean side of ``en-ko`` for syllable, jamo, morpheme and bpe;
minilm is the pretrained MiniLM vocabulary), the ids of the same real text are streamed to text
twice, side by side in this one process: by the algorithm ``decode_stream`` had before (re-decode
every id so far at every new id, yield the new suffix; a verbatim copy below) and by
:class:`seqlab.decode.TextStream`. Each is timed with ``time.perf_counter`` over the whole
stream, pushes and flush; the texts are compared. Where the old algorithm would need more than
``--old-limit`` seconds (estimated as 100 times its 1,600-id time, as it is quadratic), it is not
run and the estimate is shown instead.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence

from seqlab.decode import TextStream
from seqlab.text import (
    BPETokenizer,
    CharTokenizer,
    JamoTokenizer,
    MiniLMTokenizer,
    MorphemeTokenizer,
    SyllableTokenizer,
    WordTokenizer,
)

TRAIN_CHARS = 300_000  # of each text, for fitting the tokenizers


def old_decode_stream(tokenizer, ids: Iterator[int], *, stop: Sequence[str] = ()) -> Iterator[str]:
    """decode_stream before streaming decoders, verbatim (the reference; quadratic)."""
    seen: list[int] = []
    sent = ""
    for token in ids:
        seen.append(token)
        text = tokenizer.decode(seen)
        if text.endswith("\ufffd"):
            continue  # an incomplete multi-byte character; wait for the rest
        text = text.replace("\ufffd", "")  # what is still undecodable after more ids never will be
        if stop:
            cut = min((i for i in (text.find(s, max(0, len(sent) - len(s))) for s in stop) if i >= 0), default=-1)
            if cut >= 0:
                if cut > len(sent):
                    yield text[len(sent) : cut]
                return
        if len(text) > len(sent):
            yield text[len(sent) :]
            sent = text


def texts() -> tuple[str, str]:
    """(English, Korean): the catalog's shakespeare text, and the Korean sentences of en-ko."""
    from seqlab.data.fetching.catalog import fetch

    english = fetch("shakespeare").read_text(encoding="utf-8")
    with fetch("en-ko").open(encoding="utf-8") as lines:
        korean = "\n".join(json.loads(line)["target"] for line in lines)
    return english, korean


def tokenizers(english: str, korean: str) -> dict[str, tuple[Callable[[], object], str]]:
    """name -> (build the tokenizer, the text whose ids are streamed)."""
    en, ko = english[:TRAIN_CHARS], korean[:TRAIN_CHARS]
    mixed = "\n".join(a + "\n" + b for a, b in zip(en.splitlines(), ko.splitlines()))
    return {
        "char": (lambda: CharTokenizer.fit(en), en),
        "word": (lambda: WordTokenizer.fit(en, vocab_size=10_000, lowercase=True), en),
        "bpe (en + ko)": (lambda: BPETokenizer.fit(en + ko, vocab_size=4096), mixed),
        "syllable": (lambda: SyllableTokenizer.fit(ko, vocab_size=2_000), ko),
        "jamo": (lambda: JamoTokenizer.fit(ko), ko),
        "morpheme": (lambda: MorphemeTokenizer.fit(ko[:60_000], vocab_size=8_000), ko),
        "minilm": (lambda: MiniLMTokenizer.fit([]), en),
    }


def ids_of(tok, text: str, n: int) -> list[int]:
    """The first n ids of text (read a line at a time until there are enough)."""
    ids: list[int] = []
    lines = text.splitlines(keepends=True)
    for start in range(0, len(lines), 200):
        ids += tok.encode("".join(lines[start : start + 200]))
        if len(ids) >= n:
            return ids[:n]
    raise SystemExit(f"the text gives only {len(ids)} ids; {n} are asked for")


def timed(fn: Callable[[], str]) -> tuple[float, str]:
    start = time.perf_counter()
    text = fn()
    return time.perf_counter() - start, text


def new_text_of(tok, ids: Sequence[int]) -> str:
    stream = TextStream(tok)
    return "".join(stream.push(i) for i in ids) + stream.flush()


def old_text_of(tok, ids: Sequence[int]) -> str:
    return "".join(old_decode_stream(tok, iter(ids)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_600, 16_000])
    parser.add_argument("--old-limit", type=float, default=200.0, help="seconds the old algorithm may take per row")
    parser.add_argument("--only", nargs="*", help="tokenizer names to run (default all)")
    args = parser.parse_args()

    english, korean = texts()
    print(f"Command: `{' '.join(['.venv/bin/python', 'benchmarks/bench_detok.py', *sys.argv[1:]])}`")
    print(
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"load average at start {os.getloadavg()[0]:.1f}.\n"
    )
    print("| tokenizer | ids | chars | old s | TextStream ms | speed-up | TextStream µs/id | same text |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (build, text) in tokenizers(english, korean).items():
        if args.only and name not in args.only:
            continue
        tok = build()
        stream_new = functools.partial(new_text_of, tok)
        stream_old = functools.partial(old_text_of, tok)
        old_small: float | None = None
        smallest = 0
        for n in sorted(args.sizes):
            ids = ids_of(tok, text, n)
            new_s, new_text = timed(functools.partial(stream_new, ids))
            estimate = None if old_small is None else old_small * (n / smallest) ** 2
            if estimate is not None and estimate > args.old_limit:
                old_cell, speedup, same = f"~{estimate:.0f} (est.)", f"~{estimate / new_s:,.0f}x", "not run"
            else:
                old_s, old_text = timed(functools.partial(stream_old, ids))
                if old_small is None:
                    old_small, smallest = old_s, n
                full = tok.decode(ids).replace("\ufffd", "")
                same = (
                    "yes"
                    if old_text == new_text
                    else "yes + end"  # the old algorithm lost text decoded with a trailing bad byte
                    if full.startswith(old_text) and new_text == full
                    else "no: old garbled"  # re-decoding by length: jamo / contracted words change as ids arrive
                    if new_text == full
                    else "NO"
                )
                old_cell, speedup = f"{old_s:.2f}", f"{old_s / new_s:,.0f}x"
            chars = len(new_text)
            print(
                f"| {name} | {n:,} | {chars:,} | {old_cell} | {new_s * 1e3:.1f} | {speedup} | "
                f"{new_s / n * 1e6:.1f} | {same} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
