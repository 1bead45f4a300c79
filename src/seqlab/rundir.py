"""Run folders: who may write one, what a new training may replace, and files written whole.

The rules (docs/internals.md, "Run folders"):

* A run folder is **locked** while a process writes it: an OS-level lock (``fcntl.flock`` on
  ``.lock`` inside the folder) that the OS releases when the process ends, however it ends. A
  second writer gets a one-line error naming the holder's pid.
* ``seqlab train`` **refuses a folder that already holds a run** (any of ``config.toml``,
  ``model.safetensors``, ``checkpoints/``) unless it resumes it or is told ``--force``; ``--force``
  says what it replaces and removes the old run's files first, so nothing of the old run mixes
  with the new one.
* Temporary files are **named per process** (``.<name>.<pid>.tmp``), so two processes never write
  the same temporary file, and a cleanup removes only its own leftovers or those of writers that
  are gone.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> with RunLock(folder):
...     write_atomic(folder / "config.toml", "name = 'x'\\n")
>>> check_new_run(folder, force=False)
Traceback (most recent call last):
...
seqlab.errors.CheckpointError: ... already holds a run (config.toml); continue it with
`seqlab train --resume ...`, replace it with --force, or choose another --run-dir
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

from seqlab.errors import CheckpointError

RUN_MARKERS = ("config.toml", "model.safetensors", "checkpoints")
LOCK_FILE = ".lock"
# what a finished or interrupted run leaves; --force removes these before a new run starts
RUN_OUTPUTS = (
    "config.toml",
    "meta.json",
    "tokenizer.json",
    "scaler.json",
    "model.safetensors",
    "checkpoints",
    "metrics.jsonl",
    "curves.png",
    "summary.md",
    "final_metrics.json",
    "tensorboard",  # train.tensorboard's event files
    "export",  # seqlab export's default folder
)


class RunLock:
    """Hold the write lock of a run folder for the life of a ``with`` block (or of the process).

    Args:
        run_dir: the folder; created if missing.

    The lock is ``flock`` on ``run_dir/.lock``, released by the OS when the process dies, so a
    crashed or killed run never leaves a stale lock behind. The file holds the writer's pid, for
    the message a second writer gets. Where ``fcntl`` does not exist (Windows) no lock is taken.
    """

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise a CheckpointError naming the process that holds it."""
        try:
            import fcntl
        except ImportError:  # no flock on this platform: nothing to hold
            return self
        _make_folder(self.run_dir)
        path = self.run_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise CheckpointError(
                f"{self.run_dir} is being written by process {holder}; wait for it to finish, or give another --run-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back (closing the file releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


def _make_folder(run_dir: Path) -> None:
    """Create the run folder, with a one-line error when a file stands in the way."""
    for parent in (run_dir, *run_dir.parents):
        if parent.exists() and not parent.is_dir():
            raise CheckpointError(f"cannot create the run folder {run_dir}: {parent} is a file, not a folder")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CheckpointError(f"cannot create the run folder {run_dir}: {err.strerror or err}") from None


def existing_run(run_dir: str | os.PathLike[str]) -> list[str]:
    """The files of a run already in ``run_dir`` (empty when there is none).

    >>> existing_run("/no/such/folder")
    []
    """
    folder = Path(run_dir)
    return [name for name in RUN_MARKERS if (folder / name).exists()]


def check_new_run(run_dir: str | os.PathLike[str], *, force: bool) -> str | None:
    """Make sure a new training may write ``run_dir``; with ``force``, clear the old run first.

    Args:
        run_dir: where the new run goes.
        force: replace a run already there (its files are removed before anything is written).

    Returns:
        A sentence saying what was replaced, or None when the folder held no run.

    Raises:
        CheckpointError: the folder holds a run and ``force`` is False, or a file stands where the
            folder should be.
    """
    folder = Path(run_dir)
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"the run folder {folder} is a file; give a folder with --run-dir")
    found = existing_run(folder)
    if not found:
        return None
    if not force:
        raise CheckpointError(
            f"{folder} already holds a run ({', '.join(found)}); continue it with `seqlab train --resume {folder}`, "
            "replace it with --force, or choose another --run-dir"
        )
    replaced = [name for name in RUN_OUTPUTS if (folder / name).exists()]
    for name in replaced:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return f"replaced the run in {folder} ({', '.join(replaced)})"


def temporary_name(path: Path) -> Path:
    """This process's temporary file for ``path``: ``.<name>.<pid>.tmp`` beside it.

    >>> temporary_name(Path("runs/x/summary.md")).name == f".summary.md.{os.getpid()}.tmp"
    True
    """
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text through this process's temporary file, fsync and a rename: never half a file.

    Args:
        path: the file to write.
        text: its new content (UTF-8).
    """
    target = Path(path)
    tmp = temporary_name(target)
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove ``.<name>.<pid>.tmp`` files in ``folder`` left by this process or by processes that are gone.

    Another live process's temporary files are left alone: it is still writing them.

    Returns:
        The paths removed.
    """
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        pid_text = path.name[: -len(".tmp")].rpartition(".")[2]
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid() or not _pid_alive(pid):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


__all__ = [
    "RunLock",
    "check_new_run",
    "existing_run",
    "remove_stale_temporaries",
    "temporary_name",
    "write_atomic",
]
