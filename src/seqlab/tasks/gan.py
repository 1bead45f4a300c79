"""GANs on 28x28 images: the DCGAN's two-player training step, written out in :func:`fit`.

The generic loop trains one model on one loss; a GAN trains two networks against each other
with two optimizers, so it gets its own loop here (STYLE.md item 5). Each step:

1. discriminator: push D(x) on real images to 1 and D(G(z)) on generated ones to 0
   (binary cross-entropy; the fakes are detached so G is not updated);
2. generator, non-saturating loss (Goodfellow et al., 2014): maximise log D(G(z)) instead of
   minimising log(1 - D(G(z))), which gives G gradients when D wins early.

It reuses seqlab.training's checkpoints (safetensors, atomic, exact resume), metrics.jsonl,
curves and progress bar. Every epoch it saves the grid of the same 64 noise vectors
(``samples/epoch-NNN.png``). Sample quality is judged by an MLP classifier trained on the real
images before the GAN starts: the share of samples it classifies confidently, the number of
classes it finds among them (coverage), and the spread (normalised entropy) of its predicted
classes, which falls towards 0 when the generator collapses onto a few modes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.config import Config, TrainConfig
from seqlab.data.images import ImageBatch, from_tensor
from seqlab.errors import ConfigError
from seqlab.models.gan import GAN
from seqlab.models.mlp import MLP
from seqlab.tasks.image_classification import ImageTask, image_splits

NAME = "gan"
JUDGE_SEED = 4321  # the judge's samples are the same at every evaluation


# ----------------------------------------------------------------------------- the judge


def train_judge(
    images: Tensor, labels: Tensor, *, num_classes: int, steps: int, seed: int, batch_size: int = 128
) -> MLP:
    """A quick MLP classifier of the real images (the same scaling the GAN sees), for judging samples.

    >>> judge = train_judge(torch.rand(64, 1, 28, 28), torch.arange(64) % 2, num_classes=2, steps=3, seed=0)
    >>> judge(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 2])
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        judge = MLP(images[0].numel(), num_classes, hidden_sizes=(256,), dropout=0.1)
        optimizer = torch.optim.Adam(judge.parameters(), lr=1e-3)
        judge.train()
        for _ in range(steps):
            rows = torch.randint(len(labels), (min(batch_size, len(labels)),), generator=generator)
            loss = F.cross_entropy(judge(images[rows]), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return judge.eval()


@torch.no_grad()
def judge_samples(
    judge: nn.Module, images: Tensor, *, num_classes: int, confidence: float, labels: Tensor | None = None
) -> dict[str, float]:
    """How a classifier of real images sees generated ones.

    Returns ``confident`` (share with max probability >= confidence), ``coverage`` (share of the
    classes predicted for at least 1% of the confident samples), ``spread`` (entropy of the
    predicted-class histogram over log C: 1 = all classes equally, 0 = one class) and, with
    ``labels`` (a conditional GAN), ``label_match`` (share classified as the class asked for).

    >>> judge = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> sorted(judge_samples(judge, torch.rand(8, 1, 2, 2), num_classes=2, confidence=0.5))
    ['confident', 'coverage', 'spread']
    """
    probs = torch.softmax(judge(images), -1)  # (N, C)
    top, predicted = probs.max(-1)
    sure = top >= confidence
    counts = torch.bincount(predicted[sure], minlength=num_classes).double()
    share = counts / counts.sum().clamp(min=1)
    histogram = torch.bincount(predicted, minlength=num_classes).double() / len(predicted)
    entropy = -(histogram[histogram > 0] * histogram[histogram > 0].log()).sum()
    out = {
        "confident": float(sure.double().mean()),
        "coverage": float((share >= 0.01).double().mean()) if sure.any() else 0.0,
        "spread": float(entropy / math.log(num_classes)),
    }
    if labels is not None:
        out["label_match"] = float((predicted == labels).double().mean())
    return out


# ----------------------------------------------------------------------------- the task


class GANTask(ImageTask):
    """Batches of real images, the judge, and the GAN's evaluation metrics.

    Args:
        splits: split name -> (images (N, 1, H, W) in [-1, 1], labels (N,)).
        batch_size: B.
        seed: fixes the order of every epoch.
        options: the ``[model]`` section.
        num_classes: C.
        judge: the classifier of real images, or None.
        eval_batches: cap on validation batches during training (0 = all).
    """

    def __init__(
        self,
        splits: dict[str, tuple[Tensor, Tensor]],
        *,
        batch_size: int,
        seed: int,
        options: Any,
        num_classes: int,
        judge: nn.Module | None,
        eval_batches: int = 0,
    ) -> None:
        super().__init__(splits, batch_size=batch_size, seed=seed, eval_batches=eval_batches)
        self.options, self.num_classes, self.judge = options, num_classes, judge

    def labels_for(self, batch: ImageBatch) -> Tensor | None:
        return batch.labels if self.options.conditional else None

    def losses(self, model: GAN, batch: ImageBatch, *, noise: Tensor | None = None) -> dict[str, Tensor]:
        """Both players' losses on one batch (no update): loss_d, loss_g, and D's mean outputs."""
        labels = self.labels_for(batch)
        z = model.noise(len(batch)) if noise is None else noise
        fake = model.generator(z, labels)  # (B, 1, 28, 28)
        real_logits = model.discriminator(batch.images, labels)  # (B,)
        fake_logits = model.discriminator(fake, labels)  # (B,)
        loss_d = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        loss_g = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return {
            "loss_d": loss_d,
            "loss_g": loss_g,
            "d_real": torch.sigmoid(real_logits).mean(),
            "d_fake": torch.sigmoid(fake_logits).mean(),
        }

    def loss(self, model: nn.Module, batch: ImageBatch) -> tuple[Tensor, dict[str, float]]:
        """The generator's loss (the Task protocol; training itself uses :func:`fit`)."""
        parts = self.losses(model, batch)
        return parts["loss_g"], {name: float(v) for name, v in parts.items() if name != "loss_g"}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[ImageBatch]) -> dict[str, float]:
        sums: dict[str, float] = {}
        count = 0
        generator = torch.Generator().manual_seed(JUDGE_SEED)
        for batch in batches:
            parts = self.losses(model, batch, noise=model.noise(len(batch), generator=generator))
            for name, value in parts.items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
            count += len(batch)
        metrics = {name: total / max(count, 1) for name, total in sums.items()}
        metrics["loss"] = metrics.get("loss_d", 0.0) + metrics.get("loss_g", 0.0)
        return {**metrics, **self.judge_model(model)}

    @torch.no_grad()
    def judge_model(self, model: GAN) -> dict[str, float]:
        """Judge a fixed set of generated samples (empty without a judge)."""
        if self.judge is None:
            return {}
        num = self.options.judge_samples
        labels = torch.arange(num) % self.num_classes if self.options.conditional else None
        samples = model.sample(num, labels=labels, generator=torch.Generator().manual_seed(JUDGE_SEED))
        return judge_samples(
            self.judge, samples, num_classes=self.num_classes, confidence=self.options.confidence, labels=labels
        )


# ----------------------------------------------------------------------------- binding


def prepare(config: Config, *, tokenizer: Any = None) -> tuple[None, GANTask, dict[str, Any]]:
    """Read the images scaled to [-1, 1] (the generator ends in tanh), train the judge, build the task."""
    if config.data.scale != "symmetric":
        raise ConfigError(
            f'a GAN generates pixels in [-1, 1] (tanh): set data.scale = "symmetric" (got "{config.data.scale}")'
        )
    splits, meta = image_splits(config)
    if tuple(meta["image_shape"]) != (28, 28):
        raise ConfigError(f"the DCGAN makes 28x28 images; {config.data.dataset} holds {tuple(meta['image_shape'])}")
    num_classes = len(meta["classes"])
    judge = None
    if config.model.judge_steps:
        judge = train_judge(
            *splits["train"], num_classes=num_classes, steps=config.model.judge_steps, seed=config.train.seed
        )
        test_x, test_y = splits["test"] if len(splits["test"][1]) else splits["val"]
        with torch.no_grad():
            meta["judge_accuracy"] = (
                float((judge(test_x).argmax(-1) == test_y).double().mean()) if len(test_y) else float("nan")
            )
    task = GANTask(
        splits,
        batch_size=config.train.batch_size,
        seed=config.train.seed,
        options=config.model,
        num_classes=num_classes,
        judge=judge,
        eval_batches=config.train.eval_batches,
    )
    return None, task, {"task": NAME, **meta}


def build_model(config: Config, tokenizer: Any, meta: dict[str, Any]) -> GAN:
    """The GAN a config describes, with fresh (DCGAN-initialised) weights."""
    m = config.model
    return GAN(m.noise_dim, channels=m.channels, num_classes=len(meta["classes"]) if m.conditional else 0)


class OptimizerPair:
    """Two optimizers seen as one by the checkpoint helpers (``state_dict`` / ``load_state_dict``).

    >>> a, b = nn.Linear(2, 1), nn.Linear(2, 1)
    >>> pair = OptimizerPair(torch.optim.Adam(a.parameters()), torch.optim.Adam(b.parameters()))
    >>> [g["params"] for g in pair.state_dict()["param_groups"]]
    [[0, 1], [2, 3]]
    """

    def __init__(self, first: torch.optim.Optimizer, second: torch.optim.Optimizer) -> None:
        self.first, self.second = first, second

    def state_dict(self) -> dict[str, Any]:
        a, b = self.first.state_dict(), self.second.state_dict()
        offset = sum(len(g["params"]) for g in a["param_groups"])
        state = {**a["state"], **{k + offset: v for k, v in b["state"].items()}}
        groups = a["param_groups"] + [{**g, "params": [p + offset for p in g["params"]]} for g in b["param_groups"]]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        split = len(self.first.param_groups)
        offset = sum(len(g["params"]) for g in saved["param_groups"][:split])
        self.first.load_state_dict(
            {
                "state": {k: v for k, v in saved["state"].items() if k < offset},
                "param_groups": saved["param_groups"][:split],
            }
        )
        self.second.load_state_dict(
            {
                "state": {k - offset: v for k, v in saved["state"].items() if k >= offset},
                "param_groups": [
                    {**g, "params": [p - offset for p in g["params"]]} for g in saved["param_groups"][split:]
                ],
            }
        )


def _save_grid(model: GAN, noise: Tensor, labels: Tensor | None, path: Path, title: str) -> None:
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_image_grid

    was_training = model.generator.training
    model.generator.eval()
    with torch.no_grad():
        images = from_tensor(model.generator(noise, labels), scale="symmetric")
    model.generator.train(was_training)
    save_figure(plot_image_grid(images, ncols=8, title=title, size=0.8), path)


def fit(
    model: GAN,
    task: GANTask,
    config: TrainConfig,
    *,
    run_dir: str | Path,
    console: Any = None,
    resume: bool = False,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Train the GAN: the two-player step, with checkpoints, metrics, curves and a sample grid each epoch.

    The two-player loop has no callback hooks; ``callbacks`` exists so every task's ``fit`` takes
    the same arguments, and a non-empty one (a sweep's pruning) is refused with a clear message.

    Args:
        model: the :class:`~seqlab.models.gan.GAN`.
        task: the :class:`GANTask` (batches, judge, evaluation).
        config: the ``[train]`` settings (budgets, seed, eval_every, checkpoint_every, ...);
            the learning rates and Adam's beta1 come from the ``[model]`` section.
        run_dir: where checkpoints, metrics.jsonl, curves.png, samples/ and model.safetensors go.
        console: rich console for progress.
        resume: continue from the newest good checkpoint in ``run_dir``.

    Returns:
        ``{"step", "stop_reason", "metrics"}``.
    """
    if callbacks:
        raise ConfigError("GAN training takes no callbacks: sweeps and pruning are not supported for the gan task")
    from rich.console import Console

    from seqlab.training.callbacks import TrainState
    from seqlab.training.checkpoint import (
        latest_good_checkpoint,
        list_checkpoints,
        load_checkpoint,
        save_checkpoint,
        save_weights,
        state_tensors,
    )
    from seqlab.training.metrics import MetricsLog, log_every, save_curves
    from seqlab.training.progress import ProgressBar

    console = console if console is not None else Console(stderr=True)
    run_dir = Path(run_dir)
    options = task.options
    torch.manual_seed(config.seed)
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=options.lr_d, betas=(options.beta1, 0.999))
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=options.lr_g, betas=(options.beta1, 0.999))
    optimizers = OptimizerPair(opt_d, opt_g)
    log, state = MetricsLog(run_dir / "metrics.jsonl"), TrainState()
    folder = run_dir / "checkpoints"
    if not resume and list_checkpoints(folder):
        from seqlab.errors import CheckpointError

        raise CheckpointError(
            f"{run_dir} already holds checkpoints; resume it (`seqlab train --resume`) or use a new run directory"
        )
    found = latest_good_checkpoint(folder, console=console) if resume else None
    if found is not None:
        saved, _ = load_checkpoint(found, model=model, optimizer=optimizers)
        state = TrainState(
            step=saved["step"],
            epoch=saved["epoch"],
            batch_index=saved["batch_index"],
            elapsed=saved["elapsed"],
            stop_reason=saved["stop_reason"],
        )
        log.load_state_dict(saved["metrics_log"])
        log.truncate_after(saved["step"])
        if state.stop_reason is None:
            console.print(
                f"resuming from {found.name} (step {state.step}, epoch {state.epoch}, batch {state.batch_index})"
            )
    else:
        log.path.unlink(missing_ok=True)
    fixed = torch.Generator().manual_seed(config.seed)
    fixed_noise = model.noise(64, generator=fixed)  # the same z every epoch
    fixed_labels = torch.arange(64) % model.num_classes if model.num_classes else None
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    smooth = 1.0 - options.label_smoothing
    bar = ProgressBar(console, config)
    every = log_every(config.eval_every)
    val = list(task.val_batches())
    started, before = time.perf_counter(), state.elapsed
    last_val: dict[str, float] = {}

    def checkpoint() -> None:
        saved = {
            "step": state.step,
            "epoch": state.epoch,
            "batch_index": state.batch_index,
            "elapsed": state.elapsed,
            "lr": options.lr_g,
            "stop_reason": state.stop_reason,
            "metrics_log": log.state_dict(),
            "last_val": last_val,
        }
        save_checkpoint(
            folder, step=state.step, model=model, optimizer=optimizers, state=saved, keep=config.keep_checkpoints
        )

    def validate() -> None:
        nonlocal last_val
        if not val:
            return
        model.eval()
        last_val = task.evaluate(model, val)
        model.train()
        log.write(
            step=state.step,
            epoch=state.epochs_done,
            time=state.elapsed,
            split="val",
            metrics=last_val,
            lr=options.lr_g,
            tokens_per_s=0.0,
        )
        bar.on_eval_end(state, last_val)

    bar.on_train_start(state)
    model.train()
    try:
        while state.stop_reason is None:
            batches = task.train_batches(state.epoch)
            state.steps_per_epoch = len(batches)
            while state.batch_index < len(batches) and state.stop_reason is None:
                batch = batches[state.batch_index]
                labels = task.labels_for(batch)
                tick = time.perf_counter()
                # 1. discriminator: real -> 1 (or 1 - smoothing), fake -> 0; G(z) detached
                fake = model.generator(model.noise(len(batch)), labels)  # (B, 1, 28, 28)
                real_logits = model.discriminator(batch.images, labels)  # (B,)
                fake_logits = model.discriminator(fake.detach(), labels)  # (B,)
                loss_d = F.binary_cross_entropy_with_logits(
                    real_logits, torch.full_like(real_logits, smooth)
                ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                # 2. generator, non-saturating: make D call the fakes real (D's grads from here are cleared in step 1)
                gen_logits = model.discriminator(fake, labels)  # (B,)
                loss_g = F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits))
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()

                metrics = {
                    "loss": loss_d.item() + loss_g.item(),
                    "loss_d": loss_d.item(),
                    "loss_g": loss_g.item(),
                    "d_real": float(torch.sigmoid(real_logits.detach()).mean()),
                    "d_fake": float(torch.sigmoid(fake_logits.detach()).mean()),
                }
                state.step, state.batch_index = state.step + 1, state.batch_index + 1
                state.elapsed = before + time.perf_counter() - started
                seconds = max(time.perf_counter() - tick, 1e-9)
                log.add(metrics, tokens=len(batch), seconds=seconds)
                bar.on_step_end(state, {**metrics, "lr": options.lr_g, "tokens_per_s": len(batch) / seconds})
                if not math.isfinite(metrics["loss"]):
                    state.stop_reason = f"non-finite loss at step {state.step}; lower model.lr_d / model.lr_g"
                elif config.max_steps and state.step >= config.max_steps:
                    state.stop_reason = f"max_steps: {config.max_steps} steps done"
                elif config.max_time and state.elapsed >= config.max_time:
                    state.stop_reason = f"max_time: {config.max_time:g} s spent"
                evaluating = state.step % config.eval_every == 0 or state.stop_reason is not None
                if evaluating or state.step % every == 0:
                    log.write_train(step=state.step, epoch=state.epochs_done, time=state.elapsed, lr=options.lr_g)
                if evaluating:
                    validate()
                if state.batch_index == len(batches):  # end of an epoch: the fixed-noise grid
                    state.epoch, state.batch_index = state.epoch + 1, 0
                    _save_grid(
                        model,
                        fixed_noise,
                        fixed_labels,
                        run_dir / "samples" / f"epoch-{state.epoch:03d}.png",
                        f"epoch {state.epoch}, step {state.step}",
                    )
                    if state.epoch >= config.max_epochs and state.stop_reason is None:
                        state.stop_reason = f"max_epochs: {config.max_epochs} epochs done"
                        validate()
                if state.stop_reason is not None or state.step % config.checkpoint_every == 0:
                    checkpoint()
    finally:
        bar.stop()
    _save_grid(model, fixed_noise, fixed_labels, run_dir / "samples.png", f"{run_dir.name}: step {state.step}")
    save_weights(state_tensors(model), run_dir / "model.safetensors")
    try:
        save_curves(log.records(), run_dir / "curves.png")
    except ValueError as err:  # a metric the curve plot does not know how to draw must not lose the run
        console.print(f"[yellow]curves.png not written: {err}[/]")
    console.print(f"stopped at step {state.step} ({state.stop_reason})")
    return {"step": state.step, "stop_reason": state.stop_reason, "metrics": last_val}


def sample_images(run: Any, num: int, *, labels: Sequence[int] | None = None, seed: int | None = None) -> np.ndarray:
    """Generate ``num`` images (num, 28, 28) in [0, 1] from a GAN run (class labels for a conditional one)."""
    model: GAN = run.model
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    tensor_labels = None
    if model.num_classes:
        tensor_labels = torch.tensor(list(labels)) if labels is not None else torch.arange(num) % model.num_classes
        if len(tensor_labels) != num or int(tensor_labels.max()) >= model.num_classes or int(tensor_labels.min()) < 0:
            raise ConfigError(f"give {num} class labels in 0..{model.num_classes - 1}")
    elif labels is not None:
        raise ConfigError("this GAN is not conditional; it takes no class labels (train with model.conditional = true)")
    return from_tensor(model.sample(num, labels=tensor_labels, generator=generator), scale="symmetric")


def report(run: Any, task: GANTask, *, console: Any) -> list[str]:
    """The sample grid, the judge's verdict, and the per-epoch grids, as Markdown."""
    lines = ["## Samples (fixed noise)", "", "![samples](samples.png)", ""]
    judged = task.judge_model(run.model.eval())
    if judged:
        accuracy = run.meta.get("judge_accuracy", float("nan"))
        lines += [
            f"## Judged by an MLP trained on the real images (its test accuracy {accuracy:.3f})",
            "",
            "| metric | value |",
            "|---|---|",
        ]
        lines += [f"| {name} | {value:.3f} |" for name, value in judged.items()]
        console.print("judge: " + ", ".join(f"{k} {v:.3f}" for k, v in judged.items()))
    epochs = sorted((run.run_dir / "samples").glob("epoch-*.png"))
    if epochs:
        lines += ["", "## Per epoch", ""] + [f"![{p.stem}](samples/{p.name})" for p in epochs]
    return lines + [""]


__all__ = [
    "NAME",
    "GANTask",
    "OptimizerPair",
    "train_judge",
    "judge_samples",
    "prepare",
    "build_model",
    "fit",
    "sample_images",
    "report",
]
