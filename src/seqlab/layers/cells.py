"""The recurrent cells, one time step each, written from the course equations.

These are the ``impl="scratch"`` cells of :mod:`seqlab.layers.recurrent`. They use PyTorch's
parameter layout, so the same weights drive torch's fused kernels:

- ``w_ih`` (G*H, E) and ``w_hh`` (G*H, H) hold the G gate blocks stacked in torch's order
  (LSTM: input, forget, candidate, output; GRU: reset, update, candidate; SimpleRNN: one block);
- ``b_ih`` and ``b_hh`` (G*H,) are two bias vectors (Keras keeps one; their sum is what matters,
  except for the GRU candidate, where ``b_hn`` sits inside the reset gate's product).

The input projection ``x @ w_ih.T + b_ih`` does not depend on the state, so the layer computes it
for all time steps at once and hands each step its slice ``x_proj`` (B, G*H). A step returns the
new state and a dict of everything it computed, by name, for :func:`seqlab.layers.record_gates`.

``h_mask`` is the variational recurrent-dropout mask (B, H) (Gal & Ghahramani, 2016): the same
mask at every step of a sequence, applied to the state that enters the recurrent matmul only.
"""

from __future__ import annotations

import torch
from torch import Tensor

State = tuple[Tensor, ...]


def rnn_step(
    x_proj: Tensor, state: State, w_hh: Tensor, b_hh: Tensor, h_mask: Tensor | None = None
) -> tuple[State, dict[str, Tensor]]:
    """One SimpleRNN step: ``h = tanh(W_ih x + b_ih + W_hh h + b_hh)``.

    Args:
        x_proj: ``x_t @ w_ih.T + b_ih`` (B, H).
        state: ``(h,)`` with h (B, H).
        w_hh: recurrent weights (H, H).
        b_hh: recurrent bias (H,).
        h_mask: recurrent-dropout mask (B, H), or None.

    Returns:
        ``((h,), {"hidden": h})``.

    >>> h = torch.zeros(2, 3)
    >>> (h,), gates = rnn_step(torch.ones(2, 3), (h,), torch.eye(3), torch.zeros(3))
    >>> h.shape, sorted(gates)
    (torch.Size([2, 3]), ['hidden'])
    """
    (h,) = state
    h_in = h if h_mask is None else h * h_mask
    h = torch.tanh(x_proj + h_in @ w_hh.T + b_hh)  # new state  (B, H)
    return (h,), {"hidden": h}


def lstm_step(
    x_proj: Tensor, state: State, w_hh: Tensor, b_hh: Tensor, h_mask: Tensor | None = None
) -> tuple[State, dict[str, Tensor]]:
    """One LSTM step (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    Args:
        x_proj: ``x_t @ w_ih.T + b_ih`` (B, 4H), gate blocks in torch's order i, f, g, o.
        state: ``(h, c)`` each (B, H).
        w_hh: recurrent weights (4H, H).
        b_hh: recurrent bias (4H,).
        h_mask: recurrent-dropout mask (B, H), or None.

    Returns:
        ``((h, c), gates)`` with gates ``input, forget, candidate, output, cell, hidden``.

    >>> h = c = torch.zeros(2, 3)
    >>> (h, c), gates = lstm_step(torch.zeros(2, 12), (h, c), torch.zeros(12, 3), torch.zeros(12))
    >>> float(gates["forget"][0, 0])  # sigmoid(0)
    0.5
    """
    h, c = state
    h_in = h if h_mask is None else h * h_mask
    x_i, x_f, x_g, x_o = x_proj.chunk(4, dim=-1)  # each (B, H)
    h_i, h_f, h_g, h_o = (h_in @ w_hh.T + b_hh).chunk(4, dim=-1)  # each (B, H)
    i = torch.sigmoid(x_i + h_i)  # input gate: how much of the candidate to write  (B, H)
    f = torch.sigmoid(x_f + h_f)  # forget gate: how much of the old cell to keep    (B, H)
    g = torch.tanh(x_g + h_g)  # candidate cell content                           (B, H)
    o = torch.sigmoid(x_o + h_o)  # output gate: how much of the cell to show        (B, H)
    c = f * c + i * g  # new cell state                                   (B, H)
    h = o * torch.tanh(c)  # new hidden state                                 (B, H)
    return (h, c), {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": h}


def gru_step(
    x_proj: Tensor, state: State, w_hh: Tensor, b_hh: Tensor, h_mask: Tensor | None = None
) -> tuple[State, dict[str, Tensor]]:
    """One GRU step (Cho et al. 2014), reset applied after the hidden matmul as torch does.

    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``; Keras calls this ``reset_after=True``
    (its TF2 default), the original paper applies ``r`` to ``h`` before the matmul.

    Args:
        x_proj: ``x_t @ w_ih.T + b_ih`` (B, 3H), gate blocks in torch's order r, z, n.
        state: ``(h,)`` with h (B, H).
        w_hh: recurrent weights (3H, H).
        b_hh: recurrent bias (3H,).
        h_mask: recurrent-dropout mask (B, H), or None.

    Returns:
        ``((h,), gates)`` with gates ``reset, update, candidate, hidden``.

    >>> h = torch.ones(2, 3)
    >>> (h,), gates = gru_step(torch.zeros(2, 9), (h,), torch.zeros(9, 3), torch.zeros(9))
    >>> h[0].tolist()  # z = 0.5, n = 0: half of the old state survives
    [0.5, 0.5, 0.5]
    """
    (h,) = state
    h_in = h if h_mask is None else h * h_mask
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)  # each (B, H)
    h_r, h_z, h_n = (h_in @ w_hh.T + b_hh).chunk(3, dim=-1)  # each (B, H)
    r = torch.sigmoid(x_r + h_r)  # reset gate: how much of the past feeds the candidate  (B, H)
    z = torch.sigmoid(x_z + h_z)  # update gate: how much of the old state to keep        (B, H)
    n = torch.tanh(x_n + r * h_n)  # candidate state                                       (B, H)
    h = (1 - z) * n + z * h  # new state                                             (B, H)
    return (h,), {"reset": r, "update": z, "candidate": n, "hidden": h}


# cell name -> (step function, number of gate blocks G in w_ih / w_hh)
CELLS = {
    "rnn": (rnn_step, 1),
    "lstm": (lstm_step, 4),
    "gru": (gru_step, 3),
}

__all__ = ["rnn_step", "lstm_step", "gru_step", "CELLS"]
