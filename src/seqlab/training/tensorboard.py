"""TensorBoard event files for a run (``train.tensorboard = true``): ``tensorboard --logdir runs/``.

:class:`TensorBoardLog` is a :class:`~seqlab.training.callbacks.Callback` that :func:`seqlab.training.fit`
adds in the process that writes the run (rank 0) when ``train.tensorboard`` is on. It writes into
``RUN/tensorboard/``:

- every row of ``metrics.jsonl`` as scalars tagged ``<split>/<name>`` (``train/loss``,
  ``val/accuracy``, ``train/lr``, ``val/tokens_per_s``, ``train/epoch``...) at the row's step: the log
  is followed as the loop appends to it, so TensorBoard shows exactly the numbers the file holds;
- the learning rate of every step, ``lr``;
- histograms of every parameter (``weights/<name>``) at the first validation pass, every
  ``train.tensorboard_histograms_every`` passes after it, and at the end;
- for tasks whose training data can draw a preview cheaply (:class:`ImagePreview`: the GAN's
  samples of fixed noise, an image autoencoder's inputs over their reconstructions), an image
  grid ``samples`` at each validation pass.

On a resume the events after the checkpoint's step are purged (``purge_step``), as metrics.jsonl is
cut there. With ``train.tensorboard = false`` none of this is imported. TensorBoard itself comes with
the ``track`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from seqlab.training.callbacks import Callback, TrainState

if TYPE_CHECKING:
    import torch

FOLDER = "tensorboard"
FLUSH_SECONDS = 10  # the writer's pending events reach the file at least this often (and at every validation)
NOT_SCALARS = ("step", "split")  # the x axis and the tag's prefix; every other number of a row is a scalar


@runtime_checkable
class ImagePreview(Protocol):
    """Training data that can draw a few images of what the model does, cheaply, for TensorBoard."""

    def preview_images(self, model: torch.nn.Module) -> torch.Tensor | None:
        """Images (N, 1, H, W) in any range (shown stretched to [0, 1]), or None when there is nothing to show.

        Must not draw from the global random generators (an exact resume depends on them).
        """
        ...


def scalars(row: dict[str, Any]) -> dict[str, float]:
    """The scalars of one ``metrics.jsonl`` row, by tag.

    >>> scalars({"step": 10, "epoch": 0.5, "split": "val", "loss": 1.25, "lr": 0.01})
    {'val/epoch': 0.5, 'val/loss': 1.25, 'val/lr': 0.01}
    """
    split = row.get("split", "train")
    return {
        f"{split}/{name}": float(value)
        for name, value in row.items()
        if name not in NOT_SCALARS and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


class TensorBoardLog(Callback):
    """Mirror a run's metrics, learning rate, weight histograms and image previews into TensorBoard event files.

    Args:
        run_dir: the run folder; events go to ``run_dir/tensorboard``, rows are read from ``run_dir/metrics.jsonl``.
        model: the module being trained (its parameters' histograms).
        task: the training data (images when it is an :class:`ImagePreview`).
        histograms_every: validation passes between histograms (0 = none; the end always has one unless 0).

    Raises:
        MissingExtraError: tensorboard is not installed (``pip install 'seqlab[track]'``).
    """

    def __init__(self, run_dir: Path, *, model: torch.nn.Module, task: Any, histograms_every: int = 5) -> None:
        from seqlab.errors import needs_extra

        with needs_extra("track"):
            import tensorboard  # noqa: F401  # torch's writer needs it; fail here, with the extra's name

        self.run_dir, self.model, self.task = Path(run_dir), model, task
        self.histograms_every = histograms_every
        self.writer: Any = None
        self.offset = 0  # bytes of metrics.jsonl already mirrored
        self.evaluations = 0
        self.histogram_step: int | None = None

    # ------------------------------------------------------------------ the callback

    def on_train_start(self, state: TrainState) -> None:
        from torch.utils.tensorboard import SummaryWriter

        log = self.run_dir / "metrics.jsonl"
        self.offset = log.stat().st_size if log.exists() else 0  # a resume: rows up to its step are mirrored
        purge = state.step + 1 if state.step else None  # a resume: what the crashed session wrote after its checkpoint
        self.writer = SummaryWriter(str(self.run_dir / FOLDER), purge_step=purge, flush_secs=FLUSH_SECONDS)

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        self.writer.add_scalar("lr", metrics.get("lr", state.lr), state.step)
        self._follow()

    def on_eval_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        self._follow()
        every = self.histograms_every
        if every and self.evaluations % every == 0:
            self._histograms(state.step)
        self.evaluations += 1
        if isinstance(self.task, ImagePreview):
            self._images(state.step)
        self.writer.flush()

    def on_train_end(self, state: TrainState) -> None:
        self._follow()
        if self.histograms_every and self.histogram_step != state.step:
            self._histograms(state.step)
        self.writer.close()

    # ------------------------------------------------------------------ the pieces

    def _follow(self) -> None:
        """Write the rows appended to metrics.jsonl since the last call (complete lines only)."""
        log = self.run_dir / "metrics.jsonl"
        if not log.exists() or log.stat().st_size <= self.offset:
            return
        with open(log, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            for tag, value in scalars(row).items():
                self.writer.add_scalar(tag, value, row["step"])

    def _histograms(self, step: int) -> None:
        for name, param in self.model.named_parameters():
            self.writer.add_histogram(f"weights/{name}", param.detach().float().cpu(), step)
        self.histogram_step = step

    def _images(self, step: int) -> None:
        import torch

        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                images = self.task.preview_images(self.model)
        finally:
            self.model.train(was_training)
        if images is None or images.dim() != 4:
            return
        images = images.detach().float().cpu()
        low, high = images.min(), images.max()
        images = (images - low) / (high - low) if high > low else torch.zeros_like(images)
        self.writer.add_images("samples", images, step, dataformats="NCHW")


__all__ = ["TensorBoardLog", "ImagePreview", "scalars", "FOLDER"]
