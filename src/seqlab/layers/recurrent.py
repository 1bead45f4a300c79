"""Keras-style recurrent layers: ``SimpleRNN``, ``LSTM``, ``GRU`` over (B, T, E) batches.

Each layer takes Keras's arguments (``units``, ``return_sequences``, ``return_state``,
``go_backwards``, ``dropout``, ``recurrent_dropout``) and PyTorch's parameters
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, then ``_l1`` ... for stacked
layers; LSTM gate blocks i, f, g, o; GRU r, z, n), so one ``state_dict`` loads into either
implementation and into ``torch.nn.LSTM``/``GRU``/``RNN`` of the same size:

- ``impl="fused"`` (default) runs torch's kernels on packed sequences, no Python loop over time;
- ``impl="scratch"`` runs the course equations of :mod:`seqlab.layers.cells` one step at a time,
  slow and readable, and is what :func:`seqlab.layers.record_gates` records.

Masking. ``mask`` (B, T) is True on real tokens, which must be contiguous in each row (pre- or
post-padding, or both). Each row is read from its first to its last real token (``go_backwards``:
last to first); padded positions never touch a state, outputs there are zero, and the final state
is the one after the last real token read. Pre- and post-padded batches of the same sequences
therefore give the same final outputs and the same outputs at real positions. A row with no real
token keeps its initial state.

Outputs (as Keras). ``return_sequences=False``: the last output (B, H). ``True``: all outputs
(B, T, H), zeros at padded positions; with ``go_backwards`` the time axis is reversed as in Keras
(output t belongs to input position T-1-t). With ``return_state`` a tuple follows Keras's order:
``(output, h)`` for SimpleRNN and GRU, ``(output, h, c)`` for LSTM; each state is (B, H) for one
layer and (num_layers, B, H), every layer's final state stacked, when ``num_layers > 1``.

Dropout (training mode only; both masks are drawn once per sequence and reused at every step,
as Keras does):

- ``dropout``: on the inputs of every stacked layer, i.e. on ``x`` for the first layer and on
  the previous layer's outputs for the others (Keras puts ``dropout`` on each layer's input);
- ``recurrent_dropout``: variational dropout (Gal & Ghahramani, 2016) on the hidden state entering
  the recurrent matmul. Torch's fused kernels cannot do this, so a fused layer with
  ``recurrent_dropout > 0`` runs its scratch cells during training (same weights, same maths,
  slower) and its fused kernels in eval mode.

Inside ``with record_gates(model)`` every layer runs its scratch cells, whatever its ``impl``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import torch
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqlab.errors import ConfigError, DataError, unknown_choice
from seqlab.layers.cells import CELLS
from seqlab.layers.trace import GateTrace

Impl = Literal["fused", "scratch"]
IMPLS = ("fused", "scratch")

# cell name -> torch's fused kernel (the same calls nn.RNN / nn.LSTM / nn.GRU make)
_KERNELS: dict[str, Callable[..., Any]] = {"rnn": _VF.rnn_tanh, "lstm": _VF.lstm, "gru": _VF.gru}


class _Reading:
    """Which positions of each row hold real tokens, and the order a layer reads them in.

    ``to_steps`` moves each row's real tokens to the front, in reading order, so both
    implementations see a post-padded batch with ``lengths`` (what ``pack_padded_sequence``
    wants); ``to_positions`` puts per-step results back where their tokens were, zeros elsewhere.
    """

    def __init__(self, mask: Tensor | None, batch: int, time: int, *, backwards: bool, device: torch.device):
        self.backwards = backwards
        self.padded = mask is not None and not bool(mask.all())
        if not self.padded:
            self.lengths = torch.full((batch,), time, dtype=torch.long, device=device)
            return
        assert mask is not None
        positions = torch.arange(time, device=device)  # (T,)
        self.mask = mask
        self.lengths = mask.sum(dim=1)  # (B,)
        start = mask.to(torch.int8).argmax(dim=1)  # first real token (B,)
        end = start + self.lengths  # one past the last (B,)
        contiguous = (positions >= start[:, None]) & (positions < end[:, None])  # (B, T)
        if not torch.equal(contiguous, mask):
            bad = int((contiguous != mask).any(dim=1).nonzero()[0, 0])
            raise DataError(
                f"mask row {bad} has gaps: real tokens (True) must be contiguous, as with pre- or "
                f"post-padding (got {mask[bad].int().tolist()})"
            )
        self.step_valid = positions < self.lengths[:, None]  # (B, T) in reading order
        # Every row's real tokens already come first in reading order (post-padding read forwards,
        # pre-padding read backwards): then the reordering is the identity or a flip, and what sits in
        # the padded steps never reaches a real output (they come after every real step of their row)
        self.aligned = bool((end == time).all()) if backwards else bool((start == 0).all())
        if backwards:
            source = end[:, None] - 1 - positions  # step t reads this position
            step_of = end[:, None] - 1 - positions  # position p was read at this step
        else:
            source = start[:, None] + positions
            step_of = positions - start[:, None]
        self.source = source.clamp(0, time - 1)  # (B, T)
        self.step_of = step_of.clamp(0, time - 1)  # (B, T)

    def to_steps(self, x: Tensor) -> Tensor:
        """(B, T, E) by position -> (B, T, E) by reading step, real tokens first."""
        if not self.padded or self.aligned:
            return x.flip(1) if self.backwards else x
        index = self.source[:, :, None].expand(-1, -1, x.shape[-1])
        return x.gather(1, index).masked_fill(~self.step_valid[:, :, None], 0.0)

    def to_positions(self, y: Tensor) -> Tensor:
        """(B, T, H) by reading step -> (B, T, H) by position, zeros at padded positions."""
        if not self.padded:
            return y.flip(1) if self.backwards else y
        if self.aligned:
            return (y.flip(1) if self.backwards else y).masked_fill(~self.mask[:, :, None], 0.0)
        index = self.step_of[:, :, None].expand(-1, -1, y.shape[-1])
        return y.gather(1, index).masked_fill(~self.mask[:, :, None], 0.0)


class RecurrentLayer(nn.Module):
    """Base of SimpleRNN, LSTM and GRU: parameters, masking, dropout and Keras outputs.

    Subclasses only name their cell. See the module docstring for the semantics.

    >>> layer = LSTM(4, 8, return_sequences=True, impl="scratch")
    >>> twin = LSTM(4, 8, return_sequences=True, impl="fused")
    >>> _ = twin.load_state_dict(layer.state_dict())
    >>> x = torch.randn(2, 3, 4)
    >>> torch.allclose(layer(x), twin(x), atol=1e-5)
    True
    """

    cell: ClassVar[str]
    _summary_leaf: ClassVar[bool] = True  # seqlab.summary shows the layer as one row

    def __init__(
        self,
        input_size: int,
        units: int,
        *,
        num_layers: int = 1,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        impl: Impl = "fused",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, size in (("input_size", input_size), ("units", units), ("num_layers", num_layers)):
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise ConfigError(f"{name} {arg} must be a positive integer (got {size!r})")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ConfigError(f"{name} {arg} must be in [0, 1) (got {rate!r})")
        if impl not in IMPLS:
            raise ConfigError(unknown_choice(f"{name} impl", str(impl), IMPLS))
        self.input_size = input_size
        self.units = units
        self.num_layers = num_layers
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.impl = impl
        self._trace: GateTrace | None = None
        self._trace_path = ""
        gates = CELLS[self.cell][1]
        for k in range(num_layers):
            layer_input = input_size if k == 0 else units
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(gates * units, layer_input)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(gates * units, units)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(gates * units)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(gates * units)))
        self.reset_parameters()

    # ------------------------------------------------------------------ parameters

    def reset_parameters(self) -> None:
        """Initialise as torch does: every weight and bias uniform in +-1/sqrt(H)."""
        bound = 1.0 / math.sqrt(self.units)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    @property
    def hidden_size(self) -> int:
        """H, the same as ``units``."""
        return self.units

    @property
    def output_size(self) -> int:
        """The size of the last axis of the output: ``units``."""
        return self.units

    def config(self) -> dict[str, Any]:
        """The constructor arguments, so ``type(layer)(**layer.config())`` builds a twin."""
        return {
            "input_size": self.input_size,
            "units": self.units,
            "num_layers": self.num_layers,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "impl": self.impl,
        }

    def extra_repr(self) -> str:
        defaults = {
            "num_layers": 1,
            "return_sequences": False,
            "return_state": False,
            "go_backwards": False,
            "dropout": 0.0,
            "recurrent_dropout": 0.0,
            "impl": None,
        }
        options = [f"{k}={v!r}" for k, v in self.config().items() if k in defaults and v != defaults[k]]
        return ", ".join([str(self.input_size), str(self.units), *options])

    def _layer_weights(self, k: int) -> list[Tensor]:
        return [getattr(self, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def _attach_trace(self, trace: GateTrace | None, path: str) -> None:
        self._trace, self._trace_path = trace, path

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        initial_state: Tensor | tuple[Tensor, ...] | list[Tensor] | None = None,
    ) -> Tensor | tuple[Tensor, ...]:
        """Run the layer over a batch.

        Args:
            x: inputs (B, T, E).
            mask: (B, T) bool, True on real tokens (contiguous in each row), or None for no padding.
            initial_state: ``h`` for SimpleRNN/GRU, ``(h, c)`` for LSTM; each (B, H), or
                (num_layers, B, H) for stacked layers. None starts from zeros.

        Returns:
            The output ((B, H), or (B, T, H) with ``return_sequences``), followed by the final
            states when ``return_state`` (see the module docstring).
        """
        batch, time = self._check_input(x, mask)
        reading = _Reading(mask, batch, time, backwards=self.go_backwards, device=x.device)
        state0 = self._initial_state(initial_state, batch, x)
        input_masks, hidden_masks = self._dropout_masks(batch, x)
        steps = reading.to_steps(x)  # (B, T, E) in reading order
        if self.impl == "scratch" or self._trace is not None or hidden_masks is not None:
            outputs, state = self._run_scratch(steps, reading, state0, input_masks, hidden_masks)
        else:
            outputs, state = self._run_fused(steps, reading, state0, input_masks)
        if self.return_sequences:
            output = reading.to_positions(outputs)  # (B, T, H)
            if self.go_backwards:
                output = output.flip(1)
        else:
            output = state[0][-1]  # last layer's final h (B, H)
        if not self.return_state:
            return output
        finals = tuple(s[0] if self.num_layers == 1 else s for s in state)
        return (output, *finals)

    def _check_input(self, x: Tensor, mask: Tensor | None) -> tuple[int, int]:
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != self.input_size:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise DataError(f"{name} expects x of shape (B, T, {self.input_size}) (got {shape})")
        if not x.is_floating_point():
            raise DataError(f"{name} expects float inputs (got {x.dtype}); embed token ids first")
        batch, time = x.shape[0], x.shape[1]
        if time == 0:
            raise DataError(f"{name} got an empty time axis (T=0); give it at least one step")
        if mask is not None:
            if tuple(mask.shape) != (batch, time):
                raise DataError(f"{name} mask must have shape (B, T) = ({batch}, {time}) (got {tuple(mask.shape)})")
            if mask.dtype != torch.bool:
                raise DataError(f"{name} mask must be a bool tensor, True on real tokens (got {mask.dtype})")
        return batch, time

    def _initial_state(self, initial_state: Any, batch: int, x: Tensor) -> tuple[Tensor, ...]:
        """The starting state, each part (num_layers, B, H)."""
        parts_needed = 2 if self.cell == "lstm" else 1
        shape = (self.num_layers, batch, self.units)
        if initial_state is None:
            zeros = x.new_zeros(shape)
            return (zeros, zeros) if parts_needed == 2 else (zeros,)
        name = type(self).__name__
        parts = [initial_state] if isinstance(initial_state, Tensor) else list(initial_state)
        if len(parts) != parts_needed:
            wanted = "[h, c]" if parts_needed == 2 else "h"
            raise DataError(f"{name} initial_state must be {wanted} (got {len(parts)} tensors)")
        result = []
        for part in parts:
            if part.dim() == 2 and self.num_layers == 1:
                part = part.unsqueeze(0)
            if tuple(part.shape) != shape:
                expected = (
                    f"(B, H) = ({batch}, {self.units})" if self.num_layers == 1 else f"(num_layers, B, H) = {shape}"
                )
                raise DataError(f"{name} initial_state tensors must be {expected} (got {tuple(part.shape)})")
            result.append(part.to(dtype=x.dtype).contiguous())
        return tuple(result)

    def _dropout_masks(self, batch: int, x: Tensor) -> tuple[list[Tensor] | None, list[Tensor] | None]:
        """Per-sequence dropout masks, drawn in one fixed order so both impls see the same ones."""
        if not self.training:
            return None, None
        input_masks = hidden_masks = None
        if self.dropout > 0:
            keep = 1.0 - self.dropout
            sizes = [self.input_size] + [self.units] * (self.num_layers - 1)
            input_masks = [x.new_empty(batch, size).bernoulli_(keep) / keep for size in sizes]  # (B, E_k)
        if self.recurrent_dropout > 0:
            keep = 1.0 - self.recurrent_dropout
            hidden_masks = [
                x.new_empty(batch, self.units).bernoulli_(keep) / keep for _ in range(self.num_layers)
            ]  # (B, H)
        return input_masks, hidden_masks

    # ------------------------------------------------------------------ scratch: the equations, step by step

    def _run_scratch(
        self,
        steps: Tensor,
        reading: _Reading,
        state0: tuple[Tensor, ...],
        input_masks: list[Tensor] | None,
        hidden_masks: list[Tensor] | None,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        step, _ = CELLS[self.cell]
        time = steps.shape[1]
        x = steps
        finals = []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer_weights(k)
            if input_masks is not None:
                x = x * input_masks[k][:, None, :]
            x_proj = x @ w_ih.T + b_ih  # all steps at once, it does not depend on h  (B, T, G*H)
            h_mask = None if hidden_masks is None else hidden_masks[k]
            state = tuple(part[k] for part in state0)  # each (B, H)
            outputs, records = [], []
            for t in range(time):
                new_state, gates = step(x_proj[:, t], state, w_hh, b_hh, h_mask)
                if reading.padded:
                    # a row whose tokens are all read keeps its state and outputs zeros
                    real = reading.step_valid[:, t, None]  # (B, 1)
                    new_state = tuple(torch.where(real, new, old) for new, old in zip(new_state, state))
                    outputs.append(torch.where(real, new_state[0], 0.0))
                else:
                    outputs.append(new_state[0])
                state = new_state
                if self._trace is not None:
                    records.append(gates)
            x = torch.stack(outputs, dim=1)  # (B, T, H), next layer's input
            finals.append(state)
            if self._trace is not None:
                self._record(k, records, x, reading)
        return x, tuple(torch.stack([final[i] for final in finals]) for i in range(len(state0)))

    def _record(self, k: int, records: list[dict[str, Tensor]], outputs: Tensor, reading: _Reading) -> None:
        assert self._trace is not None
        path = self._trace_path if self.num_layers == 1 else f"{self._trace_path}.l{k}"
        gates = {name: reading.to_positions(torch.stack([r[name] for r in records], dim=1)) for name in records[0]}
        norms = reading.to_positions(outputs.norm(dim=-1, keepdim=True))[..., 0]  # (B, T)
        self._trace.add(path, gates, norms)

    # ------------------------------------------------------------------ fused: torch's kernels

    def _run_fused(
        self, steps: Tensor, reading: _Reading, state0: tuple[Tensor, ...], input_masks: list[Tensor] | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        batch, time = steps.shape[0], steps.shape[1]
        if not reading.padded:
            return self._kernel_layers(steps, None, state0, input_masks, rows=None)
        if not self.return_state or (self.cell != "lstm" and self.num_layers == 1):
            # Only the top layer's h is wanted, and it is an output. Real tokens come first in
            # reading order, so the first L steps of an unpacked run are exact; torch's CPU
            # kernel runs a padded batch several times faster than a packed one.
            outputs, _ = self._kernel_layers(steps, None, state0, input_masks, rows=None)
            outputs = outputs.masked_fill(~reading.step_valid[:, :, None], 0.0)  # (B, T, H)
            last_step = (reading.lengths - 1).clamp(min=0)[:, None, None].expand(-1, 1, self.units)
            last = outputs.gather(1, last_step)[:, 0]  # (B, H)
            last = torch.where((reading.lengths == 0)[:, None], state0[0][-1], last)
            return outputs, (last[None],)  # (1, B, H): the top layer only
        lengths = reading.lengths.clamp(min=1).cpu()  # an empty row runs one zero step, undone below
        packed = pack_padded_sequence(steps, lengths, batch_first=True, enforce_sorted=False)
        order, unorder = packed.sorted_indices, packed.unsorted_indices
        assert order is not None and unorder is not None  # enforce_sorted=False always sets both
        rows = None
        if input_masks is not None:
            # row of each packed element: time-major, the first batch_sizes[t] sorted rows
            sizes = packed.batch_sizes.to(steps.device)
            taken = torch.arange(batch, device=steps.device)[None, :] < sizes[:, None]
            rows = order[None, :].expand(len(sizes), batch)[taken]
        sorted_state = tuple(part.index_select(1, order) for part in state0)
        data, state = self._kernel_layers(packed.data, packed.batch_sizes, sorted_state, input_masks, rows=rows)
        outputs, _ = pad_packed_sequence(
            PackedSequence(data, packed.batch_sizes, order, unorder), batch_first=True, total_length=time
        )
        state = tuple(part.index_select(1, unorder) for part in state)
        empty = (reading.lengths == 0)[None, :, None]
        if bool(empty.any()):
            state = tuple(torch.where(empty, old, new) for new, old in zip(state, state0))
        return outputs, state

    def _kernel_layers(
        self,
        data: Tensor,
        batch_sizes: Tensor | None,
        state0: tuple[Tensor, ...],
        input_masks: list[Tensor] | None,
        rows: Tensor | None,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """All layers in one kernel call, or layer by layer when input dropout sits between them."""
        if input_masks is None:
            weights = [w for k in range(self.num_layers) for w in self._layer_weights(k)]
            return self._kernel(data, batch_sizes, state0, weights, self.num_layers)
        finals = []
        for k in range(self.num_layers):
            keep = input_masks[k][:, None, :] if rows is None else input_masks[k][rows]  # (B, 1, E) or (N, E)
            data, state = self._kernel(
                data * keep, batch_sizes, tuple(p[k : k + 1] for p in state0), self._layer_weights(k), 1
            )
            finals.append(state)
        return data, tuple(torch.cat([final[i] for final in finals]) for i in range(len(state0)))

    def _kernel(
        self, data: Tensor, batch_sizes: Tensor | None, state0: tuple[Tensor, ...], weights: list[Tensor], layers: int
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        kernel = _KERNELS[self.cell]
        device = data.device.type
        if self.cell == "gru" and torch.is_autocast_enabled(device):
            # autocast runs torch's LSTM and tanh-RNN kernels in bf16/fp16 but leaves the GRU's in fp32;
            # cast here so a GRU gets the same speed-up (2.15x forward + backward at the sentiment
            # recipe's shapes on this CPU, benchmarks/keras.md)
            dtype = torch.get_autocast_dtype(device)
            data, state0, weights = data.to(dtype), tuple(s.to(dtype) for s in state0), [w.to(dtype) for w in weights]
        hx = state0 if self.cell == "lstm" else state0[0]
        # dropout 0 and train False: seqlab draws its own Keras-style dropout masks
        if batch_sizes is None:
            result = kernel(data, hx, weights, True, layers, 0.0, False, False, True)
        else:
            result = kernel(data, batch_sizes, hx, weights, True, layers, 0.0, False, False)
        return result[0], tuple(result[1:])


class SimpleRNN(RecurrentLayer):
    """Fully connected RNN, ``h = tanh(W_ih x + b_ih + W_hh h + b_hh)``, with Keras's arguments.

    Args:
        input_size: E, the size of each input step.
        units: H, the size of the hidden state.
        num_layers: stacked layers; states come back as (num_layers, B, H) when > 1.
        return_sequences: return all outputs (B, T, H) instead of the last (B, H).
        return_state: also return the final state ``h``.
        go_backwards: read each sequence from its last real token to its first.
        dropout: input dropout on every stacked layer's input (training only).
        recurrent_dropout: variational dropout on the hidden state (training only).
        impl: ``"fused"`` (torch's kernel) or ``"scratch"`` (the equation, step by step).

    >>> layer = SimpleRNN(8, 16, return_sequences=True)
    >>> layer(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 16])
    """

    cell = "rnn"


class LSTM(RecurrentLayer):
    """Long short-term memory layer (gates i, f, g, o as in torch) with Keras's arguments.

    Args:
        input_size: E, the size of each input step.
        units: H, the size of the hidden and cell states.
        num_layers: stacked layers; states come back as (num_layers, B, H) when > 1.
        return_sequences: return all outputs (B, T, H) instead of the last (B, H).
        return_state: also return the final states ``h, c``.
        go_backwards: read each sequence from its last real token to its first.
        dropout: input dropout on every stacked layer's input (training only).
        recurrent_dropout: variational dropout on the hidden state (training only).
        impl: ``"fused"`` (torch's kernel) or ``"scratch"`` (the equations, step by step).

    >>> layer = LSTM(8, 16, return_state=True)
    >>> x = torch.randn(2, 5, 8)
    >>> mask = torch.tensor([[True] * 5, [False, False, True, True, True]])  # row 1 pre-padded
    >>> output, h, c = layer(x, mask)
    >>> output.shape, h.shape, c.shape
    (torch.Size([2, 16]), torch.Size([2, 16]), torch.Size([2, 16]))
    """

    cell = "lstm"


class GRU(RecurrentLayer):
    """Gated recurrent unit layer (gates r, z, n as in torch, reset after the matmul), Keras arguments.

    Args:
        input_size: E, the size of each input step.
        units: H, the size of the hidden state.
        num_layers: stacked layers; states come back as (num_layers, B, H) when > 1.
        return_sequences: return all outputs (B, T, H) instead of the last (B, H).
        return_state: also return the final state ``h``.
        go_backwards: read each sequence from its last real token to its first.
        dropout: input dropout on every stacked layer's input (training only).
        recurrent_dropout: variational dropout on the hidden state (training only).
        impl: ``"fused"`` (torch's kernel) or ``"scratch"`` (the equations, step by step).

    >>> layer = GRU(8, 16, num_layers=2, return_sequences=True, return_state=True)
    >>> outputs, h = layer(torch.randn(2, 5, 8))
    >>> outputs.shape, h.shape
    (torch.Size([2, 5, 16]), torch.Size([2, 2, 16]))
    """

    cell = "gru"


__all__ = ["RecurrentLayer", "SimpleRNN", "LSTM", "GRU"]
