"""``Conv1D``: a Keras-style convolution front-end over (B, T, E) with 'same' padding and masking.

Padding tokens are zeroed before the convolution and the outputs at padded positions are zeroed
after it, so a real token near the edge of a sequence sees exactly the zeros that 'same' padding
would give it, whether the batch was pre- or post-padded: padding never leaks into real positions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError, DataError, unknown_choice

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "gelu": F.gelu,
    "linear": lambda x: x,
}


class Conv1D(nn.Module):
    """1-D convolution along time, (B, T, E) -> (B, T, filters), 'same' padding, mask-aware.

    Like Keras's ``Conv1D(filters, kernel_size, padding="same")``: an even kernel puts the extra
    zero after the sequence. Parameters are ``weight`` (filters, E, kernel_size) and ``bias``
    (filters,), as in ``torch.nn.Conv1d``.

    Args:
        in_channels: E, the size of each input step.
        filters: the number of output channels.
        kernel_size: the window, in time steps.
        activation: ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"gelu"`` or ``"linear"``.

    >>> conv = Conv1D(8, 4, 3)
    >>> x, mask = torch.randn(2, 6, 8), torch.tensor([[True] * 6, [False] * 2 + [True] * 4])
    >>> y = conv(x, mask)
    >>> y.shape, bool((y[1, :2] == 0).all())
    (torch.Size([2, 6, 4]), True)
    """

    _summary_leaf: ClassVar[bool] = True

    def __init__(self, in_channels: int, filters: int, kernel_size: int, *, activation: str = "relu") -> None:
        super().__init__()
        for arg, value in (("in_channels", in_channels), ("filters", filters), ("kernel_size", kernel_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"Conv1D {arg} must be a positive integer (got {value!r})")
        if activation not in ACTIVATIONS:
            raise ConfigError(unknown_choice("Conv1D activation", activation, list(ACTIVATIONS)))
        self.in_channels = in_channels
        self.filters = filters
        self.kernel_size = kernel_size
        self.activation = activation
        self.weight = nn.Parameter(torch.empty(filters, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.empty(filters))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise as ``torch.nn.Conv1d`` does."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size)
        nn.init.uniform_(self.bias, -bound, bound)

    @property
    def output_size(self) -> int:
        """The size of the output's last axis: ``filters``."""
        return self.filters

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.filters}, kernel_size={self.kernel_size}, activation={self.activation!r}"

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Convolve ``x`` (B, T, E) -> (B, T, filters); ``mask`` (B, T) True on real tokens."""
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise DataError(f"Conv1D expects x of shape (B, T, {self.in_channels}) (got {tuple(x.shape)})")
        if mask is not None:
            if tuple(mask.shape) != tuple(x.shape[:2]):
                raise DataError(f"Conv1D mask must have shape (B, T) = {tuple(x.shape[:2])} (got {tuple(mask.shape)})")
            x = x.masked_fill(~mask[:, :, None], 0.0)
        before = (self.kernel_size - 1) // 2
        after = self.kernel_size - 1 - before
        x = F.pad(x.transpose(1, 2), (before, after))  # (B, E, before + T + after)
        y = F.conv1d(x, self.weight, self.bias).transpose(1, 2)  # (B, T, filters)
        y = ACTIVATIONS[self.activation](y)
        if mask is not None:
            y = y.masked_fill(~mask[:, :, None], 0.0)
        return y


__all__ = ["Conv1D"]
