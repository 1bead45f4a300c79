"""Real datasets for sequence models: a catalog, safe fetching, readers, splits and batches.

Two halves. The supply chain, :mod:`seqlab.data.fetching`: ``CATALOG`` names the datasets
(``seqlab data list``) and :func:`fetch` puts one in the cache (sha256-checked, written
atomically). The readers on top of it: :func:`load_dataset` reads a name or a user's file as a
:class:`Corpus`, :class:`LabelledTexts` or :class:`Pairs` (``series``, ``images`` and
``vectors`` read the other shapes), and ``splits`` and ``batching`` cut and pad them.
Importing this package does not import torch; batching does when it runs.

>>> data = split_corpus("To be, or not to be", 0.25, 0.0)
>>> data
('To be, or not ', 'to be', '')
"""

from seqlab.data.batching import Batch, bucket_batches, pad_batch
from seqlab.data.fetching import (
    CATALOG,
    SHAPES,
    URL,
    DatasetSpec,
    DebianArchive,
    FetchResult,
    LocalFile,
    PyPIArchive,
    cache_dir,
    fetch,
    fetch_dataset,
    get_spec,
    is_cached,
)
from seqlab.data.readers import (
    Corpus,
    Dataset,
    LabelledTexts,
    Pairs,
    corpus_file,
    joined_datasets,
    load_dataset,
    read_records,
    read_text,
)
from seqlab.data.splits import split_corpus, split_indices

__all__ = [
    "CATALOG",
    "SHAPES",
    "DatasetSpec",
    "fetch",
    "fetch_dataset",
    "get_spec",
    "Corpus",
    "LabelledTexts",
    "Pairs",
    "Dataset",
    "corpus_file",
    "joined_datasets",
    "load_dataset",
    "read_text",
    "read_records",
    "PyPIArchive",
    "DebianArchive",
    "URL",
    "LocalFile",
    "FetchResult",
    "cache_dir",
    "is_cached",
    "split_corpus",
    "split_indices",
    "Batch",
    "pad_batch",
    "bucket_batches",
]
