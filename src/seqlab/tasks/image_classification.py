"""Image classification: 28x28 greyscale images -> class, with the classic MLP.

Binds an image dataset (``fashion-mnist``, ``mnist-5k``, a CSV of pixels), :class:`~seqlab.models.mlp.MLP`,
cross-entropy and accuracy. Training runs the generic loop; :meth:`ImageClassification.fit` only adds a
callback that also scores the test split at every validation pass, so ``curves.png`` shows the
train, validation and test accuracy together. The report has the confusion matrix and a grid of
misclassified test images.

The helpers :func:`image_splits` and :class:`ImageTask` are shared by the autoencoder and GAN tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data.images import ImageBatch, ImageBatches, class_index, from_tensor, load_images, split_images, to_tensor
from seqlab.errors import ConfigError
from seqlab.metrics import confusion_matrix, macro_f1
from seqlab.models.mlp import MLP
from seqlab.sections import ImageDataConfig, MLPConfig
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.training.callbacks import Callback, TrainState

if TYPE_CHECKING:
    from rich.console import Console

    from seqlab.config import Config
    from seqlab.export import ExportGraph
    from seqlab.run import Run
    from seqlab.sections import TrainConfig
EVAL_BATCH = 1000  # images per evaluation batch: large is faster, memory is small at 28x28


def image_splits(config: Config) -> tuple[dict[str, tuple[Tensor, Tensor]], dict[str, Any]]:
    """Read, split and scale the images a config names: split -> (images (N, 1, H, W), labels (N,)), and meta.

    meta holds what a loaded run needs to treat new images the same way: classes, image shape,
    scaling (and the training mean / std for ``scale = "standard"``), the held-out class.
    """
    data = config.data
    images = load_images(data.dataset, label_column=data.label_column, limit=data.limit)
    holdout = class_index(images.classes, data.holdout_class) if data.holdout_class else None
    parts = split_images(
        images,
        val_fraction=data.val_fraction,
        test_fraction=data.test_fraction,
        seed=config.train.seed,
        holdout=holdout,
    )
    train_pixels = parts["train"][0]
    mean = float(train_pixels.mean() / 255.0) if len(train_pixels) else 0.0
    std = float(train_pixels.std() / 255.0) if len(train_pixels) else 1.0
    splits = {
        split: (to_tensor(pixels, scale=data.scale, mean=mean, std=std), torch.from_numpy(labels.astype(np.int64)))
        for split, (pixels, labels) in parts.items()
    }
    meta = {
        "classes": list(images.classes),
        "image_shape": list(images.image_shape),
        "scale": data.scale,
        "mean": mean,
        "std": max(std, 1e-6),
        "holdout": holdout,
        "examples": {split: len(labels) for split, (_, labels) in splits.items()},
    }
    return splits, meta


class ImageTask:
    """Batches of an image split (shared by the image tasks); subclasses add loss and evaluate.

    Args:
        splits: split name -> (images (N, 1, H, W), labels (N,)).
        batch_size: B for training.
        seed: fixes the order of every epoch.
    """

    def __init__(self, splits: dict[str, tuple[Tensor, Tensor]], *, batch_size: int, seed: int) -> None:
        self.splits, self.batch_size, self.seed = splits, batch_size, seed

    def train_batches(self, epoch: int) -> ImageBatches:
        images, labels = self.splits["train"]
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
        return ImageBatches(images, labels, batch_size=self.batch_size, order=order)

    def val_batches(self) -> Sequence[ImageBatch]:
        return self.split_batches("val")

    def split_batches(self, split: str) -> ImageBatches:
        """All batches of a split, in a fixed order."""
        images, labels = self.splits[split]
        return ImageBatches(images, labels, batch_size=max(self.batch_size, EVAL_BATCH))

    def count_tokens(self, batch: ImageBatch) -> int:
        return len(batch)


class ImageClassificationTask(ImageTask):
    """The training contract for image classification: cross-entropy, accuracy, macro-F1.

    >>> splits = {s: (torch.rand(6, 1, 4, 4), torch.tensor([0, 1] * 3)) for s in ("train", "val", "test")}
    >>> task = ImageClassificationTask(splits, batch_size=4, seed=0, num_classes=2)
    >>> [len(b) for b in task.train_batches(0)], sorted(task.evaluate(MLP(16, 2), task.val_batches()))
    ([4, 2], ['accuracy', 'loss', 'macro_f1'])
    """

    def __init__(
        self,
        splits: dict[str, tuple[Tensor, Tensor]],
        *,
        batch_size: int,
        seed: int,
        num_classes: int,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(splits, batch_size=batch_size, seed=seed)
        self.num_classes, self.label_smoothing = num_classes, label_smoothing

    def loss(self, model: nn.Module, batch: ImageBatch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch.images)  # (B, C)
        loss = F.cross_entropy(logits, batch.labels, label_smoothing=self.label_smoothing)
        return loss, {"accuracy": float((logits.argmax(-1) == batch.labels).float().mean())}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[ImageBatch]) -> dict[str, float]:
        total, count = 0.0, 0
        matrix = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)
        for batch in batches:
            logits = model(batch.images)
            total += float(F.cross_entropy(logits, batch.labels, reduction="sum"))
            count += len(batch)
            matrix += confusion_matrix(batch.labels, logits.argmax(-1), self.num_classes)
        return {
            "loss": total / max(count, 1),
            "accuracy": float(matrix.diag().sum()) / max(count, 1),
            "macro_f1": macro_f1(matrix),
        }

    @torch.no_grad()
    def probabilities(self, model: nn.Module, split: str) -> Tensor:
        """Class probabilities (N, C) of every image of a split, in order."""
        model.eval()
        return (
            torch.cat([torch.softmax(model(b.images), -1) for b in self.split_batches(split)])
            if len(self.splits[split][1])
            else torch.zeros(0, self.num_classes)
        )


class TestCurve(Callback):
    """After each validation pass, score the test split too and add a ``test`` row to metrics.jsonl.

    Args:
        task: supplies the test batches and metrics.
        model: the model being trained.
        path: ``run_dir/metrics.jsonl``.
    """

    def __init__(self, task: ImageClassificationTask, model: nn.Module, path: Path) -> None:
        from seqlab.training.log import MetricsLog

        self.task, self.model, self.log = task, model, MetricsLog(path)

    def on_eval_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        from seqlab.training import evaluate

        batches = self.task.split_batches("test")
        if len(batches):
            scores = evaluate(self.model, self.task, batches)
            self.log.write(
                step=state.step,
                epoch=state.epochs_done,
                time=state.elapsed,
                split="test",
                metrics=scores,
                lr=state.lr,
                tokens_per_s=0.0,
            )


# ----------------------------------------------------------------------------- the task


@dataclass(frozen=True)
class ImagePrediction:
    """The class of one image, its probability, and every class's."""

    label: str
    probability: float
    probabilities: dict[str, float]


class ImageClassification(Task):
    """28x28 greyscale images -> class with an MLP; the test accuracy is logged at every validation pass.

    >>> from seqlab.config import load_config
    >>> ImageClassification().describe(load_config("mnist5k-mlp"))
    'MLP 256-128'
    """

    name = "image-classification"
    data_config = ImageDataConfig
    model_configs = {"mlp": MLPConfig}
    preprocessing_file = None  # pixels are scaled with numbers kept in meta.json

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read, split and scale the images; build the task (images need no tokenizer)."""
        splits, meta = image_splits(config)
        task = ImageClassificationTask(
            splits,
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            num_classes=len(meta["classes"]),
            label_smoothing=config.train.label_smoothing,
        )
        return Prepared(None, task, {"task": self.name, **meta})

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> MLP:
        """The MLP a config describes, with fresh weights."""
        m = config.model
        height, width = meta["image_shape"]
        return MLP(
            height * width,
            len(meta["classes"]),
            hidden_sizes=m.hidden_sizes,
            dropout=m.dropout,
            norm=m.norm,
            activation=m.activation,
        )

    def training_callbacks(
        self, model: nn.Module, data: SplitData, train_config: TrainConfig, run_dir: Path
    ) -> list[Callback]:
        """A test-accuracy curve beside the validation one."""
        assert isinstance(data, ImageClassificationTask)
        return [TestCurve(data, model, run_dir / "metrics.jsonl")]

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        return [SummaryPart("", model, torch.zeros(2, *meta["image_shape"]))]

    def describe(self, config: Config) -> str:
        return "MLP " + "-".join(str(size) for size in config.model.hidden_sizes)

    def read_inputs(self, run: Run, text: str | None, file: Path | None) -> list[Any]:
        """Images are not typed on a command line: say what classifies them instead."""
        raise ConfigError(
            f"an {self.name} run classifies images, not texts: `seqlab evaluate {run.run_dir} --data IMAGES.csv` "
            "scores a file of images, and `seqlab.load(RUN).predict([array])` classifies (H, W) arrays in Python"
        )

    def predict(
        self, run: Run, inputs: Sequence[Any], *, beam_width: int | None = None, n_best: int = 1
    ) -> list[ImagePrediction]:
        """Classify images: each (H, W) uint8 (0-255) array, as the dataset stores them."""
        meta = run.meta
        if not len(inputs):
            return []
        pixels = np.stack([np.asarray(image, dtype=np.uint8) for image in inputs])
        x = to_tensor(pixels, scale=meta["scale"], mean=meta["mean"], std=meta["std"])
        with torch.no_grad():
            probs = torch.softmax(run.model.eval()(x), -1)
        classes = meta["classes"]
        return [
            ImagePrediction(classes[int(row.argmax())], float(row.max()), dict(zip(classes, row.tolist())))
            for row in probs
        ]

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """Confusion matrix and misclassified test images (plots + Markdown)."""
        assert isinstance(data, ImageClassificationTask)
        return _report(run, data, console=console)

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """The classifier: ``images (B, H, W), scaled as meta.json's scale, mean and std -> logits (B, C)``."""
        from seqlab.export import ExportGraph

        shape = tuple(run.meta["image_shape"])
        images = torch.rand(2, *shape, generator=torch.Generator().manual_seed(0))  # (B, H, W)
        axes = {"images": {0: "batch"}, "logits": {0: "batch"}}
        note = f"images scaled as meta.json says ({run.meta['scale']}); softmax of the logits gives the class"
        return [ExportGraph("model", run.model, (images,), ("images",), ("logits",), axes, ((images[:1],),), note)]


def _report(run: Run, task: ImageClassificationTask, *, console: Console) -> list[str]:
    """Confusion matrix and misclassified test images (plots + Markdown)."""
    from seqlab.viz import save_figure
    from seqlab.viz.confusion import plot_confusion_matrix
    from seqlab.viz.images import plot_misclassified

    classes, meta = run.meta["classes"], run.meta
    split = "test" if len(task.splits["test"][1]) else "val"
    images, labels = task.splits[split]
    probs = task.probabilities(run.model, split)
    predicted = probs.argmax(-1)
    matrix = confusion_matrix(labels, predicted, len(classes))
    save_figure(
        plot_confusion_matrix(matrix.numpy(), classes, title=f"{run.config.name}: {split} split"),
        run.run_dir / "confusion.png",
    )
    wrong = torch.nonzero(predicted != labels).flatten()[:32]
    pixels = from_tensor(images[wrong], scale=meta["scale"], mean=meta["mean"], std=meta["std"])
    if len(wrong):
        save_figure(
            plot_misclassified(
                pixels,
                labels[wrong].tolist(),
                predicted[wrong].tolist(),
                classes,
                probabilities=probs[wrong, predicted[wrong]].tolist(),
            ),
            run.run_dir / "misclassified.png",
        )
    accuracy = float((predicted == labels).float().mean()) if len(labels) else float("nan")
    console.print(f"{split} accuracy {accuracy:.4f}; {int((predicted != labels).sum())} of {len(labels)} misclassified")
    recall = matrix.diag().double() / matrix.sum(1).clamp(min=1).double()
    lines = [f"## Per-class recall ({split} split)", "", "| class | recall | most confused with |", "|---|---|---|"]
    for c, name in enumerate(classes):
        row = matrix[c].clone()
        row[c] = -1
        lines.append(f"| {name} | {float(recall[c]):.3f} | {classes[int(row.argmax())]} ({int(row.max())}) |")
    lines += ["", "![confusion matrix](confusion.png)", ""]
    if len(wrong):
        lines += ["## Misclassified test images", "", "![misclassified](misclassified.png)", ""]
    return lines


__all__ = [
    "ImageClassification",
    "ImageTask",
    "ImageClassificationTask",
    "ImagePrediction",
    "TestCurve",
    "image_splits",
]
