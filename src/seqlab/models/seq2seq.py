"""Recurrent encoder-decoder (Sutskever et al. 2014; Cho et al. 2014), with or without attention.

The encoder (GRU or LSTM, optionally bidirectional) reads the source; its final state, passed
through a ``tanh`` bridge when the sizes differ (bidirectional), starts the decoder, which
reads ``BOS y_1 ... y_{T-1}`` and scores ``y_1 ... y_T EOS``. Three decoders:

* ``attention="none"``: ``s_t = RNN(emb(y_{t-1}), s_{t-1})``, ``logits = W s_t``; the whole
  source must squeeze through the final encoder state (the baseline).
* ``"bahdanau"`` (Bahdanau et al. 2015): ``c_t = attn(s_{t-1}, h_1..h_S)``,
  ``s_t = RNN([emb(y_{t-1}); c_t], s_{t-1})``, ``logits = W [s_t; c_t]``.
* ``"luong-dot" / "luong-general" / "luong-concat"`` (Luong et al. 2015):
  ``s_t = RNN(emb(y_{t-1}), s_{t-1})``, ``c_t = attn(s_t, h)``,
  ``h~_t = tanh(W_c [c_t; s_t])``, ``logits = W h~_t``.

Teacher forcing: with ``teacher_forcing=1`` the decoder reads the true previous token (the
Luong and no-attention decoders then run over the whole target in one fused call); below 1
each row reads its own previous prediction with probability ``1 - teacher_forcing`` at each
step (scheduled sampling, Bengio et al. 2015).

>>> import torch
>>> model = RecurrentSeq2Seq(30, cell="gru", embed_dim=8, hidden_size=16, attention="bahdanau")
>>> src, mask = torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([[True] * 3, [True, True, False]])
>>> out = model(src, mask, torch.tensor([[2, 10], [2, 11]]))
>>> out.logits.shape, out.attention.shape, out.attention[1, :, 2].tolist()
(torch.Size([2, 2, 30]), torch.Size([2, 2, 3]), [0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, unknown_choice
from seqlab.layers import GRU, LSTM, Bidirectional, Dropout
from seqlab.layers.attention import ATTENTIONS, build_attention
from seqlab.models.transformer import Seq2SeqOutput, pad_to

ENCODERS = {"gru": GRU, "lstm": LSTM}
DECODERS = {"gru": nn.GRU, "lstm": nn.LSTM}
ATTENTION_CHOICES = ("none", *ATTENTIONS)


class Encoder(nn.Module):
    """Embedding -> (bidirectional) GRU/LSTM over the source, padding masked.

    Returns the outputs (B, S, K) with K = H or 2H, and the final state as a tuple of
    (num_layers, B, K) tensors (``(h,)`` for GRU, ``(h, c)`` for LSTM), directions concatenated.

    >>> enc = Encoder(20, cell="lstm", embed_dim=4, hidden_size=6, bidirectional=True)
    >>> out, (h, c) = enc(torch.tensor([[3, 4, 0]]), torch.tensor([[True, True, False]]))
    >>> out.shape, h.shape
    (torch.Size([1, 3, 12]), torch.Size([1, 1, 12]))
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        cell: str,
        embed_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.cell, self.num_layers, self.bidirectional = cell, num_layers, bidirectional
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.drop = Dropout(dropout)
        layer = ENCODERS[cell](
            embed_dim,
            hidden_size,
            num_layers=num_layers,
            return_sequences=True,
            return_state=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.rnn = Bidirectional(layer, merge_mode="concat") if bidirectional else layer
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, src: Tensor, mask: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Read (B, S) ids with mask (B, S)."""
        outputs, *states = self.rnn(self.drop(self.embed(src)), mask)  # (B, S, K)
        states = [s if s.dim() == 3 else s.unsqueeze(0) for s in states]  # each (L, B, H)
        parts = 2 if self.cell == "lstm" else 1
        if self.bidirectional:
            states = [torch.cat([fw, bw], dim=-1) for fw, bw in zip(states[:parts], states[parts:])]
        return outputs, tuple(states)


@dataclass
class DecoderState:
    """Where a recurrent decoder is: its hidden state and the encoded source.

    Args:
        hidden: ``h`` (L, B, H) for GRU or ``(h, c)`` for LSTM.
        keys: encoder outputs (B, S, K).
        mask: source mask (B, S).
        projected: the attention's precomputed keys (B, S, A), or None.
    """

    hidden: Any
    keys: Tensor
    mask: Tensor
    projected: Tensor | None

    def select(self, index: Tensor) -> DecoderState:
        """The state of the batch rows in ``index`` (beam search)."""
        hidden = (
            tuple(h.index_select(1, index) for h in self.hidden)
            if isinstance(self.hidden, tuple)
            else self.hidden.index_select(1, index)
        )
        projected = None if self.projected is None else self.projected.index_select(0, index)
        return DecoderState(hidden, self.keys.index_select(0, index), self.mask.index_select(0, index), projected)

    @staticmethod
    def merge(states: Sequence[DecoderState]) -> DecoderState:
        """One state holding the rows of ``states`` in order; sources of different lengths are
        right-padded (zeros, masked out)."""
        source = max(s.mask.shape[1] for s in states)

        def padded(tensor: Tensor, value: float | bool = 0) -> Tensor:
            return pad_to(tensor, source, 1, left=False, value=value)

        first = states[0].hidden
        hidden = (
            tuple(torch.cat(parts, dim=1) for parts in zip(*(s.hidden for s in states)))
            if isinstance(first, tuple)
            else torch.cat([s.hidden for s in states], dim=1)
        )
        keys = torch.cat([padded(s.keys) for s in states])
        mask = torch.cat([padded(s.mask, False) for s in states])
        projected = None if states[0].projected is None else torch.cat([padded(s.projected) for s in states])  # type: ignore[arg-type]
        return DecoderState(hidden, keys, mask, projected)


class RecurrentSeq2Seq(nn.Module):
    """Encoder-decoder over one shared vocabulary, with a choice of attention.

    Args:
        vocab_size: V (source and target share the tokenizer).
        cell: ``"gru"`` or ``"lstm"``.
        embed_dim: E.
        hidden_size: H of the encoder (each direction) and of the decoder.
        num_layers: stacked layers in the encoder and in the decoder.
        bidirectional: a bidirectional encoder (its final states are bridged to H).
        attention: ``"none"``, ``"bahdanau"``, ``"luong-dot"``, ``"luong-general"`` or ``"luong-concat"``.
        dropout: on embeddings, between layers and before the head.

    ``forward(src, src_mask, tgt_in, teacher_forcing=1.0)`` -> :class:`Seq2SeqOutput`;
    ``start(src, src_mask)`` -> state, then ``step(ids (B, 1), state)`` for :mod:`seqlab.decode`.
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        cell: str = "gru",
        embed_dim: int = 64,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        attention: str = "bahdanau",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in ENCODERS:
            raise ConfigError(unknown_choice("model.cell for seq2seq", cell, list(ENCODERS)))
        if attention not in ATTENTION_CHOICES:
            raise ConfigError(unknown_choice("model.attention", attention, list(ATTENTION_CHOICES)))
        self.cell, self.attention_name = cell, attention
        self.encoder = Encoder(
            vocab_size,
            cell=cell,
            embed_dim=embed_dim,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
        )
        K = self.encoder.output_size
        self.bridge = nn.Linear(K, hidden_size) if hidden_size != K else None
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.drop = Dropout(dropout)
        bahdanau = attention == "bahdanau"
        self.rnn = DECODERS[cell](
            embed_dim + (K if bahdanau else 0),
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.attention = build_attention(attention, hidden_size, K) if attention != "none" else None
        self.combine = nn.Linear(K + hidden_size, hidden_size) if attention.startswith("luong") else None
        self.head = nn.Linear(hidden_size + (K if bahdanau else 0), vocab_size)

    # -- encoding

    def start(self, src: Tensor, src_mask: Tensor) -> DecoderState:
        """Encode (B, S) source ids and return the decoder's starting state."""
        keys, states = self.encoder(src, src_mask)
        if self.bridge is not None:
            states = tuple(torch.tanh(self.bridge(s)) for s in states)  # (L, B, H)
        hidden = states if self.cell == "lstm" else states[0]
        projected = self.attention.precompute(keys) if hasattr(self.attention, "precompute") else None
        return DecoderState(hidden, keys, src_mask, projected)

    # -- decoding

    def _attend(self, query: Tensor, state: DecoderState) -> tuple[Tensor, Tensor]:
        assert self.attention is not None
        if state.projected is not None:
            return self.attention(query, state.keys, state.mask, projected=state.projected)
        return self.attention(query, state.keys, state.mask)

    def _top_hidden(self, hidden: Any) -> Tensor:
        h = hidden[0] if isinstance(hidden, tuple) else hidden
        return h[-1].unsqueeze(1)  # (B, 1, H)

    def _decode(self, ids: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """Read (B, T) target ids; Bahdanau's decoder must go one step at a time (T = 1)."""
        features, state, weights = self._features(ids, state)
        return self.head(self.drop(features)), state, weights  # (B, T, V)

    def _features(self, ids: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """What the head reads at each of (B, T) target positions, the new state, the attention weights."""
        x = self.drop(self.embed(ids))  # (B, T, E)
        weights = None
        if self.attention_name == "bahdanau":
            assert ids.shape[1] == 1
            context, weights = self._attend(self._top_hidden(state.hidden), state)  # (B, 1, K), (B, 1, S)
            out, hidden = self.rnn(torch.cat([x, context], dim=-1), state.hidden)  # (B, 1, H)
            features = torch.cat([out, context], dim=-1)
        else:
            out, hidden = self.rnn(x, state.hidden)  # (B, T, H)
            features = out
            if self.combine is not None:
                context, weights = self._attend(out, state)  # (B, T, K), (B, T, S)
                features = torch.tanh(self.combine(torch.cat([context, out], dim=-1)))  # (B, T, H)
        return features, DecoderState(hidden, state.keys, state.mask, state.projected), weights

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor,
        tgt_in: Tensor,
        *,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
        need_weights: bool = True,
    ) -> Seq2SeqOutput:
        """Score (B, T) decoder inputs ``tgt_in`` (BOS + target without its last token).

        Args:
            src: (B, S) source ids; src_mask: (B, S) True on real tokens.
            tgt_in: (B, T) decoder inputs under teacher forcing.
            teacher_forcing: probability of reading the true previous token (1 = always).
            generator: the random source of the teacher-forcing coin flips.
            need_weights: accepted for the seq2seq contract; a recurrent decoder's attention
                weights come with its context vectors, so they are always returned.
        """
        state = self.start(src, src_mask)
        parallel = teacher_forcing >= 1.0 and self.attention_name != "bahdanau"
        if parallel:
            logits, _, weights = self._decode(tgt_in, state)
            return Seq2SeqOutput(logits, weights)
        steps, all_weights = [], []
        token = tgt_in[:, :1]
        for t in range(tgt_in.shape[1]):
            if teacher_forcing >= 1.0:  # fully teacher-forced: one head matmul over all steps afterwards
                features, state, weights = self._features(token, state)
                steps.append(features)
            else:
                logits, state, weights = self._decode(token, state)
                steps.append(logits)
            if weights is not None:
                all_weights.append(weights)
            if t + 1 < tgt_in.shape[1]:
                token = tgt_in[:, t + 1 : t + 2]
                if teacher_forcing < 1.0:
                    coin = torch.rand(token.shape, generator=generator) < teacher_forcing  # (B, 1)
                    token = torch.where(coin, token, logits.argmax(-1).detach())
        outputs = torch.cat(steps, dim=1)
        logits = self.head(self.drop(outputs)) if teacher_forcing >= 1.0 else outputs  # (B, T, V)
        return Seq2SeqOutput(logits, torch.cat(all_weights, dim=1) if all_weights else None)

    def init_state(self, batch_size: int) -> Any:
        """Decoding needs a source: use :meth:`start`."""
        raise TypeError("a seq2seq model decodes from a source: call start(src, src_mask) for the state")

    def step(self, ids: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """Read (B, T) target ids after ``state`` (one at a time for Bahdanau); returns logits (B, T, V)."""
        if ids.shape[1] > 1 and self.attention_name == "bahdanau":
            outputs = []
            for t in range(ids.shape[1]):
                logits, state, _ = self._decode(ids[:, t : t + 1], state)
                outputs.append(logits)
            return torch.cat(outputs, dim=1), state
        logits, state, _ = self._decode(ids, state)
        return logits, state

    def reorder_state(self, state: DecoderState, index: Tensor) -> DecoderState:
        """Keep the batch rows in ``index`` (beam search, the decoding engine)."""
        return state.select(index)

    def merge_states(self, states: Sequence[DecoderState]) -> DecoderState:
        """One state holding the rows of ``states`` in order (requests joining the engine's batch)."""
        return DecoderState.merge(states)


__all__ = ["RecurrentSeq2Seq", "Encoder", "DecoderState", "ATTENTION_CHOICES"]
