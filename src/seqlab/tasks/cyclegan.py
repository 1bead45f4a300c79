"""Unpaired image-to-image translation with a CycleGAN: its batches, losses, replay buffer and two-step update.

Two classes of one image dataset are the two domains (``data.domain_a``, ``data.domain_b``: e.g.
Fashion-MNIST sneakers and ankle boots). No image of one has a counterpart in the other, so
:class:`CycleStep` trains (Zhu et al., 2017), on a batch of each domain:

1. both generators, with one optimizer: least-squares adversarial losses (D_b(G_ab(a)) -> 1 and
   D_a(G_ba(b)) -> 1), the cycle loss ``cycle_weight * (|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|)``
   (L1) and the identity loss ``identity_weight * (|G_ab(b) - b| + |G_ba(a) - a|)``, which keeps a
   generator from changing what already looks like its output domain;
2. both discriminators, with another: real -> 1 and translated -> 0, the translated images drawn
   through a :class:`ReplayBuffer` of earlier ones (Shrivastava et al., 2017), each D's loss halved.

It goes through :func:`seqlab.training.fit` like every task, so budgets, schedule, checkpoints and
exact resume are the loop's; the replay buffers are saved with the step's optimizer state, so a
resumed run replays the same images. The step logs the mean least-squares scores of the
discriminators on real and translated images (``d_real``, ``d_fake``: 1 = "real", 0 = "translated").
An MLP judge trained on all the dataset's classes (as for the GANs) checks the translations: the
share of translated a images it classifies as class b (``to_b``), the reverse (``to_a``), and the
share of both classified as the target with confidence (``confident``).

``seqlab generate RUN --from CLASS_OR_FILE`` shows rows input -> translated -> reconstructed
(:func:`translate_examples`, :func:`plot_translation`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data.images import class_index, from_tensor
from seqlab.errors import ConfigError, DataError
from seqlab.models.cyclegan import CycleGAN
from seqlab.sections import CycleGANConfig, ImageDomainsDataConfig
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.tasks.gan import OptimizerPair, check_train, train_judge
from seqlab.tasks.image_classification import EVAL_BATCH, image_splits
from seqlab.training.callbacks import Callback, TrainState
from seqlab.training.loop import update
from seqlab.training.optim import build_optimizer

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rich.console import Console

    from seqlab.config import Config
    from seqlab.export import ExportGraph
    from seqlab.run import Run
    from seqlab.sections import TrainConfig

NAME = "image-translation"
SHOWN = 8  # inputs per direction in the per-epoch grids
MAX_SHOWN = 16  # inputs `seqlab generate --from` translates at most


# ----------------------------------------------------------------------------- batches


@dataclass(frozen=True)
class DomainBatch:
    """B images of each domain, unpaired.

    Args:
        a: (B, 1, H, W) images of domain a.
        b: (B, 1, H, W) images of domain b.
    """

    a: Tensor
    b: Tensor

    def __len__(self) -> int:
        return len(self.a)


class DomainBatches:
    """One pass over two domains of different sizes: the larger sets the length, the smaller wraps around.

    Args:
        a: (Na, 1, H, W) images of domain a.
        b: (Nb, 1, H, W) images of domain b.
        batch_size: B (the last batch may be smaller).
        order_a: a permutation of range(Na) (a shuffled epoch), or None for the stored order.
        order_b: the same for b.

    >>> batches = DomainBatches(torch.zeros(5, 1, 2, 2), torch.ones(2, 1, 2, 2), batch_size=2)
    >>> len(batches), [len(b) for b in batches], batches[2].b.shape
    (3, [2, 2, 1], torch.Size([1, 1, 2, 2]))
    """

    def __init__(
        self,
        a: Tensor,
        b: Tensor,
        *,
        batch_size: int,
        order_a: Tensor | None = None,
        order_b: Tensor | None = None,
    ) -> None:
        self.a, self.b, self.batch_size = a, b, batch_size
        self.order_a = order_a if order_a is not None else torch.arange(len(a))
        self.order_b = order_b if order_b is not None else torch.arange(len(b))
        self.size = max(len(a), len(b)) if len(a) and len(b) else 0

    def __len__(self) -> int:
        return -(-self.size // self.batch_size)

    def __getitem__(self, index: int) -> DomainBatch:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        positions = torch.arange(index * self.batch_size, min((index + 1) * self.batch_size, self.size))
        return DomainBatch(self.a[self.order_a[positions % len(self.a)]], self.b[self.order_b[positions % len(self.b)]])

    def __iter__(self):  # noqa: ANN204 - a plain generator of DomainBatch
        return (self[i] for i in range(len(self)))


# ----------------------------------------------------------------------------- the replay buffer


class ReplayBuffer:
    """Up to ``size`` earlier translated images, half of which D sees in place of the newest ones.

    While the buffer fills, each new image is stored and shown; once full, each new image is shown
    with probability 1/2, and otherwise a random stored one is shown and replaced by it. D thus
    learns from the generator's history, not only its latest images (Shrivastava et al., 2017).
    The draws come from torch's global generator, which the checkpoints save.

    Args:
        size: images kept; 0 passes every image through.

    >>> buffer = ReplayBuffer(2)
    >>> buffer.query(torch.zeros(3, 1, 2, 2)).shape, len(buffer)
    (torch.Size([3, 1, 2, 2]), 2)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.stored: Tensor | None = None  # (n, 1, H, W), n <= size

    def __len__(self) -> int:
        return 0 if self.stored is None else len(self.stored)

    def query(self, images: Tensor) -> Tensor:
        """The images (B, 1, H, W) D sees in place of ``images`` (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        if self.stored is not None and self.stored.device != images.device:
            self.stored = self.stored.to(images.device)
        shown = []
        for image in images:
            if self.stored is None or len(self.stored) < self.size:
                self.stored = image[None].clone() if self.stored is None else torch.cat([self.stored, image[None]])
                shown.append(image)
            elif float(torch.rand(())) < 0.5:
                index = int(torch.randint(self.size, ()))
                shown.append(self.stored[index].clone())
                self.stored[index] = image
            else:
                shown.append(image)
        return torch.stack(shown)

    def state(self) -> Tensor | None:
        """The stored images (n, 1, H, W) on the CPU, or None while empty."""
        return None if self.stored is None else self.stored.detach().cpu().clone()

    def load(self, stored: Tensor | None) -> None:
        """Restore what :meth:`state` returned."""
        self.stored = None if stored is None or not len(stored) else stored.clone()


# ----------------------------------------------------------------------------- the losses


def generator_losses(model: CycleGAN, batch: DomainBatch, options: CycleGANConfig) -> dict[str, Tensor]:
    """The generators' losses on one batch, and the translations (``fake_a``, ``fake_b``) for the discriminators.

    Returns ``loss_g`` (the total), ``loss_adv``, ``loss_cycle``, ``loss_identity`` (unweighted
    sums over both directions) and ``fake_a`` = G_ba(b), ``fake_b`` = G_ab(a), (B, 1, H, W).

    >>> model = CycleGAN(channels=4, residual_blocks=0)
    >>> batch = DomainBatch(torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28))
    >>> sorted(generator_losses(model, batch, CycleGANConfig()))
    ['fake_a', 'fake_b', 'loss_adv', 'loss_cycle', 'loss_g', 'loss_identity']
    """
    a, b = batch.a, batch.b
    fake_b, fake_a = model.g_ab(a), model.g_ba(b)  # (B, 1, H, W)
    score_b, score_a = model.d_b(fake_b), model.d_a(fake_a)  # (B, 7, 7): LSGAN, push to 1
    loss_adv = F.mse_loss(score_b, torch.ones_like(score_b)) + F.mse_loss(score_a, torch.ones_like(score_a))
    loss_cycle = F.l1_loss(model.g_ba(fake_b), a) + F.l1_loss(model.g_ab(fake_a), b)
    loss_identity = (
        F.l1_loss(model.g_ab(b), b) + F.l1_loss(model.g_ba(a), a) if options.identity_weight else a.new_zeros(())
    )
    loss_g = loss_adv + options.cycle_weight * loss_cycle + options.identity_weight * loss_identity
    return {
        "loss_g": loss_g,
        "loss_adv": loss_adv,
        "loss_cycle": loss_cycle,
        "loss_identity": loss_identity,
        "fake_a": fake_a,
        "fake_b": fake_b,
    }


def discriminator_losses(model: CycleGAN, batch: DomainBatch, fake_a: Tensor, fake_b: Tensor) -> dict[str, Tensor]:
    """Both discriminators' least-squares loss (real -> 1, translated -> 0, each halved) and their mean scores.

    >>> model = CycleGAN(channels=4, residual_blocks=0)
    >>> images = torch.rand(2, 1, 28, 28)
    >>> sorted(discriminator_losses(model, DomainBatch(images, images), images, images))
    ['d_fake', 'd_real', 'loss_d']
    """
    real_a, real_b = model.d_a(batch.a), model.d_b(batch.b)  # (B, 7, 7)
    old_a, old_b = model.d_a(fake_a.detach()), model.d_b(fake_b.detach())  # (B, 7, 7)
    loss_d = 0.5 * (F.mse_loss(real_a, torch.ones_like(real_a)) + F.mse_loss(old_a, torch.zeros_like(old_a))) + 0.5 * (
        F.mse_loss(real_b, torch.ones_like(real_b)) + F.mse_loss(old_b, torch.zeros_like(old_b))
    )
    return {
        "loss_d": loss_d,
        "d_real": (real_a.mean() + real_b.mean()) / 2,
        "d_fake": (old_a.mean() + old_b.mean()) / 2,
    }


# ----------------------------------------------------------------------------- the training contract


class CycleTask:
    """Unpaired batches of two domains, the judge, and the CycleGAN's evaluation metrics.

    Args:
        splits: split name -> (images of a (Na, 1, H, W), images of b (Nb, 1, H, W)) in [-1, 1].
        batch_size: B per domain.
        seed: fixes the order of every epoch.
        options: the ``[model]`` section.
        domains: the class indexes of a and b (what the judge should see after translation).
        names: the class names of a and b.
        judge: the classifier of real images of every class, or None.
    """

    def __init__(
        self,
        splits: dict[str, tuple[Tensor, Tensor]],
        *,
        batch_size: int,
        seed: int,
        options: CycleGANConfig,
        domains: tuple[int, int],
        names: tuple[str, str] = ("a", "b"),
        judge: nn.Module | None,
    ) -> None:
        self.splits, self.batch_size, self.seed = splits, batch_size, seed
        self.options, self.domains, self.names, self.judge = options, domains, names, judge

    def train_batches(self, epoch: int) -> DomainBatches:
        a, b = self.splits["train"]
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order_a, order_b = torch.randperm(len(a), generator=generator), torch.randperm(len(b), generator=generator)
        return DomainBatches(a, b, batch_size=self.batch_size, order_a=order_a, order_b=order_b)

    def val_batches(self) -> Sequence[DomainBatch]:
        return self.split_batches("val")

    def split_batches(self, split: str) -> DomainBatches:
        """All batches of a split, in a fixed order."""
        a, b = self.splits[split]
        return DomainBatches(a, b, batch_size=max(self.batch_size, EVAL_BATCH))

    def count_tokens(self, batch: DomainBatch) -> int:
        return 2 * len(batch)  # images of both domains

    def loss(self, model: nn.Module, batch: DomainBatch) -> tuple[Tensor, dict[str, float]]:
        """The generators' loss (the Task protocol; training itself uses :class:`CycleStep`)."""
        assert isinstance(model, CycleGAN)
        parts = generator_losses(model, batch, self.options)
        return parts["loss_g"], {k: float(v) for k, v in parts.items() if k.startswith("loss_") and k != "loss_g"}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[DomainBatch]) -> dict[str, float]:
        assert isinstance(model, CycleGAN)
        sums: dict[str, float] = {}
        count = 0
        for batch in batches:
            parts = generator_losses(model, batch, self.options)
            parts.update(discriminator_losses(model, batch, parts.pop("fake_a"), parts.pop("fake_b")))
            for name, value in parts.items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
            count += len(batch)
        metrics = {name: total / max(count, 1) for name, total in sums.items()}
        metrics["loss"] = metrics.get("loss_d", 0.0) + metrics.get("loss_g", 0.0)
        return {**metrics, **self.judge_model(model)}

    @torch.no_grad()
    def judge_model(self, model: CycleGAN) -> dict[str, float]:
        """How the judge classifies the translations of the first test images of each domain (empty without one)."""
        if self.judge is None:
            return {}
        num = self.options.judge_samples
        a, b = (images[:num] for images in self.splits["test"])
        device = next(model.parameters()).device
        judge_device = next(self.judge.parameters()).device  # the judge stays on the CPU
        was_training = model.training
        model.eval()
        try:
            to_b = self.judge(model.g_ab(a.to(device)).to(judge_device)).softmax(-1)  # (N, C)
            to_a = self.judge(model.g_ba(b.to(device)).to(judge_device)).softmax(-1)  # (N, C)
        finally:
            model.train(was_training)
        index_a, index_b = self.domains
        sure = self.options.confidence
        hits_b = (to_b.argmax(-1) == index_b).double()
        hits_a = (to_a.argmax(-1) == index_a).double()
        confident = torch.cat([hits_b * (to_b.max(-1).values >= sure), hits_a * (to_a.max(-1).values >= sure)])
        return {
            "to_b": float(hits_b.mean()) if len(hits_b) else math.nan,
            "to_a": float(hits_a.mean()) if len(hits_a) else math.nan,
            "confident": float(confident.mean()) if len(confident) else math.nan,
        }


# ----------------------------------------------------------------------------- the two-step update


class CycleStep:
    """One CycleGAN step: both generators, then both discriminators (on replayed translations), two optimizers.

    The :class:`~seqlab.training.loop.Step` that :func:`seqlab.training.fit` calls once per batch.
    Its state, saved with the checkpoints, is both optimizers' and the two replay buffers' images
    (as extra entries of the optimizer state, numbered after the parameters).

    Args:
        model: the :class:`~seqlab.models.cyclegan.CycleGAN`.
        task: the :class:`CycleTask` (loss weights, buffer size).
        config: the ``[train]`` settings; both optimizers are the one they name.

    >>> from seqlab.sections import TrainConfig
    >>> splits = {s: (torch.rand(4, 1, 28, 28), torch.rand(6, 1, 28, 28)) for s in ("train", "val", "test")}
    >>> options = CycleGANConfig(channels=4, residual_blocks=0, pool_size=3)
    >>> task = CycleTask(splits, batch_size=2, seed=0, options=options, domains=(0, 1), judge=None)
    >>> step = CycleStep(CycleGAN(channels=4, residual_blocks=0), task, TrainConfig(lr=2e-4))
    >>> sorted(step(task.train_batches(0)[0], lr=2e-4))[:4], len(step.pool_a)
    (['d_fake', 'd_real', 'loss', 'loss_adv'], 2)
    """

    def __init__(self, model: CycleGAN, task: CycleTask, config: TrainConfig) -> None:
        check_train(config)
        self.model, self.task, self.config = model, task, config
        self.generators, self.discriminators = model.generators(), model.discriminators()
        self.opt_g = build_optimizer(self.generators, config)
        self.opt_d = build_optimizer(self.discriminators, config)
        self.optimizers = OptimizerPair(self.opt_g, self.opt_d)
        self.pool_a, self.pool_b = ReplayBuffer(task.options.pool_size), ReplayBuffer(task.options.pool_size)

    def __call__(self, batch: DomainBatch, *, lr: float) -> dict[str, float]:
        model = self.model
        model.train()
        # 1. generators: fool both D, come back around the cycle, leave the target domain's images alone
        self.discriminators.requires_grad_(False)  # no gradients for D from the generators' loss
        try:
            parts = generator_losses(model, batch, self.task.options)
        finally:
            self.discriminators.requires_grad_(True)
        loss_g = parts["loss_g"]
        if not torch.isfinite(loss_g):
            return {"loss": loss_g.item()}
        row_g = update(self.generators, loss_g, self.opt_g, lr=lr, config=self.config)
        # 2. discriminators: real -> 1, translations (half of them replayed from earlier steps) -> 0
        fake_a, fake_b = self.pool_a.query(parts["fake_a"]), self.pool_b.query(parts["fake_b"])
        scores = discriminator_losses(model, batch, fake_a, fake_b)
        loss_d = scores["loss_d"]
        if not torch.isfinite(loss_d):
            return {"loss": loss_d.item()}
        row_d = update(self.discriminators, loss_d, self.opt_d, lr=lr, config=self.config)
        return {
            "loss": loss_g.item() + loss_d.item(),
            "loss_g": loss_g.item(),
            "loss_d": loss_d.item(),
            "loss_adv": parts["loss_adv"].item(),
            "loss_cycle": parts["loss_cycle"].item(),
            "loss_identity": parts["loss_identity"].item(),
            "d_real": scores["d_real"].item(),
            "d_fake": scores["d_fake"].item(),
            **{f"{name}_g": value for name, value in row_g.items()},
            **{f"{name}_d": value for name, value in row_d.items()},
        }

    def state_dict(self) -> dict[str, Any]:
        state = self.optimizers.state_dict()
        first = sum(len(group["params"]) for group in state["param_groups"])
        for offset, pool in enumerate((self.pool_a, self.pool_b)):
            if (stored := pool.state()) is not None:
                state["state"][first + offset] = {"replay": stored}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        first = sum(len(group["params"]) for group in state["param_groups"])
        saved = dict(state["state"])
        for offset, pool in enumerate((self.pool_a, self.pool_b)):
            pool.load(saved.pop(first + offset, {}).get("replay"))
        self.optimizers.load_state_dict({**state, "state": saved})


# ----------------------------------------------------------------------------- pictures


@dataclass(frozen=True)
class Translation:
    """Images through the cycle, one column each: input -> translated -> reconstructed, in [0, 1].

    Args:
        inputs: (N, H, W).
        translated: (N, H, W).
        reconstructed: (N, H, W).
        sources: N names of what each input is taken as (a class).
        targets: N names of what it is translated into.
        title: what the rows show.
    """

    inputs: np.ndarray
    translated: np.ndarray
    reconstructed: np.ndarray
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    title: str


@torch.no_grad()
def run_cycle(model: CycleGAN, images: Tensor, *, to: str) -> tuple[Tensor, Tensor]:
    """(translated, reconstructed), each (N, 1, H, W), of ``images`` sent to domain ``to`` and back, in eval mode.

    >>> translated, back = run_cycle(CycleGAN(channels=4, residual_blocks=0), torch.zeros(2, 1, 28, 28), to="b")
    >>> translated.shape, back.shape
    (torch.Size([2, 1, 28, 28]), torch.Size([2, 1, 28, 28]))
    """
    was_training = model.training
    model.eval()
    try:
        images = images.to(next(model.parameters()).device)
        translated = model.translate(images, to=to)
        return translated, model.translate(translated, to="a" if to == "b" else "b")
    finally:
        model.train(was_training)


def plot_translation(translations: Sequence[Translation], *, title: str | None = None) -> Figure:
    """Rows input -> translated -> reconstructed for each :class:`Translation`, stacked, one column per image.

    A row's first panel, and any panel whose class differs from its left neighbour's, is captioned:
    the input's class, ``-> target``, ``back``.
    """
    from seqlab.viz.images import plot_image_grid

    ncols = max(len(t.inputs) for t in translations)
    images, captions = [], []
    for t in translations:
        said = [f"{s}|{g}" for s, g in zip(t.sources, t.targets)]
        new = [j == 0 or said[j] != said[j - 1] for j in range(len(said))]
        rows = (
            (t.inputs, list(t.sources)),
            (t.translated, [f"-> {target}" for target in t.targets]),
            (t.reconstructed, ["back"] * len(t.targets)),
        )
        for row, names in rows:
            padded = np.zeros((ncols, *row.shape[1:]), np.float32)  # a short row ends in blank panels
            padded[: len(row)] = row
            images.append(padded)
            captions += [name if shown else "" for name, shown in zip(names, new)] + [""] * (ncols - len(row))
    heading = title or "; ".join(t.title for t in translations)
    return plot_image_grid(np.concatenate(images), ncols=ncols, titles=captions, title=heading, size=1.0)


def _grid_translations(model: CycleGAN, task: CycleTask) -> list[Translation]:
    a, b = (images[:SHOWN] for images in task.splits["test"])
    names = task.names
    rows = []
    for images, to, source, target in ((a, "b", names[0], names[1]), (b, "a", names[1], names[0])):
        translated, back = run_cycle(model, images, to=to)
        rows.append(
            Translation(
                from_tensor(images, scale="symmetric"),
                from_tensor(translated, scale="symmetric"),
                from_tensor(back, scale="symmetric"),
                (source,) * len(images),
                (target,) * len(images),
                f"{source} -> {target}",
            )
        )
    return rows


class TranslationGrids(Callback):
    """The same test images of each domain through the cycle: ``samples/epoch-NNN.png``, then ``samples.png``.

    Args:
        model: the CycleGAN being trained.
        task: supplies the test images and the domains' names.
        run_dir: the run folder.
    """

    def __init__(self, model: CycleGAN, task: CycleTask, run_dir: Path) -> None:
        self.model, self.task, self.run_dir = model, task, Path(run_dir)

    def _save(self, path: Path, title: str) -> None:
        from seqlab.viz import save_figure

        save_figure(plot_translation(_grid_translations(self.model, self.task), title=title), path)

    def on_train_start(self, state: TrainState) -> None:
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        if state.batch_index == state.steps_per_epoch:  # the last batch of an epoch
            done = state.epoch + 1
            self._save(self.run_dir / "samples" / f"epoch-{done:03d}.png", f"epoch {done}, step {state.step}")

    def on_train_end(self, state: TrainState) -> None:
        self._save(self.run_dir / "samples.png", f"{self.run_dir.name}: step {state.step}")


# ----------------------------------------------------------------------------- the task


class ImageTranslation(Task):
    """Translate 28x28 images between two classes of a dataset with a CycleGAN, judged by a classifier.

    >>> from seqlab.config import load_config
    >>> ImageTranslation().describe(load_config("fashion-cyclegan"))
    'CycleGAN Sneaker <-> Ankle boot, 16 channels, 2 residual blocks, cycle 10, identity 0.5'
    """

    name = NAME
    data_config = ImageDomainsDataConfig
    model_configs = {"cyclegan": CycleGANConfig}
    preprocessing_file = None  # pixels in [-1, 1]; nothing fitted to save
    meta_keys = ("classes", "domains")
    one_loss = False  # the generators' and the discriminators'

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read both domains scaled to [-1, 1], train the judge on every class, build the task."""
        check_train(config.train)
        data, options = _sections(config)
        splits, meta = _read(config)
        domains = meta["domains"]
        judge = None
        if options.judge_steps:
            images, labels = splits["train"]
            judge = train_judge(
                images, labels, num_classes=len(meta["classes"]), steps=options.judge_steps, seed=config.train.seed
            )
            test_x, test_y = splits["test"] if len(splits["test"][1]) else splits["val"]
            with torch.no_grad():
                meta["judge_accuracy"] = (
                    float((judge(test_x).argmax(-1) == test_y).double().mean()) if len(test_y) else float("nan")
                )
        domain_splits = {
            split: (images[labels == domains[0]], images[labels == domains[1]])
            for split, (images, labels) in splits.items()
        }
        meta["examples"] = {split: [len(a), len(b)] for split, (a, b) in domain_splits.items()}
        for split in ("train", "test"):
            if not all(len(images) for images in domain_splits[split]):
                raise DataError(
                    f"the {split} split of {data.dataset} has no images of "
                    f"{' or '.join(meta['classes'][d] for d, x in zip(domains, domain_splits[split]) if not len(x))}; "
                    "check data.limit and the two domains"
                )
        task = CycleTask(
            domain_splits,
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            options=options,
            domains=(domains[0], domains[1]),
            names=(meta["classes"][domains[0]], meta["classes"][domains[1]]),
            judge=judge,
        )
        return Prepared(None, task, {"task": self.name, **meta})

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> CycleGAN:
        """The CycleGAN a config describes, with fresh weights (N(0, 0.02), as the paper's code)."""
        _, m = _sections(config)
        return CycleGAN(channels=m.channels, residual_blocks=m.residual_blocks)

    def training_step(self, model: nn.Module, data: SplitData, train_config: TrainConfig) -> CycleStep:
        """:class:`CycleStep`: both generators, then both discriminators."""
        assert isinstance(model, CycleGAN) and isinstance(data, CycleTask)
        return CycleStep(model, data, train_config)

    def training_callbacks(
        self, model: nn.Module, data: SplitData, train_config: TrainConfig, run_dir: Path
    ) -> list[Callback]:
        """The translation grids of :class:`TranslationGrids`."""
        assert isinstance(model, CycleGAN) and isinstance(data, CycleTask)
        return [TranslationGrids(model, data, run_dir)]

    def summary_inputs(self, config: Config) -> tuple[Any, dict[str, Any], str]:
        """The classes and domains from the data, without training the judge."""
        _, meta = _read(config)
        return None, {"task": self.name, **meta}, ""

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        assert isinstance(model, CycleGAN)
        images = torch.zeros(2, 1, 28, 28)  # (B, 1, 28, 28)
        return [
            SummaryPart("generator a -> b (b -> a is the same shape)", model.g_ab, (images,)),
            SummaryPart("discriminator of b (of a: the same shape)", model.d_b, (images,)),
        ]

    def describe(self, config: Config) -> str:
        data, m = _sections(config)
        return (
            f"CycleGAN {data.domain_a} <-> {data.domain_b}, {m.channels} channels, {m.residual_blocks} residual "
            f"blocks, cycle {m.cycle_weight:g}, identity {m.identity_weight:g}"
        )

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """The translation grid, the judge's verdict, and the per-epoch grids, as Markdown."""
        assert isinstance(data, CycleTask) and isinstance(run.model, CycleGAN)
        lines = ["## Test images through the cycle (input, translated, reconstructed)", "", "![samples](samples.png)"]
        judged = data.judge_model(run.model.eval())
        if judged:
            a, b = (run.meta["classes"][d] for d in run.meta["domains"])
            accuracy = run.meta.get("judge_accuracy", float("nan"))
            lines += [
                "",
                f"## Judged by an MLP trained on the real images (its test accuracy {accuracy:.3f})",
                "",
                "| metric | value |",
                "|---|---|",
                f"| to_b: translated {a} classified as {b} | {judged['to_b']:.3f} |",
                f"| to_a: translated {b} classified as {a} | {judged['to_a']:.3f} |",
                f"| confident: as the target with p >= {data.options.confidence:g} | {judged['confident']:.3f} |",
            ]
            console.print("judge: " + ", ".join(f"{k} {v:.3f}" for k, v in judged.items()))
        epochs = sorted((run.run_dir / "samples").glob("epoch-*.png"))
        if epochs:
            lines += ["", "## Per epoch", ""] + [f"![{p.stem}](samples/{p.name})" for p in epochs]
        return [*lines, ""]

    def generate(self, run: Run, num: int, *, label: str | None = None, seed: int | None = None) -> np.ndarray:
        """``num`` test images of class ``label`` (default: domain a) translated to the other domain, (num, 28, 28)."""
        model = _cyclegan_of(run, "generate")
        domain = _domain_of(label if label is not None else "a", run.meta["classes"], run.meta["domains"], "--label")
        translated, _ = run_cycle(model, _test_images(run, domain, num=num, seed=seed), to="b" if domain == 0 else "a")
        return from_tensor(translated, scale="symmetric")

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """Both generators: ``images (B, 1, 28, 28) in [-1, 1] -> translated``, a to b and b to a."""
        from seqlab.export import ExportGraph

        model = run.model
        assert isinstance(model, CycleGAN), "an image-translation run's model is a CycleGAN"
        a, b = (run.meta["classes"][d] for d in run.meta["domains"])
        images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1  # (B, 1, 28, 28)
        axes = {"images": {0: "batch"}, "translated": {0: "batch"}}
        return [
            ExportGraph(name, generator, (images,), ("images",), ("translated",), axes, ((images[:1],),), note)
            for name, generator, note in (
                ("a_to_b", model.g_ab, f"{a} -> {b}, pixels in [-1, 1]"),
                ("b_to_a", model.g_ba, f"{b} -> {a}, pixels in [-1, 1]"),
            )
        ]


def _sections(config: Config) -> tuple[ImageDomainsDataConfig, CycleGANConfig]:
    data, model = config.data, config.model
    assert isinstance(data, ImageDomainsDataConfig) and isinstance(model, CycleGANConfig), "sections_for gives these"
    return data, model


def _read(config: Config) -> tuple[dict[str, tuple[Tensor, Tensor]], dict[str, Any]]:
    """Every class's images in [-1, 1] by split, and meta with the domains' class indexes."""
    data, _ = _sections(config)
    if data.scale != "symmetric":
        raise ConfigError(
            f'a CycleGAN generates pixels in [-1, 1] (tanh): set data.scale = "symmetric" (got "{data.scale}")'
        )
    if data.holdout_class:
        raise ConfigError(
            f'data.holdout_class does not apply to image translation (got "{data.holdout_class}"); '
            "the two domains are data.domain_a and data.domain_b"
        )
    splits, meta = image_splits(config)
    if tuple(meta["image_shape"]) != (28, 28):
        raise ConfigError(f"the CycleGAN translates 28x28 images; {data.dataset} holds {tuple(meta['image_shape'])}")
    classes = meta["classes"]
    domains = []
    for key, name in (("data.domain_a", data.domain_a), ("data.domain_b", data.domain_b)):
        try:
            domains.append(class_index(classes, name))
        except DataError:
            raise ConfigError(
                f'{key} must be a class of {data.dataset}, by name or index (got "{name}"; '
                f"classes: {', '.join(classes)})"
            ) from None
    if domains[0] == domains[1]:
        raise ConfigError(
            f'data.domain_a and data.domain_b must be two different classes (both are "{classes[domains[0]]}")'
        )
    return splits, {**meta, "domains": domains}


# ----------------------------------------------------------------------------- seqlab generate --from


def translate_examples(run: Run, source: str, *, num: int = SHOWN, seed: int | None = None) -> list[Translation]:
    """Images through a CycleGAN run's cycle, for ``seqlab generate RUN --from SOURCE``.

    Args:
        run: a loaded ``image-translation`` run.
        source: an image file (PNG, JPEG...: translated as domain a and as domain b, one column each), a class
            of either domain by name or index, or ``a`` / ``b`` / ``domain a`` / ``domain b`` (``num`` of its
            test images, translated into the other domain).
        num: test images of a class (at most 16).
        seed: picks which test images (None: the first ones).

    Returns:
        One :class:`Translation`.
    """
    model = _cyclegan_of(run, "--from")
    classes, domains = run.meta["classes"], run.meta["domains"]
    names = (classes[domains[0]], classes[domains[1]])
    path = Path(source).expanduser()
    domain = None if path.is_file() else _domain_of(source, classes, domains, "--from")
    if domain is None:
        image = read_image_file(path)  # (28, 28) in [0, 1]
        images = torch.from_numpy(np.stack([image, image])).mul(2).sub(1).unsqueeze(1)  # (2, 1, 28, 28)
        to_b, back_a = run_cycle(model, images[:1], to="b")
        to_a, back_b = run_cycle(model, images[1:], to="a")
        return [
            Translation(
                from_tensor(images, scale="symmetric"),
                from_tensor(torch.cat([to_b, to_a]), scale="symmetric"),
                from_tensor(torch.cat([back_a, back_b]), scale="symmetric"),
                (f"as {names[0]}", f"as {names[1]}"),
                (names[1], names[0]),
                path.name,
            )
        ]
    images = _test_images(run, domain, num=min(num, MAX_SHOWN), seed=seed)
    to = "b" if domain == 0 else "a"
    translated, back = run_cycle(model, images, to=to)
    return [
        Translation(
            from_tensor(images, scale="symmetric"),
            from_tensor(translated, scale="symmetric"),
            from_tensor(back, scale="symmetric"),
            (names[domain],) * len(images),
            (names[1 - domain],) * len(images),
            f"{names[domain]} -> {names[1 - domain]}",
        )
    ]


def _cyclegan_of(run: Run, flag: str) -> CycleGAN:
    """The run's CycleGAN, or the one-line error for a flag that needs one."""
    if not isinstance(run.model, CycleGAN):
        raise ConfigError(
            f"{flag} translates with a CycleGAN run (task image-translation, e.g. the recipe fashion-cyclegan); "
            f"{run.run_dir} is a run of task {run.config.task}"
        )
    return run.model


def _domain_of(source: str, classes: Sequence[str], domains: Sequence[int], flag: str) -> int:
    """0 for domain a, 1 for b, from a class name or index or a / b / domain a / domain b."""
    word = source.strip().lower().removeprefix("domain").strip()
    if word in ("a", "b"):
        return 0 if word == "a" else 1
    try:
        index = class_index(tuple(classes), source)
    except DataError:
        index = -1
    if index not in domains:
        names = f'"{classes[domains[0]]}" (domain a) or "{classes[domains[1]]}" (domain b)'
        path = Path(source).expanduser()
        if index < 0 and (path.suffix or len(path.parts) > 1):  # meant as a file
            raise DataError(f"file not found: {path} ({flag} takes an image file, a or b, or the class {names})")
        what = "an image file, a or b, or" if flag == "--from" else "a or b, or"
        raise DataError(f'{flag} must be {what} the class {names} (got "{source}")')
    return list(domains).index(index)


def _test_images(run: Run, domain: int, *, num: int, seed: int | None) -> Tensor:
    """``num`` test images (num, 1, 28, 28) in [-1, 1] of a domain: the first ones, or a seeded random choice."""
    splits, meta = _read(run.config)
    images, labels = splits["test"] if len(splits["test"][1]) else splits["val"]
    pool = images[labels == meta["domains"][domain]]
    if seed is None:
        return pool[:num]
    return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:num]]


def read_image_file(path: Path) -> np.ndarray:
    """A picture file as a 28x28 greyscale image in [0, 1], light ink on a dark ground like Fashion-MNIST.

    The picture is converted to greyscale and resized to 28x28; when its border is mostly light (dark
    ink on white paper, as most pictures), it is inverted.

    Args:
        path: a PNG, JPEG, BMP... file (what Pillow reads).
    """
    from PIL import Image

    if not path.is_file():
        raise DataError(f"file not found: {path} (--from takes an image file or a class name)")
    try:
        with Image.open(path) as picture:
            grey = picture.convert("L").resize((28, 28), Image.Resampling.BILINEAR)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read {path} as an image ({err}); give a PNG or JPEG file, or a class name") from None
    image = np.asarray(grey, np.float32) / 255.0  # (28, 28)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return 1.0 - image if border.mean() > 0.5 else image


__all__ = [
    "NAME",
    "ImageTranslation",
    "CycleTask",
    "CycleStep",
    "DomainBatch",
    "DomainBatches",
    "ReplayBuffer",
    "Translation",
    "TranslationGrids",
    "generator_losses",
    "discriminator_losses",
    "run_cycle",
    "plot_translation",
    "translate_examples",
    "read_image_file",
]
