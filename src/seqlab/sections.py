"""The sections of a config, one class per thing configured: what ``[data]``, ``[model]``, ``[train]``
and ``[sample]`` accept.

Each task declares which ``[data]`` section and which ``[model]`` section per ``model.arch`` it
takes (:mod:`seqlab.tasks.base`); :mod:`seqlab.config` puts them together into a :class:`Config`.
A section is a frozen pydantic model that rejects unknown keys. A key that only one model variant
reads lives in that variant's class (:class:`VAEConfig` has ``beta``, :class:`SeriesAutoencoderConfig`
has the injected anomalies), so a config offers only the keys its variant uses.

This module is a floor: it imports nothing of seqlab above the errors, so the task modules and the
training loop can import it.

>>> RecurrentConfig(cell="gru").hidden_size
128
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

Cell = Literal["rnn", "lstm", "gru"]
TokenizerName = Literal["char", "word", "bpe", "syllable", "jamo", "morpheme", "minilm"]
SEED_MAX = 2**32 - 1  # np.random.seed refuses more; torch.manual_seed takes this range too
# model.pretrained_embeddings -> (the data.tokenizer whose ids number the rows, E of the vectors)
PRETRAINED_EMBEDDINGS: dict[str, tuple[str, int]] = {"minilm": ("minilm", 384)}


class Section(BaseModel):
    """A frozen table of settings that rejects unknown keys, NaN and infinities, and booleans taken for numbers.

    pydantic alone would read ``true`` as the integer 1 and ``1`` as ``true``: a ``batch_size = true``
    is a mistake, so a number field takes only numbers and a switch only ``true`` or ``false``.

    >>> RecurrentConfig(hidden_size=True)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for RecurrentConfig
    hidden_size
      must be a number, not true or false ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        kind = field.annotation
        numbers = (int, float, tuple[int, ...], tuple[float, float])
        items = value if isinstance(value, (list, tuple)) else (value,)
        if kind in numbers and any(isinstance(item, bool) for item in items):
            raise PydanticCustomError("bool_for_number", "must be a number, not true or false")
        if kind is bool and not isinstance(value, bool):
            raise PydanticCustomError("bool_expected", "must be true or false")
        return value


class DataSection(Section):
    """What every ``[data]`` section has: where the data comes from."""

    dataset: str = Field(description="a catalog name (`seqlab data list`) or a file path")


class TextDataConfig(DataSection):
    """Text data: where it comes from and how text becomes ids."""

    dataset: str = Field(description="a catalog name (`seqlab data list`) or a file path")
    tokenizer: TokenizerName = Field(
        "char", description="minilm: MiniLM's pretrained word pieces (BERT uncased), not fitted"
    )
    vocab_size: int = Field(
        0, ge=0, description="word: num_words (0 = every word); bpe: vocabulary size (0 = 4096); minilm: 0"
    )
    lowercase: bool = False
    block_size: int = Field(128, ge=2, description="language model: tokens per training sequence")
    stateful: bool = Field(
        False,
        description="language model: read the text as batch_size parallel streams and carry the recurrent state "
        "across consecutive windows (truncated backprop through time); model.arch = rnn",
    )
    max_len: int = Field(0, ge=0, description="classification: truncate texts to this many tokens; 0 = no limit")
    padding: Literal["pre", "post"] = "post"
    text_column: str = "text"
    label_column: str = "label"
    val_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    limit: int = Field(0, ge=0, description="use only the first N characters (corpus) or examples; 0 = all")
    limits: dict[str, NonNegativeInt] = Field(
        default_factory=dict, description='per dataset joined with "+": its own limit, overriding limit'
    )


class RecurrentConfig(Section):
    """The recurrent family: embedding -> [Conv1D] -> stacked (bi)RNN/LSTM/GRU -> head."""

    arch: Literal["rnn"] = "rnn"
    cell: Cell = "lstm"
    impl: Literal["fused", "scratch"] = "fused"
    embed_dim: int = Field(64, ge=1)
    hidden_size: int = Field(128, ge=1)
    num_layers: int = Field(1, ge=1)
    bidirectional: bool = False
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="between layers and before the head")
    recurrent_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="variational dropout on the hidden state")
    conv_filters: int = Field(0, ge=0, description="Conv1D front-end channels; 0 = no Conv1D")
    conv_kernel: int = Field(5, ge=1)
    pooling: Literal["last", "mean", "max"] = "last"
    tie_weights: bool = False


class RecurrentClassifierConfig(RecurrentConfig):
    """The recurrent classifier: :class:`RecurrentConfig`, and an embedding that can start from pretrained vectors."""

    pretrained_embeddings: Literal["none", "minilm"] = Field(
        "none",
        description=(
            'start the embedding from these vectors; minilm needs data.tokenizer = "minilm" and embed_dim = 384'
        ),
    )
    freeze_embeddings: bool = Field(
        False, description="keep the embedding fixed during training (Kim 2014's static variant)"
    )


class ImageDataConfig(DataSection):
    """Image data (28x28 greyscale): where it comes from, how pixels are scaled, what is held out."""

    dataset: str = Field(
        description="a catalog name (fashion-mnist, mnist-5k), a .csv of pixels, or a folder of IDX files"
    )
    scale: Literal["unit", "symmetric", "standard"] = Field(
        "unit",
        description="pixels to [0, 1] (unit), [-1, 1] (symmetric, for tanh generators) or mean 0 / std 1 (standard)",
    )
    label_column: str = Field("label", description="CSV with a header: the label column (no header: the last column)")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="of the training images")
    test_fraction: float = Field(
        0.1, ge=0.0, lt=1.0, description="of the images, when the dataset has no test set of its own"
    )
    limit: int = Field(0, ge=0, description="use only N training (and N test) images, evenly spaced; 0 = all")
    holdout_class: str = Field(
        "", description="anomaly detection: leave this class (name or index) out of train and val"
    )


class MLPConfig(Section):
    """A multilayer perceptron on flattened pixels: [Linear -> LayerNorm -> ReLU -> Dropout] x N -> Linear."""

    arch: Literal["mlp"] = "mlp"
    hidden_sizes: tuple[int, ...] = Field((256, 128), description="width of each hidden layer")
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    norm: Literal["layer", "batch", "none"] = "layer"
    activation: Literal["relu", "gelu", "tanh", "sigmoid"] = "relu"


class AutoencoderConfig(Section):
    """The dense autoencoder family: basic, deep (more ``hidden_sizes``), sparse and denoising."""

    arch: Literal["ae"] = "ae"
    hidden_sizes: tuple[int, ...] = Field((256,), description="encoder widths; the decoder mirrors them (more = deep)")
    latent_dim: int = Field(32, ge=1, description="size of the code z")
    output: Literal["bernoulli", "gaussian"] = Field(
        "bernoulli", description="reconstruction likelihood: cross-entropy on [0, 1] pixels, or squared error"
    )
    sparsity: Literal["none", "l1", "kl"] = Field(
        "none", description="l1: activity penalty on the code; kl: KL to a target rate"
    )
    sparsity_weight: float = Field(1e-3, ge=0.0)
    sparsity_target: float = Field(
        0.05, gt=0.0, lt=1.0, description="sparsity=kl: target mean activation of each code unit"
    )
    noise: Literal["none", "gaussian", "masking", "salt_pepper"] = Field(
        "none", description="denoising: how inputs are corrupted"
    )
    noise_level: float = Field(
        0.3, ge=0.0, le=1.0, description="gaussian: std; masking / salt_pepper: share of pixels hit"
    )


class VAEConfig(AutoencoderConfig):
    """The variational autoencoder: :class:`AutoencoderConfig` with a sampled code and a weighted KL term."""

    arch: Literal["vae"] = "vae"  # type: ignore[assignment]
    beta: float = Field(1.0, ge=0.0, description="weight of the KL term (1 = the ELBO)")


class SeriesAnomalies(Section):
    """What a series autoencoder adds: anomalies injected into test windows, found by reconstruction error."""

    inject_anomalies: float = Field(0.0, ge=0.0, lt=1.0, description="share of test windows given an injected anomaly")
    anomaly_size: float = Field(3.0, gt=0.0, description="size of an injected anomaly, in training standard deviations")


class SeriesAutoencoderConfig(AutoencoderConfig, SeriesAnomalies):
    """An autoencoder of series windows (:class:`AutoencoderConfig`) with injected test anomalies."""


class SeriesVAEConfig(VAEConfig, SeriesAnomalies):
    """A VAE of series windows (:class:`VAEConfig`) with injected test anomalies."""


class GANConfig(Section):
    """DCGAN for 28x28 images (optionally conditional on the class), trained with the non-saturating loss."""

    arch: Literal["dcgan"] = "dcgan"
    conditional: bool = Field(False, description="condition generator and discriminator on the class label")
    noise_dim: int = Field(64, ge=1)
    channels: int = Field(32, ge=4, description="base channel count (the widest layer has 2x or 4x this)")
    label_smoothing: float = Field(0.0, ge=0.0, lt=0.5, description="real targets become 1 - this (one-sided)")
    judge_steps: int = Field(
        300, ge=0, description="steps to train the judging MLP classifier on the real data; 0 = no judge"
    )
    judge_samples: int = Field(1000, ge=10, description="generated images the judge classifies per evaluation")
    confidence: float = Field(
        0.9, gt=0.0, lt=1.0, description="judge probability counted as a confident classification"
    )


class StyleGANConfig(Section):
    """A style-based generator (StyleGAN at 28x28): mapping network, AdaIN styles, noise inputs, style mixing."""

    arch: Literal["stylegan"] = "stylegan"
    noise_dim: int = Field(64, ge=1, description="size of z")
    w_dim: int = Field(64, ge=1, description="size of the intermediate latent w (the style)")
    mapping_layers: int = Field(4, ge=1, le=8, description="depth of the mapping network z -> w")
    channels: int = Field(16, ge=4, description="the 28x28 layers of G and D (14x14: 2x, 7x7: 4x)")
    style_mixing: float = Field(0.9, ge=0.0, le=1.0, description="share of training images styled by two latents")
    w_avg_decay: float = Field(0.995, ge=0.0, lt=1.0, description="decay of w's running mean (truncation's centre)")
    label_smoothing: float = Field(0.0, ge=0.0, lt=0.5, description="real targets become 1 - this (one-sided)")
    judge_steps: int = Field(
        300, ge=0, description="steps to train the judging MLP classifier on the real data; 0 = no judge"
    )
    judge_samples: int = Field(1000, ge=10, description="generated images the judge classifies per evaluation")
    confidence: float = Field(
        0.9, gt=0.0, lt=1.0, description="judge probability counted as a confident classification"
    )


class ImageDomainsDataConfig(ImageDataConfig):
    """Two classes of one image dataset as two unpaired domains, a and b (image-to-image translation)."""

    domain_a: str = Field(description="the class (name or index) whose images form domain a")
    domain_b: str = Field(description="the class (name or index) whose images form domain b")


class CycleGANConfig(Section):
    """CycleGAN: two generators and two PatchGAN discriminators, least-squares, cycle and identity losses."""

    arch: Literal["cyclegan"] = "cyclegan"
    channels: int = Field(16, ge=4, description="channels of the 28x28 layers (the 14x14 ones have 2x)")
    residual_blocks: int = Field(2, ge=0, le=9, description="residual blocks at 14x14 in each generator")
    cycle_weight: float = Field(10.0, ge=0.0, description="weight of |G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|")
    identity_weight: float = Field(
        5.0, ge=0.0, description="weight of |G_ab(b) - b| + |G_ba(a) - a| (the paper: half the cycle weight)"
    )
    pool_size: int = Field(50, ge=0, description="replay buffer of translated images shown to D; 0 = none")
    judge_steps: int = Field(
        300, ge=0, description="steps to train the judging MLP classifier on the real data; 0 = no judge"
    )
    judge_samples: int = Field(500, ge=10, description="test images per domain the judge sees translated")
    confidence: float = Field(
        0.9, gt=0.0, lt=1.0, description="judge probability counted as a confident classification"
    )


class PairsDataConfig(DataSection):
    """Source -> target pairs (translation, generated pairs): where they come from, how text becomes ids."""

    dataset: str = Field(description="a catalog name of pairs (`seqlab data list`) or a .csv / .tsv / .jsonl file")
    tokenizer: TokenizerName = Field("char", description="one tokenizer fitted on both sides (a shared vocabulary)")
    vocab_size: int = Field(0, ge=0, description="word: num_words (0 = every word); bpe: vocabulary size (0 = 4096)")
    lowercase: bool = False
    source_column: str = "source"
    target_column: str = "target"
    reverse: bool = Field(False, description="swap the two sides (e.g. digits -> words becomes words -> digits)")
    max_source_len: int = Field(64, ge=1, description="tokens; longer sources are cut")
    max_target_len: int = Field(64, ge=1, description="tokens; longer targets are cut")
    val_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    limit: int = Field(0, ge=0, description="use only the first N pairs; 0 = all")
    limits: dict[str, NonNegativeInt] = Field(
        default_factory=dict, description='per dataset joined with "+": its own limit, overriding limit'
    )
    beam_width: int = Field(
        1, ge=1, le=64, description="beam width of the final evaluation and sample translations; 1 = greedy"
    )
    length_penalty: float = Field(0.0, ge=0.0, le=5.0, description="beam search length penalty exponent (GNMT alpha)")
    eval_examples: int = Field(0, ge=0, description="pairs translated for BLEU / chrF / exact match per split; 0 = all")
    samples: int = Field(8, ge=0, description="sample translations shown in summary.md")


class RecurrentSeq2SeqConfig(Section):
    """Recurrent encoder-decoder: (bi)GRU/LSTM encoder -> attention -> GRU/LSTM decoder."""

    arch: Literal["rnn"] = "rnn"
    cell: Literal["gru", "lstm"] = "gru"
    embed_dim: int = Field(64, ge=1)
    hidden_size: int = Field(128, ge=1)
    num_layers: int = Field(1, ge=1)
    bidirectional: bool = False
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    attention: Literal["none", "bahdanau", "luong-dot", "luong-general", "luong-concat"] = "bahdanau"
    teacher_forcing: float = Field(
        1.0, ge=0.0, le=1.0, description="probability the decoder reads the true previous token"
    )
    teacher_forcing_schedule: Literal["constant", "linear", "inverse-sigmoid"] = "constant"
    teacher_forcing_min: float = Field(0.0, ge=0.0, le=1.0, description="linear: the ratio it decays to")
    teacher_forcing_decay: int = Field(
        2000, ge=1, description="linear: steps to reach the minimum; inverse-sigmoid: k in k / (k + exp(step / k))"
    )


class TransformerConfig(Section):
    """Pre-norm Transformer: decoder-only (language-model) or encoder-decoder (seq2seq)."""

    arch: Literal["transformer"] = "transformer"
    embed_dim: int = Field(128, ge=1)
    num_heads: int = Field(4, ge=1, description="must divide embed_dim")
    num_layers: int = Field(2, ge=1, description="blocks (seq2seq: in the encoder and in the decoder)")
    ff_dim: int = Field(0, ge=0, description="feed-forward width; 0 = 4 x embed_dim")
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    positions: Literal["learned", "sinusoidal"] = "learned"
    tie_weights: bool = Field(True, description="share the token embedding and the output matrix")


class SeriesDataConfig(DataSection):
    """Time-series data: the series, its windows, the chronological split and the scaling."""

    dataset: str = Field(
        description="a catalog series (co2, air-passengers, sunspots, electricity) or a .csv/.tsv file"
    )
    time_column: str = Field(
        "", description='the time column; "" = the first of time, date, datetime, timestamp, ds, month, ...'
    )
    value_columns: tuple[str, ...] = Field((), description="the input columns; empty = every column but the time")
    target_columns: tuple[str, ...] = Field((), description="the columns to forecast; empty = every value column")
    input_len: int = Field(48, ge=1, description="T: past values each forecast sees")
    horizon: int = Field(12, ge=1, description="steps forecast at once (multi-step, direct)")
    stride: int = Field(1, ge=1, description="steps between training windows")
    season: int = Field(
        0,
        ge=0,
        description="seasonal period in steps for the seasonal-naive baseline and plots; 0 = from the time stamps",
    )
    average_window: int = Field(
        0, ge=0, description="moving-average baseline: values averaged; 0 = one season (or input_len)"
    )
    scaling: Literal["standard", "minmax", "none"] = Field("standard", description="fitted on the training part only")
    missing: Literal["interpolate", "drop", "error"] = Field(
        "interpolate", description="what an empty or NA value becomes"
    )
    val_fraction: float = Field(0.15, ge=0.0, lt=1.0, description="the part after training, in time order")
    test_fraction: float = Field(0.15, ge=0.0, lt=1.0, description="the last part of the series")
    limit: int = Field(0, ge=0, description="use only the first N time steps; 0 = all")


class ForecasterConfig(Section):
    """What every forecaster shares: the window normalisation, the linear skip and the loss."""

    hidden_size: int = Field(64, ge=1, description="rnn: H per direction; transformer: the model width")
    num_layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    window_norm: Literal["last", "mean", "seasonal", "none"] = Field(
        "last",
        description="subtract each window's last value (or mean) and add it back to the forecast; "
        "seasonal: read differences from one season earlier and correct the seasonal-naive "
        "forecast (needs data.input_len > the season)",
    )
    linear_skip: bool = Field(
        True, description="add a linear autoregressive forecast from the window (LSTNet's highway)"
    )
    loss: Literal["mse", "mae", "huber"] = "mse"
    huber_delta: float = Field(
        1.0, gt=0.0, description="loss=huber: where it turns from squared to linear (scaled units)"
    )


class RecurrentForecasterConfig(ForecasterConfig):
    """(Conv1D ->) RNN/LSTM/GRU over the window, then a direct multi-step head."""

    arch: Literal["rnn"] = "rnn"
    cell: Cell = "lstm"
    impl: Literal["fused", "scratch"] = "fused"
    bidirectional: bool = Field(False, description="read the window both ways")
    conv_filters: int = Field(0, ge=0, description="Conv1D front-end channels; 0 = no Conv1D")
    conv_kernel: int = Field(3, ge=1)


class TransformerForecasterConfig(ForecasterConfig):
    """A small Transformer encoder over the window, then a direct multi-step head."""

    arch: Literal["transformer"] = "transformer"
    num_heads: int = Field(4, ge=1, description="must divide hidden_size")
    ff_dim: int = Field(0, ge=0, description="feed-forward width; 0 = 4 x hidden_size")


class TrainConfig(Section):
    """Optimisation, budgets, checkpoints."""

    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    lr: float = Field(2e-3, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    betas: tuple[float, float] = Field((0.9, 0.999), description="adam/adamw: (beta1, beta2); the DCGAN uses 0.5")
    weight_decay: float = Field(0.0, ge=0.0)
    l1: float = Field(0.0, ge=0.0, description="L1 penalty on weights, added to the loss")
    l2: float = Field(0.0, ge=0.0, description="L2 penalty on weights, added to the loss")
    batch_size: int = Field(32, ge=1)
    max_epochs: int = Field(10, ge=1)
    max_steps: int = Field(0, ge=0, description="stop after this many optimizer steps; 0 = no limit")
    max_time: float = Field(0.0, ge=0.0, description='wall-clock budget in seconds (or "5m", "1h"); 0 = none')
    seed: int = Field(0, ge=0, le=SEED_MAX, description="0 to 2**32 - 1, the range numpy's generator takes")
    schedule: Literal["constant", "step", "cosine", "plateau"] = "constant"
    warmup_steps: int = Field(0, ge=0)
    step_size: int = Field(1000, ge=1, description="schedule=step: decay every this many steps")
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="schedule=step/plateau: decay factor")
    clip_norm: float = Field(0.0, ge=0.0, description="clip the gradient norm; 0 = no clipping")
    label_smoothing: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="classifiers, language models, seq2seq: train against targets smoothed by this much "
        "(Szegedy et al. 2016); the training loss includes it, validation and test losses are the plain NLL",
    )
    eval_every: int = Field(200, ge=1, description="steps between validation passes")
    eval_batches: int = Field(
        0, ge=0, description="validation batches per pass, drawn across the split (an estimate); 0 = all"
    )
    final_eval_batches: int = Field(
        50, ge=0, description="batches of each of val and test in the final evaluation; 0 = the whole split"
    )
    checkpoint_every: int = Field(200, ge=1, description="steps between checkpoints")
    keep_checkpoints: int = Field(2, ge=1)
    early_stopping: int = Field(0, ge=0, description="patience in validation passes; 0 = off")
    monitor: str = Field("val_loss", description="metric for early stopping, plateau and best weights")
    threads: int = Field(0, ge=0, description="torch threads; 0 = torch's default")
    tensorboard: bool = Field(False, description="write TensorBoard event files to RUN/tensorboard/ (extra: track)")
    tensorboard_histograms_every: int = Field(
        5, ge=0, description="tensorboard: weight histograms every this many validation passes and at the end; 0 = none"
    )
    device: str = Field("auto", description="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "fp32",
        description="autocast dtype of the forward pass and loss; fp16 (CUDA only) adds a gradient scaler; "
        "auto: bf16 where the device computes it natively, else fp32",
    )

    @field_validator("max_time", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


class SampleConfig(Section):
    """What the run shows at the end (language models)."""

    prompt: str = ""
    max_tokens: int = Field(300, ge=1)
    temperature: float = Field(0.8, gt=0.0)
    top_k: int = Field(0, ge=0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    num_samples: int = Field(1, ge=1)


def parse_duration(text: str) -> float:
    """Parse ``"90"``, ``"90s"``, ``"5m"``, ``"1.5h"`` into seconds.

    >>> parse_duration("5m"), parse_duration("90s"), parse_duration("2")
    (300.0, 90.0, 2.0)
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|m|h)?\s*", text)
    if not match:
        raise ValueError(f'"{text}" is not a duration; use seconds or a number with s, m or h, e.g. "5m"')
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600}[unit]


__all__ = [
    "Cell",
    "SEED_MAX",
    "TokenizerName",
    "PRETRAINED_EMBEDDINGS",
    "parse_duration",
    "Section",
    "DataSection",
    "TextDataConfig",
    "RecurrentConfig",
    "RecurrentClassifierConfig",
    "ImageDataConfig",
    "MLPConfig",
    "AutoencoderConfig",
    "VAEConfig",
    "SeriesAnomalies",
    "SeriesAutoencoderConfig",
    "SeriesVAEConfig",
    "GANConfig",
    "StyleGANConfig",
    "ImageDomainsDataConfig",
    "CycleGANConfig",
    "PairsDataConfig",
    "RecurrentSeq2SeqConfig",
    "TransformerConfig",
    "SeriesDataConfig",
    "ForecasterConfig",
    "RecurrentForecasterConfig",
    "TransformerForecasterConfig",
    "TrainConfig",
    "SampleConfig",
]
