"""Layers: recurrent cells from the gate equations, Keras-style recurrent layers, Conv1D, summary.

>>> import torch
>>> from seqlab.layers import LSTM, Bidirectional
>>> bi = Bidirectional(LSTM(8, 16, return_sequences=True), merge_mode="sum")
>>> bi(torch.randn(2, 5, 8)).shape
torch.Size([2, 5, 16])
"""

from __future__ import annotations

from seqlab.layers.attention import (
    BahdanauAttention,
    KVCache,
    LuongConcatAttention,
    LuongDotAttention,
    LuongGeneralAttention,
    MultiHeadAttention,
    build_attention,
)
from seqlab.layers.bidirectional import Bidirectional
from seqlab.layers.conv import Conv1D
from seqlab.layers.dropout import Dropout
from seqlab.layers.positional import LearnedPositions, SinusoidalPositions
from seqlab.layers.recurrent import GRU, LSTM, RecurrentLayer, SimpleRNN
from seqlab.layers.summary import ParameterFormula, SummaryRow, SummaryTable, parameter_count_formula, summary
from seqlab.layers.trace import GateTrace, record_gates

__all__ = [
    "SimpleRNN",
    "LSTM",
    "GRU",
    "RecurrentLayer",
    "Bidirectional",
    "Conv1D",
    "Dropout",
    "BahdanauAttention",
    "LuongDotAttention",
    "LuongGeneralAttention",
    "LuongConcatAttention",
    "MultiHeadAttention",
    "KVCache",
    "build_attention",
    "SinusoidalPositions",
    "LearnedPositions",
    "record_gates",
    "GateTrace",
    "summary",
    "SummaryTable",
    "SummaryRow",
    "parameter_count_formula",
    "ParameterFormula",
]
