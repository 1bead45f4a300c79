"""summary: the Keras-style table, parameter counts checked by hand and against torch."""

from __future__ import annotations

import io

import pytest
import torch
from rich.console import Console
from torch import nn

from seqlab.errors import ConfigError
from seqlab.layers import GRU, LSTM, Bidirectional, Conv1D, SimpleRNN, parameter_count_formula, summary


def quiet():
    return Console(file=io.StringIO(), width=200)


class TextModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(100, 16)
        self.conv = Conv1D(16, 8, 3)
        self.encoder = Bidirectional(LSTM(8, 32, num_layers=2, return_sequences=True))
        self.gru = GRU(64, 10)
        self.head = nn.Linear(10, 2)
        self.unused = nn.Linear(3, 3)

    def forward(self, ids, mask):
        x = self.conv(self.embedding(ids), mask)
        return self.head(self.gru(self.encoder(x, mask), mask))


@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
@pytest.mark.parametrize("input_size, units", [(64, 128), (5, 7)])
def test_formula_matches_torch_numel(cell, gates, input_size, units):
    formula = parameter_count_formula(cell, input_size, units)
    reference = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](input_size, units)
    assert formula.count == sum(p.numel() for p in reference.parameters())
    assert formula.count == gates * (units * input_size + units * units + 2 * units)
    keras = parameter_count_formula(cell, input_size, units, bias="keras").count
    assert keras == (formula.count if cell == "gru" else gates * (units * input_size + units * units + units))


def test_formula_errors():
    with pytest.raises(ConfigError, match="cell"):
        parameter_count_formula("lstn", 3, 4)


def test_table_counts_by_hand():
    model = TextModel()
    ids = torch.randint(1, 100, (2, 6))
    mask = torch.ones(2, 6, dtype=torch.bool)
    console = quiet()
    table = summary(model, (ids, mask), console=console)
    rows = {row.name: row for row in table.rows}
    assert [row.name for row in table.rows] == ["embedding", "conv", "encoder", "gru", "head", "unused"]
    assert rows["embedding"].params == 100 * 16
    assert rows["conv"].params == 8 * 16 * 3 + 8
    lstm = 4 * (32 * 8 + 32 * 32 + 2 * 32) + 4 * (32 * 32 + 32 * 32 + 2 * 32)
    assert rows["encoder"].params == 2 * lstm
    assert rows["gru"].params == 3 * (10 * 64 + 10 * 10 + 2 * 10)
    assert rows["head"].params == 10 * 2 + 2
    assert rows["encoder"].output_shape == "(2, 6, 64)"
    assert rows["gru"].output_shape == "(2, 10)"
    assert rows["unused"].output_shape == "(not called)"
    total = sum(p.numel() for p in model.parameters())
    assert table.total_params == total == sum(row.params for row in table.rows)
    assert table.trainable_params == total and table.non_trainable_params == 0
    printed = console.file.getvalue()
    for text in (
        "Layer (type)",
        "Output Shape",
        "Param #",
        "encoder (Bidirectional)",
        f"Total params: {total:,}",
        "Trainable params",
        "Non-trainable params",
        "Keras counts one bias",
        "2 directions",
        "4x and 3x",
    ):
        assert text in printed, text


def test_notes_explain_gate_multiples():
    model = nn.ModuleDict({"rnn": SimpleRNN(64, 128), "lstm": LSTM(64, 128), "gru": GRU(64, 128)})

    class Three(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = model

        def forward(self, x):
            return [layer(x) for layer in self.layers.values()]

    table = summary(Three(), torch.zeros(1, 2, 64), console=quiet())
    counts = {row.name.split(".")[-1]: row.params for row in table.rows}
    assert counts["lstm"] == 4 * counts["rnn"] and counts["gru"] == 3 * counts["rnn"]
    notes = "\n".join(table.notes)
    assert "LSTM(64->128): 4 gates x (128*64 + 128*128 + 2*128) = 99,328" in notes
    assert "Keras counts one bias: 4 gates x (128*64 + 128*128 + 128) = 98,816" in notes
    assert "GRU(64->128): 3 gates x (128*64 + 128*128 + 2*128) = 74,496" in notes
    assert "SimpleRNN(64->128): 1 x (128*64 + 128*128 + 2*128) = 24,832" in notes


def test_frozen_tied_and_return_state_shapes():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(20, 4)
            self.rnn = LSTM(4, 4, return_sequences=True, return_state=True)
            self.out = nn.Linear(4, 20)
            self.out.weight = self.embedding.weight

        def forward(self, ids):
            y, h, c = self.rnn(self.embedding(ids))
            return self.out(y)

    model = Tied()
    model.rnn.requires_grad_(False)
    table = summary(model, torch.zeros(3, 5, dtype=torch.long), console=quiet())
    total = sum(p.numel() for p in model.parameters())  # parameters() yields a tied weight once
    assert table.total_params == total
    assert table.non_trainable_params == sum(p.numel() for p in model.rnn.parameters())
    rows = {row.name: row for row in table.rows}
    assert rows["rnn"].output_shape == "[(3, 5, 4), (3, 4), (3, 4)]"
    assert any("shared" in note for note in table.notes)
    assert model.training  # modes restored


def test_a_layer_on_its_own_and_str():
    layer = GRU(3, 5)
    table = summary(layer, torch.zeros(2, 4, 3), console=quiet())
    assert [(row.name, row.layer_type, row.params) for row in table.rows] == [("gru", "GRU", 3 * (15 + 25 + 10))]
    assert "gru (GRU)" in str(table)


def test_lazy_top_level_name():
    import seqlab

    assert seqlab.summary is summary
