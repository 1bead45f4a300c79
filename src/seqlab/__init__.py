"""seqlab: the sequence and generative models every deep-learning course teaches, on real data.

Importing seqlab is cheap: torch and the rest load on first use of ``seqlab.load`` or
``seqlab.summary`` (module-level ``__getattr__``, PEP 562).

>>> import seqlab
>>> seqlab.__version__
'0.1.0'
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load", "summary"]

# public name -> (module, attribute), imported on first access
_LAZY = {
    "load": ("seqlab.run", "load"),
    "summary": ("seqlab.layers.summary", "summary"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
