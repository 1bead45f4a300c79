"""The ``Task`` protocol: what the training loop needs from a task (data + loss + metrics).

The loop never looks inside a batch; it only hands batches back to the task. Any object with
these five methods works (structural typing, no base class to inherit).

>>> class Constant:
...     def train_batches(self, epoch): return [0, 1]
...     def val_batches(self): return [0]
...     def loss(self, model, batch): return model(batch), {}
...     def evaluate(self, model, batches): return {"loss": 0.0}
...     def count_tokens(self, batch): return 1
>>> isinstance(Constant(), Task)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Task(Protocol):
    """Supplies the batches, the training loss and the evaluation metrics of one task."""

    def train_batches(self, epoch: int) -> Sequence[Any]:
        """All batches of epoch ``epoch``, deterministic in (seed, epoch) and indexable (resume skips to an index)."""
        ...

    def val_batches(self) -> Sequence[Any]:
        """All the validation batches, in a fixed order (may be empty: no validation).

        ``fit`` reads ``train.eval_batches`` of them, spread over the split, for its periodic estimate.
        """
        ...

    def loss(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean loss of one batch in training mode (a scalar tensor with grad) and metrics as floats."""
        ...

    def evaluate(self, model: torch.nn.Module, batches: Sequence[Any]) -> dict[str, float]:
        """Metrics over ``batches`` (eval mode, no grad); always contains ``"loss"``."""
        ...

    def count_tokens(self, batch: Any) -> int:
        """Number of tokens (or examples) in ``batch``, for tokens/s."""
        ...
