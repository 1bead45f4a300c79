"""One decoding toolkit: beam 1 equals greedy, the KV cache changes nothing but speed."""

from __future__ import annotations

import pytest
import torch

from seqlab.decode import Conditioned, SamplingParams, beam_search, greedy_batch
from seqlab.engine import generate
from seqlab.models.seq2seq import RecurrentSeq2Seq
from seqlab.models.transformer import TransformerLM, TransformerSeq2Seq, UncachedLM

BOS, EOS = 2, 3


def _sources():
    src = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0], [11, 12, 13, 0]])
    return src, src != 0


def _models():
    torch.manual_seed(0)
    yield RecurrentSeq2Seq(20, cell="gru", embed_dim=8, hidden_size=16, attention="bahdanau").eval()
    yield RecurrentSeq2Seq(
        20, cell="lstm", embed_dim=8, hidden_size=16, bidirectional=True, attention="luong-general"
    ).eval()
    yield RecurrentSeq2Seq(20, cell="gru", embed_dim=8, hidden_size=16, attention="none").eval()
    yield TransformerSeq2Seq(20, embed_dim=16, num_heads=2, num_layers=1, max_len=32).eval()


def test_beam_width_one_equals_greedy():
    src, mask = _sources()
    for model in _models():
        for row in range(3):
            one = Conditioned(model, model.start(src[row : row + 1], mask[row : row + 1]))
            greedy = list(generate(one, [BOS], SamplingParams(max_tokens=8, temperature=0.0), stop_ids=[EOS]))
            one = Conditioned(model, model.start(src[row : row + 1], mask[row : row + 1]))
            beam = beam_search(one, [[BOS]], beam_width=1, max_tokens=8, eos_id=EOS)[0][0]
            assert list(beam.ids) == greedy, type(model).__name__
        batched = greedy_batch(Conditioned(model, model.start(src, mask)), [[BOS]] * 3, max_tokens=8, eos_id=EOS)
        beams = beam_search(
            Conditioned(model, model.start(src, mask)), [[BOS]] * 3, beam_width=1, max_tokens=8, eos_id=EOS
        )
        assert batched == [list(b[0].ids) for b in beams]


def test_beam_search_is_batched_and_ranked():
    src, mask = _sources()
    model = next(_models())
    batched = beam_search(
        Conditioned(model, model.start(src, mask)),
        [[BOS]] * 3,
        beam_width=4,
        max_tokens=10,
        eos_id=EOS,
        n_best=3,
        alpha=0.6,
    )
    for row, hyps in enumerate(batched):
        assert len(hyps) == 3 and [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        alone = beam_search(
            Conditioned(model, model.start(src[row : row + 1], mask[row : row + 1])),
            [[BOS]],
            beam_width=4,
            max_tokens=10,
            eos_id=EOS,
            n_best=3,
            alpha=0.6,
        )[0]
        assert [h.ids for h in alone] == [h.ids for h in hyps]
        # a wider beam never finds a worse best hypothesis than greedy (by log-probability, no penalty)
    greedy = beam_search(
        Conditioned(model, model.start(src, mask)), [[BOS]] * 3, beam_width=1, max_tokens=10, eos_id=EOS
    )
    wide = beam_search(Conditioned(model, model.start(src, mask)), [[BOS]] * 3, beam_width=5, max_tokens=10, eos_id=EOS)
    for g, w in zip(greedy, wide):
        if g[0].finished and w[0].finished:
            assert w[0].log_prob >= g[0].log_prob - 1e-5


def test_kv_cached_lm_generates_the_same_tokens_as_uncached():
    torch.manual_seed(0)
    lm = TransformerLM(30, embed_dim=16, num_heads=2, num_layers=2, block_size=64, dropout=0.0).eval()
    for seed in (0,):
        cached = list(generate(lm, [5, 6, 7], SamplingParams(max_tokens=30, temperature=1.0, seed=seed)))
        plain = list(generate(UncachedLM(lm), [5, 6, 7], SamplingParams(max_tokens=30, temperature=1.0, seed=seed)))
        assert cached == plain and len(cached) == 30
    assert list(generate(lm, [5], SamplingParams(max_tokens=20, temperature=0.0))) == list(
        generate(UncachedLM(lm), [5], SamplingParams(max_tokens=20, temperature=0.0))
    )


def test_kv_cached_lm_runs_past_its_block_size_and_beam_reorders_the_cache():
    torch.manual_seed(0)
    lm = TransformerLM(30, embed_dim=16, num_heads=2, num_layers=1, block_size=16).eval()
    assert len(list(generate(lm, [5, 6], SamplingParams(max_tokens=60, temperature=1.0, seed=0)))) == 60
    greedy = list(generate(lm, [5, 6], SamplingParams(max_tokens=8, temperature=0.0)))
    assert list(beam_search(lm, [[5, 6]], beam_width=1, max_tokens=8, eos_id=None)[0][0].ids) == greedy
    assert len(beam_search(lm, [[5, 6], [7, 8]], beam_width=3, max_tokens=8, eos_id=None, n_best=2)[1]) == 2


def test_transformer_seq2seq_steps_match_the_teacher_forced_forward():
    src, mask = _sources()
    model = TransformerSeq2Seq(20, embed_dim=16, num_heads=2, num_layers=2, max_len=32).eval()
    tgt = torch.tensor([[BOS, 4, 5, 6], [BOS, 7, 8, 9], [BOS, 4, 4, 4]])
    full = model(src, mask, tgt).logits
    state, steps = model.start(src, mask), []
    for t in range(tgt.shape[1]):
        logits, state = model.step(tgt[:, t : t + 1], state)
        steps.append(logits)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)


class Fixed:
    """Always the same scores: token 4 a little ahead of 5, 5 ahead of 6."""

    def init_state(self, batch_size):
        return None

    def step(self, ids, state):
        scores = torch.tensor([-9.0, -9.0, -9.0, -9.0, 1.5, 1.0, 0.2])
        return scores.expand(ids.shape[0], ids.shape[1], -1), state


def test_repetition_penalties_follow_openai_semantics():
    assert list(generate(Fixed(), [0], SamplingParams(max_tokens=4, temperature=0.0))) == [4, 4, 4, 4]
    # presence: 4 loses 1 once generated (0.5 < 1.0 -> 5), then 5 too (0.0), and 4's 0.5 leads again
    assert list(generate(Fixed(), [0], SamplingParams(max_tokens=4, temperature=0.0, presence_penalty=1.0))) == [
        4,
        5,
        4,
        4,
    ]
    # frequency: 4 loses 0.3 per use: 1.5, 1.2, 0.9 < 1.0 -> 5
    assert list(generate(Fixed(), [0], SamplingParams(max_tokens=4, temperature=0.0, frequency_penalty=0.3))) == [
        4,
        4,
        5,
        4,
    ]
    with pytest.raises(ValueError, match=r"frequency_penalty must be in \[-2, 2\]"):
        list(generate(Fixed(), [0], SamplingParams(max_tokens=1, frequency_penalty=2.5)))
