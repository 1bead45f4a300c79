"""Shared fixtures: run the CLI in-process and capture what it prints."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

# wide, plain output so assertions see whole lines
os.environ.setdefault("COLUMNS", "200")
os.environ.setdefault("NO_COLOR", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny test models gain nothing from threads, and threads oversubscribe a busy 2-core machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


_CACHED: dict[str, bool] = {}  # dataset name -> in the cache (hashing a large artifact once per session)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """With SEQLAB_OFFLINE=1, skip what would fetch from a registry instead of letting it fail.

    ``@pytest.mark.network`` marks a test that always fetches (a download, a registry query);
    ``@pytest.mark.network("shakespeare", ...)`` one that reads catalogued datasets, which fetches
    only those not yet in the cache (``$SEQLAB_CACHE``), so offline it runs on a warm cache.
    """
    markers = list(item.iter_markers("network"))
    if not markers or os.environ.get("SEQLAB_OFFLINE") != "1":
        return
    if any(not marker.args for marker in markers):
        pytest.skip("SEQLAB_OFFLINE=1: this test fetches from a registry")
    from seqlab.data.fetching.cache import cache_dir, is_cached
    from seqlab.data.fetching.catalog import get_spec

    for name in (name for marker in markers for name in marker.args if name not in _CACHED):
        _CACHED[name] = is_cached(get_spec(name))
    missing = list(dict.fromkeys(name for marker in markers for name in marker.args if not _CACHED[name]))
    if missing:
        pytest.skip(f"SEQLAB_OFFLINE=1 and {', '.join(missing)} not in the cache {cache_dir()}")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Call ``seqlab ...`` in-process: ``cli("data", "list")`` -> CliResult(code, out, err)."""
    from seqlab.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
