"""Experiments: side-by-side comparisons, built-in studies, Optuna sweeps, LR range tests, reports.

- :mod:`seqlab.experiments.space`: ``--vary`` grids, ``--space`` search spaces, ``--budget``
- :mod:`seqlab.experiments.compare`: :func:`compare` trains variants x repeats and reports
- :mod:`seqlab.experiments.studies`: the classic exercises as ready-made comparisons
- :mod:`seqlab.experiments.sweep`: :func:`sweep` with Optuna (TPE, median pruning, shared storage)
- :mod:`seqlab.experiments.lr_find`: :func:`lr_find`, the learning-rate range test
- :mod:`seqlab.experiments.report`: report.md / report.html, ``seqlab report DIR``

Importing this package is cheap: torch, matplotlib and optuna load inside the functions.

>>> from seqlab.experiments import grid
>>> len(grid(["model.cell=rnn,lstm,gru", "train.lr=1e-3,3e-3"]))
6
"""

from __future__ import annotations

from pathlib import Path

from seqlab.errors import ConfigError
from seqlab.experiments.compare import Comparison, compare
from seqlab.experiments.compare import render as render_compare
from seqlab.experiments.lr_find import LRFindResult, lr_find
from seqlab.experiments.lr_find import render as render_lr_find
from seqlab.experiments.report import STUDY_FILE, read_study
from seqlab.experiments.space import Param, Variant, grid, parse_budget, parse_space
from seqlab.experiments.studies import STUDIES, Study, get_study
from seqlab.experiments.sweep import SweepResult, sweep
from seqlab.experiments.sweep import render as render_sweep

__all__ = [
    "compare",
    "Comparison",
    "sweep",
    "SweepResult",
    "lr_find",
    "LRFindResult",
    "render_folder",
    "grid",
    "parse_space",
    "parse_budget",
    "Variant",
    "Param",
    "STUDIES",
    "Study",
    "get_study",
]


def render_folder(folder: str | Path) -> list[Path]:
    """Re-render a report folder (plots, report.md, report.html) from its study.json.

    Here rather than in :mod:`~seqlab.experiments.report`: each renderer imports that module.

    Args:
        folder: written by compare, study, sweep or lr-find.
    """
    renderers = {"compare": render_compare, "sweep": render_sweep, "lr-find": render_lr_find}
    kind = read_study(folder).get("kind")
    if kind not in renderers:
        raise ConfigError(f'{Path(folder) / STUDY_FILE} has an unknown kind "{kind}" (choices: {", ".join(renderers)})')
    return renderers[kind](Path(folder))
