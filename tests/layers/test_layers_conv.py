"""Conv1D: 'same' padding like Keras, padding never leaks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import ConfigError
from seqlab.layers import Conv1D


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4])
def test_same_padding_matches_a_plain_convolution(kernel_size):
    torch.manual_seed(0)
    conv = Conv1D(3, 5, kernel_size, activation="linear").double()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    y = conv(x)
    assert y.shape == (2, 7, 5)
    # Keras 'same': the extra zero of an even kernel goes after the sequence
    before = (kernel_size - 1) // 2
    padded = F.pad(x.transpose(1, 2), (before, kernel_size - 1 - before))
    torch.testing.assert_close(y, F.conv1d(padded, conv.weight, conv.bias).transpose(1, 2))


@pytest.mark.parametrize("kernel_size", [3, 4])
def test_pre_and_post_padding_give_the_same_real_outputs(kernel_size):
    torch.manual_seed(0)
    conv = Conv1D(3, 5, kernel_size, activation="tanh").double()
    seq = torch.randn(4, 3, dtype=torch.float64)
    x_pre, x_post = 50 * torch.randn(2, 1, 7, 3, dtype=torch.float64)  # garbage in the padding
    x_pre[0, 3:], x_post[0, :4] = seq, seq
    m_pre = torch.tensor([[False] * 3 + [True] * 4])
    m_post = torch.tensor([[True] * 4 + [False] * 3])
    y_pre, y_post = conv(x_pre, m_pre), conv(x_post, m_post)
    torch.testing.assert_close(y_pre[m_pre], y_post[m_post])
    torch.testing.assert_close(y_post[m_post], conv(seq[None])[0])
    assert not y_pre[~m_pre].any() and not y_post[~m_post].any()


def test_parameters_and_errors():
    conv = Conv1D(8, 16, 5)
    assert sum(p.numel() for p in conv.parameters()) == 16 * 8 * 5 + 16
    assert bool((conv(torch.randn(2, 4, 8)) >= 0).all())  # relu by default
    with pytest.raises(ConfigError, match="activation"):
        Conv1D(8, 16, 5, activation="rellu")
    with pytest.raises(ConfigError, match="kernel_size"):
        Conv1D(8, 16, 0)
