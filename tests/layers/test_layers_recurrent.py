"""SimpleRNN / LSTM / GRU: scratch equals fused equals torch, masking, states, dropout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.errors import ConfigError, DataError
from seqlab.layers import GRU, LSTM, Bidirectional, SimpleRNN

CLASSES = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
E, H = 3, 4
LENGTHS = [5, 2, 4, 1]


def make(cell, impl="fused", *, dtype=torch.float64, seed=0, **options):
    torch.manual_seed(seed)
    return CLASSES[cell](E, H, impl=impl, **options).to(dtype)


def twins(cell, *, dtype=torch.float64, **options):
    fused = make(cell, "fused", dtype=dtype, **options)
    scratch = make(cell, "scratch", dtype=dtype, seed=1, **options)
    scratch.load_state_dict(fused.state_dict())
    return fused, scratch


def padded_batch(lengths, *, padding, time=None, dtype=torch.float64, seed=0):
    """The same sequences, pre- or post-padded, with garbage (not zeros) at padded positions."""
    gen = torch.Generator().manual_seed(seed)
    time = time or max(lengths)
    seqs = [torch.randn(n, E, generator=gen, dtype=dtype) for n in lengths]
    x = 100 * torch.randn(len(lengths), time, E, generator=gen, dtype=dtype)
    mask = torch.zeros(len(lengths), time, dtype=torch.bool)
    for b, seq in enumerate(seqs):
        n = len(seq)
        start = 0 if padding == "post" else time - n
        x[b, start : start + n] = seq
        mask[b, start : start + n] = True
    return x, mask, seqs


def run(layer, *args, **kwargs):
    out = layer(*args, **kwargs)
    return out if isinstance(out, tuple) else (out,)


# ----------------------------------------------------------------------------- scratch == fused == torch


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("padding", [None, "post", "pre"])
@pytest.mark.parametrize("return_state", [False, True])  # fused: unpacked fast path / packed path
def test_scratch_equals_fused_float64(cell, num_layers, go_backwards, padding, return_state):
    options = dict(num_layers=num_layers, go_backwards=go_backwards, return_sequences=True, return_state=return_state)
    fused, scratch = twins(cell, **options)
    if padding is None:
        x, mask = torch.randn(4, 5, E, dtype=torch.float64), None
    else:
        x, mask, _ = padded_batch(LENGTHS, padding=padding)
    x_f, x_s = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_f, out_s = run(fused, x_f, mask), run(scratch, x_s, mask)
    for a, b in zip(out_f, out_s):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    sum(o.square().sum() for o in out_f).backward()
    sum(o.square().sum() for o in out_s).backward()
    torch.testing.assert_close(x_f.grad, x_s.grad, atol=1e-10, rtol=0)
    for (name, p), q in zip(fused.named_parameters(), scratch.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-10, rtol=0, msg=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_scratch_equals_fused_float32(cell):
    fused, scratch = twins(cell, dtype=torch.float32, num_layers=2, return_sequences=True)
    x, mask, _ = padded_batch(LENGTHS, padding="pre", dtype=torch.float32)
    x_f, x_s = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_f, y_s = fused(x_f, mask), scratch(x_s, mask)
    torch.testing.assert_close(y_f, y_s, atol=1e-5, rtol=0)
    y_f.sum().backward()
    y_s.sum().backward()
    torch.testing.assert_close(x_f.grad, x_s.grad, atol=1e-5, rtol=0)
    for p, q in zip(fused.parameters(), scratch.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("impl", ["fused", "scratch"])
@pytest.mark.parametrize("return_state", [False, True])
def test_matches_torch_module_with_the_same_state_dict(cell, impl, return_state):
    layer = make(cell, impl, num_layers=2, return_sequences=True, return_state=return_state)
    reference = TORCH[cell](E, H, num_layers=2, batch_first=True).double()
    reference.load_state_dict(layer.state_dict())  # same names, same layout
    x, mask, _ = padded_batch(LENGTHS, padding="post")
    lengths = torch.tensor(LENGTHS)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, ref_state = reference(packed)
    ref_out, _ = nn.utils.rnn.pad_packed_sequence(ref_out, batch_first=True)
    ours = run(layer, x, mask)
    torch.testing.assert_close(ours[0], ref_out)
    ref_states = ref_state if isinstance(ref_state, tuple) else (ref_state,)
    for a, b in zip(ours[1:], ref_states):
        torch.testing.assert_close(a, b)


# ----------------------------------------------------------------------------- masking


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("impl", ["fused", "scratch"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_pre_and_post_padding_agree(cell, impl, bidirectional, go_backwards, return_state):
    layer = make(cell, impl, return_sequences=True, return_state=return_state, go_backwards=go_backwards)
    if bidirectional:
        layer = Bidirectional(layer)
    x_pre, m_pre, seqs = padded_batch(LENGTHS, padding="pre", time=6)
    x_post, m_post, _ = padded_batch(LENGTHS, padding="post", time=6)
    pre, post = run(layer, x_pre, m_pre), run(layer, x_post, m_post)
    # Keras: a go_backwards layer returns reversed time, and so does a Bidirectional wrapping one
    flip = go_backwards
    seq_pre, seq_post = (pre[0].flip(1), post[0].flip(1)) if flip else (pre[0], post[0])
    torch.testing.assert_close(seq_pre[m_pre], seq_post[m_post])  # same outputs at real positions
    assert not seq_pre[~m_pre].any() and not seq_post[~m_post].any()  # zeros at padding
    for a, b in zip(pre[1:], post[1:]):  # same final states
        torch.testing.assert_close(a, b)
    # and the same as each sequence run alone, without padding
    for b, seq in enumerate(seqs):
        alone = run(layer, seq[None])
        own = alone[0][0].flip(0) if flip else alone[0][0]
        torch.testing.assert_close(own, seq_post[b, : len(seq)])
        for a, s in zip(alone[1:], post[1:]):
            torch.testing.assert_close(a[0], s[b])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("impl", ["fused", "scratch"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_last_output_ignores_padding_and_mixed_masks(cell, impl, go_backwards, num_layers):
    layer = make(cell, impl, go_backwards=go_backwards, num_layers=num_layers)
    x_post, m_post, _ = padded_batch(LENGTHS, padding="post", time=7)
    x_mid = x_post.roll(1, dims=1)  # one pad before and the rest after: still contiguous
    m_mid = m_post.roll(1, dims=1)
    torch.testing.assert_close(layer(x_post, m_post), layer(x_mid, m_mid))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("impl", ["fused", "scratch"])
def test_initial_state_with_padding(cell, impl):
    layer = make(cell, impl, num_layers=2, return_state=True)
    n_state = 2 if cell == "lstm" else 1
    gen = torch.Generator().manual_seed(3)
    state = [torch.randn(2, len(LENGTHS), H, generator=gen, dtype=torch.float64) for _ in range(n_state)]
    x_pre, m_pre, seqs = padded_batch(LENGTHS, padding="pre")
    x_post, m_post, _ = padded_batch(LENGTHS, padding="post")
    pre = run(layer, x_pre, m_pre, state)
    post = run(layer, x_post, m_post, state)
    for a, b in zip(pre, post):
        torch.testing.assert_close(a, b)
    alone = run(layer, seqs[1][None], None, [s[:, 1:2] for s in state])
    torch.testing.assert_close(alone[0][0], post[0][1])
    zero = run(layer, x_post, m_post)
    assert not torch.allclose(zero[0], post[0])  # the initial state matters


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("impl", ["fused", "scratch"])
def test_row_without_tokens_keeps_its_initial_state(cell, impl):
    layer = make(cell, impl, return_sequences=True, return_state=True)
    x, mask, _ = padded_batch([3, 0, 2], padding="post", time=3)
    h0 = [torch.randn(3, H, dtype=torch.float64) for _ in range(2 if cell == "lstm" else 1)]
    out = run(layer, x, mask, h0)
    assert not out[0][1].any()
    for final, start in zip(out[1:], h0):
        torch.testing.assert_close(final[1], start[1])


def test_single_layer_initial_state_accepts_b_h_and_stacked_needs_layers():
    layer = make("lstm", return_state=True)
    x = torch.randn(2, 3, E, dtype=torch.float64)
    h, c = torch.zeros(2, H, dtype=torch.float64), torch.ones(2, H, dtype=torch.float64)
    a = run(layer, x, None, (h, c))
    b = run(layer, x, None, [h[None], c[None]])
    torch.testing.assert_close(a, b)
    with pytest.raises(DataError, match=r"\[h, c\]"):
        layer(x, None, h)
    with pytest.raises(DataError, match="num_layers, B, H"):
        make("gru", num_layers=2)(x, None, h)


# ----------------------------------------------------------------------------- Keras outputs


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_return_shapes(cell):
    x = torch.randn(2, 5, E, dtype=torch.float64)
    assert make(cell)(x).shape == (2, H)
    assert make(cell, return_sequences=True)(x).shape == (2, 5, H)
    out = make(cell, return_state=True)(x)
    assert len(out) == (3 if cell == "lstm" else 2) and all(o.shape == (2, H) for o in out)
    torch.testing.assert_close(out[0], out[1])  # last output is h
    out = make(cell, num_layers=3, return_sequences=True, return_state=True)(x)
    assert out[0].shape == (2, 5, H) and all(o.shape == (3, 2, H) for o in out[1:])
    torch.testing.assert_close(out[0][:, -1], out[1][-1])


@pytest.mark.parametrize("impl", ["fused", "scratch"])
def test_go_backwards_reads_reversed_and_returns_reversed_time(impl):
    forward = make("gru", impl, return_sequences=True)
    backward = make("gru", impl, return_sequences=True, go_backwards=True)
    x = torch.randn(2, 5, E, dtype=torch.float64)
    torch.testing.assert_close(backward(x), forward(x.flip(1)))


# ----------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("return_state", [False, True])
def test_dropout_is_the_same_in_both_impls_and_off_in_eval(cell, return_state):
    fused, scratch = twins(cell, num_layers=2, return_sequences=True, dropout=0.5, return_state=return_state)
    x, mask, _ = padded_batch(LENGTHS, padding="pre")
    torch.manual_seed(7)
    out_f = run(fused, x, mask)
    torch.manual_seed(7)
    out_s = run(scratch, x, mask)
    for a, b in zip(out_f, out_s):
        torch.testing.assert_close(a, b)
    y_f = out_f[0]
    fused.return_state = False
    fused.eval()
    plain = make(cell, num_layers=2, return_sequences=True)
    plain.load_state_dict(fused.state_dict())
    torch.testing.assert_close(fused(x, mask), plain(x, mask))
    assert not torch.allclose(y_f, plain(x, mask))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_recurrent_dropout_falls_back_to_scratch_in_training(cell):
    fused, scratch = twins(cell, return_sequences=True, recurrent_dropout=0.5, dropout=0.2)
    x, mask, _ = padded_batch(LENGTHS, padding="post")
    torch.manual_seed(11)
    y_f = fused(x, mask)
    torch.manual_seed(11)
    y_s = scratch(x, mask)
    torch.testing.assert_close(y_f, y_s)
    y_f.sum().backward()
    assert fused.weight_hh_l0.grad is not None
    fused.eval()
    scratch.eval()
    torch.testing.assert_close(fused(x, mask), scratch(x, mask))


def test_recurrent_dropout_mask_is_the_same_at_every_step():
    # with zero input weights and bias, h_t = tanh((h_{t-1} * m) @ W_hh^T): a unit dropped by m
    # never feeds the next state, at any step, if m is one mask per sequence
    layer = SimpleRNN(1, 6, recurrent_dropout=0.5, impl="scratch", return_sequences=True).double()
    with torch.no_grad():
        layer.weight_ih_l0.fill_(1.0)
        layer.bias_ih_l0.zero_()
        layer.bias_hh_l0.zero_()
        layer.weight_hh_l0.copy_(torch.eye(6))
    torch.manual_seed(0)
    x = torch.ones(8, 10, 1, dtype=torch.float64)
    x[:, 1:] = 0  # only the first step has input; later steps only carry h through the masked identity
    y = layer(x)
    alive = y[:, 1] != 0
    for t in range(2, 10):
        assert torch.equal(y[:, t] != 0, alive)


# ----------------------------------------------------------------------------- user errors


def test_user_errors_are_clear():
    with pytest.raises(ConfigError, match="impl"):
        LSTM(3, 4, impl="cudnn")
    with pytest.raises(ConfigError, match="dropout"):
        GRU(3, 4, dropout=1.5)
    with pytest.raises(ConfigError, match="units"):
        GRU(3, 0)
    layer = LSTM(3, 4)
    with pytest.raises(DataError, match=r"\(B, T, 3\)"):
        layer(torch.randn(2, 5, 7))
    with pytest.raises(DataError, match="embed token ids"):
        layer(torch.zeros(2, 5, 3, dtype=torch.long))
    with pytest.raises(DataError, match="gaps"):
        layer(torch.randn(1, 4, 3), torch.tensor([[True, False, True, True]]))
    with pytest.raises(DataError, match="bool"):
        layer(torch.randn(1, 4, 3), torch.ones(1, 4))


def test_repr_and_hidden_size():
    layer = LSTM(3, 4, num_layers=2, return_sequences=True)
    assert repr(layer) == "LSTM(3, 4, num_layers=2, return_sequences=True, impl='fused')"
    assert layer.hidden_size == 4 and layer.output_size == 4


@pytest.mark.parametrize("cls", [GRU, SimpleRNN])
def test_bf16_autocast_runs_the_kernel_in_bf16_close_to_fp32(cls):
    """torch's autocast leaves the GRU kernel in fp32; the layer casts it as autocast does the others."""
    torch.manual_seed(0)
    layer = cls(16, 8, return_sequences=True)
    x, mask = torch.randn(3, 6, 16), torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [0] * 1 + [1] * 5]).bool()
    ref = layer(x, mask=mask)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x, mask=mask)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, atol=0.02, rtol=0.02)
    out.float().sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in layer.parameters())
