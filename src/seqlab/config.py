"""Validated, frozen experiment configs: TOML in, TOML out, ``--set`` overrides.

A config (a recipe shipped in ``seqlab/recipes/`` or a user's file, same format) has four
tables: ``[data]``, ``[model]``, ``[train]`` and ``[sample]``, plus ``name``, ``task`` and
``description`` at the top. It is validated once, here, and frozen; a variant is a copy made with
:func:`with_overrides`, never a mutation.

Which settings ``[data]`` and ``[model]`` take depends on the task (and, for the model, on
``model.arch``): each task class declares its sections (``data_config`` and ``model_configs``, see
:mod:`seqlab.tasks.base`), and :func:`sections_for` reads them from the one table of tasks,
:data:`seqlab.tasks.TASKS`, so the task names live in one place. The section classes themselves
are in the floor module :mod:`seqlab.sections` (re-exported here), which the tasks import: config
sits above the tasks and no import goes in a circle. The tasks are imported inside
:func:`sections_for`, not at the top, so importing this module stays cheap (no torch).
``train`` and ``sample`` are the same for every task.

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
from typing import Any

import tomllib
from pydantic import SerializeAsAny, ValidationError, field_validator

from seqlab.errors import ConfigError, closest, unknown_choice
from seqlab.sections import (
    PRETRAINED_EMBEDDINGS,
    AutoencoderConfig,
    DataSection,
    ForecasterConfig,
    GANConfig,
    ImageDataConfig,
    MLPConfig,
    PairsDataConfig,
    RecurrentClassifierConfig,
    RecurrentConfig,
    RecurrentForecasterConfig,
    RecurrentSeq2SeqConfig,
    SampleConfig,
    Section,
    SeriesAutoencoderConfig,
    SeriesDataConfig,
    SeriesVAEConfig,
    TextDataConfig,
    TrainConfig,
    TransformerConfig,
    TransformerForecasterConfig,
    VAEConfig,
    parse_duration,
)


class Config(Section):
    """A whole experiment: data + model + training + sampling.

    ``data`` and ``model`` hold the section classes that the task declares (:func:`sections_for`).
    """

    name: str
    task: str
    description: str = ""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        # the name becomes a folder under runs/: a path in it would write somewhere else
        if not PLAIN_NAME.fullmatch(name) or name in (".", ".."):
            raise ValueError(
                "must be a plain name of letters, digits, '-', '_' and '.' (no path separators, no '..'); "
                "choose the folder with --run-dir"
            )
        return name

    data: SerializeAsAny[DataSection]
    model: SerializeAsAny[Section]
    train: TrainConfig = TrainConfig()
    sample: SampleConfig = SampleConfig()


PLAIN_NAME = re.compile(r"[\w.-]{1,100}")
COMMON_SECTIONS: dict[str, type[Section]] = {"train": TrainConfig, "sample": SampleConfig}
TOP_LEVEL = ("name", "task", "description")
SECTION_NAMES = ("data", "model", "train", "sample")


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
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{path} is not UTF-8 text (byte {err.start} cannot be decoded); a config is a TOML file saved as UTF-8"
            ) from None
        except OSError as err:
            raise ConfigError(f"cannot read {path}: {err.strerror or err}") from None
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
        raise ConfigError(f"task is required in {where} (choices: {', '.join(task_names())})")
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
    check_fits_in_memory(config)
    data, model = config.data, config.model
    text = data if isinstance(data, (TextDataConfig, PairsDataConfig)) else None
    if text is not None and text.tokenizer == "minilm" and text.vocab_size:
        raise ConfigError(
            f'data.vocab_size must be 0 with data.tokenizer = "minilm": its 30,522 word pieces are '
            f"fixed by the pretrained vectors (got {text.vocab_size})"
        )
    if not isinstance(model, RecurrentClassifierConfig) or model.pretrained_embeddings == "none":
        return
    name = model.pretrained_embeddings
    wanted_tokenizer, embed_dim = PRETRAINED_EMBEDDINGS[name]
    tokenizer = text.tokenizer if text is not None else None
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


SIZE_KEYS = ("embed_dim", "hidden_size", "hidden_sizes", "num_layers", "ff_dim", "latent_dim", "channels", "noise_dim")


def estimate_parameters(config: Config) -> int:
    """A lower bound on the model's parameter count, from the config alone (before any data is read).

    It counts the big matrices of each family (the recurrent gates, attention and feed-forward,
    the dense layers, the embedding when ``data.vocab_size`` is set) and nothing the data decides,
    so it never overestimates: it is there to refuse sizes that cannot fit, not to size a model.

    >>> estimate_parameters(load_config("shakespeare-char", overrides=["model.hidden_size=10"])) > 0
    True
    """
    model, data = config.model, config.data
    vocab = int(getattr(data, "vocab_size", 0) or 0)
    block = int(getattr(data, "block_size", 0) or 0)
    fields = {k: getattr(model, k) for k in SIZE_KEYS if hasattr(model, k)}
    if isinstance(model, (RecurrentConfig, RecurrentSeq2SeqConfig, RecurrentForecasterConfig)):
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[getattr(model, "cell", "gru")]
        directions = 2 if model.bidirectional else 1
        hidden, layers = model.hidden_size, model.num_layers
        first = getattr(model, "embed_dim", 1)
        cells = gates * hidden * (first + hidden) + (layers - 1) * gates * hidden * (directions * hidden + hidden)
        return directions * cells + vocab * (first + directions * hidden)
    if isinstance(model, TransformerConfig):
        width = model.embed_dim
        ff = model.ff_dim or 4 * width
        return model.num_layers * (4 * width * width + 2 * width * ff) + (vocab + block) * width
    if isinstance(model, TransformerForecasterConfig):
        width = model.hidden_size
        ff = model.ff_dim or 4 * width
        return model.num_layers * (4 * width * width + 2 * width * ff)
    if isinstance(model, (MLPConfig, AutoencoderConfig)):
        widths = [784, *model.hidden_sizes, *([model.latent_dim] if isinstance(model, AutoencoderConfig) else [])]
        return sum(a * b for a, b in zip(widths, widths[1:], strict=False))
    if isinstance(model, GANConfig):
        return model.noise_dim * 4 * model.channels * 49 + 16 * model.channels * model.channels * 16
    return sum(v for v in fields.values() if isinstance(v, int))


def check_fits_in_memory(config: Config, *, memory: int | None = None) -> None:
    """Refuse model sizes whose weights alone (float32) would not fit in this machine's memory.

    Args:
        config: a validated config.
        memory: bytes of memory to compare with; ``None`` reads the machine's RAM.

    >>> check_fits_in_memory(load_config("shakespeare-char"), memory=10**6)
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: the model's weights need at least 2.8 MB (model.hidden_size = 384), more than
    this machine's 1.0 MB of memory; lower these sizes
    """
    memory = memory if memory is not None else machine_memory()
    need = 4 * estimate_parameters(config)  # float32, before gradients and optimizer state
    if memory <= 0 or need <= memory:
        return
    model_cls = type(config.model)
    sizes = {k: getattr(config.model, k) for k in SIZE_KEYS if k in model_cls.model_fields}
    named = [f"model.{k} = {v}" for k, v in sizes.items() if v != model_cls.model_fields[k].default] or [
        f"model.{k} = {v}" for k, v in sizes.items()
    ]
    for key in ("vocab_size", "block_size") if isinstance(config.model, TransformerConfig) else ("vocab_size",):
        if getattr(config.data, key, 0):
            named.append(f"data.{key} = {getattr(config.data, key)}")
    raise ConfigError(
        f"the model's weights need at least {_bytes(need)} ({', '.join(named)}), more than this machine's "
        f"{_bytes(memory)} of memory; lower these sizes"
    )


def machine_memory() -> int:
    """Bytes of physical memory (0 when the platform does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 0


def _bytes(count: int) -> str:
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count:,} bytes"


def task_names() -> list[str]:
    """The task names, from :data:`seqlab.tasks.TASKS` (imported here, not at the top: see the module doc).

    >>> "forecast" in task_names()
    True
    """
    from seqlab.tasks import TASKS

    return list(TASKS)


def sections_for(task: str, arch: str | None = None) -> dict[str, type[Section]]:
    """The section classes of a task (and model arch): {"data": ..., "model": ..., "train": ..., "sample": ...}.

    >>> sections_for("classification")["model"].__name__
    'RecurrentClassifierConfig'
    >>> sections_for("forecast", "transformer")["model"].__name__
    'TransformerForecasterConfig'
    """
    from seqlab.tasks import get_task

    kind = get_task(task)  # an unknown name lists the choices
    data_cls, archs = kind.data_config, kind.model_configs
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
    ``model.arch=`` override), so a typo names the keys that exist. Switching ``model.arch``
    keeps the ``[model]`` keys the new variant has and drops the ones only the old one read.

    >>> raw = {"task": "forecast", "model": {"arch": "rnn", "cell": "gru", "hidden_size": 8}}
    >>> apply_overrides(raw, ["model.arch=transformer", "model.num_heads=2"])["model"]
    {'arch': 'transformer', 'hidden_size': 8, 'num_heads': 2}
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
    if any(key == "model.arch" for key, _ in parsed) and isinstance(result.get("model"), dict):
        # another variant: the [model] keys that only the old variant reads (a recipe's cell for a
        # Transformer) no longer apply; the shared ones (sizes, dropout) carry over
        accepted = sections_for(str(result.get("task", "")), str(result["model"]["arch"]))["model"].model_fields
        result["model"] = {k: v for k, v in result["model"].items() if k in accepted}
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
        elif problem["type"] == "finite_number":
            lines.append(f"{key} must be a finite number (got {_shown(got)})")
        else:
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{key}: {message[:1].lower()}{message[1:]} (got {_shown(got)})")
    return "; ".join(lines)


def _shown(value: Any) -> str:
    """A value as the user wrote it in TOML: true, nan, inf, "text"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return repr(value)


# ----------------------------------------------------------------------------- saving


def to_dict(config: Config) -> dict[str, Any]:
    """The config as a plain dict (the same shape as its TOML)."""
    return config.model_dump(mode="json")


def to_toml(config: Config) -> str:
    """Serialise a config to TOML text that :func:`load_config` reads back to an equal Config.

    Written by tomli-w (the writing half of the standard library's tomllib), top-level keys first.

    >>> cfg = load_config("shakespeare-char")
    >>> from_dict(tomllib.loads(to_toml(cfg))) == cfg
    True
    """
    import tomli_w

    raw = to_dict(config)
    ordered = {key: raw[key] for key in TOP_LEVEL} | {section: raw[section] for section in SECTION_NAMES}
    return tomli_w.dumps(ordered)


__all__ = [
    "Config",
    "task_names",
    "sections_for",
    "TextDataConfig",
    "RecurrentConfig",
    "RecurrentClassifierConfig",
    "PRETRAINED_EMBEDDINGS",
    "check_across_sections",
    "check_fits_in_memory",
    "estimate_parameters",
    "TrainConfig",
    "SampleConfig",
    "ImageDataConfig",
    "MLPConfig",
    "AutoencoderConfig",
    "VAEConfig",
    "SeriesAutoencoderConfig",
    "SeriesVAEConfig",
    "GANConfig",
    "PairsDataConfig",
    "SeriesDataConfig",
    "ForecasterConfig",
    "RecurrentForecasterConfig",
    "TransformerForecasterConfig",
    "RecurrentSeq2SeqConfig",
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
