"""Run directories: train a config into one, load one back, and use what it learned.

A run directory holds everything needed to use and reproduce a run:

====================  =========================================================
``config.toml``       the resolved config (``seqlab train config.toml`` re-runs it)
``meta.json``         task facts the model needs (vocabulary size, class names)
``tokenizer.json``    the fitted tokenizer (a forecaster: ``scaler.json``, its scaler;
                      image runs fit nothing)
``model.safetensors`` the final (or best, with early stopping) weights
``checkpoints/``      training state for exact resume
``metrics.jsonl``     one row per logging point; ``curves.png`` draws them
``summary.md``        final metrics, samples or predictions, plots
====================  =========================================================

Loading never unpickles anything: JSON, TOML and safetensors only.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from seqlab.config import Config, load_config, to_toml
from seqlab.errors import CheckpointError, ConfigError, SeqlabError
from seqlab.rundir import LOCK_FILE, RunLock, check_new_run, remove_stale_temporaries, write_atomic

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from seqlab.inspection import Inspection
    from seqlab.tasks.autoencoder import AnomalyResult
    from seqlab.tasks.base import Preprocessing, SplitData, Task
    from seqlab.tasks.forecast import Forecast
    from seqlab.tasks.seq2seq import AttentionView
    from seqlab.text import TextTokenizer
    from seqlab.training import Callback

RUN_FILES = ("config.toml", "meta.json")  # and the task's preprocessing_file (tokenizer.json, scaler.json)


@dataclass
class Run:
    """A trained (or training) run, ready to use.

    What a run can do depends on its task (:attr:`kind`): each method here hands over to the task's
    class, which raises a :class:`~seqlab.errors.ConfigError` naming the tasks that can when it cannot.

    Attributes:
        run_dir: the folder.
        config: the resolved config.
        meta: task facts from meta.json.
        preprocessing: the fitted text tokenizer, or a forecaster's series scaler (None: images).
        model: the torch module, in eval mode.
    """

    run_dir: Path
    config: Config
    meta: dict[str, Any]
    preprocessing: Preprocessing | None
    model: nn.Module

    @property
    def task(self) -> str:
        """The task's name (``config.task``)."""
        return self.config.task

    @property
    def kind(self) -> Task:
        """The task's class (:mod:`seqlab.tasks`): what this run can do."""
        from seqlab.tasks import get_task

        return get_task(self.config.task)

    @property
    def tokenizer(self) -> TextTokenizer:
        """The fitted text tokenizer (a ConfigError for runs that read no text)."""
        from seqlab.text import TextTokenizer

        if not isinstance(self.preprocessing, TextTokenizer):
            raise ConfigError(f"{self.run_dir} is a {self.task} run, which reads no text and has no tokenizer")
        return self.preprocessing

    def sample(
        self,
        prompt: str = "",
        *,
        max_tokens: int = 200,
        temperature: float = 0.8,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
        frequency_penalty: float = 0.0,
        presence_penalty: float = 0.0,
    ) -> Iterator[str]:
        """Stream text that continues ``prompt``, piece by piece (generating tasks).

        Args:
            prompt: the text to continue.
            max_tokens: the most new tokens.
            temperature: 0 is greedy; higher is more random.
            top_k: sample among the k most likely tokens (0 = all).
            top_p: sample from the smallest set with this much probability (1 = all).
            seed: makes the sample reproducible.
            stop: strings that end the text (not included).
            frequency_penalty: subtracted from a token's logit per time it was already generated.
            presence_penalty: subtracted once from the logit of every token generated so far.
        """
        from seqlab.decode import SamplingParams

        params = SamplingParams(
            max_tokens=max_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            stop=tuple(stop),
            frequency_penalty=frequency_penalty,
            presence_penalty=presence_penalty,
        )
        return self.kind.sample(self, prompt, params)

    def predict(self, inputs: Sequence[Any], *, beam_width: int | None = None, n_best: int = 1) -> list[Any]:
        """The task's prediction for each input (a class for a text, a translation, a forecast...).

        Args:
            inputs: texts (classification, seq2seq), (H, W) images, or series / series files (forecast).
            beam_width: seq2seq: the beam width (default: the run's ``data.beam_width``).
            n_best: seq2seq: hypotheses returned per input.
        """
        return self.kind.predict(self, inputs, beam_width=beam_width, n_best=n_best)

    def inspect(
        self, text: str, *, out_dir: Path | None = None, layer: str | None = None, beam_width: int | None = None
    ) -> Inspection | AttentionView:
        """Follow ``text`` through the model: gates per step (recurrent LMs and classifiers) or attention (seq2seq).

        Returns an :class:`~seqlab.inspection.Inspection` or a :class:`~seqlab.tasks.seq2seq.AttentionView`;
        heatmaps go to ``out_dir`` (default: the run directory).
        """
        return self.kind.inspect(self, text, out_dir=out_dir, layer=layer, beam_width=beam_width)

    def generate(self, num: int, *, label: str | None = None, seed: int | None = None) -> np.ndarray:
        """``num`` new images (N, H, W) from a GAN (optionally of the class ``label``) or a VAE."""
        return self.kind.generate(self, num, label=label, seed=seed)

    def anomaly(self, *, percentile: float = 99.0) -> AnomalyResult:
        """Anomaly scores of the test split (an :class:`~seqlab.tasks.autoencoder.AnomalyResult`)."""
        return self.kind.anomaly(self, percentile=percentile)

    def forecast(self, file: Path | None = None) -> Forecast:
        """The next horizon after the series in ``file``, or after the run's own (a forecast run)."""
        return self.kind.forecast(self, file)

    def evaluate(self, dataset: str | None = None) -> dict[str, dict[str, float]]:
        """Metrics of the validation and test splits, or of all of another dataset (split ``"data"``).

        Args:
            dataset: a dataset name or file to evaluate on instead, read with the run's settings
                and its fitted preprocessing.
        """
        from seqlab.config import with_overrides
        from seqlab.errors import DataError

        config = self.config
        if dataset:
            overrides = [f'data.dataset="{dataset}"', "data.val_fraction=0.0", "data.test_fraction=0.0"]
            config = with_overrides(config, overrides)
        data = self.kind.prepare(config, preprocessing=self.preprocessing).data
        results = {}
        for split in ["train"] if dataset else ["val", "test"]:
            batches = data.split_batches(split)
            if len(batches):
                results["data" if dataset else split] = data.evaluate(self.model, batches)
        if not results:
            raise DataError("nothing to evaluate: the splits are empty")
        return results

    def metrics(self) -> list[dict[str, Any]]:
        """The rows of metrics.jsonl."""
        from seqlab.training.log import MetricsLog

        return MetricsLog(self.run_dir / "metrics.jsonl").records()  # a half-written last line is skipped


def default_run_dir(name: str) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>`` under the current folder."""
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


class TrainingInterrupted(SeqlabError):
    """Ctrl-C during training: the run folder keeps its last good checkpoint."""

    exit_code = 130  # the shell's code for a process ended by SIGINT

    def __init__(self, run_dir: Path) -> None:
        super().__init__(
            f"interrupted; {run_dir} keeps its last checkpoint: continue with `seqlab train --resume {run_dir}`"
        )


def train(
    config: Config,
    *,
    run_dir: str | Path | None = None,
    console: Console | None = None,
    resume: bool = False,
    force: bool = False,
    callbacks: Sequence[Callback] = (),
) -> Run:
    """Train a config into a run directory and return the trained run.

    The folder's rules (:mod:`seqlab.rundir`): one writer at a time (an OS-level lock), and a folder
    that already holds a run is refused unless ``resume`` continues it or ``force`` replaces it. Data
    and config are checked before anything is written or replaced.

    Args:
        config: a validated config (:func:`seqlab.config.load_config`).
        run_dir: where to write; defaults to ``runs/<name>-<timestamp>``.
        console: where progress goes (inject ``Console(file=StringIO())`` in tests).
        resume: continue the run in ``run_dir`` from its last good checkpoint.
        force: replace a run already in ``run_dir`` (its files are removed once the data has been read).
        callbacks: :class:`seqlab.training.Callback` objects for the loop (a sweep's pruning).
    """
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config.name)
    created = not run_dir.exists()
    lock = RunLock(run_dir).acquire()
    try:
        if not resume and not force:
            check_new_run(run_dir, force=False)
        return _train_locked(config, run_dir, console or Console(), resume=resume, force=force, callbacks=callbacks)
    except BaseException:
        if created and {p.name for p in run_dir.iterdir()} <= {LOCK_FILE}:  # nothing of a run was written
            lock.release()
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    finally:
        lock.release()


def _train_locked(
    config: Config, run_dir: Path, console: Console, *, resume: bool, force: bool, callbacks: Sequence[Callback]
) -> Run:
    import torch

    from seqlab.tasks import get_task

    task = get_task(config.task)
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)

    console.print(f"[bold]{config.name}[/]: {config.task} on [cyan]{config.data.dataset}[/] -> {run_dir}")
    saved = run_dir / task.preprocessing_file if task.preprocessing_file else None
    with console.status("reading data and fitting the preprocessing..."):
        reuse = task.load_preprocessing(saved) if resume and saved is not None and saved.exists() else None
        prepared = task.prepare(config, preprocessing=reuse)
    remove_stale_temporaries(run_dir)
    if force and not resume and (replaced := check_new_run(run_dir, force=True)):
        console.print(f"[yellow]{replaced}[/]")
    if not resume:
        write_atomic(run_dir / "config.toml", to_toml(config))
        if saved is not None and prepared.preprocessing is not None:
            write_atomic(saved, prepared.preprocessing.to_json())
        write_atomic(run_dir / "meta.json", json.dumps(prepared.meta, ensure_ascii=False, indent=2))

    model = task.build_model(config, prepared.meta, preprocessing=prepared.preprocessing)
    params = sum(p.numel() for p in model.parameters())
    vocab_size = prepared.meta.get("vocab_size")
    console.print(
        f"model: {type(model).__name__}, {params:,} parameters" + (f"; vocabulary {vocab_size:,}" if vocab_size else "")
    )
    try:
        task.fit(
            model,
            prepared.data,
            config.train,
            run_dir=run_dir,
            console=console,
            resume=resume,
            callbacks=tuple(callbacks),
        )
    except KeyboardInterrupt:
        raise TrainingInterrupted(run_dir) from None

    run = Run(run_dir, config, prepared.meta, prepared.preprocessing, model.eval())
    write_summary(run, prepared.data, console=console)
    return run


def resume(run_dir: str | Path, *, console: Console | None = None) -> Run:
    """Continue an interrupted run from its last good checkpoint (same config, same data)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise CheckpointError(
            f"{run_dir} is not a run directory (no config.toml); give the folder `seqlab train` wrote"
        )
    return train(load_config(run_dir / "config.toml"), run_dir=run_dir, console=console, resume=True)


def write_summary(run: Run, data: SplitData, *, console: Console) -> dict[str, dict[str, float]]:
    """Evaluate on validation and test, and write summary.md (metrics, then the task's report)."""
    results = {}
    for split in ("val", "test"):
        batches = data.split_batches(split)
        if len(batches):
            results[split] = data.evaluate(run.model.eval(), batches)
    names = sorted({k for metrics in results.values() for k in metrics}, key=lambda k: (k != "loss", k))
    lines = [
        f"# {run.config.name}",
        "",
        run.config.description,
        "",
        f"Task: {run.task}. Data: `{run.config.data.dataset}`. "
        f"Parameters: {sum(p.numel() for p in run.model.parameters()):,}.",
        "",
        "## Final metrics",
        "",
        "| split | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for split, metrics in results.items():
        lines.append(f"| {split} | " + " | ".join(f"{metrics.get(n, float('nan')):.4f}" for n in names) + " |")
        console.print(f"[bold]{split}[/]: " + ", ".join(f"{n} {metrics[n]:.4f}" for n in names if n in metrics))
    lines += ["", "![learning curves](curves.png)", ""]
    lines += run.kind.report(run, data, console=console)
    write_atomic(run.run_dir / "summary.md", "\n".join(lines) + "\n")
    write_atomic(run.run_dir / "final_metrics.json", json.dumps(results, indent=2))  # read by seqlab compare / sweep
    return results


def load(run_dir: str | Path) -> Run:
    """Load a run directory for use: config, tokenizer and weights (safetensors; nothing unpickled).

    Args:
        run_dir: a folder written by ``seqlab train``.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from seqlab.tasks import get_task

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory not found: {run_dir}")
    config_path = run_dir / "config.toml"
    config = load_config(config_path) if config_path.is_file() else None
    task = get_task(config.task) if config is not None else None
    saved = [task.preprocessing_file] if task is not None and task.preprocessing_file else []
    missing = [name for name in (*RUN_FILES, *saved, "model.safetensors") if not (run_dir / name).is_file()]
    if missing:
        hint = (
            " (training has not finished; `seqlab train --resume` continues it)"
            if "model.safetensors" in missing
            else ""
        )
        raise CheckpointError(f"{run_dir} is missing {', '.join(missing)}{hint}")
    assert config is not None and task is not None  # config.toml is there
    try:
        meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{run_dir / 'meta.json'} is not valid JSON: {err}") from None
    preprocessing = task.load_preprocessing(run_dir / saved[0]) if saved else None
    # the saved weights replace every value, so a task may skip work only fresh weights need
    model = task.load_model(config, meta, preprocessing=preprocessing)
    try:
        state = load_file(str(run_dir / "model.safetensors"))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{run_dir / 'model.safetensors'} cannot be read ({err}); it may be truncated") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f"{run_dir / 'model.safetensors'} does not fit the model in config.toml: {first}"
        ) from None
    return Run(run_dir, config, meta, preprocessing, model.eval())


__all__ = ["Run", "TrainingInterrupted", "train", "resume", "load", "default_run_dir", "write_summary"]
