"""Executing the notebooks takes minutes: those tests run only when asked for with ``-m notebooks``.

Until pyproject's addopts deselects the marker (``-m "not notebooks"``), a plain ``pytest`` would
otherwise execute all twelve notebooks; here they are skipped with the command that runs them.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "notebooks" in (config.getoption("markexpr") or "").replace("not notebooks", ""):
        return
    skip = pytest.mark.skip(reason="executes a notebook (minutes): pytest -m notebooks tests/notebooks")
    for item in items:
        if item.get_closest_marker("notebooks") is not None:
            item.add_marker(skip)
