"""``Bidirectional(layer)``: read each sequence both ways and merge, as Keras's wrapper does.

The backward half is a fresh twin of ``layer`` (same arguments, its own weights) with
``go_backwards`` flipped. With a mask it reads only the real tokens of each row, last to first,
so padding (pre or post) never reaches either direction. Its outputs are turned back to input
order before merging: position t of the merged output sees the tokens up to t (forward half) and
from t to the end (backward half).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, DataError, unknown_choice
from seqlab.layers.recurrent import RecurrentLayer

MergeMode = Literal["concat", "sum", "mul", "ave"] | None
MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(nn.Module):
    """Run a recurrent layer forwards and a twin of it backwards, and merge their outputs.

    Args:
        layer: a seqlab ``SimpleRNN``, ``LSTM`` or ``GRU``; it becomes ``forward_layer``.
        merge_mode: ``"concat"`` (last axis 2H), ``"sum"``, ``"mul"``, ``"ave"`` (H), or None to
            return the two outputs separately.

    Called as ``bi(x (B, T, E), mask=None, initial_state=None)``. ``initial_state`` is Keras's
    flat list, forward states then backward states: ``[h_f, h_b]`` or, for LSTM,
    ``[h_f, c_f, h_b, c_b]``. Returns the merged output (``(fw, bw)`` when ``merge_mode`` is
    None), followed with ``return_state`` by the forward then the backward final states.

    >>> from seqlab.layers import LSTM
    >>> bi = Bidirectional(LSTM(8, 16, return_sequences=True))
    >>> x, mask = torch.randn(2, 5, 8), torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    >>> bi(x, mask).shape
    torch.Size([2, 5, 32])
    """

    _summary_leaf: ClassVar[bool] = True  # seqlab.summary shows the wrapper as one row

    def __init__(self, layer: RecurrentLayer, *, merge_mode: MergeMode = "concat") -> None:
        super().__init__()
        if not isinstance(layer, RecurrentLayer):
            raise ConfigError(f"Bidirectional wraps a seqlab SimpleRNN, LSTM or GRU (got {type(layer).__name__})")
        if merge_mode not in MERGE_MODES:
            raise ConfigError(unknown_choice("merge_mode", str(merge_mode), ["concat", "sum", "mul", "ave", "None"]))
        self.merge_mode = merge_mode
        self.forward_layer = layer
        config = layer.config()
        config["go_backwards"] = not layer.go_backwards
        reference = next(layer.parameters())
        # fresh weights, as Keras builds the backward twin from the config; same dtype and device
        self.backward_layer = type(layer)(**config).to(device=reference.device, dtype=reference.dtype)

    @property
    def return_sequences(self) -> bool:
        """Whether outputs are (B, T, ...) rather than (B, ...)."""
        return self.forward_layer.return_sequences

    @property
    def return_state(self) -> bool:
        """Whether final states follow the output."""
        return self.forward_layer.return_state

    @property
    def output_size(self) -> int:
        """The size of the merged output's last axis: 2H for concat, else H."""
        units = self.forward_layer.units
        return 2 * units if self.merge_mode == "concat" else units

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"

    def forward(
        self, x: Tensor, mask: Tensor | None = None, initial_state: list[Tensor] | tuple[Tensor, ...] | None = None
    ) -> Tensor | tuple[Tensor, ...]:
        """Run both directions over ``x`` (B, T, E) with ``mask`` (B, T) and merge.

        Args:
            x: inputs (B, T, E).
            mask: (B, T) bool, True on real tokens (contiguous per row), or None.
            initial_state: ``[h_f, h_b]`` or ``[h_f, c_f, h_b, c_b]`` (see the class docstring).
        """
        forward_state, backward_state = self._split_state(initial_state)
        fw = self.forward_layer(x, mask, forward_state)
        bw = self.backward_layer(x, mask, backward_state)
        fw_states: tuple[Tensor, ...] = ()
        bw_states: tuple[Tensor, ...] = ()
        if self.return_state:
            fw, *fw_rest = fw
            bw, *bw_rest = bw
            fw_states, bw_states = tuple(fw_rest), tuple(bw_rest)
        if self.return_sequences:
            bw = bw.flip(1)  # the backward half returns reading order; put it back in input order
        if self.merge_mode is None:
            merged: tuple[Tensor, ...] = (fw, bw)
        elif self.merge_mode == "concat":
            merged = (torch.cat([fw, bw], dim=-1),)
        elif self.merge_mode == "sum":
            merged = (fw + bw,)
        elif self.merge_mode == "mul":
            merged = (fw * bw,)
        else:
            merged = ((fw + bw) / 2,)
        if not self.return_state and len(merged) == 1:
            return merged[0]
        return (*merged, *fw_states, *bw_states)

    def _split_state(self, initial_state) -> tuple[list[Tensor] | None, list[Tensor] | None]:
        if initial_state is None:
            return None, None
        per_direction = 2 if self.forward_layer.cell == "lstm" else 1
        parts = list(initial_state)
        if len(parts) == 2 and not isinstance(parts[0], Tensor):
            return list(parts[0]), list(parts[1])
        if len(parts) != 2 * per_direction or not all(isinstance(p, Tensor) for p in parts):
            wanted = "[h_f, c_f, h_b, c_b]" if per_direction == 2 else "[h_f, h_b]"
            raise DataError(f"Bidirectional initial_state must be {wanted} (got {len(parts)} items)")
        return parts[:per_direction], parts[per_direction:]


__all__ = ["Bidirectional"]
