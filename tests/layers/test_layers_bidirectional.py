"""Bidirectional: merge modes, states in Keras order, the backward half reads real tokens reversed."""

from __future__ import annotations

import pytest
import torch

from seqlab.errors import ConfigError, DataError
from seqlab.layers import GRU, LSTM, Bidirectional, SimpleRNN

E, H = 3, 4


def batch():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, E, generator=gen, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [False, False, True, True, True], [True, True, False, False, False]])
    return x, mask


@pytest.mark.parametrize("impl", ["fused", "scratch"])
def test_halves_are_a_forward_and_a_reversed_reading(impl):
    torch.manual_seed(0)
    bi = Bidirectional(LSTM(E, H, return_sequences=True, impl=impl).double(), merge_mode=None)
    x, mask = batch()
    fw, bw = bi(x, mask)
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    fw_alone = LSTM(E, H, return_sequences=True).double()
    fw_alone.load_state_dict(bi.forward_layer.state_dict())
    bw_alone = LSTM(E, H, return_sequences=True).double()
    bw_alone.load_state_dict(bi.backward_layer.state_dict())
    for b in range(3):
        real = x[b][mask[b]][None]  # (1, n, E)
        torch.testing.assert_close(fw[b][mask[b]], fw_alone(real)[0])
        torch.testing.assert_close(bw[b][mask[b]], bw_alone(real.flip(1))[0].flip(0))
        assert not fw[b][~mask[b]].any() and not bw[b][~mask[b]].any()


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_merge_modes(merge_mode):
    torch.manual_seed(0)
    x, mask = batch()
    bi = Bidirectional(GRU(E, H, return_sequences=True).double(), merge_mode=merge_mode)
    split = Bidirectional(GRU(E, H, return_sequences=True).double(), merge_mode=None)
    split.load_state_dict(bi.state_dict())
    fw, bw = split(x, mask)
    expected = {"concat": torch.cat([fw, bw], -1), "sum": fw + bw, "mul": fw * bw, "ave": (fw + bw) / 2}
    torch.testing.assert_close(bi(x, mask), expected[merge_mode])
    assert bi.output_size == (2 * H if merge_mode == "concat" else H)


def test_return_state_in_keras_order_and_initial_state():
    torch.manual_seed(0)
    x, mask = batch()
    bi = Bidirectional(LSTM(E, H, return_state=True).double())
    out, h_f, c_f, h_b, c_b = bi(x, mask)
    assert out.shape == (3, 2 * H)
    torch.testing.assert_close(out, torch.cat([h_f, h_b], -1))
    states = [torch.randn(3, H, dtype=torch.float64) for _ in range(4)]
    flat = bi(x, mask, states)
    nested = bi(x, mask, (states[:2], states[2:]))
    for a, b in zip(flat, nested):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(flat[0], out)
    with pytest.raises(DataError, match=r"\[h_f, c_f, h_b, c_b\]"):
        bi(x, mask, states[:2])


def test_merge_none_with_state_is_flat():
    bi = Bidirectional(SimpleRNN(E, H, return_state=True), merge_mode=None)
    out = bi(torch.randn(2, 4, E))
    assert len(out) == 4 and all(o.shape == (2, H) for o in out)


def test_backward_twin_has_its_own_weights_and_user_errors():
    layer = LSTM(E, H)
    bi = Bidirectional(layer)
    assert bi.forward_layer is layer
    assert not torch.equal(bi.forward_layer.weight_ih_l0, bi.backward_layer.weight_ih_l0)
    assert sum(p.numel() for p in bi.parameters()) == 2 * sum(p.numel() for p in layer.parameters())
    with pytest.raises(ConfigError, match="merge_mode"):
        Bidirectional(LSTM(E, H), merge_mode="average")
    with pytest.raises(ConfigError, match="wraps"):
        Bidirectional(torch.nn.LSTM(E, H))
