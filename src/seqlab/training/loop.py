"""The training loop: ``fit`` (train, validate, checkpoint, resume), its ``Step`` and ``evaluate``.

Read :func:`fit` top to bottom: it prepares (or resumes) the run, then each step is a
:class:`Step` on one batch at the schedule's learning rate, a train row in ``metrics.jsonl``, a
validation pass every ``eval_every`` steps (over ``eval_batches`` batches drawn across the split by
:func:`estimate_batches`: an estimate, and the val rows and the progress line say so), the budgets,
and a checkpoint every ``checkpoint_every`` steps and at the end. The only hooks are the four
methods of :class:`~seqlab.training.callbacks.Callback`.

The step is what changes between regimes; the bookkeeping around it is written once. The default,
:class:`OptimizerStep`, is :func:`train_step` (loss, then :func:`update`: penalty -> backward ->
clip -> ``optimizer.step()``) with one optimizer; the GAN hands ``fit`` its two-player step
(:class:`seqlab.tasks.gan.GANStep`), and the learning-rate range test a rising schedule
(:mod:`seqlab.experiments.lr_find`).

Where and how: ``config.device`` and ``config.precision`` are resolved once (``cuda`` becomes
``cuda:LOCAL_RANK`` under torchrun); the model moves there for the run and back at the end, every
batch moves there as it is read, the step's forward pass and loss run under autocast, and the
checkpoints hold CPU tensors, so a run resumes on another device. Under ``torchrun`` fit joins the
process group, trains ``DistributedDataParallel(model)`` on this rank's :func:`~seqlab.distributed.shard`
of every epoch, averages the step and validation metrics over the ranks (so every rank takes the
same decisions), and only rank 0 writes the run directory and draws progress.

Budgets: ``max_epochs`` always, ``max_steps`` and ``max_time`` (seconds, validation included)
when not 0; the run stops after the step on which the first one runs out, validates, writes a
checkpoint, restores the best weights when early stopping is on, and writes
``run_dir/model.safetensors``.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from seqlab.data.batching import OnDevice
from seqlab.errors import CheckpointError, ConfigError, DataError
from seqlab.training.callbacks import Callback, EarlyStopping, TrainState, monitor_value
from seqlab.training.checkpoint import (
    CheckpointWriter,
    checkpoint_files,
    latest_good_checkpoint,
    list_checkpoints,
    load_checkpoint,
    remove_unfinished,
    rng_state,
    save_weights,
    state_tensors,
)
from seqlab.training.log import MetricsLog, evaluated, log_every, save_curves, save_curves_apart
from seqlab.training.optim import build_optimizer, weight_penalty
from seqlab.training.progress import ProgressBar
from seqlab.training.schedules import Schedule, build_schedule
from seqlab.training.task import Task

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from seqlab.devices import Precision
    from seqlab.distributed import DistributedContext
    from seqlab.sections import TrainConfig

CURVES_EVERY = 60.0  # seconds: redraw curves.png at a validation pass at most this often (always at the end);
# a drawing takes about 1 s of a child process, so a shorter run gets its curves at the end only
CURVES_SHARE = 0.01  # ... and at most this share of the time: the next redraw waits 1 / CURVES_SHARE x the last


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` reports at the end.

    Args:
        step: optimizer steps taken in total.
        epochs: completed epochs as a fraction.
        elapsed: seconds of training in total (over all resumed sessions).
        stop_reason: why it stopped, starting with the budget's name
            (``max_steps``, ``max_epochs``, ``max_time``, ``early stopping``, ``non-finite loss``)
            or the reason a callback gave.
        metrics: the last validation metrics (``loss`` and the task's), empty without validation.
        best: best value of ``monitor`` seen, or None.
        best_step: the step of that value.
        monitor: the monitored metric, e.g. ``val_loss``.
        resumed_from: the checkpoint step this session started from, or None.
        device: where it trained (``cpu``, ``cuda:0``...).
        world_size: how many processes trained together.

    >>> result = FitResult(step=100, epochs=2.0, elapsed=3.5, stop_reason="max_steps: 100 steps done",
    ...                    metrics={"loss": 0.5}, best=0.5, best_step=100, monitor="val_loss")
    >>> result.stop_reason.split(":")[0]
    'max_steps'
    """

    step: int
    epochs: float
    elapsed: float
    stop_reason: str
    metrics: dict[str, float]
    best: float | None
    best_step: int | None
    monitor: str
    resumed_from: int | None = None
    device: str = "cpu"
    world_size: int = 1


def estimate_batches(total: int, count: int, *, seed: int) -> list[int]:
    """Which validation batches the periodic estimate reads: ``count`` of ``total``, spread over the split.

    The split is cut into ``count`` runs of consecutive batches of (nearly) equal length, and one
    batch is drawn from each run with a generator of its own seeded by ``seed``: every part of the
    split is represented, each batch is about as likely to be drawn as any other, and the same seed gives
    the same batches (so the curve of one run, and of runs with one seed, compare like with like).
    Reading the first ``count`` batches instead is biased wherever the split is not uniform in
    order (a corpus's last 10%: 1.445 against 1.506 nats/char for the whole split).

    Args:
        total: batches in the validation split.
        count: ``train.eval_batches`` (0: all of them).
        seed: ``train.seed``.

    Returns:
        Indices, ascending: ``range(total)`` when ``count`` is 0 or at least ``total``.

    >>> estimate_batches(100, 4, seed=0), estimate_batches(100, 4, seed=0) == estimate_batches(100, 4, seed=1)
    ([12, 49, 63, 76], False)
    >>> estimate_batches(3, 5, seed=0), estimate_batches(3, 0, seed=0)
    ([0, 1, 2], [0, 1, 2])
    """
    if not count or count >= total:
        return list(range(total))
    draw = random.Random(seed)  # its own generator: the global ones stay as train.seed left them
    edges = [index * total // count for index in range(count + 1)]
    return [draw.randrange(low, high) for low, high in zip(edges, edges[1:])]


def evaluate(model: torch.nn.Module, task: Task, batches: Sequence[Any]) -> dict[str, float]:
    """Run ``task.evaluate`` in eval mode without gradients, then put the model back in its mode.

    Args:
        model: the module.
        task: supplies the metrics.
        batches: e.g. ``task.val_batches()``.

    Returns:
        The task's metrics as floats; always has ``loss``.

    >>> import torch
    >>> class Mean:
    ...     def evaluate(self, model, batches):
    ...         return {"loss": sum(float(model(b).mean()) for b in batches) / len(batches)}
    >>> model = torch.nn.Identity()
    >>> evaluate(model, Mean(), [torch.ones(2), torch.zeros(2)]), model.training
    ({'loss': 0.5}, True)
    """
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            metrics = dict(task.evaluate(model, batches))
    finally:
        model.train(was_training)
    if "loss" not in metrics:
        raise ValueError(f"{type(task).__name__}.evaluate must return a dict with 'loss' (got {sorted(metrics)})")
    return {name: float(value) for name, value in metrics.items()}


def train_step(
    model: torch.nn.Module,
    task: Task,
    batch: Any,
    optimizer: torch.optim.Optimizer,
    *,
    lr: float,
    config: TrainConfig,
    precision: Precision | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, float]:
    """One optimizer step on one batch: loss (+ L1/L2 penalty) -> backward -> clip -> step.

    Args:
        model: the module, put in training mode.
        task: supplies ``loss(model, batch)``.
        batch: one item of ``task.train_batches(epoch)``.
        optimizer: from :func:`~seqlab.training.optim.build_optimizer`.
        lr: the learning rate for this step (from the schedule).
        config: reads ``l1``, ``l2``, ``clip_norm``.
        precision: the forward pass and the loss run under its autocast (default: fp32).
        scaler: scales an fp16 loss (see :func:`update`).

    Returns:
        ``loss`` (the task's loss, without the penalty), the task's metrics, and ``penalty`` /
        ``grad_norm`` (before clipping) when those are on. A non-finite loss skips the update
        (on every rank of a ``DistributedDataParallel`` model, if any one of them has it).

    >>> import torch
    >>> from seqlab.sections import TrainConfig
    >>> class Zero:  # pull every output towards 0
    ...     def loss(self, model, batch): return model(batch).pow(2).mean(), {}
    >>> model = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> sorted(train_step(model, Zero(), torch.ones(4, 2), opt, lr=0.1, config=TrainConfig(clip_norm=1.0)))
    ['grad_norm', 'loss']
    """

    model.train()
    with precision.autocast() if precision is not None else nullcontext():
        loss, metrics = task.loss(model, batch)
    value = loss.item()  # the step's one wait for the device
    if not _finite_everywhere(model, value, loss.device):
        return {"loss": value if math.isfinite(value) else float("nan")}
    row = {"loss": value, **{name: float(value) for name, value in metrics.items()}}
    return {**row, **update(model, loss, optimizer, lr=lr, config=config, scaler=scaler)}


def _finite_everywhere(model: torch.nn.Module, loss: float, device: torch.device) -> bool:
    """Whether the loss is finite here and, for a DDP model, on every rank (they must skip an update together:
    a rank that skipped backward would leave the others waiting in DDP's gradient all-reduce)."""
    from torch.nn.parallel import DistributedDataParallel

    if not isinstance(model, DistributedDataParallel):
        return math.isfinite(loss)
    import torch
    import torch.distributed as dist

    finite = torch.tensor([int(math.isfinite(loss))], dtype=torch.int32, device=device)
    dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    return bool(finite.item())


def update(
    module: torch.nn.Module,
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    lr: float,
    config: TrainConfig,
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, float]:
    """Take one optimizer step down ``loss``: + L1/L2 penalty -> backward -> clip -> ``optimizer.step()`` at ``lr``.

    Args:
        module: the parameters ``optimizer`` updates (their weights are penalised, their gradient clipped).
        loss: a scalar with grad.
        optimizer: built for ``module``'s parameters.
        lr: the learning rate for this step.
        config: reads ``l1``, ``l2``, ``clip_norm``.
        scaler: from :meth:`~seqlab.devices.Precision.grad_scaler`: for fp16 it scales the loss before
            backward, unscales the gradients before clipping and skips steps with inf/NaN gradients;
            None (or a disabled scaler) steps plainly.

    Returns:
        ``penalty`` and ``grad_norm`` (before clipping) when those are on.

    >>> import torch
    >>> from seqlab.sections import TrainConfig
    >>> layer = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    >>> sorted(update(layer, layer(torch.ones(1, 2)).sum(), opt, lr=0.1, config=TrainConfig(l2=0.1)))
    ['penalty']
    """
    import torch

    row: dict[str, float] = {}
    if config.l1 or config.l2:
        penalty = weight_penalty(module, l1=config.l1, l2=config.l2)
        row["penalty"] = penalty.item()
        loss = loss + penalty
    scaler = scaler if scaler is not None else torch.amp.GradScaler("cpu", enabled=False)  # a pass-through
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if config.clip_norm > 0:
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        row["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(module.parameters(), config.clip_norm))
    for group in optimizer.param_groups:
        group["lr"] = lr
    scaler.step(optimizer)
    scaler.update()
    return row


class Step(Protocol):
    """One update of the model on one batch, plus the optimizer state a checkpoint keeps.

    A step is built for one model (it holds that model's optimizers); :func:`fit` calls it once
    per batch with the schedule's learning rate, and saves and restores its state with the
    checkpoints. :class:`OptimizerStep` is the usual one; the GAN's two-player step is another.

    A step handed to :func:`fit` drives its own networks, so fit cannot wrap them: it trains in
    one process and in fp32, and fit refuses ``train.precision`` other than fp32 or torchrun for it.
    """

    def __call__(self, batch: Any, *, lr: float) -> dict[str, float]:
        """Update on ``batch`` at ``lr``; return ``loss`` and other metrics as floats.

        A non-finite ``loss`` means the update was skipped; :func:`fit` then stops.
        """
        ...

    def state_dict(self) -> dict[str, Any]:
        """The optimizer state, in ``torch.optim.Optimizer.state_dict`` form (``state``, ``param_groups``).

        Other keys (JSON-able: the gradient scaler's ``scaler``) are saved in ``state.json`` and given back.
        """
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        ...


class OptimizerStep:
    """The usual step: :func:`train_step` with one optimizer (``train.optimizer``) over all parameters.

    Its state is the optimizer's plus the gradient scaler's (``scaler``: empty but for fp16 on CUDA).

    Args:
        model: the module to train (:func:`fit` gives it the ``DistributedDataParallel`` wrapper under torchrun).
        task: supplies ``loss(model, batch)``.
        config: the ``[train]`` settings (optimizer, weight decay, L1/L2, clipping).
        precision: autocast of the forward pass and loss, and the gradient scaler (default: fp32).

    >>> import torch
    >>> from seqlab.sections import TrainConfig
    >>> class Zero:  # pull every output towards 0
    ...     def loss(self, model, batch): return model(batch).pow(2).mean(), {}
    >>> step = OptimizerStep(torch.nn.Linear(2, 1), Zero(), TrainConfig(optimizer="sgd"))
    >>> sorted(step(torch.ones(4, 2), lr=0.1)), len(step.state_dict()["param_groups"]), step.state_dict()["scaler"]
    (['loss'], 2, {})
    """

    def __init__(
        self, model: torch.nn.Module, task: Task, config: TrainConfig, *, precision: Precision | None = None
    ) -> None:
        import torch

        from seqlab.devices import Precision

        self.model, self.task, self.config = model, task, config
        self.precision = precision if precision is not None else Precision("fp32", torch.device("cpu"))
        self.optimizer = build_optimizer(model, config)
        self.scaler = self.precision.grad_scaler()

    def __call__(self, batch: Any, *, lr: float) -> dict[str, float]:
        return train_step(
            self.model,
            self.task,
            batch,
            self.optimizer,
            lr=lr,
            config=self.config,
            precision=self.precision,
            scaler=self.scaler,
        )

    def state_dict(self) -> dict[str, Any]:
        return {**self.optimizer.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict({"state": state["state"], "param_groups": state["param_groups"]})
        from seqlab.devices import restore_scaler

        restore_scaler(self.scaler, state.get("scaler", {}))


def fit(
    model: torch.nn.Module,
    task: Task,
    config: TrainConfig,
    *,
    run_dir: str | Path,
    step: Step | None = None,
    schedule: Schedule | None = None,
    callbacks: Sequence[Callback] = (),
    console: Console | None = None,
    resume: bool = False,
) -> FitResult:
    """Train ``model`` on ``task`` until a budget runs out; checkpoint, log and plot into ``run_dir``.

    Args:
        model: the module to train (already initialised; the caller seeds its initialisation).
        task: batches, loss and metrics (:class:`~seqlab.training.task.Task`).
        config: the ``[train]`` settings (``device`` and ``precision`` included).
        run_dir: where ``checkpoints/``, ``metrics.jsonl``, ``curves.png`` and ``model.safetensors`` go.
        step: the update on one batch (default :class:`OptimizerStep` of ``model``, ``task``, ``config``).
        schedule: the learning rate of each step (default :func:`~seqlab.training.schedules.build_schedule`).
        callbacks: extra :class:`~seqlab.training.callbacks.Callback` objects, called after the progress bar
            (on every rank of a distributed run, with the same metrics, so they stop it together).
        console: rich console for progress and messages (default: stderr; ranks other than 0 print nothing).
        resume: continue from the newest good checkpoint in ``run_dir``; without one, start at step 0.

    Returns:
        A :class:`FitResult`; the model holds the final (or best, with early stopping) weights, on
        the device it was on before.

    Raises:
        CheckpointError: ``run_dir`` has checkpoints but ``resume`` is False, or none of them is usable.
        ConfigError: a device that is not here, a precision it cannot run, or a ``step`` of fit's caller
            with a precision other than fp32 or under torchrun.

    >>> import tempfile, torch
    >>> from seqlab.sections import TrainConfig
    >>> class Line:  # learn y = 2x
    ...     x = torch.linspace(-1, 1, 16).unsqueeze(1)
    ...     def train_batches(self, epoch): return [(self.x, 2 * self.x)]
    ...     def val_batches(self): return [(self.x, 2 * self.x)]
    ...     def loss(self, model, batch): return torch.nn.functional.mse_loss(model(batch[0]), batch[1]), {}
    ...     def evaluate(self, model, batches): return {"loss": float(self.loss(model, batches[0])[0])}
    ...     def count_tokens(self, batch): return len(batch[0])
    >>> from io import StringIO
    >>> from rich.console import Console
    >>> result = fit(torch.nn.Linear(1, 1), Line(), TrainConfig(lr=0.1, max_epochs=200, eval_every=50, device="cpu"),
    ...              run_dir=tempfile.mkdtemp(), console=Console(file=StringIO()))
    >>> result.step, result.stop_reason.split(":")[0], result.metrics["loss"] < 1e-3
    (200, 'max_epochs', True)
    """
    from rich.console import Console

    from seqlab.distributed import DistributedContext

    ranks = DistributedContext.from_env()
    if console is None or not ranks.is_main:  # the other ranks print nothing but errors
        console = Console(stderr=True, quiet=not ranks.is_main)
    run = _prepare(model, task, config, Path(run_dir), console, ranks, step=step, schedule=schedule, resume=resume)
    state = run.state
    if state.stop_reason is not None:
        return _already_finished(run)
    bar = ProgressBar(console, config, evaluated=run.evaluated)
    hooks = [bar, *callbacks]
    if config.tensorboard and run.main:  # event files beside metrics.jsonl; nothing imported when off
        from seqlab.training.tensorboard import TensorBoardLog

        histograms = config.tensorboard_histograms_every
        hooks.append(TensorBoardLog(run.run_dir, model=model, task=task, histograms_every=histograms))
    every = log_every(config.eval_every)
    batches = _epoch_batches(run)
    run.started = time.perf_counter()  # the clock runs from here (plus earlier sessions' time)
    for hook in hooks:
        hook.on_train_start(state)
    try:
        while state.stop_reason is None:
            batch = batches[state.batch_index]
            # the clock of the last step (synced across ranks, so every rank takes the same lr)
            state.lr = run.schedule.lr(state.step, elapsed=state.elapsed)
            started = time.perf_counter()
            metrics, tokens, elapsed = _synced(run, run.step(batch, lr=state.lr), task.count_tokens(batch))
            if not math.isfinite(metrics["loss"]):
                state.request_stop(
                    f"non-finite loss: {metrics['loss']} at step {state.step + 1}; "
                    f"lower train.lr (now {config.lr:g}) or set train.clip_norm"
                )
                continue
            state.step, state.batch_index, state.elapsed = state.step + 1, state.batch_index + 1, elapsed
            seconds = max(time.perf_counter() - started, 1e-9)
            run.log.add(metrics, tokens=tokens, seconds=seconds)
            for hook in hooks:
                hook.on_step_end(state, {**metrics, "lr": state.lr, "tokens_per_s": tokens / seconds})
            if state.batch_index == len(batches):  # the next position is the next epoch's first batch
                state.epoch, state.batch_index = state.epoch + 1, 0
                if state.epoch < config.max_epochs:
                    batches = _epoch_batches(run)
            stopping = state.stop_reason or _budget_spent(state, config)
            evaluating = state.step % config.eval_every == 0 or stopping is not None
            if evaluating or state.step % every == 0:
                run.log.write_train(step=state.step, epoch=state.epochs_done, time=state.elapsed, lr=state.lr)
            if evaluating:
                _validate(run, hooks)
            state.stop_reason = stopping or state.stop_reason or run.stopper.stop_reason()
            if state.stop_reason or state.step % config.checkpoint_every == 0:
                _checkpoint(run)
    finally:
        bar.stop()
        run.writer.join()  # a checkpoint being written is finished before fit returns or raises
    return _finish(run, hooks)


# ----------------------------------------------------------------------------- the pieces fit uses


@dataclass
class _Run:
    model: torch.nn.Module  # the module itself (the step may hold it wrapped in DistributedDataParallel)
    task: Task
    config: TrainConfig
    run_dir: Path
    console: Console
    ranks: DistributedContext
    device: torch.device
    precision: Precision
    home: torch.device  # where the model was before fit; it goes back there at the end
    joined: bool  # fit joined the process group, so it leaves it at the end
    step: Step
    schedule: Schedule
    stopper: EarlyStopping
    log: MetricsLog
    val_batches: Sequence[Any]  # this rank's share, moved to the device as read
    val_tokens: int  # in this rank's share: its weight in the mean over ranks
    evaluated: str  # what a validation pass covers: "estimate: 20 of 56 batches" or "all 56 batches"
    state: TrainState = field(default_factory=TrainState)
    best: dict[str, torch.Tensor] | None = None  # best weights (early stopping on)
    last_val: dict[str, float] = field(default_factory=dict)
    saved_step: int | None = None  # step of the last checkpoint written or loaded
    writer: CheckpointWriter = field(default_factory=CheckpointWriter)
    resumed_from: int | None = None
    started: float = field(default_factory=time.perf_counter)
    elapsed_before: float = 0.0
    last_plot: float = field(default_factory=time.perf_counter)  # first redraw after CURVES_EVERY s
    plot_wait: float = field(default_factory=lambda: CURVES_EVERY)  # seconds from last_plot to the next redraw

    def clock(self) -> float:
        """Seconds of training so far, over all sessions."""
        return self.elapsed_before + time.perf_counter() - self.started

    @property
    def main(self) -> bool:
        """True in the process that writes the run directory (rank 0; the only one outside torchrun)."""
        return self.ranks.is_main


def _seed(config: TrainConfig) -> None:
    import numpy as np
    import torch

    if config.threads > 0:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)


def _epoch_batches(run: _Run) -> Sequence[Any]:
    """This rank's share of the epoch's batches (all of them in one process), moved to the device as read."""
    from seqlab.distributed import shard

    state, ranks = run.state, run.ranks
    batches = shard(run.task.train_batches(state.epoch), ranks.rank, ranks.world_size)
    if len(batches) == 0:
        raise DataError(
            f"the task has no training batches for epoch {state.epoch} in each of {ranks.world_size} process(es); "
            "the data is empty or smaller than one batch per process (check data.limit and train.batch_size)"
        )
    state.steps_per_epoch = len(batches)
    return OnDevice(batches, run.device)


def _synced(run: _Run, metrics: dict[str, float], tokens: int) -> tuple[dict[str, float], int, float]:
    """(metrics, tokens, elapsed) of a step: under torchrun the ranks' mean metrics and clock, and all their tokens.

    Every rank then sees the same numbers, so the budgets, callbacks and a non-finite loss stop them together.
    """
    if not run.ranks.is_distributed:
        return metrics, tokens, run.clock()
    mean = run.ranks.all_reduce_mean({**metrics, " tokens": tokens, " clock": run.clock()})
    synced = {name: mean[name] for name in metrics}
    return synced, round(mean[" tokens"] * run.ranks.world_size), mean[" clock"]


def _planned_steps(task: Task, config: TrainConfig, ranks: DistributedContext) -> int:
    if config.schedule != "cosine":
        return 0
    total = config.max_epochs * (len(task.train_batches(0)) // ranks.world_size)
    return min(total, config.max_steps) if config.max_steps else total


def _place(
    model: torch.nn.Module, task: Task, config: TrainConfig, ranks: DistributedContext, step: Step | None
) -> tuple[torch.device, Precision, bool, Step]:
    """Resolve the device and precision, join the process group, move the model, and build the default step
    around ``DistributedDataParallel(model)`` under torchrun (so the task's loss calls DDP's forward)."""
    import torch.distributed as dist

    from seqlab.devices import Precision, resolve_device

    device = ranks.device(resolve_device(config.device))
    precision = Precision.resolve(config.precision, device)
    if step is not None and (ranks.is_distributed or precision.name != "fp32"):
        raise ConfigError(
            f"{type(step).__name__} drives its networks itself, so it trains in one process and in fp32 "
            f"(train.precision is {precision.name}, {ranks.world_size} process(es)): DistributedDataParallel and "
            'autocast wrap the usual step only; set train.precision = "fp32" and train without --nproc / torchrun'
        )
    joined = ranks.is_distributed and not dist.is_initialized()
    ranks.init(device)
    model.to(device)
    if step is None:
        step = OptimizerStep(ranks.wrap(model, device), task, config, precision=precision)
    return device, precision, joined, step


def _prepare(
    model: torch.nn.Module,
    task: Task,
    config: TrainConfig,
    run_dir: Path,
    console: Console,
    ranks: DistributedContext,
    *,
    step: Step | None,
    schedule: Schedule | None,
    resume: bool,
) -> _Run:
    import torch

    if not isinstance(task, Task):
        raise TypeError(
            f"{type(task).__name__} is not a seqlab.training.Task: "
            "it needs train_batches, val_batches, loss, evaluate and count_tokens"
        )
    _seed(config)
    home = next(model.parameters(), torch.zeros(())).device
    device, precision, joined, step = _place(model, task, config, ranks, step)
    val = task.val_batches()  # the whole split; the periodic estimate reads train.eval_batches of them
    chosen = [val[i] for i in estimate_batches(len(val), config.eval_batches, seed=config.seed)]
    mine = chosen[ranks.rank :: ranks.world_size] if len(chosen) >= ranks.world_size else chosen
    run = _Run(
        model=model,
        task=task,
        config=config,
        run_dir=run_dir,
        console=console,
        ranks=ranks,
        device=device,
        precision=precision,
        home=home,
        joined=joined,
        step=step,
        schedule=schedule
        if schedule is not None
        else build_schedule(config, total_steps=_planned_steps(task, config, ranks)),
        stopper=EarlyStopping(config.monitor, patience=config.early_stopping),
        log=MetricsLog(run_dir / "metrics.jsonl" if ranks.is_main else None),
        val_batches=OnDevice(mine, device),
        val_tokens=sum(task.count_tokens(batch) for batch in mine),
        evaluated=evaluated(len(chosen), len(val)),
    )
    if ranks.is_distributed:
        console.print(
            f"{ranks.world_size} processes on {device.type} ({precision.name}), "
            f"global batch {config.batch_size * ranks.world_size} ({config.batch_size} per process)"
        )
    if config.early_stopping and not run.val_batches:
        console.print("[yellow]train.early_stopping is on but the task has no validation batches: no early stop[/]")
    folder = run_dir / "checkpoints"
    if not resume and list_checkpoints(folder):
        raise CheckpointError(
            f"{run_dir} already holds checkpoints of an earlier run; resume it (resume=True, "
            "`seqlab train --resume`) or train into a new run directory"
        )
    if run.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        for leftover in remove_unfinished(folder):
            console.print(f"[yellow]removed {leftover}: a checkpoint whose writing was interrupted[/]")
    path = latest_good_checkpoint(folder, console=console) if resume else None
    if path is None:
        if resume:
            console.print(f"no checkpoint in {folder}; starting from step 0")
        if run.log.path is not None:
            run.log.path.unlink(missing_ok=True)
        return run
    _resume(run, path)
    return run


def _resume(run: _Run, path: Path) -> None:
    saved, run.best = load_checkpoint(path, model=run.model, optimizer=run.step, rank=run.ranks.rank)
    world = saved.get("world_size", 1)
    if world != run.ranks.world_size:
        raise CheckpointError(
            f"{path} was written by a run of {world} process(es), and this one has {run.ranks.world_size}; "
            f"resume it with --nproc {world} (each process's share of the batches depends on it)"
        )
    run.state = TrainState(
        step=saved["step"],
        epoch=saved["epoch"],
        batch_index=saved["batch_index"],
        elapsed=saved["elapsed"],
        lr=saved["lr"],
        stop_reason=saved["stop_reason"],
    )
    run.schedule.load_state_dict(saved["schedule"])
    run.stopper.load_state_dict(saved["early_stopping"])
    run.log.load_state_dict(saved["metrics_log"])
    run.log.truncate_after(saved["step"])
    run.last_val, run.saved_step, run.resumed_from = saved["last_val"], saved["step"], saved["step"]
    run.elapsed_before = saved["elapsed"]
    if run.state.stop_reason is None:
        where = f"step {saved['step']}, epoch {saved['epoch']}, batch {saved['batch_index']}"
        run.console.print(f"resuming from {path.name} ({where})")


def _budget_spent(state: TrainState, config: TrainConfig) -> str | None:
    if config.max_steps and state.step >= config.max_steps:
        return f"max_steps: {config.max_steps} steps done"
    if state.epoch >= config.max_epochs:
        return f"max_epochs: {config.max_epochs} epochs done"
    if config.max_time and state.elapsed >= config.max_time:
        return f"max_time: {config.max_time:g} s spent"
    return None


def _validate(run: _Run, hooks: Sequence[Callback]) -> None:
    if not run.val_batches:
        return
    config, state = run.config, run.state
    started = time.perf_counter()
    with run.precision.autocast():
        metrics = evaluate(run.model, run.task, run.val_batches)
    if run.ranks.is_distributed:  # the mean over the ranks' shares, weighted by their tokens
        mean = run.ranks.all_reduce_mean(metrics, weight=run.val_tokens)
        metrics = {name: mean[name] for name in metrics}
    seconds = max(time.perf_counter() - started, 1e-9)
    value = monitor_value(config.monitor, metrics)
    if value is None and (config.early_stopping or config.schedule == "plateau"):
        choices = ", ".join(f"val_{name}" for name in metrics)
        raise ConfigError(f'train.monitor must be one of {choices} for this task (got "{config.monitor}")')
    if value is not None:
        run.schedule.observe(value)
        if run.stopper.update(value, step=state.step) and config.early_stopping:
            run.best = state_tensors(run.model)
    run.last_val = metrics
    run.log.write(
        step=state.step,
        epoch=state.epochs_done,
        time=state.elapsed,
        split="val",
        metrics=metrics,
        lr=state.lr,
        tokens_per_s=run.val_tokens * run.ranks.world_size / seconds,
        evaluated=run.evaluated,
    )
    if run.main and time.perf_counter() - run.last_plot >= run.plot_wait:
        _plot(run)
    for hook in hooks:
        hook.on_eval_end(state, metrics)


def _plot(run: _Run, *, final: bool = False) -> None:
    started = time.perf_counter()
    # Drawn here when matplotlib is loaded already or training is over (its memory peak is behind
    # it); while training, in a child, so matplotlib (30-40 MB) stays out of this process
    if final or "matplotlib" in sys.modules:
        save_curves(run.log.records(), run.run_dir / "curves.png")
    else:
        try:
            save_curves_apart(run.log.records(), run.run_dir / "curves.png")
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
            run.console.print(f"[yellow]curves.png not redrawn ({err}); it is drawn again at the end[/]")
    run.last_plot = time.perf_counter()
    run.plot_wait = max(CURVES_EVERY, (run.last_plot - started) / CURVES_SHARE)  # drawing stays under 1%


def _checkpoint(run: _Run) -> None:
    state, world = run.state, run.ranks.world_size
    saved = {
        "step": state.step,
        "epoch": state.epoch,
        "batch_index": state.batch_index,
        "elapsed": run.clock(),
        "lr": state.lr,
        "stop_reason": state.stop_reason,
        "schedule": run.schedule.state_dict(),
        "early_stopping": run.stopper.state_dict(),
        "metrics_log": run.log.state_dict(),
        "last_val": run.last_val,
        "train_config": run.config.model_dump(mode="json"),
        "device": str(run.device),
        "world_size": world,
        "global_batch": run.config.batch_size * world,
    }
    rngs = run.ranks.gather(rng_state())  # each rank's dropout draws its own numbers
    if run.main:  # the weights are the same on every rank; the disk work goes on beside training
        run.writer.wait()  # the last write is done (or its error raised) before the next snapshot exists
        best = run.best if run.config.early_stopping else None
        files = checkpoint_files(model=run.model, optimizer=run.step, state=saved, best=best, rngs=rngs)
        run.writer.save(run.run_dir / "checkpoints", step=state.step, files=files, keep=run.config.keep_checkpoints)
    run.saved_step = state.step


def _final_weights(run: _Run) -> None:
    if run.best is not None and run.config.early_stopping:
        run.model.load_state_dict(run.best)
        best = f"{run.config.monitor} {run.stopper.best:.4g} at step {run.stopper.best_step}"
        run.console.print(f"restored the best weights ({best})")


def _result(run: _Run) -> FitResult:
    state = run.state
    return FitResult(
        step=state.step,
        epochs=state.epochs_done,
        elapsed=run.clock(),
        stop_reason=state.stop_reason or "",
        metrics=dict(run.last_val),
        best=run.stopper.best,
        best_step=run.stopper.best_step,
        monitor=run.config.monitor,
        resumed_from=run.resumed_from,
        device=str(run.device),
        world_size=run.ranks.world_size,
    )


def _release(run: _Run) -> FitResult:
    """Put the model back where it was, leave the process group fit joined, and say what happened."""
    run.model.to(run.home)
    if run.joined:
        run.ranks.destroy()
    return _result(run)


def _finish(run: _Run, hooks: Sequence[Callback]) -> FitResult:
    state = run.state
    if run.saved_step != state.step or (state.stop_reason or "").startswith("non-finite"):
        # stopped before the step's own checkpoint (a non-finite loss): record the last good state
        run.log.write_train(step=state.step, epoch=state.epochs_done, time=state.elapsed, lr=state.lr)
        _validate(run, hooks)
        _checkpoint(run)
    run.writer.wait()  # the last checkpoint is on disk before the final weights, or its error is raised
    _final_weights(run)
    if run.main:
        save_weights(state_tensors(run.model), run.run_dir / "model.safetensors")
        _plot(run, final=True)
    run.console.print(f"stopped at step {state.step} ({state.stop_reason})")
    for hook in hooks:
        hook.on_train_end(state)
    return _release(run)


def _already_finished(run: _Run) -> FitResult:
    _final_weights(run)
    target = run.run_dir / "model.safetensors"
    if run.main and not target.exists():  # killed between the final checkpoint and this file
        save_weights(state_tensors(run.model), target)
    run.console.print(
        f"{run.run_dir} already finished at step {run.state.step} ({run.state.stop_reason}); nothing to do"
    )
    return _release(run)
