"""``metrics.jsonl``: one JSON object per line, train rows averaged between writes, val rows per pass.

Each row has ``step``, ``epoch`` (completed epochs as a fraction), ``time`` (seconds of training
so far), ``split`` (``"train"`` or ``"val"``), ``loss``, the task's other metrics, ``lr`` and
``tokens_per_s``. A train row is the unweighted mean of the per-step values since the previous
train row; the loop writes one every :func:`log_every` steps and at every validation pass. A val
row also says what it covers, in ``evaluated`` (:func:`evaluated`): ``"estimate: 20 of 56
batches"`` when ``train.eval_batches`` caps the pass (the same batches, drawn across the split,
at every pass), or ``"all 56 batches"``. The final evaluation over the whole split is in
``final_metrics.json`` and summary.md, not here.

>>> import tempfile
>>> from pathlib import Path
>>> log = MetricsLog(Path(tempfile.mkdtemp()) / "metrics.jsonl")
>>> log.add({"loss": 2.0}, tokens=10, seconds=0.5)
>>> log.add({"loss": 1.0}, tokens=10, seconds=0.5)
>>> log.write_train(step=2, epoch=0.5, time=1.0, lr=0.1)["loss"]
1.5
>>> [row["split"] for row in log.records()]
['train']
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from seqlab.rundir import write_atomic


def evaluated(count: int, total: int) -> str:
    """What a validation pass covers, as a val row and the progress line say it.

    Args:
        count: batches evaluated.
        total: batches in the validation split.

    >>> evaluated(20, 56), evaluated(56, 56)
    ('estimate: 20 of 56 batches', 'all 56 batches')
    """
    return f"estimate: {count} of {total} batches" if count < total else f"all {total} batches"


def training_note(records: list[dict[str, Any]]) -> str | None:
    """A sentence for summary.md saying what the validation figures logged during training cover.

    Args:
        records: rows of ``metrics.jsonl``.

    Returns:
        None when no val row says (a run logged before rows carried ``evaluated``).

    >>> training_note([{"split": "val", "evaluated": "estimate: 20 of 56 batches"}])[:60]
    'The val rows of metrics.jsonl, the val curve of curves.png a'
    """
    said = [row["evaluated"] for row in records if row.get("split") == "val" and isinstance(row.get("evaluated"), str)]
    if not said:
        return None
    where = "the val rows of metrics.jsonl, the val curve of curves.png and the progress line's val figures"
    if said[-1].startswith("estimate"):
        count = said[-1].removeprefix("estimate: ")
        return (
            f"{where[0].upper()}{where[1:]} are estimates made during training over {count} of the validation "
            "split, drawn across it (train.eval_batches; the same batches at every pass, fixed by train.seed); "
            "the final metrics above are the final evaluation."
        )
    return f"{where[0].upper()}{where[1:]} cover the whole validation split ({said[-1]})."


def log_every(eval_every: int) -> int:
    """Steps between train rows: a tenth of ``eval_every`` (at least 1), so each eval has ~10 train points.

    >>> log_every(200), log_every(5)
    (20, 1)
    """
    return max(1, eval_every // 10)


class MetricsLog:
    """Appends rows to ``metrics.jsonl`` and averages the train metrics between rows.

    Args:
        path: ``run_dir/metrics.jsonl``; None keeps the averages and writes nothing (the ranks of a
            distributed run other than 0).

    >>> import tempfile
    >>> from pathlib import Path
    >>> log = MetricsLog(Path(tempfile.mkdtemp()) / "metrics.jsonl")
    >>> _ = log.write(step=10, epoch=0.1, time=2.0, split="val", metrics={"loss": 1.0}, lr=0.01, tokens_per_s=900.0)
    >>> _ = log.write(step=20, epoch=0.2, time=4.0, split="val", metrics={"loss": 0.9}, lr=0.01, tokens_per_s=900.0)
    >>> log.truncate_after(10)
    >>> [row["step"] for row in log.records()]
    [10]
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else Path(path)
        self._sums: dict[str, float] = {}
        self._steps = 0
        self._tokens = 0
        self._seconds = 0.0

    def add(self, metrics: dict[str, float], *, tokens: int, seconds: float) -> None:
        """Accumulate one training step's metrics, token count and duration."""
        for name, value in metrics.items():
            self._sums[name] = self._sums.get(name, 0.0) + float(value)
        self._steps += 1
        self._tokens += tokens
        self._seconds += seconds

    def write_train(self, *, step: int, epoch: float, time: float, lr: float) -> dict[str, Any] | None:
        """Write the mean of the steps since the last train row (nothing if there were none)."""
        if not self._steps:
            return None
        means = {name: total / self._steps for name, total in self._sums.items()}
        row = self.write(
            step=step,
            epoch=epoch,
            time=time,
            split="train",
            metrics=means,
            lr=lr,
            tokens_per_s=self._tokens / self._seconds if self._seconds > 0 else 0.0,
        )
        self._sums, self._steps, self._tokens, self._seconds = {}, 0, 0, 0.0
        return row

    def write(
        self,
        *,
        step: int,
        epoch: float,
        time: float,
        split: str,
        metrics: dict[str, float],
        lr: float,
        tokens_per_s: float,
        evaluated: str | None = None,
    ) -> dict[str, Any]:
        """Append one row and return it (``evaluated``: what a val row covers, see :func:`evaluated`)."""
        row: dict[str, Any] = {"step": step, "epoch": round(epoch, 6), "time": round(time, 3), "split": split}
        row.update({name: float(value) for name, value in metrics.items()})
        row.update({"lr": lr, "tokens_per_s": round(tokens_per_s, 1)})
        if evaluated is not None:
            row["evaluated"] = evaluated
        if self.path is None:
            return row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        return row

    def records(self) -> list[dict[str, Any]]:
        """All complete rows in the file (a half-written last line is skipped)."""
        if self.path is None or not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return rows

    def truncate_after(self, step: int) -> None:
        """Keep only rows with ``row["step"] <= step`` (a resume from the checkpoint at ``step``)."""
        if self.path is None:
            return
        kept = [row for row in self.records() if row.get("step", 0) <= step]
        write_atomic(self.path, "".join(json.dumps(row) + "\n" for row in kept))

    def state_dict(self) -> dict[str, Any]:
        """The pending (unwritten) train averages, for a checkpoint."""
        return {"sums": self._sums, "steps": self._steps, "tokens": self._tokens, "seconds": self._seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._sums, self._steps = dict(state["sums"]), state["steps"]
        self._tokens, self._seconds = state["tokens"], state["seconds"]


def save_curves(records: list[dict[str, Any]], path: str | os.PathLike[str]) -> Path | None:
    """Draw the loss and metric curves with ``seqlab.viz.curves.plot_curves`` and save them (Agg, atomic).

    Args:
        records: rows as in ``metrics.jsonl``.
        path: e.g. ``run_dir/curves.png``.

    Returns:
        The file written, or None when there is nothing to plot yet.
    """
    if not records:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from seqlab.viz._figure import save_figure
    from seqlab.viz.curves import plot_curves

    fig = plot_curves(records)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)  # render with Agg whatever the global backend is (headless-safe)
    try:
        return save_figure(fig, path, dpi=round(fig.dpi))  # a temporary file of this process's, then a rename
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close(fig)


# A child process's whole program: the rows on stdin, the file to write as its argument.
_DRAW = "import json, sys; from seqlab.training.log import save_curves; save_curves(json.load(sys.stdin), sys.argv[1])"


def save_curves_apart(
    records: list[dict[str, Any]], path: str | os.PathLike[str], *, timeout: float = 120.0
) -> Path | None:
    """:func:`save_curves` in a child process, so this one never imports matplotlib.

    matplotlib keeps 30-40 MB resident in the process that imports it; a training process that
    redraws its curves while it trains would carry that to its end, on top of its activations
    (issue 13's memory aim, benchmarks/charlm.md). A child takes about 1 s of one core per drawing,
    and the loop redraws at most once per 100 such seconds.

    Args:
        records: rows as in ``metrics.jsonl``.
        path: e.g. ``run_dir/curves.png``.
        timeout: seconds before the child is stopped.

    Returns:
        The file written, or None when there is nothing to plot yet.

    Raises:
        RuntimeError: naming the child's last error line when it could not draw.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "curves.png"
    >>> save_curves_apart([{"step": 1, "split": "train", "loss": 2.0}], out) == out and out.stat().st_size > 0
    True
    """
    if not records:
        return None
    argv = [sys.executable, "-c", _DRAW, os.fspath(path)]
    done = subprocess.run(argv, input=json.dumps(records), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"drawing {path} failed: {last}")
    return Path(path)
