"""Forecasters: a window of past values (B, T, C) -> the next ``horizon`` values (B, horizon, C').

One wrapper, :class:`Forecaster`, does what every forecaster here shares, around an encoder
that turns the window into one vector:

1. window normalisation: subtract each window's last value (or mean) so the network sees the
   shape of the recent past, not its level, and a series that trends beyond its training range
   (CO2, air passengers) stays in range; the reference is added back to the forecast. Or
   seasonal differencing (``"seasonal"``, the D = 1 of SARIMA): the network reads how each of
   the last ``input_len - season`` steps differs from the same step one season earlier, and
   forecasts corrections to the seasonal-naive forecast, which it starts from (head and
   highway start at zero). On a strong season (a week of half-hourly electricity demand) this
   is the bias that lets a small model beat seasonal naive with a few weeks of training data;
2. the encoder: :class:`RecurrentEncoder` (optional Conv1D front-end, then stacked
   (bi)RNN/LSTM/GRU; its final state) or :class:`TransformerEncoder` (a small pre-norm
   Transformer encoder over the time steps; its last position);
3. a direct multi-step head: one linear map from that vector to all ``horizon x C'`` outputs
   (no feeding forecasts back in, so errors do not compound step by step);
4. optionally a linear autoregressive "highway" from the window to the forecast, as in LSTNet
   (Lai et al. 2018, section 3.6), which carries the scale-sensitive linear part (seasonal
   repetition, trend) while the network learns the non-linear rest.

>>> import torch
>>> model = Forecaster(RecurrentEncoder(2, cell="gru", hidden_size=8), num_inputs=2, input_len=12, horizon=3,
...                    targets=(0,))
>>> model(torch.randn(4, 12, 2)).shape
torch.Size([4, 3, 1])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqlab.layers import GRU, LSTM, Bidirectional, Conv1D, Dropout, SimpleRNN
from seqlab.layers.positional import LearnedPositions

RECURRENT = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
WINDOW_NORMS = ("last", "mean", "seasonal", "none")


class RecurrentEncoder(nn.Module):
    """(B, T, C) -> (B, H'): optional Conv1D, then stacked (bi)RNN/LSTM/GRU; the final state.

    Args:
        num_inputs: C, values per time step.
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        hidden_size: H per direction.
        num_layers: stacked recurrent layers.
        bidirectional: read the window both ways (H' = 2H).
        dropout: between stacked layers.
        conv_filters: channels of a Conv1D front-end (local patterns first); 0 for none.
        conv_kernel: its width in time steps.
        impl: ``"fused"`` (torch kernels) or ``"scratch"`` (the gate equations).

    >>> RecurrentEncoder(1, cell="lstm", hidden_size=4, conv_filters=3)(torch.randn(2, 7, 1)).shape
    torch.Size([2, 4])
    """

    def __init__(
        self,
        num_inputs: int,
        *,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        conv_filters: int = 0,
        conv_kernel: int = 3,
        impl: str = "fused",
    ) -> None:
        super().__init__()
        self.conv = Conv1D(num_inputs, conv_filters, conv_kernel) if conv_filters else None
        rnn = RECURRENT[cell](
            conv_filters or num_inputs,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            impl=impl,
        )
        self.rnn = Bidirectional(rnn, merge_mode="concat") if bidirectional else rnn
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, x: Tensor) -> Tensor:
        """Encode a window (B, T, C) into (B, H')."""
        if self.conv is not None:
            x = self.conv(x)  # (B, T, filters)
        return self.rnn(x)  # (B, H')


class TransformerEncoder(nn.Module):
    """(B, T, C) -> (B, H): project each step to H, add learned positions, pre-norm encoder blocks.

    Every step attends to every other (the whole window is known), and the last position's
    output, the one nearest the forecast, is the summary.

    Args:
        num_inputs: C.
        input_len: T (the learned positions cover exactly the window).
        hidden_size: H, the model width.
        num_heads: attention heads; must divide H.
        num_layers: encoder blocks.
        ff_dim: feed-forward width (0 = 4H).
        dropout: inside the blocks.

    >>> TransformerEncoder(1, input_len=10, hidden_size=8, num_heads=2)(torch.randn(3, 10, 1)).shape
    torch.Size([3, 8])
    """

    def __init__(
        self,
        num_inputs: int,
        *,
        input_len: int,
        hidden_size: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        ff_dim: int = 0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if hidden_size % num_heads:
            from seqlab.errors import ConfigError

            raise ConfigError(f"model.num_heads ({num_heads}) must divide model.hidden_size ({hidden_size})")
        self.project = nn.Linear(num_inputs, hidden_size)
        self.positions = LearnedPositions(hidden_size, max_len=input_len)
        block = nn.TransformerEncoderLayer(
            hidden_size,
            num_heads,
            ff_dim or 4 * hidden_size,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(block, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden_size)
        self.output_size = hidden_size

    def forward(self, x: Tensor) -> Tensor:
        """Encode a window (B, T, C) into (B, H)."""
        h = self.positions(self.project(x))  # (B, T, H)
        h = self.norm(self.blocks(h))  # (B, T, H)
        return h[:, -1]  # (B, H)


class Forecaster(nn.Module):
    """Window normalisation + encoder + direct multi-step head (+ linear highway).

    Args:
        encoder: a module (B, T, C) -> (B, output_size) with an ``output_size`` attribute.
        num_inputs: C.
        input_len: T.
        horizon: steps forecast at once.
        targets: indices of the C' forecast columns among the C inputs.
        window_norm: ``"last"``, ``"mean"`` or ``"none"``: the reference subtracted from each
            window; ``"seasonal"``: seasonal differencing around the seasonal-naive forecast.
        linear_skip: add the linear autoregressive highway.
        dropout: before the head.
        season: the seasonal period, for ``window_norm="seasonal"`` (less than ``input_len``).

    With seasonal differencing an untrained forecaster is exactly seasonal naive:

    >>> m = Forecaster(RecurrentEncoder(1, hidden_size=4), num_inputs=1, input_len=6, horizon=3,
    ...                window_norm="seasonal", season=4)
    >>> m(torch.arange(6.0).view(1, 6, 1)).flatten().tolist()  # steps 6, 7, 8 repeat steps 2, 3, 4
    [2.0, 3.0, 4.0]
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        num_inputs: int,
        input_len: int,
        horizon: int,
        targets: tuple[int, ...] = (0,),
        window_norm: str = "last",
        linear_skip: bool = True,
        dropout: float = 0.0,
        season: int = 0,
    ) -> None:
        super().__init__()
        if window_norm not in WINDOW_NORMS:
            raise ValueError(f"window_norm must be one of {', '.join(WINDOW_NORMS)} (got {window_norm!r})")
        if window_norm == "seasonal" and not 0 < season < input_len:
            raise ValueError(
                f"seasonal differencing needs 0 < season < input_len (got season {season}, input_len {input_len})"
            )
        assert all(0 <= t < num_inputs for t in targets)
        self.input_len, self.horizon, self.window_norm = input_len, horizon, window_norm
        self.season = season if window_norm == "seasonal" else 0
        self.register_buffer("targets", torch.tensor(targets, dtype=torch.long), persistent=False)
        # seasonal naive reads step T - season + h mod season for forecast step h
        self.register_buffer(
            "seasonal_steps", input_len - self.season + torch.arange(horizon) % max(self.season, 1), persistent=False
        )
        self.encoder = encoder
        self.drop = Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, horizon * len(targets))
        # one (T -> horizon) map shared by the target columns, as LSTNet's highway
        self.skip = nn.Linear(input_len - self.season, horizon) if linear_skip else None
        if self.season:  # start at seasonal naive: the network adds nothing until it has learnt something
            for layer in (self.head, self.skip):
                if layer is not None:
                    nn.init.zeros_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Forecast (B, horizon, C') from a window x (B, T, C) of scaled values."""
        if self.season:
            z = x[:, self.season :] - x[:, : -self.season]  # (B, T - season, C)
            ref = x[:, self.seasonal_steps]  # (B, horizon, C) seasonal naive
        elif self.window_norm == "last":
            ref = x[:, -1:, :]  # (B, 1, C)
        elif self.window_norm == "mean":
            ref = x.mean(dim=1, keepdim=True)  # (B, 1, C)
        else:
            ref = torch.zeros_like(x[:, -1:, :])
        if not self.season:
            z = x - ref  # (B, T, C)
        h = self.drop(self.encoder(z))  # (B, H')
        y = self.head(h).view(x.shape[0], self.horizon, -1)  # (B, horizon, C')
        if self.skip is not None:
            past = z[:, :, self.targets].transpose(1, 2)  # (B, C', T)
            y = y + self.skip(past).transpose(1, 2)  # (B, horizon, C')
        return y + ref[:, :, self.targets]


__all__ = ["Forecaster", "RecurrentEncoder", "TransformerEncoder", "RECURRENT", "WINDOW_NORMS"]
