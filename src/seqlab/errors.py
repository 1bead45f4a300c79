"""Errors meant for users: the CLI prints their message and exits non-zero, never a traceback.

Anything that is the user's doing (a config, a data file, a prompt, a request, a checkpoint on
disk) raises a subclass of :class:`SeqlabError` whose message names what is wrong and what would
be right. Bugs in seqlab itself stay ordinary exceptions (and ``assert``) so they keep their
traceback.

>>> try:
...     raise ConfigError('model.cell must be one of rnn, lstm, gru (got "lstn")')
... except SeqlabError as err:
...     print(err)
model.cell must be one of rnn, lstm, gru (got "lstn")
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager


class SeqlabError(Exception):
    """Base class of every error caused by user input."""

    exit_code = 1  # what the CLI exits with after printing the message


class ConfigError(SeqlabError):
    """A config file, recipe name or ``--set`` override is wrong."""


class DataError(SeqlabError):
    """A dataset name, data file or download is wrong or unusable."""


class CheckpointError(SeqlabError):
    """A run directory or checkpoint cannot be used."""


class QueueFullError(SeqlabError, RuntimeError):
    """A decoding engine's batch and waiting queue are both full (the server answers 429)."""

    code = "rate_limit_exceeded"


class MissingExtraError(SeqlabError):
    """An optional dependency is not installed; the message names the extra."""


def closest(name: str, choices: list[str] | tuple[str, ...], *, n: int = 3) -> list[str]:
    """Return the choices that look most like ``name`` (for "did you mean" hints).

    Args:
        name: what the user typed.
        choices: the valid names.
        n: at most this many suggestions.

    >>> closest("shakespear", ["shakespeare", "rotten-tomatoes", "chatterbot"])
    ['shakespeare']
    """
    return difflib.get_close_matches(name, list(choices), n=n, cutoff=0.6)


def unknown_choice(what: str, name: str, choices: list[str] | tuple[str, ...]) -> str:
    """Format the message for a name that is not one of the choices.

    >>> unknown_choice("dataset", "shakespear", ["shakespeare", "chatterbot"])
    'unknown dataset "shakespear"; did you mean shakespeare? (choices: chatterbot, shakespeare)'
    """
    hint = closest(name, choices)
    did_you_mean = f"; did you mean {' or '.join(hint)}?" if hint else ""
    return f'unknown {what} "{name}"{did_you_mean} (choices: {", ".join(sorted(choices))})'


@contextmanager
def needs_extra(extra: str) -> Iterator[None]:
    """Around an optional import: a missing module becomes a MissingExtraError naming the extra to install.

    The import stays a plain ``import`` statement that readers and tools see (no import by name).

    Args:
        extra: the seqlab extra that provides what the block imports, e.g. ``"serve"``.

    >>> with needs_extra("dev"):
    ...     import json
    >>> with needs_extra("serve"):
    ...     import not_a_real_module_for_this_doctest
    Traceback (most recent call last):
    ...
    seqlab.errors.MissingExtraError: not_a_real_module_for_this_doctest is not installed;
    install it with: pip install 'seqlab[serve]'
    """
    try:
        yield
    except ImportError as err:
        missing = err.name or "a module"
        if missing == "seqlab" or missing.startswith("seqlab."):  # our own import failing is a bug, not an extra
            raise
        raise MissingExtraError(f"{missing} is not installed; install it with: pip install 'seqlab[{extra}]'") from err
