"""record_gates: every gate at every step, consistent with the equations, aligned with tokens."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.errors import ConfigError
from seqlab.layers import GRU, LSTM, Bidirectional, SimpleRNN, record_gates

E, H = 3, 4


def test_lstm_gates_follow_the_equations():
    torch.manual_seed(0)
    layer = LSTM(E, H, return_sequences=True).double()
    x = torch.randn(2, 5, E, dtype=torch.float64)
    with record_gates(layer) as trace:
        y = layer(x)
    g = trace["LSTM"]
    assert sorted(g) == ["candidate", "cell", "forget", "hidden", "input", "output"]
    assert all(v.shape == (2, 5, H) for v in g.values())
    torch.testing.assert_close(g["hidden"], y)
    torch.testing.assert_close(g["hidden"], g["output"] * torch.tanh(g["cell"]))
    c_prev = torch.cat([torch.zeros(2, 1, H, dtype=torch.float64), g["cell"][:, :-1]], dim=1)
    torch.testing.assert_close(g["cell"], g["forget"] * c_prev + g["input"] * g["candidate"])
    for name in ("input", "forget", "output"):
        assert bool(((g[name] > 0) & (g[name] < 1)).all())
    torch.testing.assert_close(trace.hidden_norms["LSTM"], y.norm(dim=-1))


def test_gru_gates_follow_the_equations():
    torch.manual_seed(0)
    layer = GRU(E, H, return_sequences=True).double()
    with record_gates(layer) as trace:
        y = layer(torch.randn(2, 5, E, dtype=torch.float64))
    g = trace["GRU"]
    h_prev = torch.cat([torch.zeros(2, 1, H, dtype=torch.float64), y[:, :-1]], dim=1)
    torch.testing.assert_close(y, (1 - g["update"]) * g["candidate"] + g["update"] * h_prev)
    assert sorted(g) == ["candidate", "hidden", "reset", "update"]


def test_fused_model_records_through_its_scratch_cells_aligned_with_tokens():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Bidirectional(GRU(E, H, num_layers=2, return_sequences=True))
            self.rnn = SimpleRNN(2 * H, H)

        def forward(self, x, mask):
            return self.rnn(self.encoder(x, mask), mask)

    torch.manual_seed(0)
    model = Model()
    x = torch.randn(2, 5, E)
    mask = torch.tensor([[True] * 5, [False, False, True, True, True]])
    expected = model(x, mask)
    with record_gates(model) as trace:
        got = model(x, mask)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert sorted(trace) == [
        "encoder.backward_layer.l0",
        "encoder.backward_layer.l1",
        "encoder.forward_layer.l0",
        "encoder.forward_layer.l1",
        "rnn",
    ]
    assert not trace["rnn"]["hidden"][1, :2].any() and trace["rnn"]["hidden"][1, 2:].abs().sum() > 0
    # the backward half read position 4 first: its state there only saw token 4
    back = trace["encoder.backward_layer.l0"]["hidden"]
    alone = GRU(E, H)
    alone.weight_ih_l0, alone.weight_hh_l0 = (
        model.encoder.backward_layer.weight_ih_l0,
        model.encoder.backward_layer.weight_hh_l0,
    )
    alone.bias_ih_l0, alone.bias_hh_l0 = (
        model.encoder.backward_layer.bias_ih_l0,
        model.encoder.backward_layer.bias_hh_l0,
    )
    torch.testing.assert_close(back[:, 4], alone(x[:, 4:5]).detach(), atol=1e-5, rtol=0)
    assert model.rnn._trace is None  # detached after the block


def test_step_by_step_calls_append_along_time():
    torch.manual_seed(0)
    layer = LSTM(E, H, return_state=True)
    x = torch.randn(2, 4, E)
    with record_gates(layer) as trace:
        state = None
        for t in range(4):
            _, h, c = layer(x[:, t : t + 1], None, state)
            state = (h, c)
    with record_gates(layer) as whole:
        layer(x)
    torch.testing.assert_close(trace["LSTM"]["forget"], whole["LSTM"]["forget"])
    assert trace["LSTM"]["forget"].shape == (2, 4, H)


def test_no_recurrent_layer_is_an_error():
    with pytest.raises(ConfigError, match="no seqlab recurrent layer"), record_gates(nn.Linear(2, 2)):
        pass
    with pytest.raises(KeyError, match="recorded"):
        with record_gates(LSTM(E, H)) as trace:
            pass
        trace["missing"]
