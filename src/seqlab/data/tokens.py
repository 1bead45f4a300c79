"""Text corpora tokenized once into a memory-mapped token file in the cache, and training windows read from it.

:func:`token_file` reads a corpus (a file, or a string already in memory) in chunks, encodes
each chunk, and appends its ids to a file under ``<cache>/tokens/``, in the smallest unsigned
integer type the vocabulary fits (:func:`token_dtype`). Memory stays that of one chunk, however
large the corpus. The file is keyed by the sha256 of the corpus bytes and of the tokenizer's
JSON, written to a temporary file and renamed into place, and described by a manifest (count,
dtype, sha256 of the ids) written after it; a file that does not match its manifest is rebuilt.
It is reopened as a read-only ``np.memmap``, so every process that reads it (each DDP rank)
shares one copy in the page cache. :class:`TokenWindows` cuts (input, target) windows of
``block_size + 1`` tokens out of the map, reading only the windows asked for. The pages a process
has read count in its resident set (as ``RssFile``, not ``RssAnon``): they are that shared page
cache, which the kernel drops under memory pressure rather than swapping.

Chunks are cut at whitespace (after a newline between two non-space characters, else before a
space between two), so that tokenizers whose tokens never span whitespace (char, word, bpe,
minilm) give exactly the ids ``tokenizer.encode(text)`` gives on the whole text. A corpus with no
such place for longer than a chunk is read on until there is one.

>>> import tempfile; from seqlab.text import CharTokenizer
>>> tok = CharTokenizer.fit("to be or not to be")
>>> tokens = token_file("to be or not to be", tok, root=Path(tempfile.mkdtemp()))
>>> tokens.ids.dtype, len(tokens), tokens.ids[:5].tolist() == tok.encode("to be")
(dtype('uint8'), 18, True)
>>> x, y = TokenWindows(tokens.ids, block_size=4)[0]
>>> tok.decode(x), tok.decode(y)
('to b', 'o be')
"""

from __future__ import annotations

import codecs
import hashlib
import json
import mmap
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from seqlab.data.fetching.cache import atomic_write, cache_dir, remove_stale, sha256_file
from seqlab.errors import DataError

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from seqlab.text.base import TextTokenizer

CHUNK_CHARS = 1 << 18  # 256K characters per encode call: the memory of one chunk's ids, whatever the corpus
FORMAT_VERSION = 1
DTYPES = (np.uint8, np.uint16, np.uint32)


def token_dtype(vocab_size: int) -> np.dtype[Any]:
    """The smallest unsigned integer type that holds every id of a vocabulary.

    Args:
        vocab_size: number of ids (ids are 0 .. vocab_size - 1).

    >>> token_dtype(256), token_dtype(257), token_dtype(65_536), token_dtype(65_537)
    (dtype('uint8'), dtype('uint16'), dtype('uint16'), dtype('uint32'))
    """
    for dtype in DTYPES:
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise DataError(f"a vocabulary of {vocab_size} ids does not fit 32-bit token ids")


def _cut(text: str) -> int:
    """Where a chunk may end so that no token spans the cut (0: nowhere in ``text``).

    After the last newline with a non-space on both sides, else before the last space with a
    non-space on both sides.

    >>> _cut("one two\\nthree fo"), _cut("one two thr"), _cut("one"), _cut("a\\n\\nb")
    (8, 7, 0, 0)
    """
    for mark, after in (("\n", 1), (" ", 0)):
        i = text.rfind(mark, 1, len(text) - 1)
        while i > 0:
            if not text[i - 1].isspace() and not text[i + 1].isspace():
                return i + after
            i = text.rfind(mark, 1, i)
    return 0


def text_chunks(pieces: Iterator[str], *, size: int = CHUNK_CHARS) -> Iterator[str]:
    """Regroup pieces of a text into chunks of about ``size`` characters, cut at whitespace.

    ``"".join`` of the chunks is the text again; no chunk ends inside a token of a tokenizer
    that splits at whitespace (see the module docstring).

    Args:
        pieces: the text, in pieces of any length (blocks of a file, slices of a string).
        size: the length from which a chunk is cut.

    >>> list(text_chunks(iter(["one two", " three\\nfour", " five"]), size=4))
    ['one', ' two three\\n', 'four', ' five']
    """
    buffer = ""
    for piece in pieces:
        buffer += piece
        if len(buffer) >= size:
            cut = _cut(buffer)
            if cut:
                yield buffer[:cut]
                buffer = buffer[cut:]
    if buffer:
        yield buffer


@dataclass(frozen=True)
class TextSource:
    """Where a corpus's text comes from: a UTF-8 file (read in blocks) or a string.

    A file is read as :func:`seqlab.data.read_text` reads it (a leading BOM dropped, ``\\r\\n``
    as ``\\n``). ``size`` is in bytes for a file and in characters for a string.

    Args:
        path: a UTF-8 text file, or None.
        text: the text itself, when there is no file.
    """

    path: Path | None = None
    text: str = ""

    @property
    def size(self) -> int:
        """Bytes of the file, or characters of the string (the progress bar's total)."""
        return self.path.stat().st_size if self.path is not None else len(self.text)

    @property
    def name(self) -> str:
        """The file's name, or "text"."""
        return self.path.name if self.path is not None else "text"

    def blocks(self, size: int = CHUNK_CHARS) -> Iterator[bytes]:
        """The corpus's bytes, block by block (a string is encoded as UTF-8)."""
        if self.path is None:
            for start in range(0, len(self.text), size):
                yield self.text[start : start + size].encode("utf-8", errors="surrogatepass")
            return
        try:
            with open(self.path, "rb") as handle:
                yield from iter(lambda: handle.read(size), b"")
        except OSError as err:
            raise DataError(f"cannot read {self.path}: {err.strerror or err}") from None

    def pieces(self, size: int = CHUNK_CHARS) -> Iterator[tuple[str, int]]:
        """The text in pieces, each with how much of :attr:`size` it used up."""
        if self.path is None:
            for start in range(0, len(self.text), size):
                piece = self.text[start : start + size]
                yield piece, len(piece)
            return
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        offset, held = 0, ""
        for block in self.blocks(size):
            try:
                piece = held + decoder.decode(block)
            except UnicodeDecodeError as err:
                raise DataError(
                    f"{self.path} is not UTF-8 text: byte 0x{block[err.start]:02x} at byte offset "
                    f"{offset + err.start} cannot be decoded; save the file as UTF-8"
                ) from None
            offset += len(block)
            held = "\r" if piece.endswith("\r") else ""  # its "\n" may open the next block
            yield piece[: len(piece) - len(held)].replace("\r\n", "\n"), len(block)
        if held:
            yield held, 0

    def sha256(self) -> str:
        """Hex sha256 of the corpus bytes (UTF-8 for a string), read block by block."""
        digest = hashlib.sha256()
        for block in self.blocks():
            digest.update(block)
        return digest.hexdigest()


@dataclass(frozen=True)
class TokenFile:
    """A corpus's token ids on disk, mapped read-only.

    Args:
        path: the ``.bin`` file in the cache.
        ids: (N,) the ids, an ``np.memmap`` in mode ``"r"`` (an empty array for an empty corpus).
        from_cache: True when the file was already there and nothing was tokenized.
    """

    path: Path
    ids: np.ndarray[Any, Any]
    from_cache: bool

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def token_file(
    corpus: str | os.PathLike[str],
    tokenizer: TextTokenizer,
    *,
    root: Path | None = None,
    console: Console | None = None,
    chunk_chars: int = CHUNK_CHARS,
) -> TokenFile:
    """The ids of a corpus as a memory-mapped file in the cache, tokenizing it once.

    Args:
        corpus: a path to a UTF-8 text file (a ``Path``), or the text itself (a ``str``).
        tokenizer: any seqlab tokenizer; its ``to_json()`` is part of the cache key.
        root: the cache folder (default :func:`seqlab.data.fetching.cache.cache_dir`).
        console: where the progress bar is drawn; None draws nothing.
        chunk_chars: characters per encode call (peak memory is about that many ids).

    Returns:
        The :class:`TokenFile`; ``from_cache`` says whether it was there already.

    Under DDP, rank 0 should build the file before the others ask for it (then a barrier): ranks
    building at once is safe (the same bytes, renamed into place atomically) but wasted work.

    Raises:
        DataError: the file cannot be read or is not UTF-8.
    """
    source = TextSource(path=Path(corpus)) if isinstance(corpus, os.PathLike) else TextSource(text=corpus)
    folder = (root or cache_dir()) / "tokens"
    tokenizer_sha = hashlib.sha256(tokenizer.to_json().encode("utf-8")).hexdigest()
    corpus_sha = source.sha256()
    path = folder / f"{corpus_sha}-{tokenizer_sha[:16]}.bin"
    manifest_path = path.with_suffix(".json")
    dtype = token_dtype(tokenizer.vocab_size)
    expected = {"version": FORMAT_VERSION, "corpus_sha256": corpus_sha, "tokenizer_sha256": tokenizer_sha}
    if path.exists() or manifest_path.exists():
        problem = _check(path, manifest_path, expected, dtype)
        if problem is None:
            return TokenFile(path, _open(path, dtype), from_cache=True)
        if console is not None:
            console.print(f"token cache {path.name}: {problem}; tokenizing {source.name} again")
    remove_stale(folder, ".*.part")
    count, ids_sha = _write(source, tokenizer, path, dtype, console=console, chunk_chars=chunk_chars)
    manifest = {**expected, "dtype": dtype.name, "tokens": count, "sha256": ids_sha}
    atomic_write(manifest_path, json.dumps(manifest, indent=1).encode("utf-8"))
    return TokenFile(path, _open(path, dtype), from_cache=False)


def _write(
    source: TextSource,
    tokenizer: TextTokenizer,
    path: Path,
    dtype: np.dtype[Any],
    *,
    console: Console | None,
    chunk_chars: int,
) -> tuple[int, str]:
    """Encode the corpus chunk by chunk into ``path`` (temp file + rename); (token count, sha256 of the ids)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, count = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle, _progress(console, f"tokenizing {source.name}", source.size) as advance:

            def pieces() -> Iterator[str]:
                for piece, used in source.pieces(chunk_chars):
                    yield piece
                    advance(used)

            for chunk in text_chunks(pieces(), size=chunk_chars):
                ids = np.asarray(tokenizer.encode(chunk), dtype=np.int64)
                assert not ids.size or 0 <= ids.min() <= ids.max() < tokenizer.vocab_size, "an id outside the vocab"
                packed = np.ascontiguousarray(ids.astype(dtype))
                handle.write(packed.data)
                digest.update(packed.data)
                count += int(packed.size)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count, digest.hexdigest()


@contextmanager
def _progress(console: Console | None, description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on ``console`` (nothing without one); yields ``advance(amount)``."""
    if console is None:
        yield lambda _amount: None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(f"[bold]{description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task(description, total=max(1, total))
        yield lambda amount: bar.advance(task, amount)


def _check(path: Path, manifest_path: Path, expected: dict[str, Any], dtype: np.dtype[Any]) -> str | None:
    """Why a cached token file cannot be used, or None when it matches its manifest."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its manifest is missing or unreadable"
    if not isinstance(manifest, dict) or any(manifest.get(k) != v for k, v in expected.items()):
        return "its manifest is for another corpus, tokenizer or format"
    if manifest.get("dtype") != dtype.name or not isinstance(manifest.get("tokens"), int):
        return "its manifest names another dtype"
    try:
        size = path.stat().st_size
    except OSError:
        return "the token file is missing"
    if size != manifest["tokens"] * dtype.itemsize:
        return f"the token file has {size} bytes, not {manifest['tokens'] * dtype.itemsize} (truncated?)"
    if sha256_file(path) != manifest.get("sha256"):
        return "the token file does not match its sha256 (corrupt)"
    return None


def _open(path: Path, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    if path.stat().st_size == 0:  # mmap cannot map an empty file
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")


def read_windows(ids: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], length: int) -> np.ndarray[Any, Any]:
    """``ids[starts[..., None] + arange(length)]``, read from a token map's file with ``pread``.

    Indexing the map would map into this process every page-cache folio a window touches (up to
    hundreds of KiB each on Linux), so its resident set would grow with the windows read, up to the
    token file's size; ``pread`` copies just the window's bytes. Any other array is indexed.

    Args:
        ids: (N,) token ids: a memmap (or a slice of one) from :func:`token_file`, or any array.
        starts: (...) the offset of each window, each at most ``N - length``.
        length: tokens per window.

    Returns:
        (..., length) ids, in ``ids``'s dtype.

    >>> import tempfile; from seqlab.text import CharTokenizer
    >>> tok = CharTokenizer.fit("abcdefgh")
    >>> ids = token_file("abcdefgh", tok, root=Path(tempfile.mkdtemp())).ids[2:]
    >>> tok.decode(read_windows(ids, np.array([0, 3]), 3).ravel().tolist())
    'cdefgh'
    """
    starts = np.asarray(starts, dtype=np.int64)
    mapped = getattr(ids, "_mmap", None)
    if not isinstance(ids, np.memmap) or mapped is None or not ids.filename:
        return ids[starts[..., None] + np.arange(length)]
    base = np.frombuffer(mapped, dtype=np.uint8).__array_interface__["data"][0]
    begin = ids.__array_interface__["data"][0] - base + ids.offset - ids.offset % mmap.ALLOCATIONGRANULARITY
    size = ids.dtype.itemsize
    out = np.empty((*starts.shape, length), dtype=ids.dtype)
    rows = out.reshape(-1, length)
    fd = os.open(ids.filename, os.O_RDONLY)
    try:
        for row, start in zip(rows, starts.ravel().tolist()):
            row[:] = np.frombuffer(os.pread(fd, length * size, begin + start * size), dtype=ids.dtype)
    finally:
        os.close(fd)
    return out


class TokenWindows(Sequence[tuple["torch.Tensor", "torch.Tensor"]]):
    """(input, target) windows of ``block_size`` tokens from a token map, read one item at a time.

    Item ``i`` reads the ``block_size + 1`` tokens at ``starts[i]`` from ``ids`` (a memmap reads
    just those pages) and returns them as int64 tensors: the first ``block_size`` as input, the
    last ``block_size`` as target. ``starts`` of shape (N,) gives items of shape (T,); of shape
    (num_batches, B), items of shape (B, T) (a batch per item). Without ``starts`` the windows are
    consecutive and non-overlapping (0, T, 2T, ...), as many as fit, computed on the fly.

    Args:
        ids: (N,) token ids, typically :attr:`TokenFile.ids`.
        block_size: T.
        starts: the offset of each window; each must be at most ``N - block_size - 1``.

    >>> windows = TokenWindows(np.arange(10, dtype=np.uint8), block_size=3)
    >>> len(windows), [w.tolist() for w in windows[2]]
    (3, [[6, 7, 8], [7, 8, 9]])
    >>> x, y = TokenWindows(np.arange(10), 3, starts=np.array([[0, 5], [2, 1]]))[1]
    >>> x.tolist(), x.dtype
    ([[2, 3, 4], [1, 2, 3]], torch.int64)
    """

    def __init__(self, ids: np.ndarray[Any, Any], block_size: int, *, starts: np.ndarray[Any, Any] | None = None):
        assert block_size >= 1, "block_size must be positive"
        self.ids, self.block_size = ids, block_size
        self.starts = None if starts is None else np.asarray(starts, dtype=np.int64)
        if self.starts is not None and self.starts.size:
            assert self.starts.min() >= 0 and self.starts.max() + block_size < len(ids), "a window past the map"

    @classmethod
    def random(
        cls, ids: np.ndarray[Any, Any], block_size: int, *, num_batches: int, batch_size: int, seed: int
    ) -> TokenWindows:
        """Batches of windows at random offsets, the same for the same seed (an LM's training epoch).

        Args:
            ids: (N,) token ids, N > block_size.
            block_size: T.
            num_batches: items.
            batch_size: B, windows per item.
            seed: fixes the offsets (e.g. ``seed * 100_003 + epoch``).

        >>> windows = TokenWindows.random(np.arange(100), 8, num_batches=5, batch_size=4, seed=0)
        >>> len(windows), windows[0][0].shape
        (5, torch.Size([4, 8]))
        """
        import torch

        generator = torch.Generator().manual_seed(seed)
        starts = torch.randint(0, len(ids) - block_size, (num_batches, batch_size), generator=generator)
        return cls(ids, block_size, starts=starts.numpy())

    def __len__(self) -> int:
        if self.starts is not None:
            return int(self.starts.shape[0])
        return max(0, (len(self.ids) - 1) // self.block_size)

    @overload
    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]: ...

    @overload
    def __getitem__(self, index: slice) -> TokenWindows: ...

    def __getitem__(self, index: int | slice) -> tuple[torch.Tensor, torch.Tensor] | TokenWindows:
        if isinstance(index, slice):
            starts = self.starts if self.starts is not None else np.arange(len(self)) * self.block_size
            return TokenWindows(self.ids, self.block_size, starts=starts[index])
        if not -len(self) <= index < len(self):
            raise IndexError(f"window {index} out of range ({len(self)} windows)")
        import torch

        start = self.starts[index] if self.starts is not None else (index % len(self)) * self.block_size
        rows = np.asarray(start)[..., None] + np.arange(self.block_size + 1)  # (..., T+1)
        window = torch.from_numpy(self.ids[rows].astype(np.int64))
        return window[..., :-1], window[..., 1:]

    def __repr__(self) -> str:
        return f"TokenWindows({len(self)} items, block_size={self.block_size}, of {len(self.ids)} tokens)"


__all__ = [
    "CHUNK_CHARS",
    "TokenFile",
    "TokenWindows",
    "TextSource",
    "read_windows",
    "text_chunks",
    "token_dtype",
    "token_file",
]
