"""Export a trained run's networks to ONNX and check each against PyTorch with onnxruntime.

What to export is the task's knowledge: :meth:`seqlab.tasks.base.Task.export_graphs` returns one
:class:`ExportGraph` per network (a classifier's model; a language model's one-step function; a
translator's encoder and decoder step; an autoencoder's reconstruction and a VAE's decoder; a
GAN's generator). This module turns each into an ``.onnx`` file with the TorchScript exporter
(``torch.onnx.export(..., dynamo=False)``: the dynamo exporter stops at the recurrent layers'
data-dependent padding checks), then runs the file with onnxruntime on the example inputs, and
on a second set of another batch size and length, and reports the largest absolute difference
from the PyTorch module's outputs.

The wrappers below give each network the plain tensor-in, tensor-out signature a graph needs:

=================================  ==========================================================
:class:`RecurrentStep`             ``(ids (B, T), h [, c]) -> (logits (B, V), h [, c])``: a
                                   recurrent LM reads T new tokens after its state
:class:`FirstOutput`               the first of a module's outputs (a Transformer LM's logits
                                   of a window, which returns ``(logits, None)``)
:class:`RecurrentEncoder`,         a recurrent translator: ``(src, mask) -> (h [, c], keys [, projected])``
:class:`RecurrentDecoderStep`      and ``(ids (B, 1), h [, c], keys, mask [, projected]) -> (logits, h [, c])``
:class:`TransformerEncoder`,       a Transformer translator: ``(src, mask) -> memory`` and
:class:`TransformerDecoder`        ``(tgt (B, T), memory, mask) -> logits (B, T, V)``
:class:`Reconstruction`,           an autoencoder: ``x -> reconstruction`` (the posterior mean
:class:`LatentDecoder`             decoded) and ``z -> data-space mean`` (a VAE's generator)
=================================  ==========================================================

Recurrent layers with the course's scratch cells are traced on torch's fused kernels (the same
weights; :func:`fused_kernels`), which become ONNX's RNN, LSTM and GRU operators.

>>> import tempfile
>>> from torch import nn
>>> graph = ExportGraph("model", nn.Linear(3, 2), (torch.ones(1, 3),), ("x",), ("y",), {"x": {0: "B"}, "y": {0: "B"}})
>>> graph.signature()
'(x) -> (y)'
>>> result = export_graph(graph, Path(tempfile.mkdtemp()) / "linear.onnx")
>>> result.ok, result.path.name
(True, 'linear.onnx')
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, unknown_choice

if TYPE_CHECKING:
    from seqlab.run import Run

FORMATS = ("onnx",)
OPSET = 17
TOLERANCE = 1e-4  # max abs difference onnxruntime may show against PyTorch in float32


@dataclass(frozen=True)
class ExportGraph:
    """One network of a run, ready to trace: the module, example inputs, names and dynamic axes.

    Args:
        name: the file's stem (``model``, ``step``, ``encoder``, ``decoder_step``, ``generator``...).
        module: a module whose ``forward(*inputs)`` returns a tensor or a tuple of tensors.
        inputs: example inputs to trace with (a padded batch where padding matters).
        input_names: one name per input.
        output_names: one name per output.
        dynamic_axes: ``{name: {axis: symbol}}`` for the axes that may change (batch, length).
        checks: more input sets compared at export time (another batch size and length).
        note: one line on what the graph computes, for the export table.
    """

    name: str
    module: nn.Module
    inputs: tuple[Tensor, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    checks: tuple[tuple[Tensor, ...], ...] = ()
    note: str = ""

    def signature(self) -> str:
        """``(ids, h) -> (logits, h_out)``: the graph's inputs and outputs by name."""
        return f"({', '.join(self.input_names)}) -> ({', '.join(self.output_names)})"


@dataclass(frozen=True)
class Exported:
    """A written graph and its check.

    Attributes:
        name: the graph's name.
        path: the ``.onnx`` file.
        signature: inputs -> outputs by name.
        max_abs_diff: the largest |onnxruntime - PyTorch| over every output and check input.
        note: what the graph computes.
    """

    name: str
    path: Path
    signature: str
    max_abs_diff: float
    note: str

    @property
    def ok(self) -> bool:
        """The difference is within float32 noise (:data:`TOLERANCE`)."""
        return self.max_abs_diff <= TOLERANCE


# ----------------------------------------------------------------------------- wrappers


def _layers_first(part: Tensor) -> Tensor:
    """A recurrent state part as (L, B, H): one-layer layers return (B, H)."""
    return part if part.dim() == 3 else part.unsqueeze(0)


class RecurrentStep(nn.Module):
    """A recurrent LM as one step: ``(ids (B, T), h (L, B, H) [, c]) -> (logits (B, V), h [, c])``.

    The logits are those of the last position read: what greedy decoding picks from. Feed the
    prompt once (T = its length, zero states), then one token at a time with the states returned.

    Args:
        model: a :class:`~seqlab.models.language_model.RecurrentLM`.

    >>> from seqlab.models.language_model import RecurrentLM
    >>> step = RecurrentStep(RecurrentLM(20, cell="lstm", embed_dim=4, hidden_size=8))
    >>> logits, h, c = step(torch.tensor([[3, 4]]), torch.zeros(1, 1, 8), torch.zeros(1, 1, 8))
    >>> logits.shape, h.shape
    (torch.Size([1, 20]), torch.Size([1, 1, 8]))
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods

    def forward(self, ids: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        logits, new_state = self.model(ids, list(state))  # (B, T, V), [h] or [h, c]
        return (logits[:, -1], *(_layers_first(s) for s in new_state))


class FirstOutput(nn.Module):
    """The first output of a module that returns a tuple: ``(logits, state) -> logits``.

    >>> from seqlab.models.transformer import TransformerLM
    >>> lm = TransformerLM(20, embed_dim=8, num_heads=2, num_layers=1, block_size=16)
    >>> FirstOutput(lm)(torch.tensor([[3, 4, 5]])).shape
    torch.Size([1, 3, 20])
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods

    def forward(self, *inputs: Tensor) -> Tensor:
        return self.model(*inputs)[0]


def projects_keys(model: nn.Module) -> bool:
    """Whether a recurrent translator's attention projects the encoder outputs once (Bahdanau's ``W_k h``)."""
    return hasattr(model.attention, "precompute")


class RecurrentEncoder(nn.Module):
    """A recurrent translator's encoder: ``(src, mask) -> (h (L, B, H) [, c], keys (B, S, K) [, projected])``.

    ``src`` and ``mask`` are (B, S). ``h`` (and ``c``) start the decoder (bridged to H when the
    encoder is bidirectional); ``keys`` are what attention reads, and ``projected`` their
    projection when the attention makes one (:func:`projects_keys`).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods

    def forward(self, src: Tensor, mask: Tensor) -> tuple[Tensor, ...]:
        state = self.model.start(src, mask)
        hidden = state.hidden if isinstance(state.hidden, tuple) else (state.hidden,)
        return (*hidden, state.keys, *(() if state.projected is None else (state.projected,)))


class RecurrentDecoderStep(nn.Module):
    """A recurrent translator's decoder, one id: ``(ids, h [, c], keys, mask [, projected]) -> (logits, h [, c])``.

    ``ids`` are (B, 1), ``logits`` (B, V). Start from the encoder's outputs and the BOS id; feed
    back the chosen id and the states.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods
        self.parts = 2 if model.cell == "lstm" else 1

    def forward(self, ids: Tensor, *rest: Tensor) -> tuple[Tensor, ...]:
        from seqlab.models.seq2seq import DecoderState

        hidden, keys, mask, projected = (
            rest[: self.parts],
            rest[self.parts],
            rest[self.parts + 1],
            rest[self.parts + 2 :],
        )
        state = DecoderState(hidden if self.parts == 2 else hidden[0], keys, mask, projected[0] if projected else None)
        logits, state = self.model.step(ids, state)  # (B, 1, V)
        new = state.hidden if isinstance(state.hidden, tuple) else (state.hidden,)
        return (logits[:, -1], *new)


class TransformerEncoder(nn.Module):
    """A Transformer translator's encoder: ``(src (B, S), mask (B, S)) -> memory (B, S, E)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods

    def forward(self, src: Tensor, mask: Tensor) -> Tensor:
        return self.model.encode(src, mask)


class TransformerDecoder(nn.Module):
    """A Transformer translator's decoder over the target so far: ``(tgt (B, T), memory, mask) -> logits (B, T, V)``.

    Decode greedily by appending the last position's best id to ``tgt`` (BOS first) and calling again.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods

    def forward(self, tgt: Tensor, memory: Tensor, mask: Tensor) -> Tensor:
        model = self.model
        x = model._embed(tgt, model.target_positions)  # (B, T, E)
        for block in model.decoder:  # no self-attention cache: the whole target is read each call
            x, _, _ = block(x, memory=block.cross_attn.project_memory(memory), memory_mask=mask)
        return model.head(model.decoder_norm(x))  # (B, T, V)


class Reconstruction(nn.Module):
    """An autoencoder's reconstruction in data space (the posterior mean decoded): ``x -> x_hat`` shaped like x."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods

    def forward(self, x: Tensor) -> Tensor:
        return self.model.mean(self.model.forward(x, sample=False).logits).view_as(x)


class LatentDecoder(nn.Module):
    """An autoencoder's decoder in data space: ``z (B, L) -> (B, D)`` (a VAE's generator with z ~ N(0, I))."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model: Any = model  # duck-typed: the wrapped model's own methods

    def forward(self, z: Tensor) -> Tensor:
        return self.model.mean(self.model.decode(z))


class _Positional(nn.Module):
    """Calls a module with its inputs only: the TorchScript exporter fills every parameter of ``forward``
    with its default, so keyword-only options (a style generator's ``truncation``) must not show."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: Tensor) -> Any:
        return self.module(*inputs)


@contextmanager
def fused_kernels(module: nn.Module) -> Iterator[None]:
    """Run every recurrent layer inside ``module`` on torch's fused kernels for a while.

    The scratch cells loop over time in Python, which a trace would unroll to the example's length;
    the fused kernels become ONNX's RNN/LSTM/GRU ops, for any length. Both share one state_dict
    and agree to 1e-5 (:mod:`seqlab.layers.recurrent`), so the graph computes what the run does.

    >>> from seqlab.layers import GRU
    >>> layer = GRU(4, 8, impl="scratch")
    >>> with fused_kernels(layer):
    ...     layer.impl
    'fused'
    >>> layer.impl
    'scratch'
    """
    from seqlab.layers.recurrent import RecurrentLayer

    layers = [m for m in module.modules() if isinstance(m, RecurrentLayer) and m.impl != "fused"]
    before = [layer.impl for layer in layers]
    for layer in layers:
        layer.impl = "fused"
    try:
        yield
    finally:
        for layer, impl in zip(layers, before):
            layer.impl = impl


# ----------------------------------------------------------------------------- export and check


def check_format(format: str) -> str:
    """The export format, or a ConfigError naming the ones there are.

    >>> check_format("onnx")
    'onnx'
    >>> check_format("tflite")
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: unknown export format "tflite" (choices: onnx)
    """
    if format not in FORMATS:
        raise ConfigError(unknown_choice("export format", format, list(FORMATS)))
    return format


def export_graph(graph: ExportGraph, path: Path, *, opset: int = OPSET) -> Exported:
    """Write one graph to ``path`` as ONNX and check it with onnxruntime against the PyTorch module.

    Args:
        graph: what to export (:class:`ExportGraph`).
        path: the ``.onnx`` file (written whole: a temporary file, then a rename).
        opset: the ONNX opset.

    Returns:
        the :class:`Exported` record, with the largest absolute difference over the example
        inputs and ``graph.checks``.
    """
    from seqlab.errors import needs_extra
    from seqlab.rundir import temporary_name

    with needs_extra("export"):
        import onnx
        import onnxruntime
    module = graph.module.eval()
    buffer = io.BytesIO()
    with fused_kernels(module), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python values it freezes (shapes, checks)
        torch.onnx.export(
            _Positional(module).eval(),  # the exporter puts the wrapper's mode back on everything inside it
            graph.inputs,
            buffer,  # type: ignore[arg-type]  # a file-like object is accepted too
            dynamo=False,
            opset_version=opset,
            input_names=list(graph.input_names),
            output_names=list(graph.output_names),
            dynamic_axes={k: dict(v) for k, v in graph.dynamic_axes.items()},
        )
    data = buffer.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    worst = 0.0
    for inputs in (graph.inputs, *graph.checks):  # the run's own kernels: scratch ones agree with ONNX's to 1e-5
        worst = max(worst, max_abs_diff(module, session, inputs, graph.input_names))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Exported(graph.name, path, graph.signature(), worst, graph.note)


def max_abs_diff(module: nn.Module, session: Any, inputs: Sequence[Tensor], names: Sequence[str]) -> float:
    """The largest |onnxruntime - PyTorch| over the outputs of one input set.

    Args:
        module: the PyTorch module (eval mode).
        session: an ``onnxruntime.InferenceSession`` of its graph.
        inputs: one input set.
        names: the graph's input names, in order.
    """
    with torch.no_grad():
        expected = module(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = session.run(None, {name: t.detach().cpu().numpy() for name, t in zip(names, inputs)})
    if len(got) != len(expected):
        raise AssertionError(f"onnxruntime gave {len(got)} outputs, PyTorch {len(expected)}")
    return max(
        (float((torch.from_numpy(g) - e.detach().cpu().float()).abs().max()) if e.numel() else 0.0)
        for g, e in zip(got, expected)
    )


def output_paths(names: Sequence[str], out: Path) -> dict[str, Path]:
    """Where each graph goes: ``out/<name>.onnx`` for a folder, ``out`` itself for one graph and a ``.onnx`` file.

    Several graphs and a ``.onnx`` file name write ``<stem>-<name>.onnx`` beside it.

    >>> output_paths(["model"], Path("clf.onnx"))
    {'model': PosixPath('clf.onnx')}
    >>> output_paths(["encoder", "decoder_step"], Path("t.onnx"))["encoder"]
    PosixPath('t-encoder.onnx')
    >>> output_paths(["model"], Path("exported"))["model"]
    PosixPath('exported/model.onnx')
    """
    if out.suffix == ".onnx":
        if len(names) == 1:
            return {names[0]: out}
        return {name: out.with_name(f"{out.stem}-{name}.onnx") for name in names}
    return {name: out / f"{name}.onnx" for name in names}


def export_run(run: Run, out: str | Path | None = None, *, format: str = "onnx", opset: int = OPSET) -> list[Exported]:
    """Export every network of a loaded run and check each against PyTorch with onnxruntime.

    Args:
        run: a run from :func:`seqlab.load` (its model is exported from the CPU).
        out: a folder (one ``<name>.onnx`` per graph) or a ``.onnx`` file; default ``RUN/export/``.
            A folder also gets a copy of the run's tokenizer (or scaler), which the graphs' ids need.
        format: ``onnx`` (the only one).
        opset: the ONNX opset.

    Returns:
        one :class:`Exported` per graph, with its max abs difference from PyTorch.
    """
    import shutil

    from seqlab.errors import needs_extra

    check_format(format)
    with needs_extra("export"):  # before any work: a missing extra is one line naming it
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    run.model.to("cpu").eval()
    graphs = run.kind.export_graphs(run)
    target = Path(out) if out is not None else Path(run.run_dir) / "export"
    if target.exists() and not target.is_dir() and target.suffix != ".onnx":
        raise ConfigError(f"--out must be a folder or a .onnx file (got {target}, an existing file)")
    paths = output_paths([g.name for g in graphs], target)
    results = [export_graph(graph, paths[graph.name], opset=opset) for graph in graphs]
    saved = run.kind.preprocessing_file
    if target.suffix != ".onnx" and saved and (Path(run.run_dir) / saved).is_file():
        shutil.copyfile(Path(run.run_dir) / saved, target / saved)
    return results


__all__ = [
    "ExportGraph",
    "Exported",
    "FORMATS",
    "check_format",
    "export_graph",
    "export_run",
    "output_paths",
    "max_abs_diff",
    "fused_kernels",
    "RecurrentStep",
    "FirstOutput",
    "RecurrentEncoder",
    "projects_keys",
    "RecurrentDecoderStep",
    "TransformerEncoder",
    "TransformerDecoder",
    "Reconstruction",
    "LatentDecoder",
]
