"""The dataset supply chain: which datasets exist, where their bytes come from, how they are built and cached.

Modules, each importing only the ones listed before it:

* :mod:`.archives`: ``Members`` (member path -> bytes) read out of wheels, tars and .debs, size-capped.
* :mod:`.sources`: ``PyPIArchive``, ``DebianArchive``, ``DebianPackages``, ``URL``, ``URLFiles``,
  ``LocalFile``; each ``retrieve``\\s the artifact or the members a builder needs.
* :mod:`.spec`: ``DatasetSpec``, what a named dataset is.
* :mod:`.cache`: ``fetch_spec``, sha256-checked, atomic, cleaning up after killed fetches.
* :mod:`.builders`: pure ``Members -> bytes`` functions, one module per kind of data.
* :mod:`.catalog`: ``CATALOG``, the literal dict of named datasets, ``get_spec`` and ``fetch``.

Readers of the artifacts (:mod:`seqlab.data.readers`, ``series``, ``images``, ``vectors``) live
one level up; nothing here imports them.

>>> get_spec("co2").shape
'series'
"""

from seqlab.data.fetching.archives import Members, read_members
from seqlab.data.fetching.cache import FetchResult, Log, atomic_write, cache_dir, fetch_spec, is_cached, sha256_bytes
from seqlab.data.fetching.catalog import CATALOG, fetch, fetch_dataset, get_spec
from seqlab.data.fetching.sources import URL, DebianArchive, DebianPackages, LocalFile, PyPIArchive, Source, URLFiles
from seqlab.data.fetching.spec import SHAPES, DatasetSpec, Shape

__all__ = [
    "CATALOG",
    "SHAPES",
    "DatasetSpec",
    "Shape",
    "fetch",
    "fetch_dataset",
    "get_spec",
    "fetch_spec",
    "FetchResult",
    "Log",
    "cache_dir",
    "is_cached",
    "atomic_write",
    "sha256_bytes",
    "Members",
    "read_members",
    "Source",
    "PyPIArchive",
    "DebianArchive",
    "DebianPackages",
    "URL",
    "URLFiles",
    "LocalFile",
]
