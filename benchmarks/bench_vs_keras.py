"""Issue 13, aim 2: seqlab and Keras side by side, same model, same data, same machine.

For each cell (SimpleRNN, LSTM, GRU) and two tasks, Keras (TensorFlow backend) trains first, then seqlab,
each in its own subprocess of this one, both pinned to the same thread count, timed with the same clock
(``time.perf_counter`` around the training call, and ``time.process_time`` for the CPU time it took) and
measured with the same peak-RSS method (each worker's ``VmHWM`` at its end):

- sentiment: the course's biLSTM on Rotten Tomatoes snippets as the Keras notebook writes it (vocabulary
  20,000, pad to 64, Embedding x128, Bidirectional(cell 128, return_sequences), global max pooling,
  dropout 0.4, batch 64, lr 2e-3), on seqlab's split; the texts are tokenized once, by seqlab, and Keras
  gets the same id arrays post-padded to 64;
- char LM: a slice of the Shakespeare plays, Embedding 64, one cell layer of 384, Dense to the vocabulary,
  block 128, batch 32; Keras reads exactly the windows seqlab draws, epoch by epoch, in the same order.

TensorFlow and Keras live in the opt-in ``bench`` extra, in their own environment (never in ``.venv``)::

    make bench-keras                     # creates/reuses .venv-bench, runs this, writes benchmarks/keras.md
    .venv-bench/bin/python benchmarks/bench_vs_keras.py --smoke     # tiny data, 1 epoch: checks the plumbing
    .venv/bin/python benchmarks/bench_vs_keras.py --levers          # seqlab only: what would close the gap

The Markdown goes to ``benchmarks/keras.md`` (``--out`` to change; ``--smoke`` prints it only); the analysis
written below its tables is kept when they are regenerated. About 12 minutes on 2 shared cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

CELLS = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
TASKS = ("sentiment", "lm")
ROOT = Path(__file__).resolve().parent.parent
SEED = 0

# The char LM, pinned here (not read from the shakespeare-char recipe, which may change): the model and
# optimizer both frameworks build.
LM_TOML = """\
name = "keras-bench-lm"
task = "language-model"
description = "Char LM on a Shakespeare slice for the Keras side by side."

[data]
dataset = "shakespeare"
tokenizer = "char"
block_size = 128
val_fraction = 0.05
test_fraction = 0.05
limit = {limit}

[model]
cell = "{cell}"
embed_dim = 64
hidden_size = 384
num_layers = 1
dropout = 0.0

[train]
optimizer = "adamw"
lr = 3e-3
weight_decay = 0.01
batch_size = 32
max_epochs = {epochs}
max_time = "1h"
schedule = "cosine"
warmup_steps = {warmup}
clip_norm = 1.0
precision = "{precision}"
eval_every = 250
eval_batches = 20
checkpoint_every = 250
final_eval_batches = 0
threads = {threads}

[sample]
max_tokens = 20
"""


# ----------------------------------------------------------------------------- data, prepared once by seqlab


def sentiment_overrides(cell: str, epochs: int, threads: int) -> list[str]:
    """The rotten-tomatoes-bilstm recipe with another cell, a fixed epoch count and the thread count."""
    return [
        f"model.cell={cell}",
        f"train.max_epochs={epochs}",
        'train.max_time="1h"',
        f"train.threads={threads}",
        "train.final_eval_batches=0",
    ]


def lm_config_text(cell: str, *, limit: int, epochs: int, warmup: int, precision: str, threads: int) -> str:
    """The pinned char-LM config as TOML."""
    return LM_TOML.format(cell=cell, limit=limit, epochs=epochs, warmup=warmup, precision=precision, threads=threads)


def prepare_sentiment(folder: Path, *, epochs: int, limit: int) -> dict[str, Any]:
    """Tokenize the snippets with seqlab's recipe and write the id arrays Keras reads; return the token counts."""
    from seqlab.config import load_config
    from seqlab.tasks import get_task

    overrides = sentiment_overrides("lstm", epochs, 0) + ([f"data.limit={limit}"] if limit else [])
    config = load_config("rotten-tomatoes-bilstm", overrides=overrides)
    prepared = get_task(config.task).prepare(config)
    task = prepared.data
    max_len = config.data.max_len
    arrays: dict[str, np.ndarray] = {}
    for split, (seqs, labels) in task.splits.items():
        x = np.zeros((len(seqs), max_len), dtype=np.int32)  # post-padded with PAD = 0, as the recipe pads
        for i, seq in enumerate(seqs):
            x[i, : len(seq)] = seq[:max_len]
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, labels.numpy().astype(np.int32)
    np.savez(folder / "sentiment.npz", **arrays)
    train_seqs = task.splits["train"][0]
    seqlab_padded = [sum(b.ids.numel() for b in task.train_batches(epoch)) for epoch in range(epochs)]
    return {
        "vocab_size": int(prepared.meta["vocab_size"]),
        "max_len": max_len,
        "batch_size": config.train.batch_size,
        "steps_per_epoch": len(task.train_batches(0)),
        "examples": {split: len(seqs) for split, (seqs, _) in task.splits.items()},
        "real_tokens_per_epoch": sum(min(len(s), max_len) for s in train_seqs),
        "padded_tokens_per_epoch": {"keras": len(train_seqs) * max_len, "seqlab": statistics.mean(seqlab_padded)},
        "overrides": overrides,
    }


def prepare_lm(folder: Path, *, epochs: int, limit: int, warmup: int) -> dict[str, Any]:
    """Tokenize the slice with seqlab, and write its splits and every epoch's window offsets for Keras."""
    from seqlab.config import load_config
    from seqlab.tasks import get_task

    path = folder / "lm-prepare.toml"
    path.write_text(lm_config_text("lstm", limit=limit, epochs=epochs, warmup=warmup, precision="fp32", threads=0))
    config = load_config(path)
    prepared = get_task(config.task).prepare(config)
    task = prepared.data
    epochs_starts = []
    for epoch in range(epochs):
        drawn = task.train_batches(epoch).starts
        epochs_starts.append(np.stack([drawn[i].numpy() for i in range(len(drawn))]))  # (batches, B)
    val = task.split_batches("val")
    val_starts = val.starts.numpy() if len(val) else np.zeros((0, config.train.batch_size), dtype=np.int64)
    np.savez(
        folder / "lm.npz",
        train_ids=np.asarray(task.splits["train"], dtype=np.int32),
        val_ids=np.asarray(task.splits["val"], dtype=np.int32),
        train_starts=np.stack(epochs_starts),  # (epochs, batches, B)
        val_starts=val_starts,  # (val batches, B), consecutive non-overlapping windows
    )
    steps = epochs_starts[0].shape[0]
    tokens = steps * config.train.batch_size * config.data.block_size
    return {
        "vocab_size": int(prepared.meta["vocab_size"]),
        "block_size": config.data.block_size,
        "batch_size": config.train.batch_size,
        "steps_per_epoch": steps,
        "chars": {split: len(ids) for split, ids in task.splits.items()},
        "real_tokens_per_epoch": tokens,
        "padded_tokens_per_epoch": {"keras": tokens, "seqlab": tokens},
    }


# ----------------------------------------------------------------------------- the workers (one subprocess each)


def keras_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Train the Keras model of ``spec`` and return its timings and final metric."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf

    threads = spec["threads"]
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras
    from keras import layers

    keras.utils.set_random_seed(SEED)
    cell = getattr(layers, CELLS[spec["cell"]])
    data = np.load(Path(spec["folder"]) / f"{spec['task']}.npz")
    epoch_times: list[float] = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epoch_times.append(time.perf_counter() - self.start)

    if spec["task"] == "sentiment":
        model = keras.Sequential(
            [
                keras.Input((spec["max_len"],), dtype="int32"),
                layers.Embedding(spec["vocab_size"], 128),
                layers.Dropout(0.4),  # seqlab's classifier drops the embeddings too
                layers.Bidirectional(cell(128, return_sequences=True)),
                layers.GlobalMaxPooling1D(),
                layers.Dropout(0.4),
                layers.Dense(2),
            ]
        )
        optimizer = keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=0.01, global_clipnorm=1.0)
        optimizer.exclude_from_weight_decay(var_names=["bias"])  # seqlab decays weight matrices only
        model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=3, restore_best_weights=True)
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(
            data["x_train"],
            data["y_train"],
            batch_size=spec["batch_size"],
            epochs=spec["epochs"],
            validation_data=(data["x_val"], data["y_val"]),
            shuffle=True,
            callbacks=[EpochClock(), stop],
            verbose=0,
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        _, accuracy = model.evaluate(data["x_test"], data["y_test"], batch_size=spec["batch_size"], verbose=0)
        return {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "epoch_times": epoch_times,
            "epochs": len(epoch_times),
            "metric": accuracy,
        }

    block, batch = spec["block_size"], spec["batch_size"]
    offsets = np.arange(block + 1)
    train_ids, starts = data["train_ids"], data["train_starts"]  # (N,), (epochs, batches, B)
    steps = starts.shape[0] * starts.shape[1]

    class SeqlabCosine(keras.optimizers.schedules.LearningRateSchedule):
        """seqlab's CosineSchedule: warmup to lr * (step + 1) / warmup, then half a cosine to 0 at the last step."""

        def __init__(self, lr: float, warmup: int, total: int) -> None:
            self.lr, self.warmup, self.total = lr, warmup, total

        def __call__(self, step: Any) -> Any:
            step = keras.ops.cast(step, "float32")
            warm = keras.ops.minimum(1.0, (step + 1.0) / max(self.warmup, 1))
            progress = keras.ops.clip((step - self.warmup) / max(1, self.total - self.warmup), 0.0, 1.0)
            cosine = 0.5 * (1.0 + keras.ops.cos(np.pi * progress))
            return self.lr * keras.ops.where(step < self.warmup, warm, cosine)

        def get_config(self) -> dict[str, Any]:
            return {"lr": self.lr, "warmup": self.warmup, "total": self.total}

    model = keras.Sequential(
        [
            keras.Input((block,), dtype="int32"),
            layers.Embedding(spec["vocab_size"], 64),
            cell(384, return_sequences=True),
            layers.Dense(spec["vocab_size"]),
        ]
    )
    optimizer = keras.optimizers.AdamW(
        learning_rate=SeqlabCosine(3e-3, spec["warmup"], steps), weight_decay=0.01, global_clipnorm=1.0
    )
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seconds = cpu = 0.0
    for epoch in range(starts.shape[0]):
        windows = train_ids[starts[epoch].reshape(-1, 1) + offsets]  # (batches * B, T + 1), seqlab's order
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(windows[:, :-1], windows[:, 1:], batch_size=batch, epochs=1, shuffle=False, verbose=0)
        epoch_times.append(time.perf_counter() - start)
        seconds, cpu = seconds + epoch_times[-1], cpu + time.process_time() - cpu_start
    val = data["val_ids"][data["val_starts"].reshape(-1, 1) + offsets]
    loss = model.evaluate(val[:, :-1], val[:, 1:], batch_size=batch, verbose=0)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "epoch_times": epoch_times,
        "epochs": len(epoch_times),
        "metric": float(loss),
    }


def seqlab_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Train with ``seqlab.train`` (the recipe's own loop, checkpoints and validation) and return the same figures."""
    from io import StringIO

    from rich.console import Console

    from seqlab.config import load_config
    from seqlab.run import train
    from seqlab.training import Callback

    folder, cell, threads = Path(spec["folder"]), spec["cell"], spec["threads"]
    if spec["task"] == "sentiment":
        config = load_config(
            "rotten-tomatoes-bilstm", overrides=sentiment_overrides(cell, spec["epochs"], threads) + spec["extra"]
        )
    else:
        path = folder / f"lm-{cell}.toml"
        path.write_text(
            lm_config_text(
                cell,
                limit=spec["limit"],
                epochs=spec["epochs"],
                warmup=spec["warmup"],
                precision=spec["precision"],
                threads=threads,
            )
        )
        config = load_config(path)
    per_epoch = spec["steps_per_epoch"]
    clock: dict[str, Any] = {"marks": []}

    class Clock(Callback):
        def on_train_start(self, state: Any) -> None:
            clock["start"], clock["cpu"] = time.perf_counter(), time.process_time()
            clock["marks"] = [clock["start"]]

        def on_step_end(self, state: Any, metrics: dict[str, float]) -> None:
            clock["step"] = state.step
            if state.step % per_epoch == 0:
                clock["marks"].append(time.perf_counter())

        def on_train_end(self, state: Any) -> None:
            clock["end"], clock["cpu"] = time.perf_counter(), time.process_time() - clock["cpu"]

    run_dir = folder / f"run-{spec['task']}-{cell}"
    train(config, run_dir=run_dir, console=Console(file=StringIO()), force=True, callbacks=[Clock()])
    final = json.loads((run_dir / "final_metrics.json").read_text())
    meta = json.loads((run_dir / "meta.json").read_text())
    metric = final["test"]["accuracy"] if spec["task"] == "sentiment" else final["val"]["loss"]
    marks = clock["marks"]
    return {
        "seconds": clock["end"] - clock["start"],
        "cpu_seconds": clock["cpu"],
        "epoch_times": [b - a for a, b in zip(marks, marks[1:])],
        "epochs": clock["step"] / per_epoch,
        "metric": metric,
        "precision": meta.get("precision"),
    }


# ----------------------------------------------------------------------------- the parent: run, measure, write


@dataclass
class Result:
    """One framework's figures for one task and cell."""

    task: str
    cell: str
    framework: str
    seconds: float
    cpu_seconds: float
    epochs: float
    epoch_times: list[float]
    metric: float
    peak_rss_mb: float
    wall: float
    real_tokens: float
    padded_tokens: float
    precision: str

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(self.epochs, 1e-9)

    @property
    def cpu_per_epoch(self) -> float:
        return self.cpu_seconds / max(self.epochs, 1e-9)

    @property
    def real_rate(self) -> float:
        return self.real_tokens / self.seconds

    @property
    def padded_rate(self) -> float:
        return self.padded_tokens / self.seconds


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM) in MB.

    Read by each worker at its very end. ``ru_maxrss`` of a forked child is no good here: Linux carries the
    parent's high-water mark across fork and exec, so every child would report at least the parent's peak.
    """
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run_worker(framework: str, spec: dict[str, Any], threads: int) -> tuple[dict[str, Any], float]:
    """Run one worker subprocess; return its result (with its peak RSS) and its wall time."""
    folder = Path(spec["folder"])
    spec_path = folder / f"spec-{framework}-{spec['task']}-{spec['cell']}.json"
    out_path = spec_path.with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec))
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(threads),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--worker", framework, str(spec_path), str(out_path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = child.communicate()
    wall = time.perf_counter() - start
    if child.returncode != 0 or not out_path.exists():
        sys.exit(f"the {framework} worker for {spec['task']} / {spec['cell']} failed:\n{output[-4000:]}")
    return json.loads(out_path.read_text()), wall


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{name} {version(name)}" for name in ("torch", "tensorflow-cpu", "keras", "seqlab"))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def markdown(results: list[Result], context: dict[str, Any]) -> str:
    """The table with ratios, and how it was made."""
    lines = [
        "# seqlab vs Keras, side by side (issue 13, aim 2)",
        "",
        f"Command: `{context['command']}`  ",
        f"Machine: {context['machine']}, {context['threads']} threads per framework (torch `set_num_threads`, "
        "TensorFlow intra-/inter-op, OMP_NUM_THREADS)  ",
        f"Versions: {context['versions']}  ",
        f"Date: {context['date']}; load average before / after: {context['load_before']} -> {context['load_after']}"
        f"{' (the machine was shared: other work ran beside it)' if context['shared'] else ''}",
        "",
        "Each row pair is Keras then seqlab, run back to back in subprocesses of one parent, timed with the same "
        "clock around the training call (validation passes inside training included; process start, imports, data "
        "loading and the final evaluation excluded), and with the process's CPU time over the same span (CPU "
        "s / epoch: the figure a busy machine disturbs least); peak memory is each worker's `VmHWM` at its end "
        "(the whole process: imports, data, training, final evaluation).",
        "",
        "| task | cell | framework | precision | epochs | s / epoch | CPU s / epoch | real tok/s | padded tok/s "
        "| peak RSS MB | metric |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    metric_name = {"sentiment": "test accuracy", "lm": "val nats/char"}
    ratios = []
    for task in TASKS:
        for cell in CELLS:
            pair = {r.framework: r for r in results if r.task == task and r.cell == cell}
            if len(pair) < 2:
                continue
            for r in (pair["keras"], pair["seqlab"]):
                lines.append(
                    f"| {task} | {CELLS[cell]} | {r.framework} | {r.precision} | {r.epochs:.2f} | "
                    f"{r.seconds_per_epoch:.1f} | {r.cpu_per_epoch:.1f} | {r.real_rate:,.0f} | {r.padded_rate:,.0f} | "
                    f"{r.peak_rss_mb:,.0f} | "
                    f"{metric_name[task]} {r.metric:.4f} |"
                )
            k, s = pair["keras"], pair["seqlab"]
            better = s.metric >= k.metric if task == "sentiment" else s.metric <= k.metric
            verdict = "equal or better" if better else "worse"
            ratios.append(
                f"| {task} | {CELLS[cell]} | **{s.real_rate / k.real_rate:.2f}x** | "
                f"{k.cpu_per_epoch / s.cpu_per_epoch:.2f}x | "
                f"{k.peak_rss_mb / s.peak_rss_mb:.2f}x | {s.metric - k.metric:+.4f} ({verdict}) "
                f"| {'yes' if better and s.real_rate >= 3 * k.real_rate else 'no'} |"
            )
    lines += [
        "",
        "## Ratios (seqlab / Keras)",
        "",
        "| task | cell | real tokens/s | tokens per CPU second | less peak memory (Keras / seqlab) "
        "| metric, seqlab - Keras | aim: >= 3x at equal or better quality |",
        "|---|---|---:|---:|---:|---|---|",
        *ratios,
        "",
        "## What is compared",
        "",
        *context["notes"],
        "",
        "Per-epoch times (s), in order:",
        "",
    ]
    for r in results:
        lines.append(f"- {r.task} {CELLS[r.cell]} {r.framework}: " + ", ".join(f"{t:.1f}" for t in r.epoch_times))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- levers: what would close the gap


def _cpu_ms_per_step(one: Any, steps: int) -> float:
    """CPU milliseconds per call of ``one()``, after two warm-up calls."""
    for _ in range(2):
        one()
    start = time.process_time()
    for _ in range(steps):
        one()
    return (time.process_time() - start) / steps * 1000


def _sentiment_step(model: Any, optimizer: Any, task: Any, batches: Any, steps: Any) -> None:
    """One training step of the classifier on the next batch (forward, backward, clipping, the optimizer)."""
    import torch

    loss, _ = task.loss(model, batches[next(steps) % len(batches)])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def levers(cells: list[str], threads: int) -> str:
    """Measure, in this process, levers seqlab could pull; return a Markdown table.

    - the sentiment step (forward, backward, clipping, AdamW) with seqlab's optimizer as it is built today
      against torch's fused AdamW kernel over the same parameter groups;
    - the char-LM step in fp32 against bf16 autocast;
    - the classifier's test accuracy after the same 3 epochs when its embedding starts as Keras's does
      (uniform in +-0.05) instead of N(0, 1).
    """
    import torch
    import torch.nn.functional as F
    from rich.console import Console

    from seqlab.config import load_config
    from seqlab.models.language_model import RecurrentLM
    from seqlab.tasks import get_task
    from seqlab.training import evaluate
    from seqlab.training.optim import build_optimizer, split_parameters

    torch.set_num_threads(threads)
    rows = []
    for cell in cells:
        config = load_config("rotten-tomatoes-bilstm", overrides=sentiment_overrides(cell, 3, threads))
        kind = get_task(config.task)
        prepared = kind.prepare(config)
        task, batches = prepared.data, prepared.data.train_batches(0)
        timings = {}
        for name in ("as built", "fused AdamW"):
            torch.manual_seed(SEED)
            model = kind.build_model(config, prepared.meta).train()
            if name == "as built":
                optimizer = build_optimizer(model, config.train)
            else:
                weights, others = split_parameters(model)
                groups = [{"params": weights, "weight_decay": 0.01}, {"params": others, "weight_decay": 0.0}]
                optimizer = torch.optim.AdamW(groups, lr=config.train.lr, fused=True)
            steps = iter(range(10**9))
            one = partial(_sentiment_step, model, optimizer, task, batches, steps)
            timings[name] = _cpu_ms_per_step(one, 40)
        rows.append(
            f"| sentiment | {CELLS[cell]} | step, seqlab's optimizer -> torch's fused AdamW | "
            f"{timings['as built']:.1f} -> {timings['fused AdamW']:.1f} ms CPU "
            f"({timings['as built'] / timings['fused AdamW']:.2f}x) |"
        )
        torch.manual_seed(SEED)
        model = kind.build_model(config, prepared.meta)
        with torch.no_grad():
            torch.nn.init.uniform_(model.embed.weight, -0.05, 0.05)
            model.embed.weight[0].zero_()  # PAD's row, as nn.Embedding(padding_idx=0) keeps it
        with tempfile.TemporaryDirectory(prefix="bench-keras-lever-") as tmp:
            kind.fit(model, task, config.train, run_dir=Path(tmp), console=Console(quiet=True))
        accuracy = evaluate(model, task, task.split_batches("test"))["accuracy"]
        rows.append(
            f"| sentiment | {CELLS[cell]} | test accuracy after 3 epochs, embedding initialised uniform +-0.05 "
            f"(Keras's default) instead of N(0, 1) | {accuracy:.4f} |"
        )
    ids = torch.randint(1, 69, (32, 129), generator=torch.Generator().manual_seed(SEED))
    for cell in cells:
        timings = {}
        for precision in ("fp32", "bf16"):
            torch.manual_seed(SEED)
            lm = RecurrentLM(69, cell=cell, embed_dim=64, hidden_size=384)
            optimizer = torch.optim.AdamW(lm.parameters(), lr=3e-3)

            def step(lm: Any = lm, optimizer: Any = optimizer, precision: str = precision) -> None:
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                    logits, _ = lm(ids[:, :-1])
                    loss = F.cross_entropy(logits.flatten(0, 1).float(), ids[:, 1:].flatten())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
                optimizer.step()

            timings[precision] = _cpu_ms_per_step(step, 8)
        rows.append(
            f"| char LM | {CELLS[cell]} | step (B 32, T 128, H 384), fp32 -> bf16 autocast | "
            f"{timings['fp32']:.0f} -> {timings['bf16']:.0f} ms CPU ({timings['fp32'] / timings['bf16']:.2f}x) |"
        )
    return "\n".join(
        [
            f"Levers measured with `benchmarks/bench_vs_keras.py --levers --threads {threads}` "
            f"({datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, load average {load_average()}):",
            "",
            "| task | cell | lever | figure |",
            "|---|---|---|---|",
            *rows,
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 epoch: check the plumbing, print only")
    parser.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated: rnn, lstm, gru")
    parser.add_argument("--tasks", default="sentiment,lm", help="comma-separated: sentiment, lm")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for each framework (1: on a shared machine torch's OpenMP threads stall each other; "
        "try 2 on an idle one)",
    )
    parser.add_argument("--sentiment-epochs", type=int, default=3)
    parser.add_argument("--lm-epochs", type=int, default=2)
    parser.add_argument("--lm-chars", type=int, default=300_000, help="characters of the Shakespeare slice")
    parser.add_argument("--lm-precision", default="auto", help="seqlab's train.precision for the LM (auto: bf16 here)")
    parser.add_argument("--levers", action="store_true", help="measure what would close the gap (seqlab only)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "keras.md"))
    parser.add_argument("--worker", nargs=3, metavar=("FRAMEWORK", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        framework, spec_path, out_path = args.worker
        spec = json.loads(Path(spec_path).read_text())
        result = (keras_worker if framework == "keras" else seqlab_worker)(spec)
        result["peak_rss_mb"] = peak_rss_mb()
        Path(out_path).write_text(json.dumps(result))
        return

    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    if args.levers:
        print(levers(cells, args.threads))
        return
    import importlib.util

    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("tensorflow") is None:
        sys.exit(
            "error: this benchmark needs TensorFlow and Keras (the opt-in `bench` extra); run `make bench-keras`, "
            'or `pip install -e ".[bench]"` into a separate environment'
        )
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for cell in cells:
        if cell not in CELLS:
            sys.exit(f"error: --cells takes {', '.join(CELLS)} (got {cell!r})")
    for task in tasks:
        if task not in TASKS:
            sys.exit(f"error: --tasks takes {', '.join(TASKS)} (got {task!r})")
    if args.smoke:
        args.sentiment_epochs, args.lm_epochs, args.lm_chars = 1, 1, 60_000
    sentiment_limit = 1500 if args.smoke else 0
    warmup = 10 if args.smoke else 100

    load_before = load_average()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-keras-") as tmp:
        folder = Path(tmp)
        for task in tasks:
            if task == "sentiment":
                facts = prepare_sentiment(folder, epochs=args.sentiment_epochs, limit=sentiment_limit)
                epochs = args.sentiment_epochs
            else:
                facts = prepare_lm(folder, epochs=args.lm_epochs, limit=args.lm_chars, warmup=warmup)
                epochs = args.lm_epochs
            print(f"{task}: {json.dumps({k: v for k, v in facts.items() if k != 'overrides'})}", flush=True)
            for cell in cells:
                spec = {
                    **facts,
                    "task": task,
                    "cell": cell,
                    "folder": str(folder),
                    "threads": args.threads,
                    "epochs": epochs,
                    "warmup": warmup,
                    "limit": args.lm_chars,
                    "precision": args.lm_precision,
                    "extra": [f"data.limit={sentiment_limit}"] if sentiment_limit else [],
                }
                for framework in ("keras", "seqlab"):
                    out, wall = run_worker(framework, spec, args.threads)
                    rss = out["peak_rss_mb"]
                    fraction = out["epochs"]
                    result = Result(
                        task=task,
                        cell=cell,
                        framework=framework,
                        seconds=out["seconds"],
                        cpu_seconds=out["cpu_seconds"],
                        epochs=fraction,
                        epoch_times=out["epoch_times"],
                        metric=out["metric"],
                        peak_rss_mb=rss,
                        wall=wall,
                        real_tokens=facts["real_tokens_per_epoch"] * fraction,
                        padded_tokens=facts["padded_tokens_per_epoch"][framework] * fraction,
                        precision=out.get("precision") or "fp32",
                    )
                    results.append(result)
                    print(
                        f"  {task} {cell} {framework}: {result.seconds:.1f} s for {fraction:.2f} epochs, "
                        f"{result.real_rate:,.0f} real tok/s, {rss:,.0f} MB, metric {result.metric:.4f} "
                        f"(load {load_average()})",
                        flush=True,
                    )
    command = (
        "make bench-keras"
        if not argv and not sys.argv[1:]
        else "benchmarks/bench_vs_keras.py " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    context = {
        "command": command,
        "machine": machine(),
        "threads": args.threads,
        "versions": versions(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load_before,
        "load_after": load_average(),
        "shared": float(load_before.split(" / ")[0]) > 0.5 * (os.cpu_count() or 1),
        "notes": NOTES,
    }
    text = markdown(results, context)
    if args.smoke:
        print(text)
    else:
        out = Path(args.out)
        old = out.read_text() if out.exists() else ""
        if KEPT in old:  # the written analysis below the tables stays when they are regenerated
            text += "\n" + old[old.index(KEPT) :]
        out.write_text(text)
        print(text)
        print(f"written to {args.out}")


KEPT = "<!-- Below this line: the analysis, written by hand; regenerating the tables above keeps it. -->"

NOTES = [
    "- Sentiment: seqlab's `rotten-tomatoes-bilstm` recipe with `model.cell` switched, both frameworks the same "
    "epoch count, AdamW (lr 2e-3, weight decay 0.01 on weight matrices, gradient norm clipped at 1), early "
    "stopping on validation accuracy with patience 3 and the best weights restored, test accuracy of the restored "
    "model. Keras gets seqlab's token ids post-padded to 64 and no mask, as the notebook; its model is seqlab's "
    "(dropout on the embeddings too, not only after pooling, and two logits); seqlab batches texts of "
    "similar length (length bucketing) and masks padding, so its padded tokens per epoch are close to the real "
    "ones. seqlab validates every 100 steps, Keras once per epoch.",
    "- Char LM: Embedding 64, one layer of 384, Dense to the vocabulary, block 128, batch 32, AdamW 3e-3 with "
    "seqlab's warmup-then-cosine schedule over the whole run (rewritten as a Keras schedule), same windows in the "
    "same order; the metric is the loss over the whole validation split in nats per character (lower is better). "
    "seqlab trains in its `precision` (auto: bf16 autocast where the CPU computes it natively, as the "
    "`shakespeare-char` recipe does); Keras in float32, its default.",
    "- real tokens/s counts the tokens of the texts (for the LM every window position); padded tokens/s counts "
    "every position the network ran over, padding included.",
]


if __name__ == "__main__":
    main()
