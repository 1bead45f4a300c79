"""Read a dataset by shape: one text (corpus), labelled texts, or source/target pairs.

:func:`load_dataset` takes a catalog name (fetched and cached) or a user's file: ``.txt`` is a
corpus; ``.csv``, ``.tsv`` and ``.jsonl`` are records whose columns are named by
``text_column`` and ``label_column`` (labelled texts) or ``source_column`` and
``target_column`` (pairs). Files are read as UTF-8 (a BOM is allowed); anything else is a
:class:`seqlab.errors.DataError` that says where the bad byte is.

>>> import tempfile; folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "reviews.csv").write_text("review,stars\\ngreat,5\\nawful,1\\nfine,5\\n", encoding="utf-8")
>>> data = load_dataset(folder / "reviews.csv", text_column="review", label_column="stars")
>>> data.texts, data.labels, data.classes
(('great', 'awful', 'fine'), (1, 0, 1), ('1', '5'))
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.data.fetching.catalog import CATALOG, fetch
from seqlab.data.fetching.spec import SHAPES, Shape
from seqlab.errors import DataError, unknown_choice

RECORD_SUFFIXES = (".csv", ".tsv", ".jsonl")
SUFFIXES = (".txt", *RECORD_SUFFIXES)


@dataclass(frozen=True)
class Corpus:
    """One long text, for language models (split it with :func:`seqlab.data.split_corpus`).

    >>> len(Corpus("To be, or not to be"))
    19
    """

    text: str

    def __len__(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with a class each: ``labels[i]`` indexes ``classes``.

    >>> data = LabelledTexts(("good", "bad"), (1, 0), ("rotten", "fresh"))
    >>> len(data), data.classes[data.labels[0]]
    (2, 'fresh')
    """

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class Pairs:
    """Source -> target text pairs (translation, dialogue turns); ``languages`` may tag each pair.

    >>> len(Pairs(("hi",), ("hello",)))
    1
    """

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    languages: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.sources)


Dataset = Corpus | LabelledTexts | Pairs


def joined_datasets(dataset: str, *, limit: int = 0, limits: dict[str, int] | None = None) -> list[tuple[str, int]]:
    """The datasets a ``data.dataset`` value names, each with the most records to read from it.

    ``"a+b"`` joins catalog datasets (an existing file path is never split); ``limit`` caps each
    of them and ``limits`` caps single ones (0 = all), e.g. to keep a large corpus from drowning a
    small one. A file path ignores ``limits`` (a recipe's limits name its catalog datasets, and
    the recipe may be run on a file of one's own); a join must name only datasets it joins.

    Args:
        dataset: a name, ``"a+b+..."``, or a file path.
        limit: records per dataset (0 = all).
        limits: records for named datasets, overriding ``limit``.

    >>> joined_datasets("chatterbot+shakespeare-dialogue", limit=6000, limits={"shakespeare-dialogue": 1500})
    [('chatterbot', 6000), ('shakespeare-dialogue', 1500)]
    """
    from seqlab.errors import ConfigError

    if Path(dataset).exists():
        return [(dataset, limit)]
    names = [name.strip() for name in dataset.split("+")]
    limits = dict(limits or {})
    unknown = sorted(set(limits) - set(names))
    if unknown:
        raise ConfigError(
            f"data.limits names {', '.join(unknown)}, which data.dataset does not join; "
            f"its datasets are {', '.join(names)}"
        )
    return [(name, limits.get(name, limit)) for name in names]


def load_dataset(
    name_or_path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    source_column: str = "source",
    target_column: str = "target",
    limit: int = 0,
    shape: Shape | None = None,
) -> Dataset:
    """Load a catalog dataset or a user's file as a Corpus, LabelledTexts or Pairs.

    Args:
        name_or_path: a catalog name (``seqlab data list``) or a ``.txt``, ``.csv``, ``.tsv``
            or ``.jsonl`` file.
        text_column: the column holding the text (records files).
        label_column: the column holding the class (records files).
        source_column: the column holding the source side of a pair.
        target_column: the column holding the target side of a pair.
        limit: keep only the first N characters (corpus) or records; 0 keeps everything.
        shape: the shape the caller needs (``corpus``, ``labelled``, ``pairs``); None infers
            it: a label column makes labelled texts, source and target columns make pairs.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "talk.jsonl").write_text('{"q": "안녕", "a": "안녕하세요"}\\n', encoding="utf-8")
    >>> load_dataset(folder / "talk.jsonl", source_column="q", target_column="a")
    Pairs(sources=('안녕',), targets=('안녕하세요',), languages=())
    """
    if limit < 0:
        raise DataError(f"limit must be 0 (everything) or a positive count (got {limit})")
    if shape is not None and shape not in SHAPES:
        raise DataError(unknown_choice("dataset shape", str(shape), list(SHAPES)))
    name = str(name_or_path)
    if isinstance(name_or_path, str) and name in CATALOG:
        spec = CATALOG[name]
        if shape is not None and shape != spec.shape:
            raise DataError(f'dataset "{name}" holds {spec.shape} data, but {shape} data is needed here')
        if spec.shape == "images":  # its own reader (IDX / CSV pixels): seqlab.data.images
            from seqlab.data.images import load_images

            return load_images(name, limit=limit)  # type: ignore[return-value]
        if spec.shape == "vectors":  # an embedding matrix, read by seqlab.data.vectors
            raise DataError(
                f'dataset "{name}" holds pretrained word vectors, not texts; '
                f'a classifier uses them through model.pretrained_embeddings = "{name}"'
            )
        path = fetch(spec)
        if spec.shape == "corpus":
            return _limit_corpus(Corpus(read_text(path)), limit, path)
        return _from_records(
            read_records(path), str(path), spec.shape, "text", "label", "source", "target", limit, name=name
        )
    path = Path(name_or_path).expanduser()
    if not path.exists():
        if path.suffix.lower() not in SUFFIXES and len(path.parts) == 1:
            raise DataError(
                unknown_choice("dataset", name, list(CATALOG)) + "; or give a path to a .txt, .csv, .tsv or .jsonl file"
            )
        raise DataError(f"file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a .txt, .csv, .tsv or .jsonl file")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        if shape not in (None, "corpus"):
            raise DataError(
                f"{path} is a plain text file (a corpus), but {shape} data is needed here; "
                "use a .csv, .tsv or .jsonl file with named columns"
            )
        return _limit_corpus(Corpus(read_text(path)), limit, path)
    if suffix not in RECORD_SUFFIXES:
        raise DataError(
            f"{path}: cannot read {suffix or 'files without a suffix'}; use .txt (a corpus), .csv, .tsv or .jsonl"
        )
    return _from_records(
        read_records(path),
        str(path),
        shape,
        text_column,
        label_column,
        source_column,
        target_column,
        limit,
        name=str(path),
    )


def corpus_file(name_or_path: str | Path) -> Path | None:
    """The plain UTF-8 text file a corpus dataset is, or None when it is not one file of text.

    A catalog corpus is its cached artifact (fetched if need be); a ``.txt`` path is itself.
    Callers that can stream a text read it from this file instead of :func:`load_dataset`'s string.

    Args:
        name_or_path: a catalog name or a file path, as :func:`load_dataset` takes.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_text("hi", encoding="utf-8")
    >>> corpus_file(p) == p, corpus_file(p.with_suffix(".csv")), corpus_file(p.parent)
    (True, None, None)
    """
    name = str(name_or_path)
    if isinstance(name_or_path, str) and name in CATALOG:
        spec = CATALOG[name]
        return fetch(spec) if spec.shape == "corpus" else None
    path = Path(name_or_path).expanduser()
    return path if path.suffix.lower() == ".txt" and path.is_file() else None


# ----------------------------------------------------------------------------- files


def read_text(path: Path) -> str:
    """Read a UTF-8 text file (BOM allowed, ``\\r\\n`` becomes ``\\n``); say where bad bytes are.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "bad.txt"
    >>> _ = p.write_bytes("첫 줄\\n".encode() + "둘째".encode("cp949"))
    >>> read_text(p)
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: .../bad.txt is not UTF-8 text: byte 0xb5 at byte offset 8 (line 2, column 1)
    cannot be decoded with the utf-8 encoding; save the file as UTF-8
    (a Korean Windows file: iconv -f cp949 -t utf-8 IN > OUT)
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = bom + err.start
        line_start = raw.rfind(b"\n", 0, offset) + 1
        line = raw.count(b"\n", 0, offset) + 1
        column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
        raise DataError(
            f"{path} is not UTF-8 text: byte 0x{raw[offset]:02x} at byte offset {offset} (line {line}, "
            f"column {column}) cannot be decoded with the utf-8 encoding; save the file as UTF-8 "
            "(a Korean Windows file: iconv -f cp949 -t utf-8 IN > OUT)"
        ) from None
    return text.replace("\r\n", "\n")


def read_records(path: Path) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Read a .csv, .tsv or .jsonl file into (column names, [(line number, record), ...]).

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "x.tsv"
    >>> _ = p.write_text("text\\tlabel\\nhi\\tpos\\n", encoding="utf-8")
    >>> read_records(p)
    (['text', 'label'], [(2, {'text': 'hi', 'label': 'pos'})])
    """
    text = read_text(path)
    rows: list[tuple[int, dict[str, Any]]] = []
    if Path(path).suffix.lower() == ".jsonl":
        columns: list[str] = []
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path} line {number} is not valid JSON: {err.msg} (column {err.colno})") from None
            if not isinstance(record, dict):
                raise DataError(
                    f"{path} line {number} must be a JSON object like "
                    f'{{"text": ..., "label": ...}} (got {type(record).__name__})'
                )
            columns += [key for key in record if key not in columns]
            rows.append((number, record))
        return columns, rows
    delimiter = "\t" if Path(path).suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return [], []
        columns = [name.strip() for name in header]
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue
            rows.append((reader.line_num, dict(zip(columns, fields))))
    except csv.Error as err:
        raise DataError(f"{path} line {reader.line_num} is not valid {delimiter!r}-separated data: {err}") from None
    return columns, rows


# ----------------------------------------------------------------------------- shapes


def _limit_corpus(corpus: Corpus, limit: int, path: Path | str) -> Corpus:
    if not corpus.text.strip():
        raise DataError(f"the dataset is empty: {path} holds no text")
    return Corpus(corpus.text[:limit]) if limit else corpus


def _from_records(
    table: tuple[list[str], list[tuple[int, dict[str, Any]]]],
    where: str,
    shape: Shape | None,
    text_column: str,
    label_column: str,
    source_column: str,
    target_column: str,
    limit: int,
    *,
    name: str,
) -> Dataset:
    columns, rows = table
    if not rows:
        raise DataError(f"the dataset is empty: {where} has no records" + (" (only a header)" if columns else ""))
    if limit:
        rows = rows[:limit]
    existing = ", ".join(columns) or "(none)"

    def need(*wanted: str) -> None:
        missing = [c for c in wanted if c not in columns]
        if missing:
            names = " and ".join(f'"{c}"' for c in missing)
            raise DataError(
                f"{where} has no column {names}; its columns are: {existing}. Name the right ones "
                "with text_column / label_column / source_column / target_column "
                "(data.text_column ... in a config)"
            )

    if shape is None:
        if label_column in columns:
            shape = "labelled"
        elif source_column in columns and target_column in columns:
            shape = "pairs"
        else:
            raise DataError(
                f'{where} has neither a label column "{label_column}" (labelled texts) nor source '
                f'and target columns "{source_column}", "{target_column}" (pairs); its columns are: '
                f"{existing}. Name the right ones with text_column / label_column / source_column / "
                "target_column (data.text_column ... in a config)"
            )
    if shape == "labelled":
        need(text_column, label_column)
        texts = _column(rows, text_column, where)
        raw_labels = [value.strip() for value in _column(rows, label_column, where)]
        for (number, _), value in zip(rows, raw_labels):
            if not value:
                raise DataError(f'{where} line {number} has an empty "{label_column}"')
        classes = _sort_classes(set(raw_labels))
        index = {c: i for i, c in enumerate(classes)}
        return LabelledTexts(tuple(texts), tuple(index[v] for v in raw_labels), tuple(classes))
    if shape == "pairs":
        need(source_column, target_column)
        languages = tuple(str(r.get("language", "")) for _, r in rows) if "language" in columns else ()
        return Pairs(tuple(_column(rows, source_column, where)), tuple(_column(rows, target_column, where)), languages)
    if shape == "corpus":
        need(text_column)
        return _limit_corpus(Corpus("\n".join(_column(rows, text_column, where)) + "\n"), 0, where)
    raise DataError(f"reading {shape} data is not supported yet (dataset {name})")


def _column(rows: list[tuple[int, dict[str, Any]]], column: str, where: str) -> list[str]:
    values: list[str] = []
    for number, record in rows:
        value = record.get(column)
        if value is None:
            raise DataError(f'{where} line {number} has no value for "{column}"')
        values.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return values


def _sort_classes(labels: set[str]) -> list[str]:
    """Numeric labels sort as numbers (2 before 10), others alphabetically."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)
