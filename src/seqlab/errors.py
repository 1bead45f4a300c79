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


class SeqlabError(Exception):
    """Base class of every error caused by user input."""


class ConfigError(SeqlabError):
    """A config file, recipe name or ``--set`` override is wrong."""


class DataError(SeqlabError):
    """A dataset name, data file or download is wrong or unusable."""


class CheckpointError(SeqlabError):
    """A run directory or checkpoint cannot be used."""


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


def require_extra(module: str, extra: str):
    """Import an optional module, or raise a MissingExtraError naming the extra to install.

    Args:
        module: the module to import, e.g. ``"fastapi"``.
        extra: the seqlab extra that provides it, e.g. ``"serve"``.

    >>> require_extra("json", "dev").__name__
    'json'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(f"{module} is not installed; install it with: pip install 'seqlab[{extra}]'") from err
