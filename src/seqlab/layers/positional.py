"""Position encodings for attention models, which otherwise cannot tell token order.

* :class:`SinusoidalPositions` (Vaswani et al. 2017, section 3.5), fixed:
  ``PE(p, 2i) = sin(p / 10000^(2i/E))``, ``PE(p, 2i+1) = cos(p / 10000^(2i/E))``;
* :class:`LearnedPositions`, one trained vector per position (GPT-2).

Both are called as ``positions(x (B, T, E), offset=0)`` and return ``x`` plus the encodings of
positions ``offset .. offset+T-1`` (the offset is how many tokens a KV cache already holds).

>>> import torch
>>> pe = SinusoidalPositions(4, max_len=10)
>>> pe(torch.zeros(1, 2, 4))[0, 0].tolist()  # position 0: sin 0 = 0, cos 0 = 1
[0.0, 1.0, 0.0, 1.0]
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, DataError, unknown_choice


def sinusoidal_table(max_len: int, embed_dim: int) -> Tensor:
    """The (max_len, E) sinusoid table.

    >>> sinusoidal_table(3, 2)[:, 0].tolist()[:2]
    [0.0, 0.8414709568023682]
    """
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    rate = torch.exp(torch.arange(0, embed_dim, 2, dtype=torch.float32) * (-math.log(10000.0) / embed_dim))
    table = torch.zeros(max_len, embed_dim)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: embed_dim // 2])
    return table


class SinusoidalPositions(nn.Module):
    """Add fixed sinusoidal position encodings (no parameters; any length up to ``max_len``).

    Args:
        embed_dim: E.
        max_len: the longest sequence (the table is a buffer, not saved with the weights).

    >>> SinusoidalPositions(8, max_len=16)(torch.zeros(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    table: Tensor  # (max_len, E), a buffer

    def __init__(self, embed_dim: int, *, max_len: int = 4096) -> None:
        super().__init__()
        self.max_len = max_len
        self.register_buffer("table", sinusoidal_table(max_len, embed_dim), persistent=False)

    def forward(self, x: Tensor, offset: int | Tensor = 0) -> Tensor:
        """Return x (B, T, E) plus the encodings of positions offset .. offset+T-1 (``offset`` may be
        a (B,) tensor: one per row, as in a batch of requests that have read different lengths)."""
        if isinstance(offset, Tensor):
            return x + self.table[_row_positions(offset, x.shape[1], self.max_len)]  # (B, T, E)
        end = offset + x.shape[1]
        if end > self.max_len:
            raise DataError(f"sequence of {end} positions is longer than the model's max length {self.max_len}")
        return x + self.table[offset:end]


class LearnedPositions(nn.Module):
    """Add a learned embedding of each position 0 .. max_len-1.

    >>> LearnedPositions(8, max_len=16)(torch.zeros(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, embed_dim: int, *, max_len: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.embed = nn.Embedding(max_len, embed_dim)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, x: Tensor, offset: int | Tensor = 0) -> Tensor:
        """Return x (B, T, E) plus the learned vectors of positions offset .. offset+T-1 (``offset``
        may be a (B,) tensor, one per row)."""
        if isinstance(offset, Tensor):
            return x + self.embed(_row_positions(offset, x.shape[1], self.max_len))  # (B, T, E)
        end = offset + x.shape[1]
        if end > self.max_len:
            raise DataError(f"sequence of {end} positions is longer than the model's max length {self.max_len}")
        return x + self.embed(torch.arange(offset, end, device=x.device))


def _row_positions(offset: Tensor, length: int, max_len: int) -> Tensor:
    """Positions (B, T): row b holds offset[b] .. offset[b]+T-1.

    >>> _row_positions(torch.tensor([0, 3]), 2, 8).tolist()
    [[0, 1], [3, 4]]
    """
    positions = offset.to(torch.long).unsqueeze(1) + torch.arange(length, device=offset.device)  # (B, T)
    end = int(positions.max()) + 1 if positions.numel() else 0
    if end > max_len:
        raise DataError(f"sequence of {end} positions is longer than the model's max length {max_len}")
    return positions


POSITIONS = {"sinusoidal": SinusoidalPositions, "learned": LearnedPositions}


def build_positions(name: str, embed_dim: int, *, max_len: int) -> nn.Module:
    """The position encoding called ``name`` (``sinusoidal`` or ``learned``).

    >>> type(build_positions("learned", 8, max_len=4)).__name__
    'LearnedPositions'
    """
    if name not in POSITIONS:
        raise ConfigError(unknown_choice("model.positions", name, list(POSITIONS)))
    return POSITIONS[name](embed_dim, max_len=max_len)


__all__ = ["sinusoidal_table", "SinusoidalPositions", "LearnedPositions", "POSITIONS", "build_positions"]
