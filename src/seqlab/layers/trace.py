"""Record every gate of every recurrent layer at every step: ``with record_gates(model) as trace``.

Inside the block, every seqlab recurrent layer in ``model`` runs its scratch cells (the course
equations, same weights, same results as the fused kernels to 1e-5) and writes what they compute
into the trace, aligned with the input positions: ``trace[path][gate]`` is (B, T, H), where
position t holds the gate values computed when the layer read token t (also for
``go_backwards`` layers and the backward half of a ``Bidirectional``), and zeros at padded
positions.

Paths are module paths as in ``model.named_modules()`` (the model itself, when it is a layer, is
named after its class); a stacked layer adds ``.l0``, ``.l1``, ... for each of its layers. Each
forward call inside the block appends along T, so decoding one token at a time records the whole
generated sequence (a call with a different batch size starts that path afresh).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError


class GateTrace:
    """What :func:`record_gates` recorded: ``{layer path -> {gate name -> tensor (B, T, H)}}``.

    Gate names: LSTM ``input, forget, candidate, output, cell, hidden``; GRU ``reset, update,
    candidate, hidden``; SimpleRNN ``hidden``. ``hidden_norms[path]`` is the L2 norm of the hidden
    state at each position (B, T), zero at padded positions.

    >>> trace = GateTrace()
    >>> trace.add("lstm", {"forget": torch.ones(1, 2, 3)}, torch.ones(1, 2))
    >>> list(trace), trace["lstm"]["forget"].shape
    (['lstm'], torch.Size([1, 2, 3]))
    """

    def __init__(self) -> None:
        self.gates: dict[str, dict[str, Tensor]] = {}
        self.hidden_norms: dict[str, Tensor] = {}

    def add(self, path: str, gates: dict[str, Tensor], hidden_norms: Tensor) -> None:
        """Append one call's gates (each (B, T, H)) and hidden-state norms (B, T) under ``path``."""
        gates = {name: value.detach().cpu() for name, value in gates.items()}
        hidden_norms = hidden_norms.detach().cpu()
        old = self.gates.get(path)
        if old is not None and next(iter(old.values())).shape[0] == hidden_norms.shape[0]:
            gates = {name: torch.cat([old[name], value], dim=1) for name, value in gates.items()}
            hidden_norms = torch.cat([self.hidden_norms[path], hidden_norms], dim=1)
        self.gates[path] = gates
        self.hidden_norms[path] = hidden_norms

    def __getitem__(self, path: str) -> dict[str, Tensor]:
        if path not in self.gates:
            raise KeyError(f"no recorded layer {path!r}; recorded: {', '.join(self.gates) or 'none'}")
        return self.gates[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.gates)

    def __len__(self) -> int:
        return len(self.gates)

    def __contains__(self, path: object) -> bool:
        return path in self.gates

    def keys(self):
        """The recorded layer paths."""
        return self.gates.keys()

    def items(self):
        """``(path, {gate name -> tensor})`` pairs."""
        return self.gates.items()

    def __repr__(self) -> str:
        parts = [f"{path}: {sorted(gates)}" for path, gates in self.gates.items()]
        return f"GateTrace({'; '.join(parts)})"


@contextmanager
def record_gates(module: nn.Module) -> Iterator[GateTrace]:
    """Record the gates of every seqlab recurrent layer inside ``module`` while the block runs.

    Args:
        module: a seqlab recurrent layer, a ``Bidirectional``, or any model containing them.

    Yields:
        The :class:`GateTrace`, filled as the model runs.

    >>> from seqlab.layers import LSTM
    >>> layer = LSTM(4, 3)
    >>> with record_gates(layer) as trace:
    ...     _ = layer(torch.randn(2, 5, 4))
    >>> trace["LSTM"]["forget"].shape, trace.hidden_norms["LSTM"].shape
    (torch.Size([2, 5, 3]), torch.Size([2, 5]))
    """
    layers = [(path, m) for path, m in module.named_modules() if hasattr(m, "_attach_trace")]
    if not layers:
        raise ConfigError(
            f"record_gates found no seqlab recurrent layer (SimpleRNN, LSTM, GRU) in {type(module).__name__}; "
            "gates can only be recorded from seqlab.layers recurrent layers"
        )
    trace = GateTrace()
    for path, layer in layers:
        layer._attach_trace(trace, path or type(layer).__name__)
    try:
        yield trace
    finally:
        for _, layer in layers:
            layer._attach_trace(None, "")


__all__ = ["GateTrace", "record_gates"]
