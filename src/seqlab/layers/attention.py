"""Attention: score every source position against a query, softmax, and average the values.

Each module takes queries ``(B, T, Hq)``, keys ``(B, S, Hk)`` and an optional source mask
``(B, S)`` (True on real tokens) and returns ``(context (B, T, Hk), weights (B, T, S))``. The
weights of each query sum to 1 over the real source positions and are exactly 0 on padding.
A recurrent decoder calls them with T = 1, one step at a time; Luong attention can also score a
whole teacher-forced target at once.

===================  ============================================  ===========================
class                score(q, k)                                   paper
===================  ============================================  ===========================
BahdanauAttention    v^T tanh(W_q q + W_k k)   (additive, concat)  Bahdanau et al. 2015
LuongDotAttention    q^T k                                         Luong et al. 2015
LuongGeneralAttention q^T W k                                      Luong et al. 2015
LuongConcatAttention v^T tanh(W [q; k])                            Luong et al. 2015
MultiHeadAttention   softmax(Q K^T / sqrt(d)) V, per head          Vaswani et al. 2017
===================  ============================================  ===========================

>>> import torch
>>> attn = LuongGeneralAttention(8, 6)
>>> mask = torch.tensor([[True, True, False]])
>>> context, weights = attn(torch.randn(1, 2, 8), torch.randn(1, 3, 6), mask)
>>> context.shape, weights.shape, weights[0, :, 2].tolist()
(torch.Size([1, 2, 6]), torch.Size([1, 2, 3]), [0.0, 0.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from seqlab.errors import ConfigError, unknown_choice
from seqlab.layers.dropout import Dropout


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last axis that gives exactly 0 where ``mask`` is False.

    Args:
        scores: (..., S) attention scores.
        mask: broadcastable to ``scores``, True on positions that may be attended; None = all.

    A row with no allowed position gets all-zero weights instead of NaN.

    >>> masked_softmax(torch.tensor([[1.0, 1.0, 9.0]]), torch.tensor([[True, True, False]]))
    tensor([[0.5000, 0.5000, 0.0000]])
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights.nan_to_num(0.0)  # all -inf rows (no real token) -> zeros


def _source_mask(mask: Tensor | None) -> Tensor | None:
    return None if mask is None else mask.unsqueeze(1)  # (B, S) -> (B, 1, S), shared by all T queries


class BahdanauAttention(nn.Module):
    """Additive (concat) attention: ``score(q, k) = v^T tanh(W_q q + W_k k)`` (Bahdanau et al. 2015).

    Args:
        query_size: Hq, the decoder state size.
        key_size: Hk, the encoder output size.
        attn_size: the size of the hidden layer inside the score (default Hq).

    ``precompute(keys)`` returns ``W_k k`` once per source so a step-by-step decoder does not
    redo it at every step; pass it back as ``projected``.

    >>> attn = BahdanauAttention(4, 6)
    >>> c, w = attn(torch.randn(2, 1, 4), torch.randn(2, 5, 6))
    >>> c.shape, torch.allclose(w.sum(-1), torch.ones(2, 1))
    (torch.Size([2, 1, 6]), True)
    """

    def __init__(self, query_size: int, key_size: int, *, attn_size: int = 0) -> None:
        super().__init__()
        attn_size = attn_size or query_size
        self.query_proj = nn.Linear(query_size, attn_size, bias=False)
        self.key_proj = nn.Linear(key_size, attn_size)
        self.v = nn.Linear(attn_size, 1, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        """``W_k k`` for every source position: (B, S, A)."""
        return self.key_proj(keys)

    def forward(
        self, query: Tensor, keys: Tensor, mask: Tensor | None = None, *, projected: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Attend from (B, T, Hq) queries over (B, S, Hk) keys; returns context (B, T, Hk), weights (B, T, S)."""
        projected = self.key_proj(keys) if projected is None else projected  # (B, S, A)
        hidden = torch.tanh(self.query_proj(query).unsqueeze(2) + projected.unsqueeze(1))  # (B, T, S, A)
        scores = self.v(hidden).squeeze(-1)  # (B, T, S)
        weights = masked_softmax(scores, _source_mask(mask))
        return weights @ keys, weights


class LuongDotAttention(nn.Module):
    """Dot attention: ``score(q, k) = q^T k`` (Luong et al. 2015); needs Hq == Hk.

    >>> c, w = LuongDotAttention(4, 4)(torch.randn(2, 3, 4), torch.randn(2, 5, 4))
    >>> w.shape
    torch.Size([2, 3, 5])
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        if query_size != key_size:
            raise ConfigError(
                f"dot attention needs the decoder size to equal the encoder output size (got {query_size} and "
                f"{key_size}); use luong-general or bahdanau, or make them equal"
            )

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Attend from (B, T, H) queries over (B, S, H) keys; returns context (B, T, H), weights (B, T, S)."""
        scores = query @ keys.transpose(1, 2)  # (B, T, S)
        weights = masked_softmax(scores, _source_mask(mask))
        return weights @ keys, weights


class LuongGeneralAttention(nn.Module):
    """General (bilinear) attention: ``score(q, k) = q^T W k`` (Luong et al. 2015).

    >>> c, w = LuongGeneralAttention(4, 6)(torch.randn(2, 1, 4), torch.randn(2, 5, 6))
    >>> c.shape
    torch.Size([2, 1, 6])
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.W = nn.Linear(key_size, query_size, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        """``W k`` for every source position: (B, S, Hq)."""
        return self.W(keys)

    def forward(
        self, query: Tensor, keys: Tensor, mask: Tensor | None = None, *, projected: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Attend from (B, T, Hq) queries over (B, S, Hk) keys; returns context (B, T, Hk), weights (B, T, S)."""
        projected = self.W(keys) if projected is None else projected  # (B, S, Hq)
        scores = query @ projected.transpose(1, 2)  # (B, T, S)
        weights = masked_softmax(scores, _source_mask(mask))
        return weights @ keys, weights


class LuongConcatAttention(nn.Module):
    """Concat attention: ``score(q, k) = v^T tanh(W [q; k])`` (Luong et al. 2015).

    ``W [q; k]`` splits into ``W_q q + W_k k``, so this is Bahdanau's score with one bias;
    it is kept as its own class because Luong's decoder uses it after the RNN step.

    >>> c, w = LuongConcatAttention(4, 6)(torch.randn(2, 1, 4), torch.randn(2, 5, 6))
    >>> torch.allclose(w.sum(-1), torch.ones(2, 1))
    True
    """

    def __init__(self, query_size: int, key_size: int, *, attn_size: int = 0) -> None:
        super().__init__()
        attn_size = attn_size or query_size
        self.W = nn.Linear(query_size + key_size, attn_size)
        self.v = nn.Linear(attn_size, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Attend from (B, T, Hq) queries over (B, S, Hk) keys; returns context (B, T, Hk), weights (B, T, S)."""
        B, T, S = query.shape[0], query.shape[1], keys.shape[1]
        pairs = torch.cat([query.unsqueeze(2).expand(B, T, S, -1), keys.unsqueeze(1).expand(B, T, S, -1)], dim=-1)
        scores = self.v(torch.tanh(self.W(pairs))).squeeze(-1)  # (B, T, S)
        weights = masked_softmax(scores, _source_mask(mask))
        return weights @ keys, weights


ATTENTIONS: dict[str, type[nn.Module]] = {
    "bahdanau": BahdanauAttention,
    "luong-dot": LuongDotAttention,
    "luong-general": LuongGeneralAttention,
    "luong-concat": LuongConcatAttention,
}


def build_attention(name: str, query_size: int, key_size: int) -> nn.Module:
    """The attention module called ``name`` (one of :data:`ATTENTIONS`).

    >>> type(build_attention("luong-dot", 8, 8)).__name__
    'LuongDotAttention'
    """
    if name not in ATTENTIONS:
        raise ConfigError(unknown_choice("attention", name, list(ATTENTIONS)))
    return ATTENTIONS[name](query_size, key_size)


# ----------------------------------------------------------------------------- multi-head


@dataclass
class KVCache:
    """Keys and values one attention layer has already computed: each (B, heads, T_seen, D).

    >>> cache = KVCache(torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 4))
    >>> cache.length
    3
    """

    keys: Tensor
    values: Tensor

    @classmethod
    def empty(cls) -> KVCache:
        """A cache holding nothing yet (the first call fills it)."""
        nothing = torch.zeros(0, 0, 0, 0)
        return cls(nothing, nothing)

    @property
    def length(self) -> int:
        """How many positions are cached."""
        return int(self.keys.shape[2])

    def select(self, index: Tensor) -> KVCache:
        """The cache of the batch rows in ``index`` (beam search reorders hypotheses this way)."""
        return KVCache(self.keys.index_select(0, index), self.values.index_select(0, index))


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over several heads (Vaswani et al. 2017).

    ``head_i = softmax(Q_i K_i^T / sqrt(D) + mask) V_i`` with ``Q_i = x W^Q_i`` etc.,
    ``D = E / heads``; the heads are concatenated and projected by ``W^O``.

    Args:
        embed_dim: E.
        num_heads: number of heads; must divide E.
        dropout: on the attention weights (training only).

    Called as ``mha(query (B, T, E), memory (B, S, E) or None, *, mask, causal, cache)``:
    ``memory=None`` is self-attention; ``mask`` (B, S) is True on real keys; ``causal`` stops
    position t from seeing keys after t (offset by what ``cache`` already holds); ``cache`` (a
    :class:`KVCache`) holds the keys and values of earlier positions, and the new ones are
    appended to it. Returns ``(output (B, T, E), weights (B, heads, T, S), cache)``.

    Training and decoding ask for no weights and take the fused kernel (weights None). To look
    inside a trained model, set ``keep_weights = True`` on a layer: it then always computes and
    returns them, so a forward hook sees them as ``output[1]``.

    >>> mha = MultiHeadAttention(8, 2)
    >>> x = torch.randn(1, 4, 8)
    >>> full, w, _ = mha(x, causal=True)
    >>> w[0, 0, 0].tolist()[1:]  # the first position sees only itself
    [0.0, 0.0, 0.0]
    >>> _, _, cache = mha(x[:, :3], causal=True, cache=KVCache.empty())
    >>> last, _, _ = mha(x[:, 3:], causal=True, cache=cache)
    >>> torch.allclose(full[:, 3:], last, atol=1e-6)
    True
    """

    def __init__(self, embed_dim: int, num_heads: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ConfigError(f"model.num_heads must divide model.embed_dim (got {num_heads} heads for {embed_dim})")
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)
        self.drop = Dropout(dropout)
        self.keep_weights = False  # True: always the explicit path, weights returned (inspection)

    def _heads(self, x: Tensor) -> Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, heads, T, D)

    def project_memory(self, memory: Tensor) -> KVCache:
        """Keys and values of an encoder memory (B, S, E), computed once for every decoder step."""
        return KVCache(self._heads(self.key(memory)), self._heads(self.value(memory)))

    def forward(
        self,
        query: Tensor,
        memory: Tensor | None = None,
        *,
        mask: Tensor | None = None,
        causal: bool = False,
        cache: KVCache | None = None,
        static: KVCache | None = None,
        need_weights: bool = True,
    ) -> tuple[Tensor, Tensor | None, KVCache | None]:
        """Attend; see the class docstring. ``static`` is a precomputed memory (cross-attention).

        ``need_weights=False`` returns None for the weights and runs PyTorch's fused
        ``scaled_dot_product_attention``, which never holds the (B, heads, T, S) weights: training
        and decoding take this path; inspection asks for the weights."""
        B, T, E = query.shape
        need_weights = need_weights or self.keep_weights
        q = self._heads(self.query(query))  # (B, heads, T, D)
        if static is not None:
            k, v = static.keys, static.values
        else:
            source = query if memory is None else memory
            k, v = self._heads(self.key(source)), self._heads(self.value(source))  # (B, heads, S, D)
        past = 0
        if cache is not None:
            past = cache.length
            if past:
                k, v = torch.cat([cache.keys, k], dim=2), torch.cat([cache.values, v], dim=2)
            cache = KVCache(k, v)
        allowed = None
        if mask is not None:
            allowed = mask[:, None, None, :]  # (B, 1, 1, S)
        # causal alone over a fresh square window: the fused kernel's own is_causal, no mask built
        fused_causal = causal and mask is None and past == 0 and not need_weights
        if causal and not fused_causal:
            S = k.shape[2]
            rows = torch.arange(T, device=query.device).unsqueeze(1) + past
            future = torch.arange(S, device=query.device).unsqueeze(0) <= rows  # (T, S)
            allowed = future if allowed is None else allowed & future
        if need_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, heads, T, S)
            weights = masked_softmax(scores, allowed)
            out = self.drop(weights) @ v
            return self.out(out.transpose(1, 2).reshape(B, T, E)), weights, cache
        empty = None
        if allowed is not None:
            # a query with no key to see (a padded row) gets zeros, as masked_softmax gives it,
            # where the fused kernel would give NaN
            empty = ~allowed.any(-1, keepdim=True)
            allowed = allowed | empty
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=allowed,
            dropout_p=self.drop.p if self.training else 0.0,
            is_causal=fused_causal,
        )  # (B, heads, T, D)
        if empty is not None:
            out = out.masked_fill(empty, 0.0)
        return self.out(out.transpose(1, 2).reshape(B, T, E)), None, cache


__all__ = [
    "masked_softmax",
    "BahdanauAttention",
    "LuongDotAttention",
    "LuongGeneralAttention",
    "LuongConcatAttention",
    "ATTENTIONS",
    "build_attention",
    "MultiHeadAttention",
    "KVCache",
]
