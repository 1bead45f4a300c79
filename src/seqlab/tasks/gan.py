"""GANs on 28x28 images: the DCGAN's two-player training step, written out in :class:`GANStep`.

The generic loop trains with a step of one optimizer; a GAN trains two networks against each
other with two optimizers, so it hands :func:`seqlab.training.fit` a step of its own (STYLE.md
item 5) and keeps the loop's budgets, resume, logging and checkpoints. Each step:

1. discriminator: push D(x) on real images to 1 and D(G(z)) on generated ones to 0
   (binary cross-entropy; the fakes are detached so G is not updated);
2. generator, non-saturating loss (Goodfellow et al., 2014): maximise log D(G(z)) instead of
   minimising log(1 - D(G(z))), which gives G gradients when D wins early.

Both optimizers are built from ``[train]`` (optimizer, lr, betas, momentum, weight_decay); the
schedule's rate (with its warmup), ``clip_norm`` and the L1/L2 penalty apply to each player; the
budgets, seed, threads, validation, checkpoint and monitor settings work as for every task, since
``fit`` reads them. ``early_stopping`` and ``schedule = "plateau"`` are refused
(:func:`check_train`): they wait for a validation metric to stop improving, and a GAN's losses do
not measure its samples.

Every epoch :class:`SampleGrids` saves the grid of the same 64 noise vectors
(``samples/epoch-NNN.png``). Sample quality is judged by an MLP classifier trained on the real
images before the GAN starts: the share of samples it classifies confidently, the number of
classes it finds among them (coverage), and the spread (normalised entropy) of its predicted
classes, which falls towards 0 when the generator collapses onto a few modes. The step logs D's
mean outputs on real and generated images (``d_real``, ``d_fake``) over time.

``model.arch = "stylegan"`` swaps the DCGAN generator for the style-based one of
:mod:`seqlab.models.stylegan` (mapping network, AdaIN, noise inputs); the same step trains it, since
its generator mixes styles and tracks the mean w in its own training-mode forward. Its runs also
draw style-mixing grids (:func:`style_mixing_grid`) and sample with the truncation trick
(:func:`sample_images` with ``truncation``); the report judges samples at psi 1 and at psi 0.7.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data.images import ImageBatch, class_index, from_tensor
from seqlab.errors import ConfigError
from seqlab.models.gan import GAN
from seqlab.models.mlp import MLP
from seqlab.models.stylegan import StyleGAN
from seqlab.sections import GANConfig, ImageDataConfig, StyleGANConfig
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.tasks.image_classification import ImageTask, image_splits
from seqlab.training.callbacks import Callback, TrainState
from seqlab.training.loop import update
from seqlab.training.optim import build_optimizer

if TYPE_CHECKING:
    from rich.console import Console

    from seqlab.config import Config
    from seqlab.export import ExportGraph
    from seqlab.run import Run
    from seqlab.sections import TrainConfig

NAME = "gan"
JUDGE_SEED = 4321  # the judge's samples are the same at every evaluation
GRID = 64  # images in each sample grid (8 x 8)
REPORT_TRUNCATION = 0.7  # a style-based run is also judged at this psi in summary.md
AnyGAN = GAN | StyleGAN  # the models this task trains: the same interface (generator, discriminator, noise, sample)


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


# ----------------------------------------------------------------------------- the training contract


class GANTask(ImageTask):
    """Batches of real images, the judge, and the GAN's evaluation metrics.

    Args:
        splits: split name -> (images (N, 1, H, W) in [-1, 1], labels (N,)).
        batch_size: B.
        seed: fixes the order of every epoch.
        options: the ``[model]`` section.
        num_classes: C.
        judge: the classifier of real images, or None.
    """

    def __init__(
        self,
        splits: dict[str, tuple[Tensor, Tensor]],
        *,
        batch_size: int,
        seed: int,
        options: GANConfig | StyleGANConfig,
        num_classes: int,
        judge: nn.Module | None,
    ) -> None:
        super().__init__(splits, batch_size=batch_size, seed=seed)
        self.options, self.num_classes, self.judge = options, num_classes, judge

    def labels_for(self, batch: ImageBatch) -> Tensor | None:
        return batch.labels if self.conditional else None

    @property
    def conditional(self) -> bool:
        """Whether the generator is asked for a class (a conditional DCGAN)."""
        return isinstance(self.options, GANConfig) and self.options.conditional

    def losses(self, model: AnyGAN, batch: ImageBatch, *, noise: Tensor | None = None) -> dict[str, Tensor]:
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
        """The generator's loss (the Task protocol; training itself uses :class:`GANStep`)."""
        assert isinstance(model, AnyGAN)
        parts = self.losses(model, batch)
        return parts["loss_g"], {name: float(v) for name, v in parts.items() if name != "loss_g"}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[ImageBatch]) -> dict[str, float]:
        assert isinstance(model, AnyGAN)
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
    def judge_model(self, model: AnyGAN, *, truncation: float = 1.0) -> dict[str, float]:
        """Judge a fixed set of generated samples (empty without a judge); a style-based one at psi ``truncation``."""
        if self.judge is None:
            return {}
        num = self.options.judge_samples
        labels = torch.arange(num) % self.num_classes if self.conditional else None
        generator = torch.Generator().manual_seed(JUDGE_SEED)
        if isinstance(model, StyleGAN):
            samples = model.sample(num, generator=generator, truncation=truncation)
        else:
            samples = model.sample(num, labels=labels, generator=generator)
        samples = samples.to(next(self.judge.parameters()).device)  # the judge stays on the CPU
        return judge_samples(
            self.judge, samples, num_classes=self.num_classes, confidence=self.options.confidence, labels=labels
        )

    @torch.no_grad()
    def preview_images(self, model: nn.Module) -> Tensor:
        """The generator's images of 64 fixed noise vectors (classes cycling when conditional), for TensorBoard."""
        assert isinstance(model, AnyGAN)
        generator = torch.Generator().manual_seed(JUDGE_SEED)  # its own numbers: the training's stay untouched
        if isinstance(model, StyleGAN):
            return model.sample(GRID, generator=generator)
        labels = torch.arange(GRID) % self.num_classes if self.conditional else None
        return model.sample(GRID, labels=labels, generator=generator)  # (64, 1, 28, 28) in [-1, 1]


# ----------------------------------------------------------------------------- the two-player step


def check_train(train: TrainConfig, *, world_size: int | None = None) -> None:
    """Refuse the ``[train]`` settings a GAN cannot honour, naming the key and why.

    Checked before anything is read or trained: the two-player step drives both networks itself, so
    it trains in one process (not under torchrun / ``--nproc``) and in fp32.

    Args:
        train: the ``[train]`` section.
        world_size: processes training together (default: torchrun's ``WORLD_SIZE``, 1 outside it).

    >>> from seqlab.sections import TrainConfig
    >>> check_train(TrainConfig(early_stopping=3))
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: train.early_stopping does not apply to a GAN (got 3): ...
    >>> check_train(TrainConfig(), world_size=2)
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: a GAN trains in one process (got 2): ...
    """
    from seqlab.distributed import DistributedContext

    world = world_size if world_size is not None else DistributedContext.from_env().world_size
    if world > 1:
        raise ConfigError(
            f"a GAN trains in one process (got {world}): its two-player step updates the discriminator and "
            "the generator in turn, which DistributedDataParallel does not wrap; train it without --nproc / torchrun"
        )
    if train.precision != "fp32":
        raise ConfigError(
            f'train.precision must be "fp32" for a GAN (got "{train.precision}"): its two-player step runs '
            'outside autocast; set train.precision = "fp32"'
        )
    if train.early_stopping:
        raise ConfigError(
            f"train.early_stopping does not apply to a GAN (got {train.early_stopping}): the two players "
            "trade their losses, so no validation metric says when the samples stop improving; set it to 0 "
            "and read the judge's verdict in summary.md"
        )
    if train.schedule == "plateau":
        raise ConfigError(
            'train.schedule = "plateau" does not apply to a GAN: it waits for train.monitor to stop improving, '
            'and a GAN\'s validation losses do not measure its samples; use "constant", "step" or "cosine"'
        )


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


class GANStep:
    """One two-player step: the discriminator, then the generator, each with its own optimizer.

    The :class:`~seqlab.training.loop.Step` that :func:`seqlab.training.fit` calls once per batch;
    its state (both optimizers) goes into the checkpoints.

    Args:
        model: the :class:`~seqlab.models.gan.GAN`.
        task: the :class:`GANTask` (labels of a conditional GAN, label smoothing).
        config: the ``[train]`` settings; each player gets the optimizer they name.

    >>> from seqlab.sections import TrainConfig
    >>> splits = {s: (torch.rand(8, 1, 28, 28) * 2 - 1, torch.arange(8) % 2) for s in ("train", "val", "test")}
    >>> task = GANTask(splits, batch_size=4, seed=0, options=GANConfig(channels=4), num_classes=2, judge=None)
    >>> step = GANStep(GAN(8, channels=4), task, TrainConfig(lr=2e-4, clip_norm=1.0))
    >>> sorted(step(task.train_batches(0)[0], lr=2e-4))
    ['d_fake', 'd_real', 'grad_norm_d', 'grad_norm_g', 'loss', 'loss_d', 'loss_g']
    """

    def __init__(self, model: AnyGAN, task: GANTask, config: TrainConfig) -> None:
        check_train(config)
        self.model, self.task, self.config = model, task, config
        self.opt_d = build_optimizer(model.discriminator, config)
        self.opt_g = build_optimizer(model.generator, config)
        self.optimizers = OptimizerPair(self.opt_d, self.opt_g)

    def __call__(self, batch: ImageBatch, *, lr: float) -> dict[str, float]:
        model, labels = self.model, self.task.labels_for(batch)
        smooth = 1.0 - self.task.options.label_smoothing
        model.train()
        # 1. discriminator: real -> 1 (or 1 - smoothing), fake -> 0; G(z) detached
        fake = model.generator(model.noise(len(batch)), labels)  # (B, 1, 28, 28)
        real_logits = model.discriminator(batch.images, labels)  # (B,)
        fake_logits = model.discriminator(fake.detach(), labels)  # (B,)
        loss_d = F.binary_cross_entropy_with_logits(
            real_logits, torch.full_like(real_logits, smooth)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        if not torch.isfinite(loss_d):
            return {"loss": loss_d.item()}
        row_d = update(model.discriminator, loss_d, self.opt_d, lr=lr, config=self.config)
        # 2. generator, non-saturating: make D call the fakes real (D's grads from here are cleared in step 1)
        gen_logits = model.discriminator(fake, labels)  # (B,)
        loss_g = F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits))
        if not torch.isfinite(loss_g):
            return {"loss": loss_g.item()}
        row_g = update(model.generator, loss_g, self.opt_g, lr=lr, config=self.config)
        return {
            "loss": loss_d.item() + loss_g.item(),
            "loss_d": loss_d.item(),
            "loss_g": loss_g.item(),
            "d_real": float(torch.sigmoid(real_logits.detach()).mean()),
            "d_fake": float(torch.sigmoid(fake_logits.detach()).mean()),
            **{f"{name}_d": value for name, value in row_d.items()},
            **{f"{name}_g": value for name, value in row_g.items()},
        }

    def state_dict(self) -> dict[str, Any]:
        return self.optimizers.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizers.load_state_dict(state)


def _save_grid(model: AnyGAN, noise: Tensor, labels: Tensor | None, path: Path, title: str) -> None:
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_image_grid

    was_training = model.generator.training
    model.generator.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        images = from_tensor(
            model.generator(noise.to(device), None if labels is None else labels.to(device)), scale="symmetric"
        )
    model.generator.train(was_training)
    save_figure(plot_image_grid(images, ncols=8, title=title, size=0.8), path)


class SampleGrids(Callback):
    """The generator's images of the same 64 noise vectors: ``samples/epoch-NNN.png``, then ``samples.png``.

    The noise comes from its own generator (seeded with ``seed``), so drawing the grids leaves the
    training's random numbers, and so an exact resume, alone.

    Args:
        model: the GAN being trained.
        run_dir: the run folder.
        seed: fixes the noise (``train.seed``).
    """

    def __init__(self, model: AnyGAN, run_dir: Path, *, seed: int) -> None:
        self.model, self.run_dir = model, Path(run_dir)
        self.noise = model.noise(GRID, generator=torch.Generator().manual_seed(seed))  # (64, Z)
        self.labels = torch.arange(GRID) % model.num_classes if model.num_classes else None

    def on_train_start(self, state: TrainState) -> None:
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        if state.batch_index == state.steps_per_epoch:  # the last batch of an epoch
            done = state.epoch + 1
            path = self.run_dir / "samples" / f"epoch-{done:03d}.png"
            _save_grid(self.model, self.noise, self.labels, path, f"epoch {done}, step {state.step}")

    def on_train_end(self, state: TrainState) -> None:
        title = f"{self.run_dir.name}: step {state.step}"
        _save_grid(self.model, self.noise, self.labels, self.run_dir / "samples.png", title)


# ----------------------------------------------------------------------------- the task


class ImageGeneration(Task):
    """Generate 28x28 images with a DCGAN (optionally of a class asked for) or a style-based generator,
    judged by a classifier of real ones.

    >>> from seqlab.config import load_config
    >>> ImageGeneration().describe(load_config("fashion-cgan"))
    'conditional DCGAN, 32 channels, noise 64'
    >>> ImageGeneration().describe(load_config("fashion-stylegan"))
    'style-based GAN: mapping 4x64, 6 AdaIN layers of 64-16 channels, noise 64'
    """

    name = NAME
    data_config = ImageDataConfig
    model_configs = {"dcgan": GANConfig, "stylegan": StyleGANConfig}
    preprocessing_file = None  # the generator makes pixels in [-1, 1]; nothing fitted to save
    one_loss = False  # the discriminator's and the generator's

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read the images scaled to [-1, 1] (the generator ends in tanh), train the judge, build the task."""
        check_train(config.train)
        _, options = _sections(config)
        splits, meta = _read(config)
        num_classes = len(meta["classes"])
        judge = None
        if options.judge_steps:
            judge = train_judge(
                *splits["train"], num_classes=num_classes, steps=options.judge_steps, seed=config.train.seed
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
            options=options,
            num_classes=num_classes,
            judge=judge,
        )
        return Prepared(None, task, {"task": self.name, **meta})

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> AnyGAN:
        """The GAN a config describes, with fresh weights (DCGAN-initialised for the DCGAN)."""
        _, m = _sections(config)
        if isinstance(m, StyleGANConfig):
            return StyleGAN(
                m.noise_dim,
                w_dim=m.w_dim,
                mapping_layers=m.mapping_layers,
                channels=m.channels,
                style_mixing=m.style_mixing,
                w_avg_decay=m.w_avg_decay,
            )
        return GAN(m.noise_dim, channels=m.channels, num_classes=len(meta["classes"]) if m.conditional else 0)

    def training_step(self, model: nn.Module, data: SplitData, train_config: TrainConfig) -> GANStep:
        """The two-player :class:`GANStep`."""
        assert isinstance(model, AnyGAN) and isinstance(data, GANTask)
        return GANStep(model, data, train_config)

    def training_callbacks(
        self, model: nn.Module, data: SplitData, train_config: TrainConfig, run_dir: Path
    ) -> list[Callback]:
        """The sample grids of :class:`SampleGrids`."""
        assert isinstance(model, AnyGAN)
        return [SampleGrids(model, run_dir, seed=train_config.seed)]

    def summary_inputs(self, config: Config) -> tuple[Any, dict[str, Any], str]:
        """The classes and image size from the data, without training the judge."""
        _, meta = _read(config)
        return None, {"task": self.name, **meta}, ""

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        _, m = _sections(config)
        assert isinstance(model, AnyGAN)
        noise = torch.zeros(2, m.noise_dim)  # (B, Z)
        conditional = isinstance(m, GANConfig) and m.conditional
        labels = (torch.zeros(2, dtype=torch.long),) if conditional else ()  # (B,)
        images = torch.zeros(2, 1, *meta.get("image_shape", (28, 28)))  # (B, 1, 28, 28)
        return [
            SummaryPart("generator", model.generator, (noise, *labels)),
            SummaryPart("discriminator", model.discriminator, (images, *labels)),
        ]

    def describe(self, config: Config) -> str:
        _, m = _sections(config)
        if isinstance(m, StyleGANConfig):
            return (
                f"style-based GAN: mapping {m.mapping_layers}x{m.w_dim}, 6 AdaIN layers of "
                f"{4 * m.channels}-{m.channels} channels, noise {m.noise_dim}"
            )
        return f"{'conditional ' if m.conditional else ''}DCGAN, {m.channels} channels, noise {m.noise_dim}"

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """The sample grid, the judge's verdict, and the per-epoch grids, as Markdown."""
        assert isinstance(data, GANTask)
        return _report(run, data, console=console)

    def generate(self, run: Run, num: int, *, label: str | None = None, seed: int | None = None) -> np.ndarray:
        """``num`` images (num, 28, 28) in [0, 1]; of class ``label`` (name or index) for a conditional GAN."""
        labels = [class_index(run.meta["classes"], label)] * num if label is not None else None
        return sample_images(run, num, labels=labels, seed=seed)

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """The generator: ``noise (B, Z) [, labels (B,)] -> images (B, 1, 28, 28)`` in [-1, 1]."""
        from seqlab.export import ExportGraph

        model = run.model
        noise = torch.randn(2, model.noise_dim, generator=torch.Generator().manual_seed(0))  # (B, Z)
        labels = (torch.tensor([0, model.num_classes - 1]),) if model.num_classes else ()  # (B,)
        names = ("noise", "labels")[: 1 + len(labels)]
        axes = {name: {0: "batch"} for name in (*names, "images")}
        check = (noise[:1], *(y[:1] for y in labels))
        note = "z ~ N(0, I)" + (", a class index per image" if labels else "") + "; (images + 1) / 2 is in [0, 1]"
        return [ExportGraph("generator", model.generator, (noise, *labels), names, ("images",), axes, (check,), note)]


def _sections(config: Config) -> tuple[ImageDataConfig, GANConfig | StyleGANConfig]:
    data, model = config.data, config.model
    assert isinstance(data, ImageDataConfig) and isinstance(model, (GANConfig, StyleGANConfig)), "a gan has these"
    return data, model


def _read(config: Config) -> tuple[dict[str, tuple[Tensor, Tensor]], dict[str, Any]]:
    data, _ = _sections(config)
    if data.scale != "symmetric":
        raise ConfigError(
            f'a GAN generates pixels in [-1, 1] (tanh): set data.scale = "symmetric" (got "{data.scale}")'
        )
    splits, meta = image_splits(config)
    if tuple(meta["image_shape"]) != (28, 28):
        raise ConfigError(f"the DCGAN makes 28x28 images; {data.dataset} holds {tuple(meta['image_shape'])}")
    return splits, meta


def sample_images(
    run: Run,
    num: int,
    *,
    labels: Sequence[int] | None = None,
    seed: int | None = None,
    truncation: float | None = None,
) -> np.ndarray:
    """Generate ``num`` images (num, 28, 28) in [0, 1] from a GAN run (class labels for a conditional one).

    Args:
        run: a loaded ``gan`` run.
        num: N.
        labels: N class indexes (a conditional DCGAN only).
        seed: fixes the noise.
        truncation: psi in [0, 1] of the truncation trick (a style-based run only; None = 1, no truncation).
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    if truncation is not None:
        style = _style_model(run, "--truncation")
        _check_truncation(truncation)
        if labels is not None:
            raise ConfigError("a style-based GAN is not conditional; it takes no class labels (--label)")
        return from_tensor(style.sample(num, generator=generator, truncation=truncation), scale="symmetric")
    model = _generator_of(run)
    if isinstance(model, StyleGAN):
        if labels is not None:
            raise ConfigError("a style-based GAN is not conditional; it takes no class labels (--label)")
        return from_tensor(model.sample(num, generator=generator), scale="symmetric")
    tensor_labels = None
    if model.num_classes:
        tensor_labels = torch.tensor(list(labels)) if labels is not None else torch.arange(num) % model.num_classes
        if len(tensor_labels) != num or int(tensor_labels.max()) >= model.num_classes or int(tensor_labels.min()) < 0:
            raise ConfigError(f"give {num} class labels in 0..{model.num_classes - 1}")
    elif labels is not None:
        raise ConfigError("this GAN is not conditional; it takes no class labels (train with model.conditional = true)")
    return from_tensor(model.sample(num, labels=tensor_labels, generator=generator), scale="symmetric")


def style_mixing_grid(run: Run, num: int, *, seed: int | None = None, truncation: float = 1.0) -> np.ndarray:
    """A style-mixing grid (num + 1, num + 1, 28, 28) in [0, 1] from a style-based GAN run.

    Row 0 holds the ``num`` column sources and column 0 the ``num`` row sources (the corner is
    blank); the image in row r, column c takes the coarse styles (7x7 and 14x14 layers: the shape) of
    row source r and the fine ones (28x28 layers: ink density and texture) of column source c.

    Args:
        run: a loaded run with ``model.arch = "stylegan"``.
        num: sources per side.
        seed: fixes the latents.
        truncation: psi of the truncation trick for every latent.
    """
    model = _style_model(run, "--mix")
    _check_truncation(truncation)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    rows, cols = model.noise(num, generator=generator), model.noise(num, generator=generator)  # (R, Z), (K, Z)
    mixed = from_tensor(model.mix(rows, cols, truncation=truncation).flatten(0, 1), scale="symmetric")
    sources = from_tensor(model.images(torch.cat([rows, cols]), truncation=truncation), scale="symmetric")  # (2N, ..)
    grid = np.zeros((num + 1, num + 1, 28, 28), np.float32)
    grid[1:, 0], grid[0, 1:] = sources[:num], sources[num:]
    grid[1:, 1:] = mixed.reshape(num, num, 28, 28)
    return grid


def _generator_of(run: Run) -> AnyGAN:
    model = run.model
    assert isinstance(model, AnyGAN)
    return model


def _style_model(run: Run, flag: str) -> StyleGAN:
    """The run's style-based GAN, or the one-line error for a flag that needs one."""
    if not isinstance(run.model, StyleGAN):
        arch = getattr(run.config.model, "arch", run.config.task)
        raise ConfigError(
            f'{flag} needs a style-based GAN run (model.arch = "stylegan", e.g. the recipe fashion-stylegan); '
            f"{run.run_dir} is a run of task {run.config.task}, model.arch {arch}"
        )
    return run.model


def _check_truncation(truncation: float) -> None:
    if not 0.0 <= truncation <= 1.0:
        raise ConfigError(f"--truncation must be in [0, 1] (got {truncation:g}); 1 = none, 0.7 is usual")


def _report(run: Run, task: GANTask, *, console: Console) -> list[str]:
    """The sample grid, the judge's verdict, and the per-epoch grids, as Markdown."""
    lines = ["## Samples (fixed noise)", "", "![samples](samples.png)", ""]
    model = _generator_of(run)
    judged = task.judge_model(model.eval())
    if isinstance(model, StyleGAN):
        lines += _style_report(run, model, task, judged, console=console)
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


def _style_report(run: Run, model: StyleGAN, task: GANTask, judged: dict[str, float], *, console: Console) -> list[str]:
    """A style-based run's extras: the mixing grid (``mixing.png``), truncated samples and their verdict."""
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_image_grid

    psi = REPORT_TRUNCATION
    grid = style_mixing_grid(run, 6, seed=JUDGE_SEED)
    title = "coarse styles from the left column, fine from the top row"
    save_figure(plot_image_grid(grid.reshape(-1, 28, 28), ncols=7, title=title, size=0.8), run.run_dir / "mixing.png")
    truncated = sample_images(run, GRID, seed=run.config.train.seed, truncation=psi)
    save_figure(
        plot_image_grid(truncated, ncols=8, title=f"truncation psi = {psi}", size=0.8),
        run.run_dir / "samples-truncated.png",
    )
    lines = [
        "## Style mixing",
        "",
        "![mixing](mixing.png)",
        "",
        f"## Truncated samples (psi = {psi})",
        "",
        "![truncated](samples-truncated.png)",
        "",
    ]
    at_psi = task.judge_model(model, truncation=psi)
    if at_psi:
        for name, value in at_psi.items():
            judged[f"{name}_psi{psi:g}"] = value
    return lines


__all__ = [
    "NAME",
    "ImageGeneration",
    "GANTask",
    "GANStep",
    "SampleGrids",
    "OptimizerPair",
    "check_train",
    "train_judge",
    "judge_samples",
    "sample_images",
    "style_mixing_grid",
]
