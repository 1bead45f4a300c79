"""Validated, frozen experiment configs: TOML in, TOML out, ``--set`` overrides.

A config (a recipe shipped in ``seqlab/recipes/`` or a user's file, same format) has four
tables: ``[data]``, ``[model]``, ``[train]`` and ``[sample]``, plus ``name``, ``task`` and
``description`` at the top. It is validated once, here, and frozen; a variant is a copy made with
:func:`with_overrides`, never a mutation.

Which settings ``[data]`` and ``[model]`` take depends on the task (and, for the model, on
``model.arch``): :data:`TASKS` is the literal table of task -> data section and arch -> model
section. ``train`` and ``sample`` are the same for every task.

>>> cfg = load_config("shakespeare-char", overrides=["train.max_steps=10", "model.cell=gru"])
>>> cfg.model.cell, cfg.train.max_steps
('gru', 10)
>>> load_config("shakespeare-char", overrides=["model.cell=lstn"])
Traceback (most recent call last):
...
seqlab.errors.ConfigError: model.cell must be one of rnn, lstm, gru (got "lstn")
"""

from __future__ import annotations

import math
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, SerializeAsAny, ValidationError, field_validator

from seqlab.errors import ConfigError, closest, unknown_choice

Cell = Literal["rnn", "lstm", "gru"]
TokenizerName = Literal["char", "word", "bpe", "syllable", "jamo", "morpheme", "minilm"]
# model.pretrained_embeddings -> (the data.tokenizer whose ids number the rows, E of the vectors)
PRETRAINED_EMBEDDINGS: dict[str, tuple[str, int]] = {"minilm": ("minilm", 384)}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataConfig(_Section):
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


class ModelConfig(_Section):
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


class ClassifierConfig(ModelConfig):
    """The recurrent classifier: :class:`ModelConfig`, and an embedding that can start from pretrained vectors."""

    pretrained_embeddings: Literal["none", "minilm"] = Field(
        "none",
        description=(
            'start the embedding from these vectors; minilm needs data.tokenizer = "minilm" and embed_dim = 384'
        ),
    )
    freeze_embeddings: bool = Field(
        False, description="keep the embedding fixed during training (Kim 2014's static variant)"
    )


class ImageDataConfig(_Section):
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


class MLPConfig(_Section):
    """A multilayer perceptron on flattened pixels: [Linear -> LayerNorm -> ReLU -> Dropout] x N -> Linear."""

    arch: Literal["mlp"] = "mlp"
    hidden_sizes: tuple[int, ...] = Field((256, 128), description="width of each hidden layer")
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    norm: Literal["layer", "batch", "none"] = "layer"
    activation: Literal["relu", "gelu", "tanh", "sigmoid"] = "relu"


class AutoencoderConfig(_Section):
    """The autoencoder family (dense): basic, deep, sparse, denoising, and the VAE (``arch = "vae"``)."""

    arch: Literal["ae", "vae"] = "ae"
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
    beta: float = Field(1.0, ge=0.0, description="vae: weight of the KL term (1 = the ELBO)")
    inject_anomalies: float = Field(
        0.0, ge=0.0, lt=1.0, description="series: share of test windows given an injected anomaly"
    )
    anomaly_size: float = Field(
        3.0, gt=0.0, description="series: size of an injected anomaly, in training standard deviations"
    )


class GANConfig(_Section):
    """DCGAN for 28x28 images (optionally conditional on the class), trained with the non-saturating loss."""

    arch: Literal["dcgan"] = "dcgan"
    conditional: bool = Field(False, description="condition generator and discriminator on the class label")
    noise_dim: int = Field(64, ge=1)
    channels: int = Field(32, ge=4, description="base channel count (the widest layer has 2x or 4x this)")
    lr_d: float = Field(2e-4, gt=0.0)
    lr_g: float = Field(2e-4, gt=0.0)
    beta1: float = Field(0.5, ge=0.0, lt=1.0, description="Adam beta1 (0.5 as in the DCGAN paper)")
    label_smoothing: float = Field(0.0, ge=0.0, lt=0.5, description="real targets become 1 - this (one-sided)")
    judge_steps: int = Field(
        300, ge=0, description="steps to train the judging MLP classifier on the real data; 0 = no judge"
    )
    judge_samples: int = Field(1000, ge=10, description="generated images the judge classifies per evaluation")
    confidence: float = Field(
        0.9, gt=0.0, lt=1.0, description="judge probability counted as a confident classification"
    )


class PairsDataConfig(_Section):
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


class Seq2SeqConfig(_Section):
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


class TransformerConfig(_Section):
    """Pre-norm Transformer: decoder-only (language-model) or encoder-decoder (seq2seq)."""

    arch: Literal["transformer"] = "transformer"
    embed_dim: int = Field(128, ge=1)
    num_heads: int = Field(4, ge=1, description="must divide embed_dim")
    num_layers: int = Field(2, ge=1, description="blocks (seq2seq: in the encoder and in the decoder)")
    ff_dim: int = Field(0, ge=0, description="feed-forward width; 0 = 4 x embed_dim")
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    positions: Literal["learned", "sinusoidal"] = "learned"
    tie_weights: bool = Field(True, description="share the token embedding and the output matrix")


class SeriesDataConfig(_Section):
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


class ForecasterConfig(_Section):
    """Forecasters: (Conv1D ->) RNN/LSTM/GRU, or a small Transformer encoder; a direct multi-step head."""

    arch: Literal["rnn", "transformer"] = "rnn"
    cell: Cell = "lstm"
    impl: Literal["fused", "scratch"] = "fused"
    hidden_size: int = Field(64, ge=1, description="rnn: H per direction; transformer: the model width")
    num_layers: int = Field(1, ge=1)
    bidirectional: bool = Field(False, description="rnn: read the window both ways")
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    conv_filters: int = Field(0, ge=0, description="rnn: Conv1D front-end channels; 0 = no Conv1D")
    conv_kernel: int = Field(3, ge=1)
    num_heads: int = Field(4, ge=1, description="transformer: must divide hidden_size")
    ff_dim: int = Field(0, ge=0, description="transformer: feed-forward width; 0 = 4 x hidden_size")
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


class TrainConfig(_Section):
    """Optimisation, budgets, checkpoints."""

    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    lr: float = Field(2e-3, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    l1: float = Field(0.0, ge=0.0, description="L1 penalty on weights, added to the loss")
    l2: float = Field(0.0, ge=0.0, description="L2 penalty on weights, added to the loss")
    batch_size: int = Field(32, ge=1)
    max_epochs: int = Field(10, ge=1)
    max_steps: int = Field(0, ge=0, description="stop after this many optimizer steps; 0 = no limit")
    max_time: float = Field(0.0, ge=0.0, description='wall-clock budget in seconds (or "5m", "1h"); 0 = none')
    seed: int = 0
    schedule: Literal["constant", "step", "cosine", "plateau"] = "constant"
    warmup_steps: int = Field(0, ge=0)
    step_size: int = Field(1000, ge=1, description="schedule=step: decay every this many steps")
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="schedule=step/plateau: decay factor")
    clip_norm: float = Field(0.0, ge=0.0, description="clip the gradient norm; 0 = no clipping")
    eval_every: int = Field(200, ge=1, description="steps between validation passes")
    eval_batches: int = Field(0, ge=0, description="validation batches per pass; 0 = all")
    checkpoint_every: int = Field(200, ge=1, description="steps between checkpoints")
    keep_checkpoints: int = Field(2, ge=1)
    early_stopping: int = Field(0, ge=0, description="patience in validation passes; 0 = off")
    monitor: str = Field("val_loss", description="metric for early stopping, plateau and best weights")
    threads: int = Field(0, ge=0, description="torch threads; 0 = torch's default")

    @field_validator("max_time", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


class SampleConfig(_Section):
    """What the run shows at the end (language models)."""

    prompt: str = ""
    max_tokens: int = Field(300, ge=1)
    temperature: float = Field(0.8, gt=0.0)
    top_k: int = Field(0, ge=0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    num_samples: int = Field(1, ge=1)


class Config(_Section):
    """A whole experiment: data + model + training + sampling.

    ``data`` and ``model`` hold the section classes that :data:`TASKS` names for ``task``.
    """

    name: str
    task: str
    description: str = ""
    data: SerializeAsAny[_Section]
    model: SerializeAsAny[_Section]
    train: TrainConfig = TrainConfig()
    sample: SampleConfig = SampleConfig()


# task -> (its [data] section, {model.arch -> its [model] section}); the first arch is the default
TASKS: dict[str, tuple[type[_Section], dict[str, type[_Section]]]] = {
    "language-model": (DataConfig, {"rnn": ModelConfig, "transformer": TransformerConfig}),
    "classification": (DataConfig, {"rnn": ClassifierConfig}),
    "image-classification": (ImageDataConfig, {"mlp": MLPConfig}),
    "autoencoder": (ImageDataConfig, {"ae": AutoencoderConfig, "vae": AutoencoderConfig}),
    "gan": (ImageDataConfig, {"dcgan": GANConfig}),
    "series-autoencoder": (SeriesDataConfig, {"ae": AutoencoderConfig, "vae": AutoencoderConfig}),
    "seq2seq": (PairsDataConfig, {"rnn": Seq2SeqConfig, "transformer": TransformerConfig}),
    "forecast": (SeriesDataConfig, {"rnn": ForecasterConfig, "transformer": ForecasterConfig}),
}
COMMON_SECTIONS: dict[str, type[_Section]] = {"train": TrainConfig, "sample": SampleConfig}
TOP_LEVEL = ("name", "task", "description")
SECTION_NAMES = ("data", "model", "train", "sample")


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


# ----------------------------------------------------------------------------- recipes


def recipe_names() -> list[str]:
    """Names of the recipes shipped with seqlab.

    >>> "shakespeare-char" in recipe_names()
    True
    """
    folder = resources.files("seqlab") / "recipes"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def recipe_text(name: str) -> str:
    """The TOML text of a shipped recipe."""
    if name not in recipe_names():
        raise ConfigError(unknown_choice("recipe", name, recipe_names()))
    return (resources.files("seqlab") / "recipes" / f"{name}.toml").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- loading


def load_config(source: str | Path, *, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load a recipe name or a TOML file, apply ``key=value`` overrides, validate.

    Args:
        source: a recipe name (``seqlab recipes``) or a path to a ``.toml`` file.
        overrides: ``"section.key=value"`` strings; values are read as TOML
            (``3e-3``, ``true``, ``"text"``), bare words as strings.
    """
    path = Path(source)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        text = path.read_text(encoding="utf-8")
        where = str(path)
    else:
        text = recipe_text(str(source))
        where = f"recipe {source}"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where} is not valid TOML: {err}") from None
    return from_dict(apply_overrides(raw, overrides), where=where)


def from_dict(raw: dict[str, Any], *, where: str = "config") -> Config:
    """Validate a plain dict (as read from TOML) into a frozen Config."""
    _check_top(raw)
    task = raw.get("task")
    if task is None:
        raise ConfigError(f"task is required in {where} (choices: {', '.join(TASKS)})")
    sections = sections_for(str(task), raw.get("model", {}).get("arch") if isinstance(raw.get("model"), dict) else None)
    values: dict[str, Any] = {k: raw[k] for k in TOP_LEVEL if k in raw}
    problems: list[str] = []
    for name, cls in sections.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table of settings (got {table!r})")
        for key in table:
            if key not in cls.model_fields:
                raise ConfigError(unknown_choice(f"key in [{name}] for task {task}", key, list(cls.model_fields)))
        if name == "data" and "data" not in raw:
            problems.append(f"data is required in {where}")
            continue
        try:
            values[name] = cls.model_validate(table)
        except ValidationError as err:
            problems.append(_explain(err, where, prefix=name))
    if problems:
        raise ConfigError("; ".join(problems))
    try:
        config = Config.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_explain(err, where)) from None
    check_across_sections(config)
    return config


def check_across_sections(config: Config) -> None:
    """Check settings that must agree across sections; a ConfigError names the field and the right value.

    Pretrained embeddings fix both the tokenizer (its ids number the matrix rows) and embed_dim,
    and the minilm tokenizer's vocabulary cannot be cut.

    >>> load_config("rotten-tomatoes-bilstm", overrides=['model.pretrained_embeddings="minilm"'])
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: model.pretrained_embeddings = "minilm" needs data.tokenizer = "minilm",
    whose ids number the rows of the vectors (got "word")
    """
    data, model = config.data, config.model
    tokenizer = getattr(data, "tokenizer", None)
    if tokenizer == "minilm" and getattr(data, "vocab_size", 0):
        raise ConfigError(
            f'data.vocab_size must be 0 with data.tokenizer = "minilm": its 30,522 word pieces are '
            f"fixed by the pretrained vectors (got {data.vocab_size})"
        )
    name = getattr(model, "pretrained_embeddings", "none")
    if name == "none":
        return
    wanted_tokenizer, embed_dim = PRETRAINED_EMBEDDINGS[name]
    if tokenizer != wanted_tokenizer:
        raise ConfigError(
            f'model.pretrained_embeddings = "{name}" needs data.tokenizer = "{wanted_tokenizer}", '
            f'whose ids number the rows of the vectors (got "{tokenizer}")'
        )
    if model.embed_dim != embed_dim:
        raise ConfigError(
            f'model.embed_dim must be {embed_dim} with model.pretrained_embeddings = "{name}", '
            f"the length of its vectors (got {model.embed_dim})"
        )


def sections_for(task: str, arch: str | None = None) -> dict[str, type[_Section]]:
    """The section classes of a task (and model arch): {"data": ..., "model": ..., "train": ..., "sample": ...}.

    >>> sections_for("classification")["model"].__name__
    'ClassifierConfig'
    """
    if task not in TASKS:
        raise ConfigError(unknown_choice("task", task, list(TASKS)))
    data_cls, archs = TASKS[task]
    arch = arch or next(iter(archs))
    if arch not in archs:
        raise ConfigError(f'model.arch must be one of {", ".join(archs)} for task {task} (got "{arch}")')
    return {"data": data_cls, "model": archs[arch], **COMMON_SECTIONS}


def with_overrides(config: Config, overrides: list[str] | tuple[str, ...]) -> Config:
    """Return a copy of ``config`` with ``key=value`` overrides applied and validated.

    >>> cfg = load_config("shakespeare-char")
    >>> with_overrides(cfg, ["train.lr=0.01"]).train.lr
    0.01
    """
    return from_dict(apply_overrides(to_dict(config), overrides))


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings to a raw config dict (a new dict is returned).

    Keys are checked against the sections of the config's task (after any ``task=`` or
    ``model.arch=`` override), so a typo names the keys that exist.
    """
    result = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    parsed = []
    for item in overrides:
        key, sep, value_text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f'override "{item}" must look like section.key=value, e.g. train.lr=3e-3')
        parsed.append((key, _parse_value(value_text.strip())))
    for key, value in parsed:  # task and arch first: they decide which keys exist
        if key in ("task", "model.arch"):
            _set(result, key, value)
    for key, value in parsed:
        if "." not in key:
            if key not in TOP_LEVEL:
                raise ConfigError(unknown_choice("config key", key, [*TOP_LEVEL, *(f"{s}.*" for s in SECTION_NAMES)]))
            result[key] = value
            continue
        section, field = key.split(".", 1)
        if section not in SECTION_NAMES:
            raise ConfigError(unknown_choice("config section", section, list(SECTION_NAMES)))
        model = result.get("model")
        arch = model.get("arch") if isinstance(model, dict) else None
        fields = list(sections_for(str(result.get("task", "")), arch)[section].model_fields)
        if field not in fields:
            raise ConfigError(unknown_choice(f"key in [{section}]", field, fields))
        _set(result, key, value)
    return result


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    if "." in key:
        section, field = key.split(".", 1)
        raw.setdefault(section, {})[field] = value
    else:
        raw[key] = value


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as gru or adam


def _check_top(raw: dict[str, Any]) -> None:
    for key in raw:
        if key not in TOP_LEVEL and key not in SECTION_NAMES:
            raise ConfigError(unknown_choice("config key", key, [*TOP_LEVEL, *SECTION_NAMES]))


def _explain(err: ValidationError, where: str, *, prefix: str = "") -> str:
    lines = []
    for problem in err.errors():
        key = ".".join(str(part) for part in (prefix, *problem["loc"]) if part != "")
        got = problem.get("input")
        ctx = problem.get("ctx", {})
        if problem["type"] == "literal_error":
            choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            lines.append(f'{key} must be one of {", ".join(choices)} (got "{got}")')
        elif problem["type"] == "missing":
            lines.append(f"{key} is required in {where}")
        else:
            lines.append(f"{key}: {problem['msg'].lower()} (got {got!r})")
    return "; ".join(lines)


# ----------------------------------------------------------------------------- saving


def to_dict(config: Config) -> dict[str, Any]:
    """The config as a plain dict (the same shape as its TOML)."""
    return config.model_dump(mode="json")


def to_toml(config: Config) -> str:
    """Serialise a config to TOML text that :func:`load_config` reads back to an equal Config.

    >>> cfg = load_config("shakespeare-char")
    >>> from_dict(tomllib.loads(to_toml(cfg))) == cfg
    True
    """
    raw = to_dict(config)
    lines = [f"{key} = {_toml_value(raw[key])}" for key in TOP_LEVEL]
    for section in SECTION_NAMES:
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in raw[section].items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            raise ValueError(f"cannot write {value} to TOML")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table; keys quoted, since dataset names hold "-"
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


__all__ = [
    "Config",
    "TASKS",
    "sections_for",
    "DataConfig",
    "ModelConfig",
    "ClassifierConfig",
    "PRETRAINED_EMBEDDINGS",
    "check_across_sections",
    "TrainConfig",
    "SampleConfig",
    "ImageDataConfig",
    "MLPConfig",
    "AutoencoderConfig",
    "GANConfig",
    "PairsDataConfig",
    "SeriesDataConfig",
    "ForecasterConfig",
    "Seq2SeqConfig",
    "TransformerConfig",
    "load_config",
    "from_dict",
    "with_overrides",
    "apply_overrides",
    "to_toml",
    "to_dict",
    "recipe_names",
    "recipe_text",
    "parse_duration",
    "closest",
]
