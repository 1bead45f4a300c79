"""A text classifier: embedding -> optional Conv1D -> stacked (bi)RNN/LSTM/GRU -> pooling -> head.

The model Keras courses build for IMDB-style sentiment, with padding handled by a mask rather
than by hoping the padding is short: the recurrent layers skip padded positions, and the pooled
vector is taken over real tokens only. The embedding can start from pretrained vectors, trained
further or frozen: the "non-static" and "static" variants of Kim (2014), "Convolutional Neural
Networks for Sentence Classification", where pretrained word2vec vectors add several points on
movie-review sentiment.

>>> import torch
>>> clf = RecurrentClassifier(vocab_size=100, num_classes=2, cell="lstm", embed_dim=8,
...                           hidden_size=16, bidirectional=True, pooling="max")
>>> ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
>>> clf(ids, ids != 0).shape
torch.Size([2, 2])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError
from seqlab.layers import Bidirectional, Conv1D, Dropout
from seqlab.models.language_model import RECURRENT

POOLINGS = ("last", "mean", "max")


def masked_pool(out: Tensor, mask: Tensor, pooling: str) -> Tensor:
    """Pool (B, T, H) outputs over real positions only; ``mask`` (B, T) is True on real tokens.

    >>> out = torch.tensor([[[1.0], [3.0], [100.0]]]); mask = torch.tensor([[True, True, False]])
    >>> masked_pool(out, mask, "mean"), masked_pool(out, mask, "max")
    (tensor([[2.]]), tensor([[3.]]))
    """
    m = mask.unsqueeze(-1)  # (B, T, 1)
    if pooling == "mean":
        return (out * m).sum(1) / m.sum(1).clamp(min=1)
    if pooling == "max":
        return out.masked_fill(~m, float("-inf")).amax(1)
    raise ValueError(f"pooling must be one of {', '.join(POOLINGS)} (got {pooling!r})")


class RecurrentClassifier(nn.Module):
    """Class scores for padded token-id sequences.

    Args:
        vocab_size: V.
        num_classes: C.
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        embed_dim: E.
        hidden_size: H per direction.
        num_layers: stacked recurrent layers.
        bidirectional: read the text both ways and concatenate (2H features).
        dropout: on embeddings, between layers and before the head.
        recurrent_dropout: variational dropout on the hidden state.
        conv_filters: channels of a Conv1D front-end; 0 for none.
        conv_kernel: its kernel width.
        pooling: ``"last"`` (final state), ``"mean"`` or ``"max"`` over real tokens.
        impl: ``"fused"`` or ``"scratch"``.
        embeddings: (V, E) pretrained vectors the embedding starts from (row i for token id i,
            PAD's row included; the mask keeps PAD out of every result); None for random N(0, 1).
        freeze_embeddings: keep the embedding as it starts (no gradient, no optimizer update).

    >>> vectors = torch.randn(100, 8)
    >>> clf = RecurrentClassifier(100, 2, embed_dim=8, hidden_size=16, embeddings=vectors, freeze_embeddings=True)
    >>> torch.equal(clf.embed.weight, vectors), clf.embed.weight.requires_grad
    (True, False)
    >>> RecurrentClassifier(100, 2, embed_dim=64, embeddings=vectors)
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: pretrained embeddings are (100, 8),
    but the embedding is (vocab_size, embed_dim) = (100, 64); set model.embed_dim = 8
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        cell: str = "lstm",
        embed_dim: int = 64,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        conv_filters: int = 0,
        conv_kernel: int = 5,
        pooling: str = "last",
        impl: str = "fused",
        embeddings: Tensor | None = None,
        freeze_embeddings: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)} (got {pooling!r})")
        self.pooling = pooling
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        # Keras' uniform(-0.05, 0.05) rather than torch's N(0, 1): with N(0, 1) the recurrent cells
        # start saturated and a 3-epoch sentiment run ends 4-9 points lower (benchmarks/keras.md)
        with torch.no_grad():
            self.embed.weight.uniform_(-0.05, 0.05)
            self.embed.weight[0].zero_()
        if embeddings is not None:
            if tuple(embeddings.shape) != (vocab_size, embed_dim):
                fix = (
                    f"set model.embed_dim = {embeddings.shape[1]}"
                    if embeddings.shape[0] == vocab_size
                    else "use the tokenizer whose ids number its rows"
                )
                raise ConfigError(
                    f"pretrained embeddings are {tuple(embeddings.shape)}, but the embedding is "
                    f"(vocab_size, embed_dim) = ({vocab_size}, {embed_dim}); {fix}"
                )
            with torch.no_grad():
                self.embed.weight.copy_(embeddings)
        self.embed.weight.requires_grad_(not freeze_embeddings)
        self.drop = Dropout(dropout)
        self.conv = Conv1D(embed_dim, conv_filters, conv_kernel) if conv_filters else None
        rnn = RECURRENT[cell](
            conv_filters or embed_dim,
            hidden_size,
            num_layers=num_layers,
            return_sequences=pooling != "last",
            dropout=dropout if num_layers > 1 else 0.0,
            recurrent_dropout=recurrent_dropout,
            impl=impl,
        )
        self.rnn = Bidirectional(rnn, merge_mode="concat") if bidirectional else rnn
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, ids: Tensor, mask: Tensor | None = None) -> Tensor:
        """Class logits.

        Args:
            ids: (B, T) token ids, padded pre or post with 0.
            mask: (B, T) True on real tokens; defaults to ``ids != 0``.

        Returns:
            logits (B, C).
        """
        mask = ids != 0 if mask is None else mask
        x = self.drop(self.embed(ids))  # (B, T, E)
        if self.conv is not None:
            x = self.conv(x, mask=mask)  # (B, T, filters)
        out = self.rnn(x, mask=mask)  # (B, H') or (B, T, H')
        if self.pooling != "last":
            out = masked_pool(out, mask, self.pooling)  # (B, H')
        return self.head(self.drop(out))  # (B, C)


__all__ = ["RecurrentClassifier", "masked_pool", "POOLINGS"]
