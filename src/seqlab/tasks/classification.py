"""Text classification: labelled texts -> class, with accuracy, macro-F1 and a confusion matrix.

Binds labelled texts (a catalog dataset or a CSV/TSV/JSONL with text and label columns), a
tokenizer fitted on the training texts (or MiniLM's pretrained word pieces),
:class:`~seqlab.models.classifier.RecurrentClassifier` (its embedding random, or started from
pretrained vectors with ``model.pretrained_embeddings``), cross-entropy, and the metrics.
Batches group texts of similar length (length bucketing), so little compute goes to padding; the
mask keeps what padding there is out of every result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Batch, LabelledTexts, bucket_batches, load_dataset, pad_batch, split_indices
from seqlab.errors import DataError
from seqlab.metrics import confusion_matrix, macro_f1
from seqlab.models.classifier import RecurrentClassifier
from seqlab.sections import RecurrentClassifierConfig, TextDataConfig
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.tasks.language_model import describe_sequence_model, text_stand_in
from seqlab.text import TextTokenizer, build_tokenizer

if TYPE_CHECKING:
    from rich.console import Console

    from seqlab.config import Config
    from seqlab.export import ExportGraph
    from seqlab.inspection import Inspection
    from seqlab.run import Run


@dataclass(frozen=True)
class Prediction:
    """A classifier's answer for one text: the label, its probability, and every class's."""

    label: str
    probability: float
    probabilities: dict[str, float]


class ClassificationTask:
    """The training contract (:class:`seqlab.training.Task`) for labelled sequences.

    Args:
        splits: split name -> (list of id sequences, (N,) label tensor).
        batch_size: B.
        seed: fixes the batches of every epoch.
        padding: ``"pre"`` or ``"post"``.
        num_classes: C.
        texts: optional split name -> the raw texts, for showing examples.

    >>> seqs, labels = [[3, 4], [5], [6, 7, 8]], torch.tensor([0, 1, 0])
    >>> task = ClassificationTask({"train": (seqs, labels), "val": (seqs, labels), "test": (seqs, labels)},
    ...                           batch_size=2, seed=0, padding="pre", num_classes=2)
    >>> sorted(len(b.targets) for b in task.train_batches(0))
    [1, 2]
    """

    def __init__(
        self,
        splits: dict[str, tuple[list[list[int]], Tensor]],
        *,
        batch_size: int,
        seed: int,
        padding: str,
        num_classes: int,
        texts: dict[str, list[str]] | None = None,
        label_smoothing: float = 0.0,
    ) -> None:
        self.splits, self.label_smoothing = splits, label_smoothing
        self.texts = texts or {}
        self.batch_size, self.seed, self.padding = batch_size, seed, padding
        self.num_classes = num_classes

    def _batches(self, split: str, *, epoch: int, shuffle: bool) -> list[Batch]:
        seqs, labels = self.splits[split]
        groups = bucket_batches([len(s) for s in seqs], self.batch_size, seed=self.seed, epoch=epoch, shuffle=shuffle)
        return [pad_batch([seqs[i] for i in g], padding=self.padding, targets=labels[g]) for g in groups]

    def train_batches(self, epoch: int) -> list[Batch]:
        return self._batches("train", epoch=epoch, shuffle=True)

    def val_batches(self) -> list[Batch]:
        return self._batches("val", epoch=0, shuffle=False)

    def split_batches(self, split: str) -> list[Batch]:
        """All batches of a split, in a fixed order."""
        return self._batches(split, epoch=0, shuffle=False)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch.ids, batch.mask)  # (B, C)
        loss = F.cross_entropy(logits, batch.targets, label_smoothing=self.label_smoothing)
        accuracy = float((logits.argmax(-1) == batch.targets).float().mean())
        return loss, {"accuracy": accuracy}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[Batch]) -> dict[str, float]:
        total, count = 0.0, 0
        matrix = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)
        for batch in batches:
            logits = model(batch.ids, batch.mask)
            total += float(F.cross_entropy(logits, batch.targets, reduction="sum"))
            count += len(batch.targets)
            matrix += confusion_matrix(batch.targets, logits.argmax(-1), self.num_classes)
        accuracy = float(matrix.diag().sum()) / max(count, 1)
        return {"loss": total / max(count, 1), "accuracy": accuracy, "macro_f1": macro_f1(matrix)}

    @torch.no_grad()
    def confusion(self, model: nn.Module, split: str) -> Tensor:
        """The (C, C) confusion matrix of a split."""
        matrix = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)
        for batch in self.split_batches(split):
            matrix += confusion_matrix(batch.targets, model(batch.ids, batch.mask).argmax(-1), self.num_classes)
        return matrix

    def count_tokens(self, batch: Batch) -> int:
        return int(batch.lengths.sum())


# ----------------------------------------------------------------------------- the task


class Classification(Task):
    """Labelled texts -> class with a recurrent classifier (its embedding random or pretrained).

    >>> from seqlab.config import load_config
    >>> Classification().describe(load_config("rotten-tomatoes-bilstm-minilm"))
    'biLSTM 1x128, minilm embeddings'
    """

    name = "classification"
    data_config = TextDataConfig
    model_configs = {"rnn": RecurrentClassifierConfig}
    meta_keys = ("vocab_size", "classes")

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read labelled texts, split them, fit the tokenizer on the training texts (unless given), build the task."""
        data = config.data
        dataset = load_dataset(
            data.dataset, text_column=data.text_column, label_column=data.label_column, limit=data.limit
        )
        if not isinstance(dataset, LabelledTexts):
            raise DataError(
                f'task "classification" needs labelled texts, but dataset "{data.dataset}" holds '
                f"{type(dataset).__name__}; pick a labelled dataset (seqlab data list) or a CSV with "
                f"{data.text_column!r} and {data.label_column!r} columns"
            )
        classes = list(dataset.classes)
        if len(classes) < 2:
            raise DataError(f'dataset "{data.dataset}" has {len(classes)} class(es); classification needs at least 2')
        train_idx, val_idx, test_idx = split_indices(
            len(dataset.texts), data.val_fraction, data.test_fraction, config.train.seed
        )
        if preprocessing is None:
            tokenizer = build_tokenizer(
                data.tokenizer,
                [dataset.texts[i] for i in train_idx],
                vocab_size=data.vocab_size,
                lowercase=data.lowercase,
            )
        else:
            assert isinstance(preprocessing, TextTokenizer), "a classifier's preprocessing is a text tokenizer"
            tokenizer = preprocessing

        def part(indices: Sequence[int]) -> tuple[list[list[int]], Tensor]:
            seqs = encode_texts(tokenizer, [dataset.texts[i] for i in indices], data.max_len)
            return seqs, torch.tensor([dataset.labels[i] for i in indices], dtype=torch.long)

        task = ClassificationTask(
            {"train": part(train_idx), "val": part(val_idx), "test": part(test_idx)},
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            padding=data.padding,
            num_classes=len(classes),
            texts={"test": [dataset.texts[i] for i in test_idx], "val": [dataset.texts[i] for i in val_idx]},
            label_smoothing=config.train.label_smoothing,
        )
        meta = {
            "task": self.name,
            "classes": classes,
            "vocab_size": tokenizer.vocab_size,
            "examples": {"train": len(train_idx), "val": len(val_idx), "test": len(test_idx)},
        }
        return Prepared(tokenizer, task, meta)

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> RecurrentClassifier:
        """The model a config describes, with fresh weights (the embedding from pretrained vectors if asked).

        With ``model.pretrained_embeddings`` the vectors are read from the cache (fetched once).
        """
        embeddings = None
        if config.model.pretrained_embeddings != "none":
            from seqlab.data.vectors import load_vectors

            embeddings = torch.from_numpy(load_vectors(config.model.pretrained_embeddings).matrix)  # (V, E)
        return _classifier(config, meta, embeddings)

    def load_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> RecurrentClassifier:
        """The model's shape for :func:`seqlab.load`, whose saved weights replace every value.

        Pretrained vectors are not read: the run's model.safetensors holds the embedding, so a run
        loads without the vectors' cache or a network.
        """
        return _classifier(config, meta, None)

    def summary_inputs(self, config: Config) -> tuple[Any, dict[str, Any], str]:
        """Stand-in vocabulary and classes (they come from the data), or MiniLM's true vocabulary."""
        return text_stand_in(config)

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        length = min(config.data.max_len or 50, 64)
        return [SummaryPart("", model, torch.ones(2, length, dtype=torch.long))]

    def describe(self, config: Config) -> str:
        vectors = config.model.pretrained_embeddings
        return describe_sequence_model(config.model) + (f", {vectors} embeddings" if vectors != "none" else "")

    def predict(
        self, run: Run, inputs: Sequence[Any], *, beam_width: int | None = None, n_best: int = 1
    ) -> list[Prediction]:
        """Classify texts with a loaded run (see :meth:`seqlab.run.Run.predict`)."""
        classes = run.meta["classes"]
        if not inputs:
            return []
        ids = encode_texts(run.tokenizer, [str(text) for text in inputs], run.config.data.max_len)
        batch = pad_batch(ids, padding=run.config.data.padding)
        with torch.no_grad():
            probs = torch.softmax(run.model.eval()(batch.ids, batch.mask), dim=-1)  # (B, C)
        out = []
        for row in probs.tolist():
            best = max(range(len(row)), key=row.__getitem__)
            out.append(Prediction(classes[best], row[best], dict(zip(classes, row))))
        return out

    def inspect(
        self,
        run: Run,
        text: str,
        *,
        out_dir: Path | None = None,
        layer: str | None = None,
        beam_width: int | None = None,
    ) -> Inspection:
        """Gates and hidden-state norms per step of each recurrent layer, and the class probabilities."""
        from seqlab.inspection import inspect_text

        return inspect_text(run, text, out_dir=out_dir, layer=layer, classify=True)

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """Confusion matrix of the test split (plot + table) and a few example predictions, as Markdown."""
        assert isinstance(data, ClassificationTask)
        return _report(run, data, console=console)

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """The classifier: ``(ids (B, T), mask (B, T) True on real tokens) -> logits (B, C)``.

        Traced on a batch padded as ``data.padding`` says, so padded rows take the masked path.
        """
        from seqlab.export import ExportGraph

        vocab, padding = int(run.meta["vocab_size"]), run.config.data.padding

        def texts(*lengths: int) -> tuple[Tensor, Tensor]:
            batch = pad_batch([[(7 * i + 3) % (vocab - 1) + 1 for i in range(n)] for n in lengths], padding=padding)
            return batch.ids, batch.mask  # (B, T)

        axes = {"ids": {0: "batch", 1: "length"}, "mask": {0: "batch", 1: "length"}, "logits": {0: "batch"}}
        note = f"ids {padding}-padded with 0; softmax of the logits: the probabilities of meta.json's classes"
        checks = (texts(4, 4, 1), texts(5))
        return [ExportGraph("model", run.model, texts(6, 3), ("ids", "mask"), ("logits",), axes, checks, note)]


# ----------------------------------------------------------------------------- helpers


def encode_texts(tokenizer: TextTokenizer, texts: Sequence[str], max_len: int) -> list[list[int]]:
    """Token ids of each text, truncated to ``max_len`` (0 = no limit); an empty text becomes [UNK]."""
    out = []
    for text in texts:
        ids = tokenizer.encode(text)[: max_len or None]
        out.append(ids or [tokenizer.unk_id])
    return out


def _classifier(config: Config, meta: dict[str, Any], embeddings: torch.Tensor | None) -> RecurrentClassifier:
    m = config.model
    return RecurrentClassifier(
        int(meta["vocab_size"]),
        len(meta["classes"]),
        cell=m.cell,
        embed_dim=m.embed_dim,
        hidden_size=m.hidden_size,
        num_layers=m.num_layers,
        bidirectional=m.bidirectional,
        dropout=m.dropout,
        recurrent_dropout=m.recurrent_dropout,
        conv_filters=m.conv_filters,
        conv_kernel=m.conv_kernel,
        pooling=m.pooling,
        impl=m.impl,
        embeddings=embeddings,
        freeze_embeddings=m.freeze_embeddings,
    )


def _report(run: Run, task: ClassificationTask, *, console: Console) -> list[str]:
    """Confusion matrix of the test split (plot + table) and a few example predictions, as Markdown."""
    from rich.markup import escape

    from seqlab.viz.confusion import plot_confusion_matrix

    classes = run.meta["classes"]
    split = "test" if len(task.splits["test"][0]) else "val"
    matrix = task.confusion(run.model.eval(), split)
    figure = plot_confusion_matrix(matrix.numpy(), classes, title=f"{run.config.name}: {split} split")
    figure.savefig(run.run_dir / "confusion.png", dpi=120)
    lines = [
        f"## Confusion matrix ({split} split; rows true, columns predicted)",
        "",
        "| | " + " | ".join(classes) + " |",
        "|---" * (len(classes) + 1) + "|",
    ]
    lines += [f"| **{c}** | " + " | ".join(str(int(v)) for v in row) + " |" for c, row in zip(classes, matrix)]
    lines += [
        "",
        "![confusion matrix](confusion.png)",
        "",
        f"## Example predictions ({split} split)",
        "",
        "| text | true | predicted | probability |",
        "|---|---|---|---|",
    ]
    texts = task.texts.get(split, [])[:8]
    truths = task.splits[split][1][: len(texts)].tolist()
    for text, truth, prediction in zip(texts, truths, run.predict(texts)):
        short = text if len(text) <= 100 else text[:97] + "..."
        lines.append(
            f"| {short.replace('|', '/')} | {classes[truth]} | {prediction.label} | {prediction.probability:.2f} |"
        )
        console.print(
            f"[dim]{classes[truth]:>8}[/] -> [bold]{prediction.label}[/] "
            f"({prediction.probability:.2f})  {escape(short)}",
            highlight=False,
        )
    return lines + [""]


__all__ = ["Classification", "ClassificationTask", "Prediction", "encode_texts"]
