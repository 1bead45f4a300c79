"""A recurrent language model: embedding -> stacked RNN/LSTM/GRU -> linear head over the vocabulary.

The classic char-rnn shape (Karpathy 2015; Graves 2013, "Generating Sequences With Recurrent
Neural Networks"): at each position the model reads one token and predicts the next, so
``logits[:, t]`` scores token ``t + 1``. Generation carries the recurrent state forward one token
at a time (see :mod:`seqlab.decode`), so every new token costs one step.

>>> import torch
>>> lm = RecurrentLM(vocab_size=50, cell="gru", embed_dim=8, hidden_size=16)
>>> logits, state = lm(torch.randint(1, 50, (2, 7)))
>>> logits.shape
torch.Size([2, 7, 50])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from seqlab.layers import GRU, LSTM, Dropout, SimpleRNN

RECURRENT = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


class RecurrentLM(nn.Module):
    """Next-token model over ids.

    Args:
        vocab_size: V, number of token ids (PAD = 0 included).
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        embed_dim: E.
        hidden_size: H.
        num_layers: stacked recurrent layers.
        dropout: on the embeddings, between layers and before the head.
        recurrent_dropout: variational dropout on the hidden state (scratch kernels only).
        impl: ``"fused"`` (torch kernels) or ``"scratch"`` (the course equations, records gates).
        tie_weights: share the embedding and output matrices (Press & Wolf 2017); needs E == H.
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        cell: str = "lstm",
        embed_dim: int = 64,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        impl: str = "fused",
        tie_weights: bool = False,
    ) -> None:
        super().__init__()
        if tie_weights and embed_dim != hidden_size:
            raise ValueError(f"tie_weights needs embed_dim == hidden_size (got {embed_dim} and {hidden_size})")
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.drop = Dropout(dropout)
        self.rnn = RECURRENT[cell](
            embed_dim,
            hidden_size,
            num_layers=num_layers,
            return_sequences=True,
            return_state=True,
            dropout=dropout if num_layers > 1 else 0.0,
            recurrent_dropout=recurrent_dropout,
            impl=impl,
        )
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embed.weight

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Score the next token at every position.

        Args:
            ids: (B, T) token ids.
            state: the recurrent state from a previous call, or None to start fresh.

        Returns:
            logits (B, T, V) and the new state.
        """
        x = self.drop(self.embed(ids))  # (B, T, E)
        out, *state = self.rnn(x, initial_state=state)  # (B, T, H), final state(s)
        logits = self.head(self.drop(out))  # (B, T, V)
        return logits, state

    def init_state(self, batch_size: int) -> Any:
        """A fresh state (None: the layers start from zeros)."""
        return None

    def step(self, ids: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Read (B, T) new tokens after ``state``; see :mod:`seqlab.decode`."""
        return self.forward(ids, state)

    def reorder_state(self, state: Any, index: Tensor) -> Any:
        """Keep the batch rows in ``index`` (the decoding engine drops finished requests this way)."""
        rows = 0 if self.rnn.num_layers == 1 else 1  # (B, H) for one layer, (L, B, H) stacked
        return None if state is None else [part.index_select(rows, index) for part in state]

    def merge_states(self, states: Sequence[Any]) -> Any:
        """One state holding the rows of ``states`` in order (requests joining the engine's batch)."""
        rows = 0 if self.rnn.num_layers == 1 else 1
        return [torch.cat(parts, dim=rows) for parts in zip(*states)]


__all__ = ["RecurrentLM", "RECURRENT"]
