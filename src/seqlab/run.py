"""Run directories: train a config into one, load one back, and use what it learned.

A run directory holds everything needed to use and reproduce a run:

====================  =========================================================
``config.toml``       the resolved config (``seqlab train config.toml`` re-runs it)
``meta.json``         task facts the model needs (vocabulary size, class names), and where it
                      trained (device, precision, world_size, global_batch)
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from seqlab.config import Config, load_config, to_toml
from seqlab.data.batching import OnDevice
from seqlab.errors import CheckpointError, ConfigError, SeqlabError
from seqlab.rundir import LOCK_FILE, RunLock, check_new_run, remove_stale_temporaries, write_atomic

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from seqlab.devices import Precision
    from seqlab.distributed import DistributedContext
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
        import torch

        data = self.kind.prepare(config, preprocessing=self.preprocessing).data
        device = next(self.model.parameters(), torch.zeros(())).device  # where load() put the model
        results = {}
        for split in ["train"] if dataset else ["val", "test"]:
            batches = data.split_batches(split)
            if len(batches):
                results["data" if dataset else split] = data.evaluate(self.model, OnDevice(batches, device))
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
    that already holds a run is refused unless ``resume`` continues it or ``force`` replaces it. The
    device and precision (``train.device``, ``train.precision``) are checked first, then the data and
    config, all before anything is written or replaced.

    Under torchrun every process calls this: rank 0 takes the lock, writes the folder and runs the
    final evaluation; the others train their share and return right after training, writing nothing.

    Args:
        config: a validated config (:func:`seqlab.config.load_config`).
        run_dir: where to write; defaults to ``runs/<name>-<timestamp>``.
        console: where progress goes (inject ``Console(file=StringIO())`` in tests).
        resume: continue the run in ``run_dir`` from its last good checkpoint.
        force: replace a run already in ``run_dir`` (its files are removed once the data has been read).
        callbacks: :class:`seqlab.training.Callback` objects for the loop (a sweep's pruning).
    """
    import torch.distributed as dist

    from seqlab.devices import Precision, resolve_device
    from seqlab.distributed import DistributedContext

    ranks = DistributedContext.from_env()
    device = ranks.device(resolve_device(config.train.device))  # a device that is not here fails first
    place = _Placement(ranks, device, Precision.resolve(config.train.precision, device))
    joined = ranks.is_distributed and not (dist.is_available() and dist.is_initialized())
    ranks.init(device)  # before the data: the ranks wait for rank 0's token file and its writes
    try:
        run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config.name)
        run_dir = Path(ranks.gather(str(run_dir))[0])  # rank 0's timestamp names the folder on every rank
        if not ranks.is_main:  # rank 0 alone locks, checks and writes the folder
            quiet = Console(stderr=True, quiet=True)
            run = _train_locked(config, run_dir, quiet, place, resume=resume, force=force, callbacks=callbacks)
        else:
            console = console or Console()
            run = _train_main(config, run_dir, console, place, resume=resume, force=force, callbacks=callbacks)
    except BaseException:
        if joined:
            ranks.destroy(wait=False)  # the other ranks may be inside a collective; torchrun ends them
        raise
    if joined:
        ranks.destroy()
    return run


@dataclass(frozen=True)
class _Placement:
    """Where this process trains: its rank among torchrun's, its device and its precision."""

    ranks: DistributedContext
    device: torch.device
    precision: Precision


def _train_main(
    config: Config,
    run_dir: Path,
    console: Console,
    place: _Placement,
    *,
    resume: bool,
    force: bool,
    callbacks: Sequence[Callback],
) -> Run:
    created = not run_dir.exists()
    lock = RunLock(run_dir).acquire()
    try:
        if not resume and not force:
            check_new_run(run_dir, force=False)
        return _train_locked(config, run_dir, console, place, resume=resume, force=force, callbacks=callbacks)
    except BaseException:
        if created and {p.name for p in run_dir.iterdir()} <= {LOCK_FILE}:  # nothing of a run was written
            lock.release()
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    finally:
        lock.release()


def _train_locked(
    config: Config,
    run_dir: Path,
    console: Console,
    place: _Placement,
    *,
    resume: bool,
    force: bool,
    callbacks: Sequence[Callback],
) -> Run:
    import torch

    from seqlab.tasks import get_task

    task = get_task(config.task)
    ranks, main = place.ranks, place.ranks.is_main
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)

    console.print(f"[bold]{config.name}[/]: {config.task} on [cyan]{config.data.dataset}[/] -> {run_dir}")
    console.print(f"device: {place.device} ({place.precision.name})")
    saved = run_dir / task.preprocessing_file if task.preprocessing_file else None
    with console.status("reading data and fitting the preprocessing...") if main else nullcontext():
        reuse = task.load_preprocessing(saved) if resume and saved is not None and saved.exists() else None
        prepared = task.prepare(config, preprocessing=reuse)
    meta = {
        **prepared.meta,
        "device": str(place.device),
        "precision": place.precision.name,
        "world_size": ranks.world_size,
        "global_batch": config.train.batch_size * ranks.world_size,
    }
    if main:
        remove_stale_temporaries(run_dir)
        if force and not resume and (replaced := check_new_run(run_dir, force=True)):
            console.print(f"[yellow]{replaced}[/]")
        if not resume:
            write_atomic(run_dir / "config.toml", to_toml(config))
            if saved is not None and prepared.preprocessing is not None:
                write_atomic(saved, prepared.preprocessing.to_json())
            write_atomic(run_dir / "meta.json", json.dumps(meta, ensure_ascii=False, indent=2))
    ranks.barrier()  # the others start once rank 0 has replaced an old run (fit refuses a folder with checkpoints)

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

    run = Run(run_dir, config, meta, prepared.preprocessing, model.eval())
    if main:
        write_summary(run, prepared.data, console=console, device=place.device, precision=place.precision)
    return run


def resume(run_dir: str | Path, *, console: Console | None = None) -> Run:
    """Continue an interrupted run from its last good checkpoint (same config, same data)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise CheckpointError(
            f"{run_dir} is not a run directory (no config.toml); give the folder `seqlab train` wrote"
        )
    return train(load_config(run_dir / "config.toml"), run_dir=run_dir, console=console, resume=True)


class _Shown(OnDevice):
    """The first ``count`` batches of a split, each moved to ``device`` and counted on a progress bar as read."""

    def __init__(self, batches: Sequence[Any], count: int, device: torch.device, advance: Callable[[], None]) -> None:
        super().__init__(batches, device)
        self.size, self.advance = count, advance

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):  # OnDevice reads a slice through this method, one batch at a time
            return super().__getitem__(index)
        if not -self.size <= index < self.size:
            raise IndexError(f"batch {index} out of range ({self.size} batches)")
        self.advance()
        return super().__getitem__(index % self.size)


def final_evaluation(
    run: Run,
    data: SplitData,
    *,
    console: Console,
    device: torch.device | None = None,
    precision: Precision | None = None,
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Metrics of the validation and test splits on ``device``, with progress, over ``train.final_eval_batches``.

    Args:
        run: the trained run (its model moves to ``device`` and back).
        data: the task's splits.
        console: where the progress bar is drawn.
        device: where to evaluate (default: where the model is).
        precision: autocast of the evaluation (default: none, fp32).

    Returns:
        (metrics per split, one line per split saying how much of it was evaluated).
    """
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from seqlab.training import evaluate

    home = next(run.model.parameters(), torch.zeros(())).device
    device = device if device is not None else home
    cap = run.config.train.final_eval_batches
    results: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    run.model.to(device)
    try:
        with Progress(
            TextColumn("[bold]final evaluation: {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            for split in ("val", "test"):
                batches = data.split_batches(split)
                total = len(batches)
                if not total:
                    continue
                count = min(cap, total) if cap else total
                job = bar.add_task(split, total=count)
                shown = _Shown(batches, count, device, lambda job=job: bar.advance(job))  # type: ignore[misc]
                with precision.autocast() if precision is not None else nullcontext():
                    results[split] = evaluate(run.model, data, shown)
                notes.append(
                    f"{split}: final evaluation over {count} of {total} batches "
                    f"(train.final_eval_batches = {cap}; 0 evaluates the whole split)"
                    if count < total
                    else f"{split}: whole split ({total} batches)"
                )
    finally:
        run.model.to(home)
    return results, notes


def write_summary(
    run: Run,
    data: SplitData,
    *,
    console: Console,
    device: torch.device | None = None,
    precision: Precision | None = None,
) -> dict[str, dict[str, float]]:
    """Evaluate on validation and test (:func:`final_evaluation`); write summary.md (metrics, the task's report).

    Args:
        run: the trained run.
        data: the task's splits.
        console: where progress and the metrics go.
        device: where to evaluate (default: where the model is).
        precision: autocast of the evaluation (default: fp32).
    """
    results, notes = final_evaluation(run, data, console=console, device=device, precision=precision)
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
    from seqlab.training.log import training_note

    estimates = training_note(run.metrics())  # what the val figures logged during training cover
    if estimates:
        notes.append(estimates)
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    lines += ["", "![learning curves](curves.png)", ""]
    lines += run.kind.report(run, data, console=console)
    write_atomic(run.run_dir / "summary.md", "\n".join(lines) + "\n")
    write_atomic(run.run_dir / "final_metrics.json", json.dumps(results, indent=2))  # read by seqlab compare / sweep
    return results


def load(run_dir: str | Path, *, device: str | None = None) -> Run:
    """Load a run directory for use: config, tokenizer and weights (safetensors; nothing unpickled).

    The weights are read straight onto ``device``; a run trained on one device loads on any other
    (its files hold no device).

    Args:
        run_dir: a folder written by ``seqlab train``.
        device: where the model runs: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``
            (None: the CPU); a device this machine lacks is a ConfigError naming the ones it has.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from seqlab.devices import resolve_device
    from seqlab.tasks import get_task

    target = resolve_device(device, key="--device") if device is not None else None
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
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{run_dir / 'meta.json'} is not valid JSON: {err}") from None
    check_meta(meta, run_dir / "meta.json", task)
    preprocessing = task.load_preprocessing(run_dir / saved[0]) if saved else None
    # the saved weights replace every value, so a task may skip work only fresh weights need
    try:
        model = task.load_model(config, meta, preprocessing=preprocessing)
    except KeyError as err:
        raise CheckpointError(
            f"{run_dir / 'meta.json'} lacks the key {err}, which this {config.task} run needs"
        ) from None
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{run_dir / 'meta.json'} does not fit config.toml: {err}") from None
    if target is not None:
        model.to(target)
    try:
        state = load_file(str(run_dir / "model.safetensors"), device=str(target or "cpu"))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{run_dir / 'model.safetensors'} cannot be read ({err}); it may be truncated") from None
    check_weights(state, model.state_dict(), run_dir / "model.safetensors")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f"{run_dir / 'model.safetensors'} does not fit the model in config.toml: {first}"
        ) from None
    return Run(run_dir, config, meta, preprocessing, model.eval())


# meta.json keys a task may read, and what each must be
META_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "vocab_size": (lambda v: type(v) is int and v > 0, "a positive whole number"),
    "num_inputs": (lambda v: type(v) is int and v > 0, "a positive whole number"),
    "season": (lambda v: type(v) is int and v >= 0, "a whole number >= 0"),
    "classes": (lambda v: isinstance(v, list) and len(v) > 0, "a non-empty list of class names"),
    "image_shape": (
        lambda v: isinstance(v, list) and len(v) == 2 and all(type(n) is int and n > 0 for n in v),
        "[height, width], two positive whole numbers",
    ),
    "scale": (lambda v: isinstance(v, str), "a scaling name"),
}


def check_meta(meta: Any, path: Path, task: Task | None = None) -> None:
    """Check that a run's meta.json is an object whose known keys hold what the tasks read from them.

    Args:
        meta: the parsed meta.json.
        path: the file, for the message.
        task: the run's task; the keys it declares (``Task.meta_keys``) must be there.

    >>> check_meta({"vocab_size": 65}, Path("run/meta.json"))
    >>> check_meta({"vocab_size": True}, Path("run/meta.json"))
    Traceback (most recent call last):
    ...
    seqlab.errors.CheckpointError: run/meta.json: vocab_size must be a positive whole number (got true)
    """
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} must hold a JSON object of the run's facts (got {type(meta).__name__})")
    if task is not None:
        for key in task.meta_keys:
            if key not in meta:
                raise CheckpointError(f"{path} lacks the key {key}, which a {task.name} run needs")
    for key, (valid, wanted) in META_CHECKS.items():
        if key in meta and not valid(meta[key]):
            raise CheckpointError(f"{path}: {key} must be {wanted} (got {json.dumps(meta[key])})")


def check_weights(state: dict[str, Any], expected: dict[str, Any], path: Path) -> None:
    """Check saved tensors against a model's state_dict: the same names, the same shapes, finite values.

    Args:
        state: the tensors read from the file.
        expected: ``model.state_dict()`` of the model built from config.toml.
        path: the file, for the message.

    >>> import torch
    >>> check_weights({"w": torch.tensor([float("nan")])}, {"w": torch.zeros(1)}, Path("model.safetensors"))
    Traceback (most recent call last):
    ...
    seqlab.errors.CheckpointError: model.safetensors: w holds values that are not finite (NaN or infinity); ...
    """
    import torch

    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    if missing and unexpected:
        raise CheckpointError(
            f"{path} holds the weight {unexpected[0]} where the model in config.toml needs {missing[0]}"
            + (f" ({len(missing)} names differ)" if len(missing) > 1 else "")
        )
    if missing:
        raise CheckpointError(
            f"{path} is missing the weight {missing[0]}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; the model in config.toml differs from the one that wrote it"
        )
    if unexpected:
        raise CheckpointError(
            f"{path} holds the weight {unexpected[0]}, which the model in config.toml does not have"
            + (f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else "")
        )
    for name, tensor in state.items():
        want = tuple(expected[name].shape)
        if tuple(tensor.shape) != want:
            raise CheckpointError(
                f"{path}: {name} has shape {tuple(tensor.shape)}, but the model in config.toml needs {want}"
            )
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(
                f"{path}: {name} holds values that are not finite (NaN or infinity); the training diverged "
                "or the file is damaged"
            )


__all__ = [
    "Run",
    "TrainingInterrupted",
    "train",
    "resume",
    "load",
    "default_run_dir",
    "final_evaluation",
    "write_summary",
]
