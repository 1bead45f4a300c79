"""Decoding one request: filters, seeded sampling, greedy, stop ids, streaming text."""

from __future__ import annotations

import pytest
import torch

from seqlab.decode import SamplingParams, decode_stream
from seqlab.engine import choose_rows, generate


class Bigram(torch.nn.Module):
    """A fixed random bigram table as a steppable model, counting the steps it is asked for."""

    def __init__(self, vocab: int = 12) -> None:
        super().__init__()
        self.table = torch.randn(vocab, vocab, generator=torch.Generator().manual_seed(0))
        self.tokens_read = 0

    def init_state(self, batch_size):
        return None

    def step(self, ids, state):
        self.tokens_read += ids.numel()
        return self.table[ids], state


def draws(logits: torch.Tensor, params: SamplingParams, n: int = 400) -> set[int]:
    """The tokens n seeded rows of the same logits sample."""
    generators = [torch.Generator().manual_seed(i) for i in range(n)]
    return set(choose_rows(logits.expand(n, -1).contiguous(), [params] * n, generators, None).tolist())


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.1, 0.4, 0.3, 0.2]]))
    assert draws(logits, SamplingParams(top_k=2)) == {1, 2}
    assert draws(logits, SamplingParams(top_p=0.65)) == {1, 2}
    assert draws(logits, SamplingParams(top_p=0.01)) == {1}
    assert draws(logits, SamplingParams()) == {0, 1, 2, 3}


def test_seeded_sampling_is_reproducible_and_greedy_is_argmax():
    model = Bigram()
    a = list(generate(model, [1], SamplingParams(max_tokens=30, temperature=1.0, seed=7)))
    b = list(generate(model, [1], SamplingParams(max_tokens=30, temperature=1.0, seed=7)))
    assert a == b and len(a) == 30
    greedy = list(generate(model, [1], SamplingParams(max_tokens=5, temperature=0.0)))
    assert greedy == greedy_ids(model, 1, 5)


def test_each_new_token_costs_one_step():
    model = Bigram()
    list(generate(model, [1, 2, 3], SamplingParams(max_tokens=10, temperature=1.0, seed=0)))
    assert model.tokens_read == 3 + 9  # the prompt once, then one token per step (the last needs none)


def test_stop_ids_end_generation():
    model = Bigram()
    first = list(generate(model, [1], SamplingParams(max_tokens=1, temperature=0.0)))[0]
    assert list(generate(model, [1], SamplingParams(max_tokens=10, temperature=0.0), stop_ids=[first])) == []


def test_bad_sampling_params():
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0.0)
    with pytest.raises(ValueError, match="temperature"):
        SamplingParams(temperature=-1)


def greedy_ids(model: Bigram, start: int, n: int) -> list[int]:
    """What argmax decoding gives, computed from the table by hand."""
    expected, token = [], start
    for _ in range(n):
        token = int(model.table[token].argmax())
        expected.append(token)
    return expected


@pytest.mark.parametrize("temperature", [1e-4, 1e-12, 1e-40, 1e-300])
def test_a_temperature_towards_zero_samples_what_greedy_decodes(temperature):
    model = Bigram()
    expected = greedy_ids(model, 1, 20)
    for seed in range(5):
        params = SamplingParams(max_tokens=20, temperature=temperature, seed=seed)
        assert list(generate(model, [1], params)) == expected
    assert SamplingParams(temperature=1e-300).greedy and not SamplingParams(temperature=1e-40).greedy


def test_a_small_top_p_samples_only_the_top_tokens():
    probs = torch.tensor([[0.1, 0.4, 0.3, 0.2]])  # sorted: 1 (0.4), 2 (0.3), 3 (0.2), 0 (0.1)
    assert draws(torch.log(probs), SamplingParams(top_p=0.65)) == {1, 2}  # the two whose mass reaches 0.65
    assert draws(torch.log(probs), SamplingParams(top_p=0.3)) == {1}
    model = Bigram()
    for seed in range(5):  # a top_p below every token's probability is greedy, whatever the seed
        assert list(generate(model, [1], SamplingParams(max_tokens=20, top_p=1e-3, seed=seed))) == greedy_ids(
            model, 1, 20
        )


def test_a_top_p_that_rounds_to_zero_in_float32_decodes_greedily():
    params = SamplingParams(max_tokens=20, top_p=1e-50, seed=3)  # 1e-50 is 0.0 in float32
    assert params.greedy
    model = Bigram()
    assert list(generate(model, [1], params)) == greedy_ids(model, 1, 20)
    logits = torch.randn(4, 12, generator=torch.Generator().manual_seed(1))
    chosen = choose_rows(logits, [SamplingParams(top_p=5e-324, seed=0)] * 4, [None] * 4, None)
    assert chosen.tolist() == logits.argmax(-1).tolist()  # the most likely token always stays


def test_different_seeds_give_different_samples():
    model = Bigram()
    samples = {tuple(generate(model, [1], SamplingParams(max_tokens=30, temperature=1.0, seed=s))) for s in range(6)}
    assert len(samples) == 6
    unseeded = {tuple(generate(model, [1], SamplingParams(max_tokens=30, temperature=1.0))) for _ in range(3)}
    assert len(unseeded) == 3  # without a seed, each call draws afresh


def test_decode_stream_waits_for_whole_characters():
    class Bytes:
        def decode(self, ids):
            return bytes(ids).decode("utf-8", errors="replace")

    pieces = list(decode_stream(Bytes(), iter("한a".encode())))
    assert pieces == ["한", "a"]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("temperature", float("nan"), "temperature must be a finite number >= 0 (got nan)"),
        ("temperature", float("inf"), "temperature must be a finite number >= 0 (got inf)"),
        ("top_p", float("nan"), "top_p must be in (0, 1] (got nan)"),
        ("frequency_penalty", float("-inf"), "frequency_penalty must be in [-2, 2] (got -inf)"),
        ("presence_penalty", float("nan"), "presence_penalty must be in [-2, 2]"),
        ("max_tokens", 0, "max_tokens must be an integer >= 1 (got 0)"),
        ("max_tokens", 2.5, "max_tokens must be an integer >= 1"),
        ("top_k", -1, "top_k must be an integer >= 0 (got -1)"),
        ("seed", "7", "seed must be None or an integer from -9223372036854775808 to 18446744073709551615"),
        ("seed", 2**64, "seed must be None or an integer from -9223372036854775808 to 18446744073709551615 (got 1844"),
        ("seed", -(2**63) - 1, "(got -9223372036854775809)"),
        ("seed", True, "seed must be None or an integer"),
        ("max_tokens", True, "max_tokens must be an integer >= 1 (got True)"),
        ("max_tokens", -3, "max_tokens must be an integer >= 1 (got -3)"),
        ("top_k", False, "top_k must be an integer >= 0 (got False)"),
        ("temperature", True, "temperature must be a finite number >= 0 (got True)"),
        ("top_p", float("inf"), "top_p must be in (0, 1] (got inf)"),
        ("stop", ("",), "stop must be a sequence of non-empty strings"),
        ("stop", "\n", "stop must be a sequence of non-empty strings"),
    ],
)
def test_sampling_params_refuse_bad_values_naming_the_field(field, value, says):
    from seqlab.decode import SamplingError
    from seqlab.errors import SeqlabError

    with pytest.raises(SamplingError) as err:
        SamplingParams(**{field: value})
    assert says in str(err.value) and err.value.field == field
    assert isinstance(err.value, SeqlabError) and isinstance(err.value, ValueError)  # the CLI prints it; a 400


def test_sampling_params_keep_stop_strings_as_a_tuple():
    params = SamplingParams(stop=["\n", "User:"])
    assert params.stop == ("\n", "User:") and hash(params) == hash(SamplingParams(stop=("\n", "User:")))
