"""The task protocol: what every task (language model, classifier, translator, forecaster...) offers.

A task binds data, model, loss, metrics and what a trained run can do. Each task is one class
deriving from :class:`Task`; :data:`seqlab.tasks.TASKS` is the literal table of name -> class, and
:func:`seqlab.tasks.get_task` returns an instance (tasks hold no state). Everything the rest of
seqlab needs from a task goes through these methods, so no caller branches on a task name or
probes a module with ``getattr``:

======================================  =====================================================
``name``, ``data_config``,              the task's name and the ``[data]`` / ``[model]``
``model_configs``                       section classes it takes (``model.arch`` -> section)
``prepare(config, *, preprocessing)``   read and split the data, fit the preprocessing on the
                                        training part (or reuse the saved one): a
                                        :class:`Prepared`
``build_model(config, meta, *, ...)``   the model with fresh weights
``load_model(config, meta, *, ...)``    the model :func:`seqlab.load` fills with saved weights
                                        (defaults to ``build_model``; the classifier skips
                                        reading pretrained vectors the weights replace)
``fit(model, data, train_config)``      the training regime; :func:`seqlab.training.fit` unless
                                        the task has its own (the GAN's two-player step)
``summary_inputs(config)``              preprocessing and meta to build a model from a recipe
                                        for ``seqlab summary`` (stand-in sizes for text tasks)
``example_input(config, model, meta)``  (title, module, example input) for each network of the
                                        model, what ``seqlab summary`` traces
``describe(config)``                    one short line about the model (``seqlab recipes``)
``report(run, data, *, console)``       Markdown lines for summary.md, also shown on the console
``load_preprocessing(path)``            read the saved preprocessing (a text tokenizer, or a
                                        series scaler); ``preprocessing_file`` names the file
======================================  =====================================================

and what a run can do, declared here so that a task without it raises a :class:`ConfigError`
naming the tasks that can (:meth:`Task.unable`): ``predict``, ``read_inputs`` (what ``seqlab
predict`` reads), ``sample`` (text generation), ``inspect`` (gates or attention), ``generate``
(images), ``anomaly`` (held-out class scores), ``forecast`` and ``export_graphs`` (the networks
``seqlab export`` writes as ONNX, :class:`seqlab.export.ExportGraph`).

The training contract (``Prepared.data``) follows :class:`seqlab.training.Task` (batches, loss,
metrics) and also has ``split_batches(split)``: every batch of ``"train"``, ``"val"`` or
``"test"`` in a fixed order, for the final evaluation and ``seqlab evaluate``.

Config sections are declared by each task class (``data_config``, ``model_configs``), from the
floor module :mod:`seqlab.sections`; :func:`seqlab.config.sections_for` reads them from
:data:`seqlab.tasks.TASKS`, so the task names live in one place, that table. Task modules
therefore import section classes from :mod:`seqlab.sections` and import :mod:`seqlab.config` and
:mod:`seqlab.run` only under ``TYPE_CHECKING`` (for ``Config`` and ``Run`` in signatures): config
imports the tasks, and an import back would be a circle.

Each task module defines its class next to its training contract (which keeps its ``...Task``
name): ``language_model.LanguageModeling``, ``classification.Classification``,
``image_classification.ImageClassification``, ``autoencoder.Autoencoding`` and
``autoencoder.SeriesAutoencoding``, ``gan.ImageGeneration``, ``seq2seq.Seq2Seq``,
``forecast.Forecasting``.

>>> from seqlab.config import load_config
>>> from seqlab.tasks import get_task
>>> config = load_config("en-ko-attention")
>>> task = get_task(config.task)
>>> task.name, task.describe(config), sorted(task.model_configs)
('seq2seq', 'biGRU 1x256 + bahdanau', ['rnn', 'transformer'])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from seqlab.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import torch
    from rich.console import Console
    from torch import nn

    from seqlab.config import Config
    from seqlab.decode import SamplingParams
    from seqlab.export import ExportGraph
    from seqlab.inspection import Inspection
    from seqlab.run import Run
    from seqlab.sections import Section, TrainConfig
    from seqlab.tasks.autoencoder import AnomalyResult
    from seqlab.tasks.forecast import Forecast
    from seqlab.tasks.seq2seq import AttentionView
    from seqlab.training import Callback, FitResult, Step


@runtime_checkable
class Preprocessing(Protocol):
    """Fitted preprocessing saved with a run (a text tokenizer, a series scaler): JSON out."""

    def to_json(self) -> str: ...


@runtime_checkable
class SplitData(Protocol):
    """The training contract of :class:`seqlab.training.Task`, plus every batch of a split in order."""

    def train_batches(self, epoch: int) -> Sequence[Any]: ...

    def val_batches(self) -> Sequence[Any]: ...

    def split_batches(self, split: str) -> Sequence[Any]: ...

    def loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]: ...

    def evaluate(self, model: nn.Module, batches: Sequence[Any]) -> dict[str, float]: ...

    def count_tokens(self, batch: Any) -> int: ...


@dataclass(frozen=True)
class Prepared:
    """What :meth:`Task.prepare` returns.

    Attributes:
        preprocessing: the fitted tokenizer or scaler, saved with the run (None: images).
        data: the training contract (batches, loss, metrics; :class:`SplitData`).
        meta: task facts the model needs (vocabulary size, classes...), saved as meta.json.
    """

    preprocessing: Preprocessing | None
    data: SplitData
    meta: dict[str, Any]


@dataclass(frozen=True)
class SummaryPart:
    """One network of a model for ``seqlab summary``: a title ("" for a single network), the module, an input."""

    title: str
    module: nn.Module
    example: Any


_ACTIONS = {
    "sample": "sample text",
    "generate": "generate images",
    "anomaly": "score anomalies",
    "inspect": "be inspected",
    "export_graphs": "be exported",
}


class Task:
    """Base of every task: the typed protocol, with defaults and clear errors for what a task cannot do.

    Subclasses set ``name``, ``data_config`` and ``model_configs`` and implement ``prepare``,
    ``build_model``, ``example_input`` and ``describe``; the rest have defaults.
    """

    name: ClassVar[str]
    data_config: ClassVar[type[Section]]
    model_configs: ClassVar[dict[str, type[Section]]]  # model.arch -> section; the first is the default
    preprocessing_file: ClassVar[str | None] = "tokenizer.json"  # None: nothing fitted to save
    meta_keys: ClassVar[tuple[str, ...]] = ()  # what load() requires in meta.json (the model is sized by them)
    one_loss: ClassVar[bool] = True  # False: two players with a loss each (the GAN); lr-find needs one

    # ------------------------------------------------------------------ data and model

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read and split the data, fit the preprocessing on the training part (unless given).

        Args:
            config: a validated config of this task.
            preprocessing: a saved one to reuse (resume, evaluate) instead of fitting.
        """
        raise NotImplementedError

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> nn.Module:
        """The model the config describes, with fresh weights (sizes from ``meta`` and the preprocessing)."""
        raise NotImplementedError

    def load_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> nn.Module:
        """The model :func:`seqlab.load` fills with saved weights (the fresh one unless a task saves work)."""
        return self.build_model(config, meta, preprocessing=preprocessing)

    def load_preprocessing(self, path: Path) -> Preprocessing:
        """Read the preprocessing saved in ``path`` (a text tokenizer unless the task says otherwise)."""
        from seqlab.text import load_tokenizer

        return load_tokenizer(path)

    def fit(
        self,
        model: nn.Module,
        data: SplitData,
        train_config: TrainConfig,
        *,
        run_dir: Path,
        console: Console,
        resume: bool = False,
        callbacks: Sequence[Callback] = (),
    ) -> FitResult:
        """Train ``model`` on ``data``: the generic loop (:func:`seqlab.training.fit`) with the task's
        :meth:`training_step` and :meth:`training_callbacks` before the caller's."""
        from seqlab.training import fit

        return fit(
            model,
            data,
            train_config,
            run_dir=run_dir,
            step=self.training_step(model, data, train_config),
            callbacks=[*self.training_callbacks(model, data, train_config, Path(run_dir)), *callbacks],
            console=console,
            resume=resume,
        )

    def training_step(self, model: nn.Module, data: SplitData, train_config: TrainConfig) -> Step | None:
        """The step :meth:`fit` trains with; None: the usual one optimizer (``OptimizerStep``)."""
        return None

    def training_callbacks(
        self, model: nn.Module, data: SplitData, train_config: TrainConfig, run_dir: Path
    ) -> list[Callback]:
        """Callbacks of the task's own that :meth:`fit` adds (sample grids, a test curve); none by default."""
        return []

    # ------------------------------------------------------------------ seqlab summary / recipes

    def summary_inputs(self, config: Config) -> tuple[Any, dict[str, Any], str]:
        """(preprocessing, meta, note) to build a recipe's model without training: here, read the data.

        Text tasks override this with stand-in sizes (the note says which), so no data is read.
        """
        prepared = self.prepare(config)
        return prepared.preprocessing, prepared.meta, ""

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        """An input of the right shape for each network of ``model`` (batch of 2), for ``seqlab summary``."""
        raise NotImplementedError

    def describe(self, config: Config) -> str:
        """One short, true line about the model a config builds, e.g. ``"biLSTM 1x128 + bahdanau"``."""
        return type(config.model).__name__.removesuffix("Config")

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """Markdown lines for summary.md after the metrics (samples, predictions, plots); none by default."""
        return []

    # ------------------------------------------------------------------ what a run can do

    def unable(self, action: str) -> ConfigError:
        """The error for an action this task lacks, naming the tasks whose class defines it.

        Args:
            action: the method's name (``"sample"``, ``"predict"``, ...).

        >>> from seqlab.tasks import get_task
        >>> print(get_task("forecast").unable("sample"))
        a forecast run cannot sample text; runs that can: language-model
        """
        from seqlab.tasks import TASKS

        able = [name for name, cls in TASKS.items() if getattr(cls, action) is not getattr(Task, action)]
        what = _ACTIONS.get(action, action)
        return ConfigError(f"a {self.name} run cannot {what}; runs that can: {', '.join(able) or 'none'}")

    def read_inputs(self, run: Run, text: str | None, file: Path | None) -> list[Any]:
        """What ``seqlab predict RUN [TEXT] [--file FILE]`` predicts: the text, or each non-empty line of the file."""
        from seqlab.errors import DataError

        if (text is None) == (file is None):
            raise ConfigError('give either a text or --file FILE, e.g. seqlab predict RUN "a moving film"')
        if file is not None:
            if not file.is_file():
                raise DataError(f"file not found: {file}")
            try:
                lines = file.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError as err:
                raise DataError(
                    f"{file} is not UTF-8 text (byte {err.start}); save it as UTF-8, one text a line"
                ) from None
            return [line for line in lines if line.strip()]
        if type(self).predict is Task.predict:  # a task that cannot predict says so before reading anything
            samples = type(self).sample is not Task.sample
            hint = f"; continue a text with `seqlab sample {run.run_dir}`" if samples else ""
            raise ConfigError(f"{self.unable('predict')}{hint}")
        return [text]

    def predict(self, run: Run, inputs: Sequence[Any], *, beam_width: int | None = None, n_best: int = 1) -> list[Any]:
        """The prediction for each input (a class, a translation, a forecast...).

        Args:
            run: a loaded run of this task.
            inputs: texts, images or series, as the task reads them.
            beam_width: seq2seq: beam width (None: the run's ``data.beam_width``).
            n_best: seq2seq: hypotheses kept per input.
        """
        raise self.unable("predict")

    def sample(self, run: Run, prompt: str, params: SamplingParams) -> Iterator[str]:
        """Stream text continuing ``prompt`` (see :meth:`seqlab.run.Run.sample`)."""
        raise self.unable("sample")

    def inspect(
        self,
        run: Run,
        text: str,
        *,
        out_dir: Path | None = None,
        layer: str | None = None,
        beam_width: int | None = None,
    ) -> Inspection | AttentionView:
        """Follow ``text`` through the model: gates per step, or attention; heatmaps written to ``out_dir``."""
        raise self.unable("inspect")

    def generate(self, run: Run, num: int, *, label: str | None = None, seed: int | None = None) -> np.ndarray:
        """``num`` new images (N, H, W) in pixel values, optionally of one class (``label``: name or index)."""
        raise self.unable("generate")

    def anomaly(self, run: Run, *, percentile: float = 99.0) -> AnomalyResult:
        """Score the test data by reconstruction error against the held-out class (ROC-AUC, thresholds)."""
        raise self.unable("anomaly")

    def forecast(self, run: Run, file: Path | None = None) -> Forecast:
        """The next horizon after the series in ``file`` (None: after the run's own series)."""
        raise self.unable("forecast")

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """The run's networks as graphs for ``seqlab export``: module, example inputs, names, dynamic axes."""
        raise self.unable("export_graphs")


__all__ = ["Task", "Prepared", "Preprocessing", "SplitData", "SummaryPart"]
