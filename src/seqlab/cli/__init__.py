"""The ``seqlab`` command line: parse arguments, call the Python API, print.

Each area has its own module here (``data``, ``train``, ...) holding a typer sub-app or a few
commands; this module wires them into one app and turns user errors into one clear line and a
non-zero exit code. ``--debug`` shows the traceback instead.

Commands import their heavy dependencies (torch, matplotlib) inside the command function, so
``seqlab --help`` stays fast.

Every table goes through :mod:`seqlab.cli.output`: a rich table in a terminal, plain aligned rows
when standard output is a pipe or a file, JSON with ``--json``.

Every command that runs a model takes ``--device`` (:func:`device_option`): the training commands
turn it into the ``train.device`` override, the others pass it to ``seqlab.load(path, device=...)``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from seqlab import __version__
from seqlab.errors import SeqlabError

try:  # typer >= 0.26 carries its own copy of click; earlier ones use click itself
    from typer._click.exceptions import ClickException, UsageError
except ImportError:
    from click.exceptions import ClickException, UsageError

app = typer.Typer(
    name="seqlab",
    help="Sequence and generative models on real data, fast on a CPU: train, look inside, compare, chat.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"seqlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    """seqlab: sequence models on real data."""


DEVICES = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps"


def device_option(*, trains: bool) -> Any:
    """The ``--device`` option: where a command trains (it sets ``train.device``) or runs a loaded run.

    Args:
        trains: True for commands that train (the option overrides the config's ``train.device``).
    """
    what = "Train on this device (sets train.device)" if trains else "Run the model on this device (default cpu)"
    return typer.Option(None, "--device", help=f"{what}: {DEVICES}.")


def device_overrides(device: str | None) -> list[str]:
    """The config override a training command's ``--device`` makes, after checking the device is here.

    Args:
        device: what ``--device`` holds; None leaves the config's ``train.device``.

    Raises:
        ConfigError: a device this machine does not have (the message names the ones it has).

    >>> device_overrides("cpu"), device_overrides(None)
    (['train.device="cpu"'], [])
    """
    if device is None:
        return []
    from seqlab.devices import resolve_device

    resolve_device(device, key="--device")
    return [f'train.device="{device}"']


# The command modules, a literal list: each adds its commands to `app` when imported, so they come
# after `app` exists (they import it from here). None imports torch at module level: --help stays fast.
from seqlab.cli import data, experiments, export, forecast, images, serve, train  # noqa: E402, F401


def err_console() -> Console:
    """The console for error messages (stderr), created when needed so tests can capture it."""
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print one clear message and exit 1 (usage errors exit 2).

    Args:
        argv: arguments without the program name; ``None`` reads ``sys.argv``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SEQLAB_DEBUG") == "1"
    try:
        # not standalone: usage errors come back here, to be printed as one line like every other error
        code = app(args=args, prog_name="seqlab", standalone_mode=False)
    except typer.Abort:
        err_console().print("interrupted")
        sys.exit(130)
    except UsageError as err:
        if err.format_message().strip():  # empty: no arguments at all, and the help is already shown
            err_console().print(f"[bold red]error:[/] {escape(_usage_line(err, args))}")
        sys.exit(2)
    except ClickException as err:  # a file option that cannot be opened, and the like
        err_console().print(f"[bold red]error:[/] {escape(err.format_message())}")
        sys.exit(err.exit_code)
    except Exception as err:
        if debug:
            raise
        message = _one_line(err)
        if message is None:  # a bug in seqlab: the traceback is what a report needs
            raise
        err_console().print(f"[bold red]error:[/] {escape(message)}")
        sys.exit(err.exit_code if isinstance(err, SeqlabError) else 1)
    except KeyboardInterrupt:
        if debug:
            raise
        err_console().print("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_line(err: UsageError, args: list[str]) -> str:
    """A usage error as one line: what is wrong, the value given, and where the help is."""
    message = " ".join(err.format_message().split())
    param = getattr(err, "param", None)  # BadParameter and its kin carry the option; other usage errors do not
    given = None
    for opt in getattr(param, "opts", ()):
        for i, arg in enumerate(args):
            if arg == opt and i + 1 < len(args):
                given = args[i + 1]
            elif arg.startswith(opt + "="):
                given = arg.split("=", 1)[1]
    command = err.ctx.command_path if err.ctx is not None else "seqlab"
    value = f" (got {given!r})" if given is not None else ""
    return f"{message}{value} (see `{command} -h`)"


def _one_line(err: Exception) -> str | None:
    """The message for an error of the user's or of the environment (disk, memory); None for a bug.

    >>> _one_line(OSError(28, "No space left on device", "runs/x/model.safetensors"))
    'No space left on device: runs/x/model.safetensors'
    >>> _one_line(KeyError("x")) is None
    True
    """
    if isinstance(err, SeqlabError):
        return str(err)
    if isinstance(err, MemoryError) or (
        isinstance(err, RuntimeError) and "memory" in str(err) and ("allocate" in str(err) or "out of" in str(err))
    ):
        first = str(err).splitlines()[0] if str(err) else "the allocation failed"
        return f"out of memory ({first}); lower train.batch_size, the block or model sizes, or the data's limit"
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return None
