"""What a comparison records about each finished run: final metrics, size, speed, latency.

Final metrics come from the run's summary evaluation (``final_metrics.json``: the val and test
splits, with the best weights when early stopping is on); training time, steps, epochs and
tokens/s from ``metrics.jsonl``; inference latency is timed here on one validation example.

>>> flatten_metrics({"val": {"loss": 0.5, "accuracy": 0.8}, "test": {"loss": 0.6}})
{'val_loss': 0.5, 'val_accuracy': 0.8, 'test_loss': 0.6}
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seqlab.run import Run

LATENCY_REPEATS = 7


def flatten_metrics(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"val": {"loss": ..}}`` -> ``{"val_loss": ..}``."""
    return {f"{split}_{name}": float(value) for split, metrics in results.items() for name, value in metrics.items()}


def read_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of a run's metrics.jsonl (empty when there is none); a torn last line is skipped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a run killed mid-write
    return rows


def final_metrics(run_dir: str | Path) -> dict[str, float]:
    """The run's final val/test metrics, flattened (``val_loss``, ``test_accuracy``, ...).

    Read from ``final_metrics.json``; a run without it falls back to its last validation row.
    """
    path = Path(run_dir) / "final_metrics.json"
    if path.exists():
        return flatten_metrics(json.loads(path.read_text(encoding="utf-8")))
    rows = [r for r in read_records(run_dir) if r.get("split") == "val"]
    if not rows:
        return {}
    skip = {"step", "epoch", "time", "split", "lr", "tokens_per_s"}
    return {f"val_{k}": float(v) for k, v in rows[-1].items() if k not in skip and isinstance(v, (int, float))}


def training_facts(records: list[dict[str, Any]]) -> dict[str, float]:
    """Steps, epochs, training seconds and median training tokens/s from metrics.jsonl rows.

    >>> training_facts([{"step": 5, "epoch": 0.5, "time": 2.0, "split": "train", "tokens_per_s": 100.0}])
    {'steps': 5, 'epochs': 0.5, 'train_time': 2.0, 'tokens_per_s': 100.0}
    """
    if not records:
        return {"steps": 0, "epochs": 0.0, "train_time": 0.0, "tokens_per_s": 0.0}
    last = records[-1]
    speeds = [float(r["tokens_per_s"]) for r in records if r.get("split") == "train" and r.get("tokens_per_s")]
    return {
        "steps": int(last.get("step", 0)),
        "epochs": float(last.get("epoch", 0.0)),
        "train_time": float(last.get("time", 0.0)),
        "tokens_per_s": statistics.median(speeds) if speeds else 0.0,
    }


def inference_latency(run: Run) -> float | None:
    """Median milliseconds of one forward pass on one validation example (None if there is none).

    The data is read again with the run's tokenizer; the example is the first of the validation
    split (the first test or train example when validation is empty).
    """
    import torch

    from seqlab.data import Batch

    task = run.kind.prepare(run.config, preprocessing=run.preprocessing).data
    batches = next((b for b in (task.split_batches(s) for s in ("val", "test", "train")) if len(b)), None)
    if batches is None:
        return None
    batch = batches[0]
    if isinstance(batch, Batch):
        targets = None if batch.targets is None else batch.targets[:1]
        batch = Batch(batch.ids[:1], batch.lengths[:1], batch.mask[:1], targets)
    model = run.model.eval()
    times = []
    with torch.no_grad():
        for i in range(LATENCY_REPEATS + 2):
            started = time.perf_counter()
            task.evaluate(model, [batch])
            if i >= 2:  # the first calls warm up allocators and kernels
                times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def measure_run(run: Run, *, latency: bool = True) -> dict[str, Any]:
    """Everything a comparison table shows about one finished run.

    Args:
        run: a :class:`seqlab.run.Run` (from ``seqlab.run.train`` or ``seqlab.run.load``).
        latency: also time inference (reads the data again).

    Returns:
        ``metrics`` (flattened final metrics), ``params``, ``steps``, ``epochs``, ``train_time``,
        ``tokens_per_s`` and ``latency_ms`` (or None).
    """
    facts = training_facts(read_records(run.run_dir))
    return {
        "metrics": final_metrics(run.run_dir),
        "params": int(sum(p.numel() for p in run.model.parameters())),
        **facts,
        "latency_ms": inference_latency(run) if latency else None,
    }


__all__ = ["measure_run", "final_metrics", "flatten_metrics", "read_records", "training_facts", "inference_latency"]
