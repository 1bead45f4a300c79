"""Attention weights are a distribution over the real source tokens and ignore padding."""

from __future__ import annotations

import pytest
import torch

from seqlab.layers.attention import ATTENTIONS, KVCache, MultiHeadAttention, build_attention, masked_softmax


def _batch():
    torch.manual_seed(0)
    keys = torch.randn(3, 6, 8)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2, [True] + [False] * 5])
    return keys, mask


@pytest.mark.parametrize("name", sorted(ATTENTIONS))
def test_weights_sum_to_one_and_skip_padding(name):
    keys, mask = _batch()
    attn = build_attention(name, 8, 8)
    context, weights = attn(torch.randn(3, 5, 8), keys, mask)
    assert context.shape == (3, 5, 8) and weights.shape == (3, 5, 6)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 5), atol=1e-6)
    assert (weights.masked_select(~mask.unsqueeze(1).expand_as(weights)) == 0).all()
    # what sits on padded positions cannot change the context
    noisy = keys.clone()
    noisy[~mask] = 1e3
    assert torch.allclose(
        attn(context.new_zeros(3, 5, 8) + 0.5, noisy, mask)[0],
        attn(context.new_zeros(3, 5, 8) + 0.5, keys, mask)[0],
        atol=1e-5,
    )


def test_multi_head_masks_padding_and_future():
    keys, mask = _batch()
    mha = MultiHeadAttention(8, 2)
    _, weights, _ = mha(torch.randn(3, 6, 8), keys, mask=mask, causal=True)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 2, 6), atol=1e-6)
    allowed = mask[:, None, None, :] & torch.ones(6, 6, dtype=torch.bool).tril()
    assert (weights[~allowed.expand_as(weights)] == 0).all()


def test_cached_self_attention_equals_full():
    torch.manual_seed(1)
    mha = MultiHeadAttention(8, 4).eval()
    x = torch.randn(2, 7, 8)
    full, _, _ = mha(x, causal=True)
    cache, outs = KVCache.empty(), []
    for t in range(7):
        out, _, cache = mha(x[:, t : t + 1], causal=True, cache=cache)
        outs.append(out)
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_the_fused_kernel_gives_what_the_explicit_weights_give(causal):
    # need_weights=False runs scaled_dot_product_attention: same outputs under padding (a row
    # with nothing to see stays zero), causality and a cache, and the same gradients
    keys, mask = _batch()
    if not causal:
        mask[2] = False  # a source with no real token
    mha = MultiHeadAttention(8, 2).eval()
    x = torch.randn(3, 6, 8, requires_grad=True)
    memory = None if causal else keys
    explicit, weights, _ = mha(x, memory, mask=mask, causal=causal, need_weights=True)
    fused, none, _ = mha(x, memory, mask=mask, causal=causal, need_weights=False)
    assert none is None and weights is not None
    assert torch.allclose(fused, explicit, atol=1e-5)
    (grad_explicit,) = torch.autograd.grad(explicit.square().sum(), x)
    (grad_fused,) = torch.autograd.grad(fused.square().sum(), x)
    assert torch.allclose(grad_fused, grad_explicit, atol=1e-4)
    # cached decoding, token by token, through the fused kernel equals the full pass
    full, _, _ = mha(x, causal=True, need_weights=False)
    cache, outs = KVCache.empty(), []
    for t in range(6):
        out, _, cache = mha(x[:, t : t + 1], causal=True, cache=cache, need_weights=False)
        outs.append(out)
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-5)


def test_masked_softmax_of_a_fully_masked_row_is_zero():
    assert masked_softmax(torch.zeros(1, 3), torch.zeros(1, 3, dtype=torch.bool)).tolist() == [[0.0, 0.0, 0.0]]


def test_unknown_attention_and_bad_dot_sizes_are_user_errors():
    from seqlab.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean bahdanau"):
        build_attention("bahdanu", 4, 4)
    with pytest.raises(ConfigError, match="decoder size to equal"):
        build_attention("luong-dot", 4, 8)


def test_keep_weights_lets_a_hook_look_inside_a_trained_transformer():
    # training and decoding take the fused kernel and return no weights; a layer told to keep
    # them returns them, which is how the course notebook draws a block's attention
    from seqlab.models.transformer import TransformerLM

    lm = TransformerLM(30, embed_dim=16, num_heads=2, num_layers=1, block_size=16).eval()
    layer, seen = lm.blocks[0].self_attn, []
    hook = layer.register_forward_hook(lambda module, args, output: seen.append(output[1]))
    ids = torch.randint(1, 30, (1, 5))
    plain, _ = lm(ids)
    layer.keep_weights = True
    kept, _ = lm(ids)
    hook.remove()
    assert seen[0] is None and seen[1].shape == (1, 2, 5, 5)
    assert torch.allclose(seen[1].sum(-1), torch.ones(1, 2, 5)) and (seen[1][0, :, 0, 1:] == 0).all()
    assert torch.allclose(plain, kept, atol=1e-5)
