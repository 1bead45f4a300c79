"""Dropout: inverted dropout with a vectorised mask on the CPU, torch's kernel elsewhere."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.layers import Dropout


def test_keeps_the_expected_share_and_the_mean():
    torch.manual_seed(0)
    y = Dropout(0.3)(torch.ones(400, 500))
    kept = (y != 0).float().mean().item()
    assert kept == pytest.approx(0.7, abs=0.005)  # 200,000 draws: one standard error is 0.001
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)
    assert y.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]


def test_the_gradient_flows_through_the_kept_elements_only():
    torch.manual_seed(1)
    x = torch.randn(6, 7, requires_grad=True)
    y = Dropout(0.5)(x)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).float() * 2.0)


def test_evaluation_p0_and_p1_are_torchs():
    x = torch.randn(4, 5)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0)(x), x)
    assert torch.equal(Dropout(1.0)(x), torch.zeros_like(x))


def test_same_seed_same_mask_and_dtype_kept():
    x = torch.randn(3, 8, 16, dtype=torch.bfloat16)
    a = Dropout(0.2)(x) if torch.manual_seed(5) else None
    b = Dropout(0.2)(x) if torch.manual_seed(5) else None
    assert a.dtype == torch.bfloat16 and torch.equal(a, b)


def test_a_drop_in_for_nn_dropout():
    """Same class tree, repr and (empty) state dict, so models that used nn.Dropout load unchanged."""
    drop = Dropout(0.4)
    assert isinstance(drop, nn.Dropout) and repr(drop) == repr(nn.Dropout(0.4)) and drop.state_dict() == {}
