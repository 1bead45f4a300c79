"""Look inside a trained recurrent run: tokens -> ids -> padding -> gates -> output.

``inspect_text(run, text)`` follows one text through the model the way a course diagram does:
the tokens the tokenizer made, their ids, the padded row the model actually reads, then at every
step the gate values of each recurrent layer (recorded from the scratch cells, which compute
exactly what the fused kernels do) and the hidden-state norm, and finally the output (the next
token the language model expects at each step, or the classifier's probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from seqlab.errors import DataError

if TYPE_CHECKING:
    from seqlab.run import Run


@dataclass
class Inspection:
    """What :func:`inspect_text` found.

    Attributes:
        tokens: the token strings, one per real position.
        ids: their ids.
        padded: the row the model reads (with padding for classifiers), and its mask.
        gates: layer path -> gate name -> (T, H) values at real positions.
        hidden_norms: layer path -> (T,) hidden-state norms.
        outputs: per step (language model: the expected next token and its probability) or the
            class probabilities (classifier).
        figure_paths: the heatmap PNGs written, one per recurrent layer.
    """

    tokens: list[str]
    ids: list[int]
    padded: list[int]
    mask: list[bool]
    gates: dict[str, dict[str, torch.Tensor]]
    hidden_norms: dict[str, torch.Tensor]
    outputs: list[tuple[str, float]] | dict[str, float]
    figure_paths: list[Path] = field(default_factory=list)


def inspect_text(
    run: Run, text: str, *, out_dir: Path | None = None, layer: str | None = None, classify: bool = False
) -> Inspection:
    """Trace one text through a trained run and draw its gates.

    Reached through ``run.inspect(text)``: the language-model and classification tasks call it.

    Args:
        run: a loaded run (:func:`seqlab.load`) of a recurrent model.
        text: the text to follow.
        out_dir: where to write ``inspect-<layer>.png`` heatmaps (default: the run directory).
        layer: only this recorded layer path (default: all).
        classify: the model is a classifier (padded input and mask in, class logits out) rather
            than a language model (ids in, next-token logits out).
    """
    from seqlab.data import pad_batch
    from seqlab.layers import record_gates
    from seqlab.viz.gates import plot_gates

    tokenizer = run.tokenizer
    ids = tokenizer.encode(text)
    if not ids:
        raise DataError(f"the text {text!r} has no tokens for this run's tokenizer; give some text")
    tokens = [tokenizer.id_to_token(i) for i in ids]
    if classify:
        cut = ids[: run.config.data.max_len or None]
        length = max(run.config.data.max_len or len(cut), len(cut))
        batch = pad_batch([cut], padding=run.config.data.padding)
        # show the padding the model would see at its configured length, as Keras' pad_sequences would
        pad = [0] * (length - len(cut))
        padded = (pad + cut) if run.config.data.padding == "pre" else (cut + pad)
        mask = [i != 0 for i in padded]
        model_ids, model_mask = batch.ids, batch.mask
    else:
        padded, mask = list(ids), [True] * len(ids)
        model_ids, model_mask = torch.tensor([ids]), None

    model = run.model.eval()
    with torch.no_grad(), record_gates(model) as trace:
        if classify:
            logits = model(model_ids, model_mask)
            probs = torch.softmax(logits, -1)[0]
            outputs: Any = dict(zip(run.meta["classes"], probs.tolist()))
        else:
            logits, _ = model(model_ids)
            probs = torch.softmax(logits[0], -1)  # (T, V)
            best = probs.max(-1)
            outputs = [(tokenizer.id_to_token(int(i)), float(p)) for p, i in zip(best.values, best.indices)]

    real = torch.tensor([m for m in (batch.mask[0].tolist() if classify else mask)])
    gates = {path: {g: v[0][real] for g, v in layer_gates.items()} for path, layer_gates in trace.items()}
    norms = {path: trace.hidden_norms[path][0][real] for path in trace}
    if layer is not None:
        if layer not in gates:
            raise DataError(f'no recurrent layer "{layer}" in this model; layers: {", ".join(gates)}')
        gates, norms = {layer: gates[layer]}, {layer: norms[layer]}

    out_dir = Path(out_dir) if out_dir is not None else Path(run.run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    shown = [t if t.strip() else repr(t)[1:-1] or "␣" for t in tokens[: len(next(iter(norms.values())))]]
    for path, layer_gates in gates.items():
        panels = {g: v.numpy() for g, v in layer_gates.items() if g not in ("hidden", "cell")}
        panels["hidden_norm"] = norms[path].numpy()
        figure = plot_gates(panels, shown, title=f"{run.config.name}: {path}")
        target = out_dir / f"inspect-{path.replace('.', '-')}.png"
        figure.savefig(target, dpi=110, bbox_inches="tight")
        paths.append(target)
    return Inspection(tokens, ids, padded, mask, gates, norms, outputs, paths)


__all__ = ["Inspection", "inspect_text"]
