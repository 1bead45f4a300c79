"""The batched decoding engine: a request's tokens do not depend on what else is in the batch.

Every model family that generates (recurrent LM, Transformer LM, recurrent seq2seq with and without
attention, Transformer seq2seq) is decoded alone and among other requests of different prompt
lengths, settings and seeds; the ids must be the same. Also: rows leave when they finish or are
cancelled, the queue limit holds, and the per-row sampler follows each row's own settings.
"""

from __future__ import annotations

import pytest
import torch

from seqlab.decode import SamplingParams
from seqlab.engine import BatchEngine, choose_rows
from seqlab.errors import QueueFullError
from seqlab.models.language_model import RecurrentLM
from seqlab.models.seq2seq import RecurrentSeq2Seq
from seqlab.models.transformer import TransformerLM, TransformerSeq2Seq

V = 23


def language_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "lstm": RecurrentLM(V, cell="lstm", embed_dim=8, hidden_size=16).eval(),
        "gru-2-layers": RecurrentLM(V, cell="gru", embed_dim=8, hidden_size=16, num_layers=2).eval(),
        # a block of 12 makes long rows re-read their context at different steps
        "transformer": TransformerLM(V, embed_dim=16, num_heads=2, num_layers=2, block_size=12).eval(),
    }


def seq2seq_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "bahdanau": RecurrentSeq2Seq(V, embed_dim=8, hidden_size=16, attention="bahdanau").eval(),
        "luong-lstm": RecurrentSeq2Seq(V, embed_dim=8, hidden_size=16, cell="lstm", attention="luong-general").eval(),
        "no-attention": RecurrentSeq2Seq(V, embed_dim=8, hidden_size=16, attention="none").eval(),
        "transformer": TransformerSeq2Seq(V, embed_dim=16, num_heads=2, num_layers=1, max_len=64).eval(),
    }


def requests(n: int) -> list[tuple[list[int], SamplingParams]]:
    """n requests with different prompt lengths and settings (greedy, plain, top-k, top-p, penalties)."""
    kinds = [
        dict(temperature=0.0),
        dict(temperature=1.0),
        dict(temperature=0.7, top_k=5),
        dict(temperature=1.3, top_p=0.8),
        dict(temperature=0.9, frequency_penalty=1.0, presence_penalty=0.5),
    ]
    out = []
    for i in range(n):
        prompt = [1 + (i * 7 + j) % (V - 1) for j in range(1 + i % 6)]
        out.append((prompt, SamplingParams(max_tokens=6 + (i * 5) % 17, seed=100 + i, **kinds[i % len(kinds)])))
    return out


def alone(model, prompt, params, **submit):
    return list(BatchEngine(model, max_batch=1).submit(prompt, params, **submit).ids())


@pytest.mark.parametrize("name", list(language_models()))
def test_a_language_model_request_gets_the_same_ids_alone_and_in_a_batch_of_32(name):
    model = language_models()[name]
    batch = requests(32)
    engine = BatchEngine(model, max_batch=32)
    streams = [engine.submit(prompt, params, stop_ids=[0]) for prompt, params in batch]
    together = [list(s.ids()) for s in streams]
    assert engine.largest_batch == 32
    for (prompt, params), ids in zip(batch, together):
        assert ids == alone(model, prompt, params, stop_ids=[0])
    assert any(len(ids) == p.max_tokens for ids, (_, p) in zip(together, batch))  # rows left at different steps


@pytest.mark.parametrize("name", list(seq2seq_models()))
def test_a_seq2seq_request_gets_the_same_ids_alone_and_in_a_batch(name):
    model = seq2seq_models()[name]
    sources = [torch.tensor([[1 + (i * 5 + j) % (V - 1) for j in range(2 + i % 5)]]) for i in range(12)]
    batch = requests(12)

    def start(src):
        with torch.no_grad():
            return model.start(src, torch.ones_like(src, dtype=torch.bool))

    engine = BatchEngine(model, max_batch=12)
    streams = [engine.submit([1], params, state=start(src)) for src, (_, params) in zip(sources, batch)]
    together = [list(s.ids()) for s in streams]
    assert engine.largest_batch == 12
    for src, (_, params), ids in zip(sources, batch, together):
        assert ids == alone(model, [1], params, state=start(src))


def test_rows_join_while_others_run_and_leave_when_done():
    model = language_models()["transformer"]
    engine = BatchEngine(model, max_batch=8)
    long = engine.submit([3, 4], SamplingParams(max_tokens=30, temperature=0.0))
    reader = long.ids()
    first = [next(reader) for _ in range(5)]  # the long request runs alone for 5 steps
    short = engine.submit([5], SamplingParams(max_tokens=3, temperature=0.0))
    assert list(short.ids()) == alone(model, [5], SamplingParams(max_tokens=3, temperature=0.0))
    assert engine.active == 1  # the short one left; the long one is still in the batch
    assert first + list(reader) == alone(model, [3, 4], SamplingParams(max_tokens=30, temperature=0.0))


def test_cancelled_rows_leave_the_batch_before_the_next_step():
    model = language_models()["lstm"]
    engine = BatchEngine(model, max_batch=16)
    streams = [engine.submit([1, 2], SamplingParams(max_tokens=50, seed=i)) for i in range(12)]
    engine.step()
    assert engine.active == 12
    for stream in streams[:10]:
        stream.close()
    engine.step()
    assert engine.active == 2
    assert all(s.finish_reason == "cancelled" for s in streams[:10])
    assert all(len(list(s.ids())) == 50 and s.finish_reason == "length" for s in streams[10:])


def test_the_queue_limit_refuses_one_request_more():
    engine = BatchEngine(language_models()["lstm"], max_batch=2, max_queue=3)
    for _ in range(2):
        engine.submit([1], SamplingParams(max_tokens=5))
    engine.step()  # two join the batch
    for _ in range(3):
        engine.submit([1], SamplingParams(max_tokens=5))
    with pytest.raises(QueueFullError, match="2 generations are running and 3 are waiting"):
        engine.submit([1], SamplingParams(max_tokens=5))


def test_a_failing_prompt_fails_only_its_own_request():
    class Fussy(RecurrentLM):
        def step(self, ids, state):
            if ids.shape[1] > 1 and bool((ids == 22).any()):
                raise ValueError("token 22 cannot start a prompt")
            return super().step(ids, state)

    torch.manual_seed(0)
    engine = BatchEngine(Fussy(V, embed_dim=8, hidden_size=16).eval(), max_batch=4)
    good = engine.submit([1, 2], SamplingParams(max_tokens=4, temperature=0.0))
    bad = engine.submit([22, 22], SamplingParams(max_tokens=4, temperature=0.0))
    assert len(list(good.ids())) == 4 and good.finish_reason == "length"
    with pytest.raises(ValueError, match="token 22 cannot start a prompt"):
        list(bad.ids())
    assert bad.finish_reason == "error"


def test_each_row_samples_by_its_own_settings():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]])).expand(2000, 3).contiguous()
    generators = [torch.Generator().manual_seed(i) for i in range(2000)]
    top_p = choose_rows(logits, [SamplingParams(top_p=0.65)] * 2000, generators, None)
    assert set(top_p.tolist()) == {0, 1}  # 0.5 + 0.3 reach 0.65; the third is cut
    plain = choose_rows(logits, [SamplingParams()] * 2000, generators, None)
    share = torch.bincount(plain, minlength=3).float() / 2000
    assert torch.allclose(share, torch.tensor([0.5, 0.3, 0.2]), atol=0.04)
    mixed = choose_rows(
        logits[:3], [SamplingParams(temperature=0), SamplingParams(top_k=1), SamplingParams(top_k=2)], generators, None
    )
    assert mixed[:2].tolist() == [0, 0] and mixed[2] in (0, 1)
    counts = torch.tensor([[3.0, 0.0, 0.0]])
    penalised = choose_rows(logits[:1], [SamplingParams(temperature=0, frequency_penalty=1.0)], [None], counts)
    assert penalised.tolist() == [1]  # 0 was generated three times: its logit fell below the others
