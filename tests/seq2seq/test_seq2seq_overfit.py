"""A seq2seq model learns a small batch of pairs by heart (with attention, without, and the Transformer)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.models.seq2seq import RecurrentSeq2Seq
from seqlab.models.transformer import TransformerSeq2Seq
from seqlab.tasks.seq2seq import translate_ids

BOS, EOS = 2, 3
PAIRS = [
    ([5, 6, 7], [8, 9]),
    ([6, 5], [9, 9, 8]),
    ([7, 7, 7, 5], [10]),
    ([5, 5], [11, 8, 9, 10]),
    ([9, 8, 6], [10, 11]),
    ([4, 6, 7, 9], [8, 8, 11]),
]


def _batch():
    width_s, width_t = max(len(s) for s, _ in PAIRS), max(len(t) for _, t in PAIRS) + 1
    src = torch.tensor([s + [0] * (width_s - len(s)) for s, _ in PAIRS])
    tgt_in = torch.tensor([[BOS, *t] + [0] * (width_t - len(t) - 1) for _, t in PAIRS])
    tgt_out = torch.tensor([[*t, EOS] + [0] * (width_t - len(t) - 1) for _, t in PAIRS])
    return src, src != 0, tgt_in, tgt_out


@pytest.mark.parametrize(
    "make",
    [
        lambda: RecurrentSeq2Seq(12, cell="gru", embed_dim=16, hidden_size=32, attention="bahdanau"),
        lambda: RecurrentSeq2Seq(
            12, cell="lstm", embed_dim=16, hidden_size=32, bidirectional=True, attention="luong-general"
        ),
        lambda: RecurrentSeq2Seq(12, cell="gru", embed_dim=16, hidden_size=32, attention="none"),
        lambda: RecurrentSeq2Seq(12, cell="gru", embed_dim=16, hidden_size=32, attention="luong-dot"),
        lambda: RecurrentSeq2Seq(12, cell="gru", embed_dim=16, hidden_size=32, attention="luong-concat"),
        lambda: TransformerSeq2Seq(12, embed_dim=32, num_heads=2, num_layers=1, max_len=16, dropout=0.0),
    ],
    ids=["bahdanau", "luong-general-bilstm", "none", "luong-dot", "luong-concat", "transformer"],
)
def test_overfits_a_small_batch(make):
    torch.manual_seed(0)
    model = make()
    src, mask, tgt_in, tgt_out = _batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(150):
        ratio = 1.0 if step < 100 else 0.5  # the last steps also read the model's own predictions
        logits = model(src, mask, tgt_in, teacher_forcing=ratio, generator=torch.Generator().manual_seed(step)).logits
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert translate_ids(model, src, mask, bos_id=BOS, eos_id=EOS, max_tokens=6) == [t for _, t in PAIRS]
    assert translate_ids(model, src, mask, bos_id=BOS, eos_id=EOS, max_tokens=6, beam_width=3) == [t for _, t in PAIRS]
