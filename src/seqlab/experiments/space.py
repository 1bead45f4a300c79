"""What to vary: ``--vary key=a,b,c`` grids, ``--space key=log(lo,hi)`` search spaces, ``--budget``.

A variant is a name and a list of ``section.key=value`` overrides (the same strings ``--set``
takes), so every variant is just ``with_overrides(base, variant.overrides)`` and re-runs from the
``config.toml`` it writes.

>>> [v.name for v in grid(["model.cell=rnn,gru", "train.lr=1e-3,3e-3"])]
['cell=rnn lr=1e-3', 'cell=rnn lr=3e-3', 'cell=gru lr=1e-3', 'cell=gru lr=3e-3']
>>> parse_space("train.lr=log(1e-4,1e-2)")
Param(key='train.lr', kind='log', low=0.0001, high=0.01, choices=())
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import tomllib

from seqlab.errors import ConfigError, unknown_choice

SPACE_KINDS = ("log", "uniform", "int", "logint", "choice")
_SPACE_HELP = (
    "use key=log(lo,hi), uniform(lo,hi), int(lo,hi), logint(lo,hi) or choice(a,b,...), "
    'e.g. --space "train.lr=log(1e-4,1e-2)"'
)


@dataclass(frozen=True)
class Variant:
    """One configuration of a comparison: a short name and the overrides that make it.

    Args:
        name: shown in tables and legends, e.g. ``"cell=gru lr=3e-3"``.
        overrides: ``section.key=value`` strings applied to the base config.

    >>> Variant("gru", ("model.cell=gru",)).slug
    'gru'
    """

    name: str
    overrides: tuple[str, ...]

    @property
    def slug(self) -> str:
        """A folder name made from the variant name."""
        return slugify(self.name)


def slugify(text: str) -> str:
    """A file-system-safe version of ``text``.

    >>> slugify("cell=gru lr=3e-3")
    'cell-gru_lr-3e-3'
    """
    text = text.replace(" ", "_").replace("=", "-")
    return re.sub(r"[^A-Za-z0-9_.+-]", "", text) or "variant"


def format_value(value: Any) -> str:
    """A value as the TOML text an override takes (strings quoted).

    >>> format_value("gru"), format_value(0.001), format_value(True), format_value(64)
    ('"gru"', '0.001', 'true', '64')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_value(text: str) -> Any:
    """Read an override value as TOML (``3e-3``, ``true``, ``"a"``); a bare word stays a string.

    >>> parse_value("3e-3"), parse_value("gru"), parse_value("64")
    (0.003, 'gru', 64)
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _split_key(spec: str, flag: str, example: str) -> tuple[str, str]:
    key, sep, rest = spec.partition("=")
    key, rest = key.strip(), rest.strip()
    if not sep or not key or not rest or "." not in key:
        raise ConfigError(f'{flag} "{spec}" must look like section.key={example}')
    return key, rest


def _short(key: str) -> str:
    return key.split(".", 1)[1]


def parse_vary(spec: str) -> tuple[str, list[str]]:
    """Split ``"model.cell=rnn,lstm,gru"`` into the key and its value texts.

    >>> parse_vary("model.cell=rnn, lstm,gru")
    ('model.cell', ['rnn', 'lstm', 'gru'])
    """
    key, rest = _split_key(spec, "--vary", "a,b,c (e.g. model.cell=rnn,lstm,gru)")
    values = [part.strip() for part in rest.split(",")]
    if any(not v for v in values):
        raise ConfigError(f'--vary "{spec}" has an empty value; separate values with single commas')
    if len(set(values)) != len(values):
        raise ConfigError(f'--vary "{spec}" repeats a value')
    return key, values


def grid(vary: Sequence[str]) -> list[Variant]:
    """Every combination of the ``--vary`` values (one ``--vary`` is a list, several a grid).

    Args:
        vary: ``"section.key=a,b,c"`` strings.

    >>> [v.overrides for v in grid(["model.cell=rnn,gru"])]
    [('model.cell="rnn"',), ('model.cell="gru"',)]
    """
    if not vary:
        raise ConfigError("give at least one --vary section.key=a,b,c (e.g. --vary model.cell=rnn,lstm,gru)")
    axes = [parse_vary(spec) for spec in vary]
    keys = [key for key, _ in axes]
    if len(set(keys)) != len(keys):
        raise ConfigError(
            f"--vary names the same key twice ({', '.join(sorted(k for k in keys if keys.count(k) > 1))}); "
            "list all its values in one --vary"
        )
    # short names (cell=gru) unless two keys share a last part (model.dropout / data.dropout)
    shorts = [_short(k) for k in keys]
    names = shorts if len(set(shorts)) == len(shorts) else keys
    variants = []
    for combo in itertools.product(*(values for _, values in axes)):
        variants.append(
            Variant(
                " ".join(f"{n}={v}" for n, v in zip(names, combo)),
                tuple(f"{k}={format_value(parse_value(v))}" for k, v in zip(keys, combo)),
            )
        )
    return variants


@dataclass(frozen=True)
class Param:
    """One dimension of a sweep's search space.

    Args:
        key: the config key, e.g. ``"train.lr"``.
        kind: ``log`` / ``uniform`` (floats), ``int`` / ``logint`` (integers) or ``choice``.
        low, high: the range (inclusive) for the numeric kinds.
        choices: the values of a ``choice``.
    """

    key: str
    kind: Literal["log", "uniform", "int", "logint", "choice"]
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def corners(self) -> list[Any]:
        """The extreme values (or every choice): enough to check the key and range against a config."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind in ("int", "logint"):
            return [int(self.low), int(self.high)]
        return [self.low, self.high]

    def describe(self) -> str:
        """The spec as the user writes it.

        >>> parse_space("model.cell=choice(lstm, gru)").describe()
        'model.cell=choice(lstm,gru)'
        """
        if self.kind == "choice":
            return f"{self.key}=choice({','.join(str(c) for c in self.choices)})"
        low, high = (int(self.low), int(self.high)) if self.kind in ("int", "logint") else (self.low, self.high)
        return f"{self.key}={self.kind}({low:g},{high:g})"


def parse_space(spec: str) -> Param:
    """Parse ``"train.lr=log(1e-4,1e-2)"`` (or uniform, int, logint, choice) into a :class:`Param`.

    Args:
        spec: ``section.key=kind(args)``.

    >>> parse_space("model.hidden_size=int(32, 256)").kind
    'int'
    >>> parse_space("train.lr=log(0,1)")
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: --space "train.lr=log(0,1)": log needs 0 < lo < hi (got lo=0, hi=1)
    """
    key, rest = _split_key(spec, "--space", "kind(args); " + _SPACE_HELP)
    match = re.fullmatch(r"([A-Za-z_]+)\s*\((.*)\)", rest)
    if not match:
        raise ConfigError(f'--space "{spec}": cannot read "{rest}"; {_SPACE_HELP}')
    kind, args_text = match.group(1).lower(), match.group(2)
    if kind == "loguniform":
        kind = "log"
    if kind not in SPACE_KINDS:
        raise ConfigError(f'--space "{spec}": ' + unknown_choice("distribution", kind, list(SPACE_KINDS)))
    args = [a.strip() for a in args_text.split(",")] if args_text.strip() else []
    if kind == "choice":
        if len(args) < 2 or any(not a for a in args):
            raise ConfigError(
                f'--space "{spec}": choice needs at least two comma-separated values, e.g. choice(lstm,gru)'
            )
        values = tuple(parse_value(a) for a in args)
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f'--space "{spec}": choice repeats a value')
        for value in values:
            if not isinstance(value, (str, int, float, bool)):
                raise ConfigError(
                    f'--space "{spec}": choice values must be numbers, words or true/false (got {value!r})'
                )
        return Param(key, "choice", choices=values)
    if len(args) != 2:
        raise ConfigError(f'--space "{spec}": {kind} takes two numbers, lo and hi (got {len(args)} values)')
    bounds = []
    for arg in args:
        value = parse_value(arg)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f'--space "{spec}": "{arg}" is not a number')
        bounds.append(value)
    low, high = bounds
    if kind in ("int", "logint") and not all(isinstance(b, int) for b in bounds):
        raise ConfigError(f'--space "{spec}": {kind} needs whole numbers (got lo={low:g}, hi={high:g})')
    if not low < high:
        raise ConfigError(f'--space "{spec}": lo must be smaller than hi (got lo={low:g}, hi={high:g})')
    if kind in ("log", "logint") and low <= 0:
        raise ConfigError(f'--space "{spec}": {kind} needs 0 < lo < hi (got lo={low:g}, hi={high:g})')
    return Param(key, kind, low=float(low), high=float(high))  # type: ignore[arg-type]


def parse_budget(text: str) -> tuple[str, ...]:
    """Turn ``--budget`` into overrides: ``"300"`` or ``"300steps"`` caps steps, ``"90s"``/``"5m"``/``"1h"`` time.

    A step budget also makes validation frequent enough to draw curves (about 8 passes a run).

    >>> parse_budget("2m")
    ('train.max_time=120.0', 'train.max_steps=0')
    >>> parse_budget("400 steps")
    ('train.max_steps=400', 'train.max_time=0.0', 'train.eval_every=50')
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(steps?|s|sec|m|min|h)?\s*", text)
    if not match:
        raise ConfigError(
            f'--budget "{text}" must be a number of steps ("500", "500steps") or a time ("90s", "5m", "1h")'
        )
    number, unit = match.group(1), (match.group(2) or "steps")
    if unit.startswith("step"):
        if "." in number or int(number) < 1:
            raise ConfigError(f'--budget "{text}": a step budget is a whole number of at least 1')
        steps = int(number)
        return (f"train.max_steps={steps}", "train.max_time=0.0", f"train.eval_every={max(1, steps // 8)}")
    seconds = float(number) * {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]
    if seconds <= 0:
        raise ConfigError(f'--budget "{text}": a time budget must be more than 0 seconds')
    return (f"train.max_time={seconds!r}", "train.max_steps=0")


__all__ = [
    "Variant",
    "Param",
    "grid",
    "parse_vary",
    "parse_space",
    "parse_budget",
    "parse_value",
    "format_value",
    "slugify",
    "SPACE_KINDS",
]
