"""Autoencoders on images: reconstruction, compression, latent maps, denoising, anomalies, generation.

Binds images (``fashion-mnist`` ...) to :class:`~seqlab.models.autoencoder.Autoencoder` and its
loss. One loss covers the family (:func:`loss_parts`): reconstruction (Bernoulli cross-entropy
or Gaussian squared error, summed over the pixels of an image), plus ``beta`` x KL for a VAE
(the negative ELBO when beta = 1), plus the sparsity penalty; a denoising autoencoder sees
corrupted inputs (:func:`corrupt`) and is scored against the clean ones. Every number is per image.

The report draws what each variant is for: reconstructions, a 2-D latent map coloured by class,
a compression curve (quantised codes: bits against error, with PCA at the same bits), a denoising
grid, VAE samples and a latent interpolation strip, and, when ``data.holdout_class`` is set,
anomaly detection of the held-out class (ROC-AUC, precision / recall at two thresholds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data.images import ImageBatch, from_tensor
from seqlab.errors import ConfigError
from seqlab.metrics import precision_recall, roc_auc, roc_curve
from seqlab.models.autoencoder import Autoencoder, AutoencoderOutput
from seqlab.sections import (
    AutoencoderConfig,
    ImageDataConfig,
    SeriesAnomalies,
    SeriesAutoencoderConfig,
    SeriesDataConfig,
    SeriesVAEConfig,
    VAEConfig,
)
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.tasks.image_classification import ImageTask, image_splits

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from seqlab.config import Config
    from seqlab.export import ExportGraph
    from seqlab.run import Run
EVAL_SEED = 1234  # fixes the VAE's samples and the denoising noise in evaluation, so metrics repeat


# ----------------------------------------------------------------------------- loss and noise


def corrupt(
    x: Tensor,
    kind: str,
    level: float,
    *,
    generator: torch.Generator | None = None,
    clip: tuple[float, float] | None = (0.0, 1.0),
) -> Tensor:
    """Corrupt inputs for a denoising autoencoder.

    Args:
        x: (B, ...) inputs.
        kind: ``gaussian`` (add N(0, level^2)), ``masking`` (zero a share ``level`` of the values),
            ``salt_pepper`` (set a share ``level`` to the min or max of ``clip``), or ``none``.
        level: the noise std or the share of values hit.
        generator: makes the noise repeatable.
        clip: the valid value range (None: unbounded data such as standardised series).

    >>> x = torch.full((1, 1000), 0.5)
    >>> round(float((corrupt(x, "masking", 0.3, generator=torch.Generator().manual_seed(0)) == 0).float().mean()), 1)
    0.3
    """
    if kind == "none" or level == 0:
        return x
    # drawn on the CPU with the (CPU) generator, then moved beside x: the same noise on every device
    draw = torch.rand(x.shape, generator=generator).to(x.device)
    if kind == "gaussian":
        noisy = x + level * torch.randn(x.shape, generator=generator).to(x.device)
    elif kind == "masking":
        noisy = x * (draw >= level)
    elif kind == "salt_pepper":
        if clip is None:
            raise ConfigError("salt_pepper noise needs a value range; use gaussian or masking noise for unbounded data")
        low, high = clip
        salt = torch.rand(x.shape, generator=generator).to(x.device) < 0.5
        noisy = torch.where(draw < level, torch.where(salt, torch.full_like(x, high), torch.full_like(x, low)), x)
    else:
        raise ConfigError(f'model.noise must be one of none, gaussian, masking, salt_pepper (got "{kind}")')
    return noisy.clamp(*clip) if clip is not None else noisy


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) summed over the L code units: (B,).

    >>> gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).abs().tolist()
    [0.0, 0.0]
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)


def loss_parts(
    model: Autoencoder,
    out: AutoencoderOutput,
    target: Tensor,
    *,
    beta: float = 1.0,
    sparsity: str = "none",
    sparsity_weight: float = 0.0,
    sparsity_target: float = 0.05,
) -> dict[str, Tensor]:
    """The loss of one batch and its parts, each a mean over the batch of a per-image sum.

    ``loss = recon + beta * kl + sparsity``. ``recon`` is the Bernoulli cross-entropy (nats per
    image) or half the squared error (a unit-variance Gaussian, constant dropped); ``kl`` is there
    for a VAE, ``sparsity`` for a sparse autoencoder (L1 on the code, or the KL of each unit's
    mean activation from the target rate).

    Args:
        model: the autoencoder (its ``output`` decides the likelihood).
        out: its forward output for ``target`` (or for a corrupted ``target``).
        target: (B, ...) the clean inputs.
        beta: weight of the KL term.
        sparsity: ``none``, ``l1`` or ``kl``.
        sparsity_weight: weight of the sparsity penalty.
        sparsity_target: target mean activation rho for ``kl``.

    >>> model = Autoencoder(4, hidden_sizes=(), latent_dim=2, variational=True)
    >>> parts = loss_parts(model, model(torch.rand(3, 4)), torch.rand(3, 4))
    >>> torch.allclose(parts["loss"], parts["recon"] + parts["kl"])
    True
    """
    x = target.flatten(1)  # (B, D)
    if model.output == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(out.logits, x, reduction="none").sum(-1)
    else:
        recon = 0.5 * (out.logits - x).pow(2).sum(-1)
    parts = {"recon": recon.mean()}
    loss = parts["recon"]
    if out.mu is not None and out.logvar is not None:
        parts["kl"] = gaussian_kl(out.mu, out.logvar).mean()
        loss = loss + beta * parts["kl"]
    if sparsity == "l1":
        parts["sparsity"] = sparsity_weight * out.code.abs().sum(-1).mean()
    elif sparsity == "kl":
        rate = out.code.mean(0).clamp(1e-6, 1 - 1e-6)  # (L,) mean activation
        rho = sparsity_target
        kl = rho * torch.log(rho / rate) + (1 - rho) * torch.log((1 - rho) / (1 - rate))
        parts["sparsity"] = sparsity_weight * kl.sum()
    if "sparsity" in parts:
        loss = loss + parts["sparsity"]
    parts["loss"] = loss
    return parts


@dataclass(frozen=True)
class AnomalyResult:
    """Anomaly detection of a held-out class by reconstruction error.

    Args:
        auc: ROC-AUC on the test split (the held-out class is positive).
        thresholds: name -> threshold (from the training scores).
        points: name -> (fpr, recall, precision, recall) at that threshold.
        scores: (N,) test scores; ``positive`` (N,) 1 for the held-out class.
        train_scores: scores of the training images.
    """

    auc: float
    thresholds: dict[str, float]
    points: dict[str, tuple[float, float, float, float]]
    scores: np.ndarray
    positive: np.ndarray
    train_scores: np.ndarray


# ----------------------------------------------------------------------------- the task


class AutoencoderTask(ImageTask):
    """The training contract of the autoencoder family (images in, the same images out).

    Args:
        splits: split name -> (images (N, 1, H, W), labels (N,)).
        batch_size: B.
        seed: fixes the order of every epoch.
        options: the ``[model]`` section (noise, sparsity; beta for a VAE).
        clip: the valid pixel range for noise (None for unbounded data).
    """

    def __init__(
        self,
        splits: dict[str, tuple[Tensor, Tensor]],
        *,
        batch_size: int,
        seed: int,
        options: Any,
        clip: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        super().__init__(splits, batch_size=batch_size, seed=seed)
        self.options, self.clip = options, clip
        self.beta = options.beta if isinstance(options, VAEConfig) else 1.0  # only a VAE has a KL term

    def _parts(self, model: Autoencoder, clean: Tensor, inputs: Tensor) -> dict[str, Tensor]:
        o = self.options
        return loss_parts(
            model,
            model(inputs),
            clean,
            beta=self.beta,
            sparsity=o.sparsity,
            sparsity_weight=o.sparsity_weight,
            sparsity_target=o.sparsity_target,
        )

    def loss(self, model: nn.Module, batch: ImageBatch) -> tuple[Tensor, dict[str, float]]:
        inputs = corrupt(batch.images, self.options.noise, self.options.noise_level, clip=self.clip)
        parts = self._parts(model, batch.images, inputs)
        return parts["loss"], {name: value.item() for name, value in parts.items() if name != "loss"}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[ImageBatch]) -> dict[str, float]:
        sums: dict[str, float] = {}
        count = 0
        noisy_generator = torch.Generator().manual_seed(EVAL_SEED)
        with torch.random.fork_rng():
            torch.manual_seed(EVAL_SEED)  # the VAE's z samples
            for batch in batches:
                n = len(batch)
                parts = loss_parts(
                    model,
                    model(batch.images, sample=True),
                    batch.images,
                    beta=self.beta,
                    sparsity=self.options.sparsity,
                    sparsity_weight=self.options.sparsity_weight,
                    sparsity_target=self.options.sparsity_target,
                )
                values = {name: float(v) for name, v in parts.items()}
                values["mse"] = float((model.reconstruct(batch.images) - batch.images).pow(2).mean())
                if model.variational:
                    values["elbo"] = -(values["recon"] + values["kl"])
                if self.options.noise != "none":
                    noisy = corrupt(
                        batch.images,
                        self.options.noise,
                        self.options.noise_level,
                        generator=noisy_generator,
                        clip=self.clip,
                    )
                    values["denoise_mse"] = float((model.reconstruct(noisy) - batch.images).pow(2).mean())
                for name, value in values.items():
                    sums[name] = sums.get(name, 0.0) + value * n
                count += n
        return {name: total / max(count, 1) for name, total in sums.items()}

    @torch.no_grad()
    def scores(self, model: Autoencoder, split: str, *, limit: int = 0) -> np.ndarray:
        """Anomaly scores: each image's reconstruction MSE (per pixel), (N,)."""
        model.eval()
        device = next(model.parameters()).device
        out = []
        for batch in self.split_batches(split):
            images = batch.images.to(device)
            out.append((model.reconstruct(images) - images).pow(2).flatten(1).mean(-1).float().cpu())
            if limit and sum(len(o) for o in out) >= limit:
                break
        return torch.cat(out).numpy()[: limit or None] if out else np.zeros(0)

    def anomaly(self, model: Autoencoder, holdout: int, *, percentile: float = 99.0) -> AnomalyResult:
        """Score the test split; the held-out class is the anomaly. Thresholds come from the training scores."""
        train_scores = self.scores(model, "train", limit=10_000)
        test_scores = self.scores(model, "test")
        positive = (self.splits["test"][1].numpy() == holdout).astype(np.int64)
        thresholds = {
            "max of train": float(train_scores.max()),
            f"p{percentile:g} of train": float(np.percentile(train_scores, percentile)),
        }
        points = {name: precision_recall(test_scores, positive, value) for name, value in thresholds.items()}
        return AnomalyResult(roc_auc(test_scores, positive), thresholds, points, test_scores, positive, train_scores)

    @torch.no_grad()
    def preview_images(self, model: nn.Module) -> Tensor | None:
        """Eight validation images over their reconstructions (16, 1, H, W) for TensorBoard; None for series."""
        assert isinstance(model, Autoencoder)
        images = (self.splits["val"][0] if len(self.splits["val"][0]) else self.splits["train"][0])[:8]
        if images.dim() != 4:  # series windows (N, T, C): nothing to look at as an image
            return None
        images = images.to(next(model.parameters()).device)
        return torch.cat([images, model.reconstruct(images)])


# ----------------------------------------------------------------------------- the tasks


class _Autoencoders(Task):
    """What the image and the series autoencoders share: the model, its description, anomaly scores."""

    preprocessing_file = None  # the scaling is kept in meta.json (images) or refitted from the data (series)
    no_anomalies: ClassVar[str]  # what `seqlab anomaly` says to a run without anomalies to score

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> Autoencoder:
        """The autoencoder a config describes, with fresh weights."""
        m = config.model
        if isinstance(m, VAEConfig) and m.sparsity != "none":
            raise ConfigError(
                'model.sparsity is for plain autoencoders; use model.arch = "ae" or model.sparsity = "none"'
            )
        height, width = self.input_shape(meta)
        return Autoencoder(
            height * width,
            hidden_sizes=m.hidden_sizes,
            latent_dim=m.latent_dim,
            variational=isinstance(m, VAEConfig),
            code_activation={"l1": "relu", "kl": "sigmoid"}.get(m.sparsity, "linear"),
            output=m.output,
        )

    def input_shape(self, meta: dict[str, Any]) -> tuple[int, int]:
        """(H, W) of an image, or (T, C) of a series window."""
        raise NotImplementedError

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        return [SummaryPart("", model, torch.zeros(2, *self.input_shape(meta)))]

    def describe(self, config: Config) -> str:
        """The variant and the encoder widths down to the code: ``"sparse AE (kl) 512-256"``, ``"VAE 512-256-16"``."""
        m = config.model
        sizes = "-".join(str(size) for size in (*m.hidden_sizes, m.latent_dim))
        kind = "VAE" if isinstance(m, VAEConfig) else "AE"
        if m.sparsity != "none":
            kind = f"sparse {kind} ({m.sparsity})"
        if m.noise != "none":
            kind = f"denoising {kind} ({m.noise})"
        return f"{kind} {sizes}"

    def read_inputs(self, run: Run, text: str | None, file: Path | None) -> list[Any]:
        """An autoencoder reconstructs images or windows, not texts: say which commands use it."""
        generate = f", `seqlab generate {run.run_dir}` draws new images" if run.meta.get("holdout") is None else ""
        raise ConfigError(
            f"a {self.name} run does not predict from a text: `seqlab anomaly {run.run_dir}` scores its test data "
            f"by reconstruction error{generate}, and `seqlab.load(RUN).predict([array])` reconstructs arrays in Python"
        )

    def anomaly(self, run: Run, *, percentile: float = 99.0) -> AnomalyResult:
        """Score the test split by reconstruction error; the held-out class (or injected anomalies) is positive."""
        if isinstance(percentile, bool) or not isinstance(percentile, (int, float)) or not 0 < percentile <= 100:
            raise ConfigError(f"percentile must be a number in (0, 100] (got {percentile!r})")
        holdout = run.meta.get("holdout")
        if holdout is None:
            raise ConfigError(f"{run.run_dir} {self.no_anomalies}")
        data = self.prepare(run.config).data
        assert isinstance(data, AutoencoderTask)
        return data.anomaly(run.model, holdout, percentile=percentile)

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """The reconstruction ``x -> x_hat`` (the code's mean decoded, in data space); a VAE's decoder ``z -> x``."""
        from seqlab.export import ExportGraph, LatentDecoder, Reconstruction

        model, seeded = run.model, torch.Generator().manual_seed(0)
        x = torch.rand(2, *self.input_shape(run.meta), generator=seeded)  # (B, H, W) or (B, T, C), scaled
        axes = {"x": {0: "batch"}, "reconstruction": {0: "batch"}}
        note = "inputs scaled as meta.json says; the reconstruction has their shape"
        reconstruction = Reconstruction(model)
        graphs = [ExportGraph("model", reconstruction, (x,), ("x",), ("reconstruction",), axes, ((x[:1],),), note)]
        if model.variational:
            z = torch.randn(2, model.latent_dim, generator=seeded)  # (B, L)
            axes = {"z": {0: "batch"}, "x": {0: "batch"}}
            note = "z ~ N(0, I) -> a new example, flat (B, D), in the scaled data space"
            graphs.append(ExportGraph("decoder", LatentDecoder(model), (z,), ("z",), ("x",), axes, ((z[:1],),), note))
        return graphs


class Autoencoding(_Autoencoders):
    """The dense autoencoder family on 28x28 images: basic, deep, sparse, denoising, and the VAE.

    >>> from seqlab.config import load_config
    >>> Autoencoding().describe(load_config("fashion-vae"))
    'VAE 512-256-16'
    """

    name = "autoencoder"
    data_config = ImageDataConfig
    model_configs = {"ae": AutoencoderConfig, "vae": VAEConfig}
    no_anomalies = (
        "is not an autoencoder run with a held-out class; train one with data.holdout_class set "
        "(e.g. `seqlab train fashion-anomaly`)"
    )

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read, split and scale the images; build the task."""
        if config.model.output == "bernoulli" and config.data.scale != "unit":
            raise ConfigError(
                f'model.output = "bernoulli" needs pixels in [0, 1]: set data.scale = "unit" '
                f'(got "{config.data.scale}"), or model.output = "gaussian"'
            )
        splits, meta = image_splits(config)
        clip = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}.get(config.data.scale)
        task = AutoencoderTask(
            splits,
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            options=config.model,
            clip=clip,
        )
        return Prepared(None, task, {"task": self.name, **meta})

    def input_shape(self, meta: dict[str, Any]) -> tuple[int, int]:
        height, width = meta["image_shape"]
        return int(height), int(width)

    def predict(
        self, run: Run, inputs: Sequence[Any], *, beam_width: int | None = None, n_best: int = 1
    ) -> list[np.ndarray]:
        """Reconstruct images ((H, W) uint8 arrays): the reconstructions as (H, W) float arrays in [0, 1]."""
        from seqlab.data.images import to_tensor

        if not len(inputs):
            return []
        meta = run.meta
        x = to_tensor(
            np.stack([np.asarray(i, np.uint8) for i in inputs]), scale=meta["scale"], mean=meta["mean"], std=meta["std"]
        )
        reconstructed = run.model.eval().reconstruct(x)
        return list(from_tensor(reconstructed, scale=meta["scale"], mean=meta["mean"], std=meta["std"]))

    def generate(self, run: Run, num: int, *, label: str | None = None, seed: int | None = None) -> np.ndarray:
        """``num`` images decoded from z ~ N(0, I) (a VAE only; it is not conditional, so no label)."""
        if not isinstance(run.config.model, VAEConfig):
            raise ConfigError(
                f"{run.run_dir} is a plain autoencoder; generate works with gan runs and autoencoder runs with "
                'model.arch = "vae"'
            )
        if label is not None:
            raise ConfigError("a VAE is not conditional; --label is for conditional GAN runs")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        height, width = self.input_shape(run.meta)
        samples = run.model.generate(num, generator=generator).view(num, 1, height, width)
        meta = run.meta
        return from_tensor(samples, scale=meta["scale"], mean=meta["mean"], std=meta["std"])

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """Plots for what the variant is for, with Markdown for summary.md."""
        assert isinstance(data, AutoencoderTask)
        return _image_report(run, data, console=console)


class SeriesAutoencoding(_Autoencoders):
    """An autoencoder of series windows; anomalies injected into test windows are found by reconstruction error.

    >>> from seqlab.config import load_config
    >>> SeriesAutoencoding().describe(load_config("co2-anomaly-ae"))
    'AE 64-8'
    """

    name = "series-autoencoder"
    data_config = SeriesDataConfig
    model_configs = {"ae": SeriesAutoencoderConfig, "vae": SeriesVAEConfig}
    no_anomalies = (
        "has no injected anomalies to find; train one with model.inject_anomalies > 0 "
        "(e.g. `seqlab train co2-anomaly-ae`)"
    )

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Cut the series into scaled windows (the scaler is refitted on the training part); build the task."""
        return _prepare_series(config)

    def input_shape(self, meta: dict[str, Any]) -> tuple[int, int]:
        length, columns = meta["window"]
        return int(length), int(columns)

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """Window reconstructions and, with injected anomalies, how well they are found."""
        assert isinstance(data, AutoencoderTask)
        return _series_report(run, data, console=console)


# ----------------------------------------------------------------------------- helpers


def inject_anomalies(windows: Tensor, *, share: float, size: float, seed: int) -> tuple[Tensor, Tensor]:
    """Add a level shift of ``size`` (in scaled units) to a random quarter of ``share`` of the windows.

    Args:
        windows: (W, T, C) scaled series windows.
        share: fraction of windows to change.
        size: shift added, with a random sign.
        seed: which windows and where.

    Returns:
        (windows with anomalies, (W,) long labels: 1 where one was injected).

    >>> x, flags = inject_anomalies(torch.zeros(10, 8, 1), share=0.3, size=5.0, seed=0)
    >>> int(flags.sum()), sorted(set(x.abs().flatten().tolist()))
    (3, [0.0, 5.0])
    """
    generator = torch.Generator().manual_seed(seed)
    count, length = len(windows), windows.shape[1]
    flags = torch.zeros(count, dtype=torch.long)
    picked = torch.randperm(count, generator=generator)[: round(share * count)]
    out = windows.clone()
    span = max(1, length // 4)
    for index in picked.tolist():
        start = int(torch.randint(0, length - span + 1, (1,), generator=generator))
        sign = 1.0 if float(torch.rand(1, generator=generator)) < 0.5 else -1.0
        out[index, start : start + span] += sign * size
        flags[index] = 1
    return out, flags


def _prepare_series(config: Config) -> Prepared:
    from seqlab.data.series import load_series, prepare_windows

    data, m = config.data, config.model
    if m.output != "gaussian":
        raise ConfigError('a series autoencoder reconstructs real values: set model.output = "gaussian"')
    series = load_series(
        data.dataset,
        time_column=data.time_column,
        value_columns=data.value_columns,
        missing=data.missing,
        limit=data.limit,
    )
    prepared = prepare_windows(
        series,
        input_len=data.input_len,
        horizon=1,
        stride=data.stride,
        val_fraction=data.val_fraction,
        test_fraction=data.test_fraction,
        scaling=data.scaling,
    )
    splits = {}
    for split, windows in prepared.windows.items():
        x = torch.from_numpy(windows.inputs)  # (W, T, C)
        splits[split] = (x, torch.zeros(len(x), dtype=torch.long))
    assert isinstance(m, SeriesAnomalies)
    if m.inject_anomalies and len(splits["test"][1]):
        splits["test"] = inject_anomalies(
            splits["test"][0], share=m.inject_anomalies, size=m.anomaly_size, seed=config.train.seed
        )
    task = AutoencoderTask(
        splits,
        batch_size=config.train.batch_size,
        seed=config.train.seed,
        options=m,
        clip=None,
    )
    meta = {
        "task": "series-autoencoder",
        "window": [data.input_len, len(series.columns)],
        "columns": list(series.columns),
        "classes": ["normal", "anomaly"],
        "holdout": 1 if m.inject_anomalies else None,
        "examples": {split: len(labels) for split, (_, labels) in splits.items()},
    }
    return Prepared(None, task, meta)


def latent_points(model: Autoencoder, images: Tensor) -> np.ndarray:
    """2-D coordinates of the codes: the code itself when L = 2, else its first two principal components."""
    with torch.no_grad():
        codes = model.eval().encode(images.to(next(model.parameters()).device)).float().cpu()
    if codes.shape[1] == 2:
        return codes.numpy()
    centred = codes - codes.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return (centred @ v[:2].T).numpy()


def compression_curve(
    model: Autoencoder, train: Tensor, test: Tensor, *, bits: Sequence[int] = (1, 2, 3, 4, 6, 8)
) -> dict[str, list[float]]:
    """Reconstruction MSE when each code value is quantised to b bits, and PCA with as many components at the same bits.

    Each code unit is quantised uniformly between its min and max over ``train``; PCA keeps L
    components of the training pixels, quantised the same way, so both use L x b bits per image.
    """
    with torch.no_grad():
        model.eval()
        z_train, z_test = model.encode(train), model.encode(test)
        mean = train.flatten(1).mean(0)
        _, _, v = torch.linalg.svd(train.flatten(1) - mean, full_matrices=False)
        basis = v[: model.latent_dim]  # (L, D)
        p_train, p_test = (train.flatten(1) - mean) @ basis.T, (test.flatten(1) - mean) @ basis.T
        out: dict[str, list[float]] = {"bits": [], "ae": [], "pca": [], "labels": []}
        for b in (*bits, 32):

            def quantise(values: Tensor, reference: Tensor, b: int = b) -> Tensor:
                if b >= 32:
                    return values
                low, high = reference.min(0).values, reference.max(0).values
                step = (high - low).clamp(min=1e-8) / (2**b - 1)
                return low + torch.round(((values - low) / step).clamp(0, 2**b - 1)) * step

            ae = model.mean(model.decode(quantise(z_test, z_train))).view_as(test)
            pca = (quantise(p_test, p_train) @ basis + mean).view_as(test).clamp(0, 1)
            out["bits"].append(float(model.latent_dim * b))
            out["ae"].append(float((ae - test).pow(2).mean()))
            out["pca"].append(float((pca - test).pow(2).mean()))
            out["labels"].append(f"{b} bit" if b < 32 else "float32")
    return out


def _image_report(run: Run, task: AutoencoderTask, *, console: Console) -> list[str]:
    """Plots for what the variant is for, with Markdown for summary.md."""
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_compression, plot_denoising, plot_image_grid, plot_interpolation, plot_latent_map

    model, meta, cfg = run.model.eval(), run.meta, run.config.model
    classes, scale = meta["classes"], meta["scale"]
    split = "test" if len(task.splits["test"][1]) else "val"
    images, labels = task.splits[split]

    def pixels(x: Tensor) -> np.ndarray:
        return from_tensor(x, scale=scale, mean=meta["mean"], std=meta["std"])

    lines = []
    shown = images[:12]
    save_figure(
        plot_image_grid(
            np.concatenate([pixels(shown), pixels(model.reconstruct(shown))]),
            ncols=12,
            title="Inputs (top) and reconstructions (bottom)",
        ),
        run.run_dir / "reconstructions.png",
    )
    lines += ["## Reconstructions", "", "![reconstructions](reconstructions.png)", ""]

    few = min(len(labels), 5000)
    save_figure(
        plot_latent_map(
            latent_points(model, images[:few]),
            labels[:few].tolist(),
            classes,
            title=f"Latent map ({'z' if cfg.latent_dim == 2 else 'first 2 principal components of z'}, "
            f"{few} {split} images)",
        ),
        run.run_dir / "latent_map.png",
    )
    lines += ["## Latent map", "", "![latent map](latent_map.png)", ""]

    if scale == "unit":
        curve = compression_curve(model, task.splits["train"][0][:5000], images[:2000])
        save_figure(
            plot_compression(
                curve["bits"],
                curve["ae"],
                labels=curve["labels"],
                baseline=(curve["bits"], curve["pca"]),
                raw_bits=float(images[0].numel() * 8),
            ),
            run.run_dir / "compression.png",
        )
        lines += [
            "## Compression (quantised codes)",
            "",
            "| code | bits / image | ratio | AE MSE | PCA MSE |",
            "|---|---|---|---|---|",
        ]
        raw = images[0].numel() * 8
        lines += [
            f"| {t} | {b:g} | {raw / b:.1f} | {a:.4f} | {p:.4f} |"
            for t, b, a, p in zip(curve["labels"], curve["bits"], curve["ae"], curve["pca"])
        ]
        lines += ["", "![compression](compression.png)", ""]

    if cfg.noise != "none":
        generator = torch.Generator().manual_seed(EVAL_SEED)
        noisy = corrupt(images[:10], cfg.noise, cfg.noise_level, generator=generator, clip=task.clip)
        save_figure(
            plot_denoising(
                pixels(noisy),
                pixels(model.reconstruct(noisy)),
                pixels(images[:10]),
                title=f"Denoising ({cfg.noise} noise, level {cfg.noise_level:g})",
            ),
            run.run_dir / "denoising.png",
        )
        lines += ["## Denoising", "", "![denoising](denoising.png)", ""]

    if model.variational:
        samples = model.generate(64, generator=torch.Generator().manual_seed(EVAL_SEED)).view(-1, *images.shape[1:])
        save_figure(
            plot_image_grid(pixels(samples), ncols=16, title="VAE samples, z ~ N(0, I)"), run.run_dir / "samples.png"
        )
        starts = [int(torch.nonzero(labels == c)[0]) for c in range(len(classes)) if (labels == c).any()]
        pairs = [(starts[i], starts[(i + 1) % len(starts)]) for i in range(min(6, len(starts)))]
        with torch.no_grad():
            mu = model.encode(images)
            steps = torch.linspace(0, 1, 10).unsqueeze(1)
            strips = [
                pixels(model.mean(model.decode((1 - steps) * mu[a] + steps * mu[b])).view(-1, *images.shape[1:]))
                for a, b in pairs
            ]
        save_figure(
            plot_interpolation(
                np.stack(strips), labels=[f"{classes[labels[a]]}->{classes[labels[b]]}" for a, b in pairs]
            ),
            run.run_dir / "interpolation.png",
        )
        lines += ["## Generation", "", "![samples](samples.png)", "", "![interpolation](interpolation.png)", ""]

    holdout = meta.get("holdout")
    if holdout is not None:
        lines += _anomaly_lines(run, task, holdout, f"held-out class {classes[holdout]}", console=console)
    return lines


def _anomaly_lines(run: Run, task: AutoencoderTask, holdout: int, what: str, *, console: Console) -> list[str]:
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_roc_pr

    result = task.anomaly(run.model.eval(), holdout)
    fpr, tpr, _ = roc_curve(result.scores, result.positive)
    order = np.argsort(-result.scores, kind="stable")
    hits = np.cumsum(result.positive[order])
    precision, recall = hits / np.arange(1, len(hits) + 1), hits / max(hits[-1], 1)
    save_figure(
        plot_roc_pr(
            fpr,
            tpr,
            precision,
            recall,
            auc=result.auc,
            points=result.points,
            scores=(result.scores[result.positive == 0], result.scores[result.positive == 1]),
            title=f"Anomaly: {what}",
        ),
        run.run_dir / "anomaly.png",
    )
    console.print(f"anomaly ROC-AUC {result.auc:.4f} ({what})")
    lines = [
        f"## Anomaly detection ({what})",
        "",
        f"ROC-AUC: **{result.auc:.4f}**",
        "",
        "| threshold | value | precision | recall | false positive rate |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {result.thresholds[name]:.5f} | {p[2]:.3f} | {p[1]:.3f} | {p[0]:.3f} |"
        for name, p in result.points.items()
    ]
    return lines + ["", "![anomaly](anomaly.png)", ""]


def _series_report(run: Run, task: AutoencoderTask, *, console: Console) -> list[str]:
    from seqlab.viz import save_figure
    from seqlab.viz.images import plot_window_reconstructions

    split = "test" if len(task.splits["test"][1]) else "val"
    windows, flags = task.splits[split]
    picked = list(range(0, len(windows), max(1, len(windows) // 6)))[:6]
    anomalous = torch.nonzero(flags).flatten()[:2].tolist()
    picked = (picked[: 6 - len(anomalous)] + anomalous) if anomalous else picked
    recon = run.model.eval().reconstruct(windows[picked])
    save_figure(
        plot_window_reconstructions(
            windows[picked, :, 0],
            recon[:, :, 0],
            titles=[f"window {i}" + (" (injected anomaly)" if flags[i] else "") for i in picked],
        ),
        run.run_dir / "reconstructions.png",
    )
    lines = ["## Window reconstructions (first column, scaled)", "", "![reconstructions](reconstructions.png)", ""]
    if run.meta.get("holdout") is not None:
        lines += _anomaly_lines(
            run, task, 1, f"{int(flags.sum())} injected anomalies in {len(flags)} test windows", console=console
        )
    return lines


__all__ = [
    "Autoencoding",
    "SeriesAutoencoding",
    "AutoencoderTask",
    "inject_anomalies",
    "AnomalyResult",
    "corrupt",
    "gaussian_kl",
    "loss_parts",
    "latent_points",
    "compression_curve",
]
