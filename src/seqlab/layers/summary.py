"""``summary(model, example_input)``: the Keras-style layer table, with the parameter arithmetic.

The table lists, in the order they run, the leaf modules of the model and every seqlab layer
(recurrent layers, ``Bidirectional`` and ``Conv1D`` count as one row each; any module whose class
sets ``_summary_leaf = True`` does too), with the shape of what each returned on the example input
and its parameter count. Under it, one note per recurrent layer works out its count gate by gate
and says what Keras would count, because the two differ: PyTorch keeps two bias vectors per gate
block (``b_ih`` and ``b_hh``), Keras's SimpleRNN and LSTM keep one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, DataError, unknown_choice

# cell name -> (number of gate blocks, what they are)
_GATES = {
    "rnn": (1, "tanh"),
    "lstm": (4, "input, forget, candidate, output"),
    "gru": (3, "reset, update, candidate"),
}
_CELL_NAMES = {"rnn": "rnn", "simplernn": "rnn", "lstm": "lstm", "gru": "gru"}


@dataclass(frozen=True)
class ParameterFormula:
    """A parameter count and the arithmetic that gives it."""

    count: int
    text: str


def parameter_count_formula(
    cell: str, input_size: int, units: int, *, bias: Literal["torch", "keras"] = "torch"
) -> ParameterFormula:
    """Count the parameters of one recurrent layer and show the arithmetic.

    Every gate block has input weights (H x E), recurrent weights (H x H) and biases, so an LSTM
    (4 blocks: input, forget, candidate, output) has 4 times and a GRU (3: reset, update,
    candidate) 3 times the parameters of a SimpleRNN (1 block) of the same size. PyTorch keeps
    two bias vectors per block (``b_ih``, ``b_hh``); Keras keeps one for SimpleRNN and LSTM, and
    two for GRU with ``reset_after=True`` (its TF2 default, the variant torch implements).

    Args:
        cell: ``"rnn"`` (or ``"SimpleRNN"``), ``"lstm"`` or ``"gru"``, any case.
        input_size: E.
        units: H.
        bias: count biases as ``"torch"`` does (two) or as ``"keras"`` does.

    >>> parameter_count_formula("lstm", 64, 128)
    ParameterFormula(count=99328, text='4 gates x (128*64 + 128*128 + 2*128) = 99,328')
    >>> parameter_count_formula("LSTM", 64, 128, bias="keras").text
    '4 gates x (128*64 + 128*128 + 128) = 98,816'
    >>> parameter_count_formula("SimpleRNN", 64, 128).count, parameter_count_formula("gru", 64, 128).count
    (24832, 74496)
    """
    key = _CELL_NAMES.get(str(cell).lower())
    if key is None:
        raise ConfigError(unknown_choice("cell", str(cell), ["rnn", "SimpleRNN", "lstm", "gru"]))
    if bias not in ("torch", "keras"):
        raise ConfigError(unknown_choice("bias", str(bias), ["torch", "keras"]))
    gates, _ = _GATES[key]
    biases = 2 if bias == "torch" or key == "gru" else 1
    count = gates * (units * input_size + units * units + biases * units)
    bias_text = f"2*{units}" if biases == 2 else f"{units}"
    label = "1 x" if gates == 1 else f"{gates} gates x"
    return ParameterFormula(count, f"{label} ({units}*{input_size} + {units}*{units} + {bias_text}) = {count:,}")


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class SummaryRow:
    """One row: a module, what it returned on the example input, its parameters."""

    name: str
    layer_type: str
    output_shape: str
    params: int
    trainable_params: int
    calls: int


@dataclass
class SummaryTable:
    """What :func:`summary` found; printing it with rich draws the Keras-style table."""

    title: str
    rows: list[SummaryRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_bytes: int
    notes: list[str] = field(default_factory=list)

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title, title_justify="left", show_lines=False)
        table.add_column("Layer (type)", overflow="fold")
        table.add_column("Output Shape", overflow="fold")
        table.add_column("Param #", justify="right")
        for row in self.rows:
            calls = f" x{row.calls} calls" if row.calls > 1 else ""
            table.add_row(f"{row.name} ({row.layer_type}){calls}", row.output_shape, f"{row.params:,}")
        size = _human_bytes(self.total_bytes)
        totals = Text(
            f"Total params: {self.total_params:,} ({size})\n"
            f"Trainable params: {self.trainable_params:,}\n"
            f"Non-trainable params: {self.non_trainable_params:,}"
        )
        notes = [Text(note, style="dim") for note in self.notes]
        return Group(table, totals, *notes)

    def __str__(self) -> str:
        import io

        from rich.console import Console

        buffer = io.StringIO()
        Console(file=buffer, width=110, color_system=None).print(self)
        return buffer.getvalue()


def summary(
    model: nn.Module, example_input: Tensor | tuple[Tensor, ...] | list[Tensor], *, console: Any = None
) -> SummaryTable:
    """Run ``model`` once on ``example_input`` and print the Keras-style layer table.

    The model runs in eval mode without gradients (its modes are restored afterwards).

    Args:
        model: any ``nn.Module``.
        example_input: a tensor, e.g. token ids (B, T), or a tuple of tensors passed as
            positional arguments (``model(*example_input)``).
        console: a ``rich.console.Console`` to print to; None prints to the terminal.

    Returns:
        A :class:`SummaryTable` (``.rows``, ``.total_params``, ``.trainable_params``, ...).

    >>> import io
    >>> from rich.console import Console
    >>> from seqlab.layers import LSTM
    >>> model = nn.Sequential(nn.Linear(3, 64), LSTM(64, 128))
    >>> table = summary(model, torch.zeros(2, 7, 3), console=Console(file=io.StringIO()))
    >>> [(row.name, row.output_shape, row.params) for row in table.rows]
    [('0', '(2, 7, 64)', 256), ('1', '(2, 128)', 99328)]
    >>> table.total_params == sum(p.numel() for p in model.parameters())
    True
    >>> print(table.notes[0])
    1: LSTM(64->128): 4 gates x (128*64 + 128*128 + 2*128) = 99,328;
    Keras counts one bias: 4 gates x (128*64 + 128*128 + 128) = 98,816
    """
    from rich.console import Console

    inputs = (example_input,) if isinstance(example_input, Tensor) else tuple(example_input)
    if not all(isinstance(item, Tensor) for item in inputs):
        raise DataError(
            "summary needs an example input: a tensor or a tuple of tensors, e.g. torch.zeros(1, 32, dtype=torch.long)"
        )
    root_name = type(model).__name__.lower()
    nodes: list[tuple[str, nn.Module, bool]] = []  # (path, module, counts its children too)
    _collect(model, "", nodes)
    seen: dict[int, dict[str, Any]] = {}
    handles = []
    for _path, module, _ in nodes:
        handles.append(module.register_forward_hook(_make_hook(seen, id(module))))
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes.items():
            module.training = mode

    called: list[tuple[int, SummaryRow, nn.Module]] = []
    not_called: list[tuple[int, SummaryRow, nn.Module]] = []
    for path, module, whole in nodes:
        params = list(module.parameters(recurse=whole))
        info = seen.get(id(module))
        row = SummaryRow(
            name=path or root_name,
            layer_type=type(module).__name__,
            output_shape=info["shape"] if info else "(not called)",
            params=sum(p.numel() for p in params),
            trainable_params=sum(p.numel() for p in params if p.requires_grad),
            calls=info["calls"] if info else 0,
        )
        (called if info else not_called).append((info["order"] if info else 0, row, module))
    called.sort(key=lambda item: item[0])
    ordered = [(row, module) for _, row, module in called + not_called]

    unique = {id(p): p for p in model.parameters()}.values()
    total = sum(p.numel() for p in unique)
    trainable = sum(p.numel() for p in unique if p.requires_grad)
    notes = [note for row, module in ordered if (note := _recurrent_note(row.name, module))]
    if notes:
        notes.append(
            "Each gate block has its own input weights (H*E), recurrent weights (H*H) and biases: "
            "an LSTM has 4 blocks (input, forget, candidate, output) and a GRU 3 (reset, update, candidate), "
            "so 4x and 3x the parameters of a SimpleRNN (1 block) of the same size. PyTorch keeps two bias "
            "vectors per block (b_ih, b_hh); Keras one (SimpleRNN, LSTM) or two (GRU, reset_after=True)."
        )
    rows_sum = sum(row.params for row, _ in ordered)
    if rows_sum != total:
        notes.append(
            f"The rows add up to {rows_sum:,}: shared (tied) parameters appear in more than one row "
            f"but are counted once in the total."
        )
    shapes = ", ".join(str(tuple(item.shape)) for item in inputs)
    table = SummaryTable(
        title=f'Model: "{type(model).__name__}" on input {shapes}',
        rows=[row for row, _ in ordered],
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        total_bytes=sum(p.numel() * p.element_size() for p in unique),
        notes=notes,
    )
    (console or Console()).print(table)
    return table


def _is_leaf(module: nn.Module) -> bool:
    return bool(getattr(type(module), "_summary_leaf", False)) or not any(True for _ in module.children())


def _collect(module: nn.Module, path: str, nodes: list[tuple[str, nn.Module, bool]]) -> None:
    """Leaves (whole), plus containers that hold parameters of their own (own only)."""
    if _is_leaf(module):
        nodes.append((path, module, True))
        return
    if any(True for _ in module.parameters(recurse=False)):
        nodes.append((path, module, False))
    for name, child in module.named_children():
        _collect(child, f"{path}.{name}" if path else name, nodes)


def _make_hook(seen: dict[int, dict[str, Any]], key: int):
    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if key in seen:
            seen[key]["calls"] += 1
        else:
            seen[key] = {"shape": _shape_text(output), "calls": 1, "order": len(seen)}

    return hook


def _shape_text(output: Any) -> str:
    if isinstance(output, Tensor):
        return str(tuple(output.shape))
    if isinstance(output, (tuple, list)):
        if hasattr(output, "data") and isinstance(output.data, Tensor):  # PackedSequence
            return f"packed {tuple(output.data.shape)}"
        return "[" + ", ".join(_shape_text(item) for item in output) + "]"
    if isinstance(output, dict):
        return "{" + ", ".join(f"{key}: {_shape_text(value)}" for key, value in output.items()) + "}"
    if output is None:
        return "None"
    return type(output).__name__


def _recurrent_note(name: str, module: nn.Module) -> str:
    """The gate-by-gate parameter arithmetic of a recurrent row ('' for other rows)."""
    from seqlab.layers.bidirectional import Bidirectional
    from seqlab.layers.recurrent import RecurrentLayer

    directions = 1
    layer = module
    if isinstance(module, Bidirectional):
        directions, layer = 2, module.forward_layer
    if not isinstance(layer, RecurrentLayer):
        return ""
    kind = type(layer).__name__
    parts_torch, parts_keras = [], []
    for k in range(layer.num_layers):
        size_in = layer.input_size if k == 0 else layer.units
        parts_torch.append(parameter_count_formula(layer.cell, size_in, layer.units))
        parts_keras.append(parameter_count_formula(layer.cell, size_in, layer.units, bias="keras"))

    def spell(parts: list[ParameterFormula]) -> tuple[str, int]:
        count = sum(p.count for p in parts) * directions
        if len(parts) == 1:
            text = parts[0].text
        else:
            text = (
                "; ".join(f"layer {k + 1}: {p.text}" for k, p in enumerate(parts))
                + f"; {len(parts)} layers: {count // directions:,}"
            )
        if directions == 2:
            text = f"{text}; 2 directions x {count // 2:,} = {count:,}"
        return text, count

    stacked = f", {layer.num_layers} layers" if layer.num_layers > 1 else ""
    head = f"{name}: {'Bidirectional(' if directions == 2 else ''}{kind}({layer.input_size}->{layer.units}{stacked})"
    head += ")" if directions == 2 else ""
    torch_text, _ = spell(parts_torch)
    if layer.cell == "gru":
        keras = "Keras GRU (reset_after=True, its default) also keeps two biases: the same count"
    else:
        keras_text, _ = spell(parts_keras)
        keras = f"Keras counts one bias: {keras_text}"
    return f"{head}: {torch_text}; {keras}"


def _human_bytes(size: int) -> str:
    """Bytes as Keras prints them: ``388.00 KB``."""
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KB", "MB", "GB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GB":
            break
    return f"{scaled:,.2f} {unit}"


__all__ = ["summary", "SummaryTable", "SummaryRow", "parameter_count_formula", "ParameterFormula"]
