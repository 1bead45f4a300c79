"""seqlab: the sequence and generative models every deep-learning course teaches, on real data.

The Python API is three verbs, named as users say them:

* ``seqlab.load_config(name, overrides=[...])``: a recipe (or a TOML file) as a validated config;
* ``seqlab.train(config)``: train it into a run directory and get the trained :class:`~seqlab.run.Run`;
* ``seqlab.load(path)``: a finished run back, to ``predict``, ``sample``, ``evaluate``...

plus ``seqlab.summary(model, example)`` for a Keras-style layer table.

Importing seqlab is cheap: torch and the rest load on first use of one of these names
(module-level ``__getattr__``, PEP 562; the one import by name in the package).

>>> import seqlab
>>> seqlab.__version__
'0.1.0'
>>> seqlab.load_config("shakespeare-char", overrides=["train.max_steps=10"]).train.max_steps
10
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load", "load_config", "summary", "train"]

# public name -> (module, attribute), imported on first access
_LAZY = {
    "load": ("seqlab.run", "load"),
    "load_config": ("seqlab.config", "load_config"),
    "summary": ("seqlab.layers.summary", "summary"),
    "train": ("seqlab.run", "train"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
