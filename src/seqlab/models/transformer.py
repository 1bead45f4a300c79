"""The Transformer (Vaswani et al. 2017) with pre-norm blocks: decoder-only LM and encoder-decoder.

Pre-norm (Xiong et al. 2020; GPT-2): each sub-layer reads ``LayerNorm(x)`` and adds its output
back to ``x``, and a final LayerNorm comes before the head; this trains without warm-up tricks.

* :class:`TransformerLM`: token + position embedding -> N decoder blocks (causal self-attention,
  feed-forward) -> LayerNorm -> vocabulary logits. Training reads (B, T) windows at once;
  generation goes through ``step(ids, state)`` with a :class:`~seqlab.layers.attention.KVCache`
  per block as the state, so each new token attends over cached keys and costs one step.
* :class:`TransformerSeq2Seq`: an encoder (N blocks of bidirectional self-attention over the
  source, padding masked) and a decoder (causal self-attention, cross-attention over the
  encoder memory, feed-forward); the memory's keys and values are projected once per source.
* :class:`UncachedLM`: the same LM decoded without a cache (the whole window is re-read for
  every token), the reference the cached decoder must match and the benchmark's baseline.

>>> import torch
>>> lm = TransformerLM(50, embed_dim=16, num_heads=2, num_layers=2, block_size=32)
>>> logits, _ = lm(torch.randint(1, 50, (2, 7)))
>>> logits.shape
torch.Size([2, 7, 50])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from seqlab.layers.attention import KVCache, MultiHeadAttention
from seqlab.layers.dropout import Dropout
from seqlab.layers.positional import build_positions


class FeedForward(nn.Module):
    """Position-wise ``W_2 GELU(W_1 x)``: (B, T, E) -> (B, T, E).

    >>> FeedForward(8, 32)(torch.zeros(1, 3, 8)).shape
    torch.Size([1, 3, 8])
    """

    def __init__(self, embed_dim: int, ff_dim: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        self.up = nn.Linear(embed_dim, ff_dim)
        self.down = nn.Linear(ff_dim, embed_dim)
        self.drop = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Apply to every position."""
        return self.drop(self.down(torch.nn.functional.gelu(self.up(x))))


class EncoderBlock(nn.Module):
    """``x + SelfAttn(LN(x))`` then ``x + FF(LN(x))``, attending over every real source token.

    >>> block = EncoderBlock(8, 2, 32)
    >>> y, w = block(torch.randn(1, 3, 8), torch.tensor([[True, True, False]]))
    >>> y.shape, w.shape
    (torch.Size([1, 3, 8]), torch.Size([1, 2, 3, 3]))
    """

    def __init__(self, embed_dim: int, num_heads: int, ff_dim: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.attn = MultiHeadAttention(embed_dim, num_heads, dropout=dropout)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.ff = FeedForward(embed_dim, ff_dim, dropout=dropout)
        self.drop = Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None, *, need_weights: bool = True) -> tuple[Tensor, Tensor | None]:
        """x (B, S, E), mask (B, S) -> (B, S, E) and the self-attention weights (B, heads, S, S)
        (None with ``need_weights=False``, which takes the fused attention kernel)."""
        attended, weights, _ = self.attn(self.norm1(x), mask=mask, need_weights=need_weights)
        x = x + self.drop(attended)
        return x + self.ff(self.norm2(x)), weights


class DecoderBlock(nn.Module):
    """Causal self-attention, then (with ``cross=True``) cross-attention over a memory, then FF.

    Args:
        embed_dim, num_heads, ff_dim, dropout: sizes.
        cross: add the cross-attention sub-layer (encoder-decoder); False for a decoder-only LM.

    >>> block = DecoderBlock(8, 2, 32)
    >>> y, cache, _ = block(torch.randn(1, 3, 8), cache=KVCache.empty())
    >>> y.shape, cache.length
    (torch.Size([1, 3, 8]), 3)
    """

    def __init__(
        self, embed_dim: int, num_heads: int, ff_dim: int, *, dropout: float = 0.0, cross: bool = False
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.self_attn = MultiHeadAttention(embed_dim, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(embed_dim, num_heads, dropout=dropout) if cross else None
        self.norm_cross = nn.LayerNorm(embed_dim) if cross else None
        self.norm2 = nn.LayerNorm(embed_dim)
        self.ff = FeedForward(embed_dim, ff_dim, dropout=dropout)
        self.drop = Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        *,
        cache: KVCache | None = None,
        memory: KVCache | None = None,
        memory_mask: Tensor | None = None,
        self_mask: Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, KVCache | None, Tensor | None]:
        """x (B, T, E) -> (B, T, E), the grown self-attention cache, cross weights (B, heads, T, S).

        ``self_mask`` (B, cached + T) is True on real keys: a batch of requests of different
        lengths left-pads the shorter caches (see :class:`LMCache`). The cross weights are None
        unless ``need_weights`` (they cost the fused kernel; inspection asks for them)."""
        attended, _, cache = self.self_attn(self.norm1(x), causal=True, cache=cache, mask=self_mask, need_weights=False)
        x = x + self.drop(attended)
        cross_weights = None
        if self.cross_attn is not None:
            assert memory is not None and self.norm_cross is not None
            attended, cross_weights, _ = self.cross_attn(
                self.norm_cross(x), mask=memory_mask, static=memory, need_weights=need_weights
            )
            x = x + self.drop(attended)
        return x + self.ff(self.norm2(x)), cache, cross_weights


# ----------------------------------------------------------------------------- decoder-only LM


def pad_to(tensor: Tensor, width: int, dim: int, *, left: bool, value: float | bool = 0) -> Tensor:
    """``tensor`` padded along ``dim`` to ``width`` with ``value``, before its contents (left) or after.

    >>> pad_to(torch.tensor([[1, 2]]), 4, 1, left=True).tolist()
    [[0, 0, 1, 2]]
    """
    missing = width - tensor.shape[dim]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    filler = torch.full(shape, value, dtype=tensor.dtype, device=tensor.device)
    return torch.cat([filler, tensor] if left else [tensor, filler], dim=dim)


def _merge_ragged(caches: list[list[KVCache]], pads: list[Tensor]) -> tuple[list[KVCache], Tensor, int]:
    """Self-attention caches of several batches as one: each left-padded to the widest.

    Args:
        caches: per batch, one :class:`KVCache` per block (keys (B_i, heads, W_i, D)).
        pads: per batch, the left padding its rows already have (B_i,).

    Returns:
        the merged caches, the merged padding (B,), and the common width W.
    """
    width = max(layers[0].length for layers in caches)
    merged = []
    for block in zip(*caches):
        keys = torch.cat([pad_to(c.keys, width, 2, left=True) for c in block])
        values = torch.cat([pad_to(c.values, width, 2, left=True) for c in block])
        merged.append(KVCache(keys, values))
    pad = torch.cat([p + (width - layers[0].length) for p, layers in zip(pads, caches)])
    return merged, pad, width


def _no_pad(batch: int, like: Tensor) -> Tensor:
    return torch.zeros(batch, dtype=torch.long, device=like.device)


def _drop_common_padding(layers: list[KVCache], pad: Tensor) -> tuple[list[KVCache], Tensor | None, int]:
    """Self-attention caches without the leading columns that are padding in every row.

    Returns the caches, the rows' remaining padding (None when no row has any left), and how many
    columns were cut (the ids a cache keeps beside its keys lose as many).
    """
    cut = int(pad.min()) if pad.numel() else 0
    if cut:
        layers = [KVCache(c.keys[:, :, cut:], c.values[:, :, cut:]) for c in layers]
    pad = pad - cut
    return layers, pad if bool(pad.any()) else None, cut


def _self_mask(pad: Tensor, width: int, new: int) -> Tensor:
    """(B, width + new): True on the real keys of each row (its first pad[b] slots are padding)."""
    return torch.arange(width + new, device=pad.device).unsqueeze(0) >= pad.unsqueeze(1)


@dataclass
class LMCache:
    """A :class:`TransformerLM`'s generation state: one KV cache per block, and the ids read so far.

    ``ids`` (B, T_seen) lets the model re-read a window when the cache reaches ``block_size``.
    Rows of requests that have read different lengths share one batch (the decoding engine,
    :mod:`seqlab.engine`): ``pad`` (B,) says how many slots at the left of each row's cache and
    ids are padding (masked out of attention); None means no row is padded.
    """

    layers: list[KVCache]
    ids: Tensor
    pad: Tensor | None = None

    @property
    def length(self) -> int:
        """Positions held in the caches (the widest row's, with padding)."""
        return self.layers[0].length if self.layers else 0

    def lengths(self) -> Tensor:
        """(B,) the real positions each row holds."""
        pad = self.pad if self.pad is not None else _no_pad(self.ids.shape[0], self.ids)
        return self.length - pad

    def select(self, index: Tensor) -> LMCache:
        """The state of the batch rows in ``index`` (padding every kept row shares is dropped)."""
        pad = None if self.pad is None else self.pad.index_select(0, index)
        selected = LMCache([c.select(index) for c in self.layers], self.ids.index_select(0, index), pad)
        return selected.trimmed()

    def row(self, b: int) -> LMCache:
        """Row ``b`` alone, without its padding."""
        start = 0 if self.pad is None else int(self.pad[b])
        layers = [KVCache(c.keys[b : b + 1, :, start:], c.values[b : b + 1, :, start:]) for c in self.layers]
        return LMCache(layers, self.ids[b : b + 1, start:])

    def trimmed(self) -> LMCache:
        """The same state without the columns that are padding in every row."""
        if self.pad is None:
            return self
        layers, pad, cut = _drop_common_padding(self.layers, self.pad)
        return LMCache(layers, self.ids[:, cut:], pad)

    @staticmethod
    def merge(states: list[LMCache]) -> LMCache:
        """One batch holding the rows of ``states`` in order, left-padded to a common width."""
        pads = [s.pad if s.pad is not None else _no_pad(s.ids.shape[0], s.ids) for s in states]
        layers, pad, width = _merge_ragged([s.layers for s in states], pads)
        ids = torch.cat([pad_to(s.ids, width, 1, left=True) for s in states])
        return LMCache(layers, ids, pad).trimmed()


class TransformerLM(nn.Module):
    """Decoder-only Transformer language model (GPT-style, pre-norm).

    Args:
        vocab_size: V.
        embed_dim: E.
        num_heads: heads per attention layer (divides E).
        num_layers: decoder blocks.
        ff_dim: feed-forward width; 0 means 4 E.
        dropout: on embeddings, attention weights and sub-layer outputs.
        block_size: the longest context (positions 0 .. block_size-1).
        positions: ``"learned"`` or ``"sinusoidal"``.
        tie_weights: share the token embedding and the output matrix (Press & Wolf 2017).

    ``forward(ids (B, T), state=None)`` returns ``(logits (B, T, V), None)`` like the recurrent
    LM; ``step(ids, state)`` is the cached path for :mod:`seqlab.decode`. When the cache is full
    the state keeps the last ``block_size // 2`` tokens and re-reads them (one long step, then
    cheap steps again), so generation can run past ``block_size``.

    >>> lm = TransformerLM(20, embed_dim=8, num_heads=2, num_layers=1, block_size=16).eval()
    >>> ids = torch.randint(1, 20, (1, 6))
    >>> full, _ = lm(ids)
    >>> state = lm.init_state(1)
    >>> _, state = lm.step(ids[:, :5], state)
    >>> last, state = lm.step(ids[:, 5:], state)
    >>> torch.allclose(full[:, -1], last[:, -1], atol=1e-5), state.length
    (True, 6)
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        embed_dim: int = 128,
        num_heads: int = 4,
        num_layers: int = 4,
        ff_dim: int = 0,
        dropout: float = 0.0,
        block_size: int = 128,
        positions: str = "learned",
        tie_weights: bool = True,
    ) -> None:
        super().__init__()
        self.block_size = block_size
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.positions = build_positions(positions, embed_dim, max_len=block_size)
        self.drop = Dropout(dropout)
        self.blocks = nn.ModuleList(
            DecoderBlock(embed_dim, num_heads, ff_dim or 4 * embed_dim, dropout=dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, vocab_size, bias=False)
        self.apply(_init_weights)
        if tie_weights:
            self.head.weight = self.embed.weight

    def _run(
        self, ids: Tensor, caches: list[KVCache] | None, offset: int | Tensor, self_mask: Tensor | None = None
    ) -> tuple[Tensor, list[KVCache] | None]:
        x = self.drop(self.positions(self.embed(ids), offset))  # (B, T, E)
        new_caches = [] if caches is not None else None
        for i, block in enumerate(self.blocks):
            x, cache, _ = block(x, cache=None if caches is None else caches[i], self_mask=self_mask)
            if new_caches is not None:
                new_caches.append(cache)
        return self.head(self.norm(x)), new_caches  # (B, T, V)

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, None]:
        """Score the next token at every position of (B, T) ids, T <= block_size."""
        if ids.shape[1] > self.block_size:
            ids = ids[:, -self.block_size :]
        logits, _ = self._run(ids, None, 0)
        return logits, None

    def init_state(self, batch_size: int) -> LMCache:
        """An empty cache."""
        device = self.head.weight.device  # the ids read so far live beside the weights
        return LMCache(
            [KVCache.empty() for _ in self.blocks], torch.zeros(batch_size, 0, dtype=torch.long, device=device)
        )

    def step(self, ids: Tensor, state: LMCache | None) -> tuple[Tensor, LMCache]:
        """Read (B, T) new tokens after ``state`` using the KV cache; returns their logits (B, T', V).

        T' is T unless the context had to be re-read (then only the last T' <= T are scored;
        decoding uses the last one).
        """
        state = state if state is not None else self.init_state(ids.shape[0])
        if state.pad is not None:
            return self._step_padded(ids, state)
        seen = torch.cat([state.ids, ids], dim=1)
        if state.length + ids.shape[1] <= self.block_size:
            logits, caches = self._run(ids, state.layers, state.length)
        else:  # the cache is full: keep the last half block (and at least the new tokens) and re-read it
            keep = seen[:, -min(self.block_size, max(ids.shape[1], self.block_size // 2)) :]
            logits, caches = self._run(keep, [KVCache.empty() for _ in self.blocks], 0)
            logits = logits[:, -ids.shape[1] :]
            seen = keep
        assert caches is not None
        return logits, LMCache(caches, seen[:, -self.block_size :])

    def _step_padded(self, ids: Tensor, state: LMCache) -> tuple[Tensor, LMCache]:
        """:meth:`step` over rows of different lengths: each row's positions and keys are its own."""
        assert state.pad is not None
        full = (state.lengths() + ids.shape[1] > self.block_size).nonzero().flatten()
        if len(full):  # those rows re-read their last half block alone; the others step together
            rereading = set(full.tolist())
            order = full.tolist() + [b for b in range(ids.shape[0]) if b not in rereading]
            parts = [self.step(ids[b : b + 1], state.row(b)) for b in full.tolist()]
            rest = torch.tensor(order[len(full) :], dtype=torch.long, device=ids.device)
            if len(rest):
                parts.append(self.step(ids.index_select(0, rest), state.select(rest)))
            width = max(p[0].shape[1] for p in parts)  # a re-read row may score fewer positions
            logits = torch.cat([pad_to(p[0], width, 1, left=True) for p in parts])
            merged = LMCache.merge([p[1] for p in parts])
            back = torch.argsort(torch.tensor(order, device=ids.device))
            return logits.index_select(0, back), merged.select(back)
        mask = _self_mask(state.pad, state.length, ids.shape[1])
        logits, caches = self._run(ids, state.layers, state.lengths(), mask)
        assert caches is not None
        return logits, LMCache(caches, torch.cat([state.ids, ids], dim=1), state.pad)

    def reorder_state(self, state: LMCache, index: Tensor) -> LMCache:
        """Keep the batch rows in ``index`` (beam search, the decoding engine)."""
        return state.select(index)

    def merge_states(self, states: list[LMCache]) -> LMCache:
        """One state holding the rows of ``states`` in order (requests joining the engine's batch).

        >>> lm = TransformerLM(20, embed_dim=8, num_heads=2, num_layers=1, block_size=16).eval()
        >>> a, b = torch.tensor([[3, 4, 5]]), torch.tensor([[6]])
        >>> (la, sa), (lb, sb) = lm.step(a, None), lm.step(b, None)
        >>> both, _ = lm.step(torch.tensor([[7], [7]]), lm.merge_states([sa, sb]))
        >>> alone_a, _ = lm.step(torch.tensor([[7]]), sa)
        >>> alone_b, _ = lm.step(torch.tensor([[7]]), sb)
        >>> torch.allclose(both, torch.cat([alone_a, alone_b]), atol=1e-5)
        True
        """
        return LMCache.merge(states)


class UncachedLM(nn.Module):
    """Decode a :class:`TransformerLM` without a cache: every step re-reads the last block_size ids.

    The state is the ids so far. This is the slow reference the cached decoder is tested against.

    >>> lm = TransformerLM(20, embed_dim=8, num_heads=2, num_layers=1, block_size=16).eval()
    >>> logits, state = UncachedLM(lm).step(torch.tensor([[3, 4]]), None)
    >>> logits.shape, state.tolist()
    (torch.Size([1, 1, 20]), [[3, 4]])
    """

    def __init__(self, model: TransformerLM) -> None:
        super().__init__()
        self.model = model

    def init_state(self, batch_size: int) -> Tensor:
        """No tokens read yet."""
        return torch.zeros(batch_size, 0, dtype=torch.long, device=self.model.head.weight.device)

    def step(self, ids: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
        """Append ids (B, T) and re-read the window; returns the logits of the last position (B, 1, V)."""
        seen = ids if state is None else torch.cat([state, ids], dim=1)
        logits, _ = self.model(seen[:, -self.model.block_size :])
        return logits[:, -1:], seen

    def reorder_state(self, state: Tensor, index: Tensor) -> Tensor:
        """Keep the batch rows in ``index``."""
        return state.index_select(0, index)


# ----------------------------------------------------------------------------- encoder-decoder


@dataclass
class Seq2SeqCache:
    """A :class:`TransformerSeq2Seq` decoding state: per block the self-attention cache and the
    projected memory, plus the source mask (B, S).

    In a batch of requests (:mod:`seqlab.engine`) ``pad`` (B,) is the left padding of each row's
    self-attention cache, as in :class:`LMCache`; sources of different lengths are right-padded
    and masked by ``memory_mask``.
    """

    layers: list[KVCache]
    memory: list[KVCache]
    memory_mask: Tensor
    pad: Tensor | None = None

    @property
    def length(self) -> int:
        """Target positions read so far (the widest row's, with padding)."""
        return self.layers[0].length

    def lengths(self) -> Tensor:
        """(B,) the target positions each row has read."""
        pad = self.pad if self.pad is not None else _no_pad(self.memory_mask.shape[0], self.memory_mask)
        return self.length - pad

    def select(self, index: Tensor) -> Seq2SeqCache:
        """The state of the batch rows in ``index``."""
        selected = Seq2SeqCache(
            [c.select(index) for c in self.layers],
            [m.select(index) for m in self.memory],
            self.memory_mask.index_select(0, index),
            None if self.pad is None else self.pad.index_select(0, index),
        )
        if selected.pad is None:
            return selected
        layers, pad, _ = _drop_common_padding(selected.layers, selected.pad)
        return Seq2SeqCache(layers, selected.memory, selected.memory_mask, pad)

    @staticmethod
    def merge(states: list[Seq2SeqCache]) -> Seq2SeqCache:
        """One batch holding the rows of ``states`` in order."""
        pads = [s.pad if s.pad is not None else _no_pad(s.memory_mask.shape[0], s.memory_mask) for s in states]
        layers, pad, _ = _merge_ragged([s.layers for s in states], pads)
        source = max(s.memory_mask.shape[1] for s in states)
        memory = [
            KVCache(
                torch.cat([pad_to(m.keys, source, 2, left=False) for m in block]),
                torch.cat([pad_to(m.values, source, 2, left=False) for m in block]),
            )
            for block in zip(*(s.memory for s in states))
        ]
        mask = torch.cat([pad_to(s.memory_mask, source, 1, left=False, value=False) for s in states])
        return Seq2SeqCache(layers, memory, mask, pad if bool(pad.any()) else None)


@dataclass
class Seq2SeqOutput:
    """What a seq2seq model's forward returns: logits (B, T, V) and attention (B, T, S) or None."""

    logits: Tensor
    attention: Tensor | None


class TransformerSeq2Seq(nn.Module):
    """Encoder-decoder Transformer over one shared vocabulary (pre-norm).

    Args:
        vocab_size: V (source and target share the tokenizer).
        embed_dim, num_heads, num_layers, ff_dim, dropout, positions, tie_weights: as
            :class:`TransformerLM`; ``num_layers`` blocks in the encoder and in the decoder.
        max_len: the longest source or target.

    ``forward(src, src_mask, tgt_in)`` scores a teacher-forced target and returns the last
    decoder block's cross-attention averaged over heads as ``attention`` (B, T, S).

    >>> model = TransformerSeq2Seq(30, embed_dim=16, num_heads=2, num_layers=1, max_len=20).eval()
    >>> src, mask = torch.tensor([[5, 6, 7, 0]]), torch.tensor([[True, True, True, False]])
    >>> out = model(src, mask, torch.tensor([[2, 8, 9]]), need_weights=True)
    >>> out.logits.shape, out.attention.shape
    (torch.Size([1, 3, 30]), torch.Size([1, 3, 4]))
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        embed_dim: int = 128,
        num_heads: int = 4,
        num_layers: int = 2,
        ff_dim: int = 0,
        dropout: float = 0.0,
        max_len: int = 256,
        positions: str = "sinusoidal",
        tie_weights: bool = True,
    ) -> None:
        super().__init__()
        ff_dim = ff_dim or 4 * embed_dim
        self.embed_dim = embed_dim
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.source_positions = build_positions(positions, embed_dim, max_len=max_len)
        self.target_positions = build_positions(positions, embed_dim, max_len=max_len)
        self.drop = Dropout(dropout)
        self.encoder = nn.ModuleList(
            EncoderBlock(embed_dim, num_heads, ff_dim, dropout=dropout) for _ in range(num_layers)
        )
        self.encoder_norm = nn.LayerNorm(embed_dim)
        self.decoder = nn.ModuleList(
            DecoderBlock(embed_dim, num_heads, ff_dim, dropout=dropout, cross=True) for _ in range(num_layers)
        )
        self.decoder_norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, vocab_size, bias=False)
        self.apply(_init_weights)
        if tie_weights:
            self.head.weight = self.embed.weight

    def _embed(self, ids: Tensor, positions: nn.Module, offset: int | Tensor = 0) -> Tensor:
        return self.drop(positions(self.embed(ids) * self.embed_dim**0.5, offset))  # (B, T, E)

    def encode(self, src: Tensor, src_mask: Tensor) -> Tensor:
        """The encoder memory (B, S, E) of source ids (B, S) with mask (B, S)."""
        x = self._embed(src, self.source_positions)
        for block in self.encoder:
            x, _ = block(x, src_mask, need_weights=False)
        return self.encoder_norm(x)

    def start(self, src: Tensor, src_mask: Tensor) -> Seq2SeqCache:
        """Encode the source and return the decoding state (nothing of the target read yet)."""
        memory = self.encode(src, src_mask)
        projected = [block.cross_attn.project_memory(memory) for block in self.decoder]  # type: ignore[union-attr]
        return Seq2SeqCache([KVCache.empty() for _ in self.decoder], projected, src_mask)

    def _decode(
        self, ids: Tensor, state: Seq2SeqCache, *, need_weights: bool = False
    ) -> tuple[Tensor, Seq2SeqCache, Tensor | None]:
        padded = state.pad is not None
        offset = state.lengths() if padded else state.length
        self_mask = _self_mask(state.pad, state.length, ids.shape[1]) if state.pad is not None else None
        x = self._embed(ids, self.target_positions, offset)
        caches, weights = [], None
        last = len(self.decoder) - 1
        for i, (block, cache, memory) in enumerate(zip(self.decoder, state.layers, state.memory)):
            x, cache, weights = block(
                x,
                cache=cache,
                memory=memory,
                memory_mask=state.memory_mask,
                self_mask=self_mask,
                need_weights=need_weights and i == last,
            )
            caches.append(cache)
        logits = self.head(self.decoder_norm(x))  # (B, T, V)
        attention = weights.mean(1) if weights is not None else None
        return logits, Seq2SeqCache(caches, state.memory, state.memory_mask, state.pad), attention

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor,
        tgt_in: Tensor,
        *,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
        need_weights: bool = False,
    ) -> Seq2SeqOutput:
        """Teacher-forced scores of ``tgt_in`` (B, T) (BOS + target); the Transformer always teacher-forces.

        ``attention`` is None unless ``need_weights`` (the weights cost the fused attention kernel)."""
        logits, _, attention = self._decode(tgt_in, self.start(src, src_mask), need_weights=need_weights)
        return Seq2SeqOutput(logits, attention)

    def init_state(self, batch_size: int) -> Any:
        """Decoding needs a source: use :meth:`start`."""
        raise TypeError("a seq2seq model decodes from a source: call start(src, src_mask) for the state")

    def step(self, ids: Tensor, state: Seq2SeqCache) -> tuple[Tensor, Seq2SeqCache]:
        """Read (B, T) target ids after ``state``; returns logits (B, T, V) and the grown cache."""
        logits, state, _ = self._decode(ids, state)
        return logits, state

    def reorder_state(self, state: Seq2SeqCache, index: Tensor) -> Seq2SeqCache:
        """Keep the batch rows in ``index`` (beam search, the decoding engine)."""
        return state.select(index)

    def merge_states(self, states: list[Seq2SeqCache]) -> Seq2SeqCache:
        """One state holding the rows of ``states`` in order (requests joining the engine's batch).

        >>> model = TransformerSeq2Seq(30, embed_dim=16, num_heads=2, num_layers=1, max_len=20).eval()
        >>> one = model.start(torch.tensor([[5, 6, 7]]), torch.tensor([[True] * 3]))
        >>> two = model.start(torch.tensor([[8]]), torch.tensor([[True]]))
        >>> _, one = model.step(torch.tensor([[2, 9]]), one)
        >>> _, two = model.step(torch.tensor([[2]]), two)
        >>> both, _ = model.step(torch.tensor([[4], [4]]), model.merge_states([one, two]))
        >>> alone = torch.cat([model.step(torch.tensor([[4]]), s)[0] for s in (one, two)])
        >>> torch.allclose(both, alone, atol=1e-5)
        True
        """
        return Seq2SeqCache.merge(states)


def _init_weights(module: nn.Module) -> None:
    # GPT-2's initialisation: small normal weights, zero biases
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


__all__ = [
    "FeedForward",
    "EncoderBlock",
    "DecoderBlock",
    "TransformerLM",
    "UncachedLM",
    "LMCache",
    "TransformerSeq2Seq",
    "Seq2SeqCache",
    "Seq2SeqOutput",
]
