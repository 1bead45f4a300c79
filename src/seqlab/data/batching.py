"""Padded batches that carry their lengths and masks, and length bucketing.

A :class:`Batch` always says which positions are real (``mask``) and how long each sequence
is (``lengths``), so models can ignore padding whichever side it is on. :func:`bucket_batches`
groups sequences of similar length so little compute is spent on padding.

>>> batch = pad_batch([[5, 6, 7], [8]], padding="pre")
>>> batch.ids.tolist(), batch.lengths.tolist(), batch.mask.tolist()
([[5, 6, 7], [0, 0, 8]], [3, 1], [[True, True, True], [False, False, True]])
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Self, Union

if TYPE_CHECKING:
    import torch

Padding = Literal["pre", "post"]
Targets = Union["torch.Tensor", Sequence[int], Sequence[Sequence[int]], None]


@dataclass(frozen=True)
class Batch:
    """A padded batch of token id sequences.

    Args:
        ids: (B, T) long, padded with the pad id.
        lengths: (B,) long, the real length of each sequence.
        mask: (B, T) bool, True on real tokens.
        targets: class ids (B,), target ids (B, T') or None.

    >>> pad_batch([[1, 2], [3]], targets=[0, 1]).targets.tolist()
    [0, 1]
    """

    ids: torch.Tensor
    lengths: torch.Tensor
    mask: torch.Tensor
    targets: torch.Tensor | None = None

    @property
    def size(self) -> int:
        """Number of sequences, B."""
        return int(self.ids.shape[0])

    def to(self, device: str | torch.device) -> Self:
        """The same batch on another device (a subclass keeps its type and its other fields)."""
        targets = None if self.targets is None else self.targets.to(device)
        return replace(
            self, ids=self.ids.to(device), lengths=self.lengths.to(device), mask=self.mask.to(device), targets=targets
        )


def _pad(seqs: Sequence[Sequence[int]], padding: Padding, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    lengths = [len(s) for s in seqs]
    width = max(lengths, default=0)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)  # (B, T)
    for row, (seq, length) in enumerate(zip(seqs, lengths)):
        if length:
            values = torch.as_tensor(list(seq), dtype=torch.long)
            if padding == "post":
                ids[row, :length] = values
            else:
                ids[row, width - length :] = values
    return ids, torch.tensor(lengths, dtype=torch.long)


def pad_batch(
    seqs: Sequence[Sequence[int]],
    *,
    padding: Padding = "post",
    pad_id: int = 0,
    targets: Targets = None,
) -> Batch:
    """Pad id sequences into a :class:`Batch`, on the right (``post``) or the left (``pre``).

    Args:
        seqs: B sequences of token ids, any lengths (empty ones too).
        padding: ``"post"`` puts padding after the tokens, ``"pre"`` before (Keras' default).
        pad_id: the id written into padded positions.
        targets: a tensor (used as is), one class id per sequence (-> (B,)), or one id
            sequence per sequence (-> (B, T'), padded the same way with ``pad_id``).

    >>> b = pad_batch([[4, 5], [6, 7, 8]], targets=[[5, 9], [7, 8, 9]])
    >>> b.ids.shape, b.targets.tolist()
    (torch.Size([2, 3]), [[5, 9, 0], [7, 8, 9]])
    """
    import torch

    if padding not in ("pre", "post"):
        raise ValueError(f'padding must be "pre" or "post" (got "{padding}")')
    if len(seqs) == 0:
        raise ValueError("pad_batch needs at least one sequence")
    ids, lengths = _pad(seqs, padding, pad_id)
    positions = torch.arange(ids.shape[1])  # (T,)
    if padding == "post":
        mask = positions[None, :] < lengths[:, None]  # (B, T)
    else:
        mask = positions[None, :] >= (ids.shape[1] - lengths)[:, None]  # (B, T)
    target_tensor: torch.Tensor | None
    if targets is None or isinstance(targets, torch.Tensor):
        target_tensor = targets
    elif len(targets) and not isinstance(targets[0], int) and hasattr(targets[0], "__len__"):
        target_tensor, _ = _pad(targets, padding, pad_id)  # type: ignore[arg-type]
    else:
        target_tensor = torch.as_tensor(list(targets), dtype=torch.long)  # (B,)
    return Batch(ids, lengths, mask, target_tensor)


def bucket_batches(
    lengths: Sequence[int],
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    shuffle: bool = True,
    pool_batches: int = 50,
) -> list[list[int]]:
    """Group example indices into batches of similar length, deterministically in (seed, epoch).

    With ``shuffle`` the indices are shuffled, cut into pools of ``pool_batches * batch_size``,
    each pool is sorted by length and cut into batches, and the batch order is shuffled: batches
    are short on padding yet differ between epochs. Without ``shuffle`` all indices are sorted
    by length (for evaluation). Every index appears exactly once; only the last batch of a pool
    can be smaller than ``batch_size``.

    Args:
        lengths: the length of each example.
        batch_size: examples per batch.
        seed: the run's seed.
        epoch: the epoch number (a new order each epoch).
        shuffle: shuffle as above, or sort everything by length.
        pool_batches: batches per sorting pool; larger pools pad less but mix less.

    >>> bucket_batches([5, 1, 4, 2, 3, 1], 2, seed=0, epoch=0, shuffle=False)
    [[1, 5], [3, 4], [2, 0]]
    >>> batches = bucket_batches([5, 1, 4, 2, 3, 1], 2, seed=0, epoch=1)
    >>> sorted(i for b in batches for i in b)
    [0, 1, 2, 3, 4, 5]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 (got {batch_size})")
    order = list(range(len(lengths)))
    if not shuffle:
        order.sort(key=lambda i: lengths[i])
        return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    rng = random.Random(f"bucket:{seed}:{epoch}")
    rng.shuffle(order)
    pool = max(1, pool_batches) * batch_size
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


@dataclass(frozen=True)
class PairBatch:
    """A padded batch of source -> target pairs (post-padding), for seq2seq.

    Args:
        src: (B, S) source ids; src_mask: (B, S) True on real tokens.
        tgt_in: (B, T) BOS + target; tgt_out: (B, T) target + EOS (0 on padding).
        index: (B,) which pairs of the split these are.
        split: the split they come from (``train``, ``val``, ``test``).
        step: the optimizer step this batch is for (drives the teacher-forcing schedule).
        decode: evaluation also decodes the sources and scores the outputs.
    """

    src: torch.Tensor
    src_mask: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    index: torch.Tensor
    split: str = "train"
    step: int = 0
    decode: bool = False


@dataclass(frozen=True)
class SeriesBatch:
    """Windows of a series for a forecaster, scaled.

    Args:
        inputs: (B, T, C) past values.
        targets: (B, horizon, C') the values to forecast.
        starts: (B,) the series index of each first target.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    starts: torch.Tensor


def to_device(batch: Any, device: torch.device | str) -> Any:
    """The same batch with every tensor on ``device``: tensors, tuples/lists/dicts of them, and batch dataclasses.

    Other values (ints, strings, None) are kept as they are; a tensor already there is not copied.

    Args:
        batch: one item of a task's batches (``(x, y)``, a :class:`Batch`, an ``ImageBatch``...).
        device: where the model runs.

    >>> import torch
    >>> moved = to_device((torch.ones(2), [torch.zeros(1)], "train"), "cpu")
    >>> type(moved).__name__, moved[0].device.type, moved[2]
    ('tuple', 'cpu', 'train')
    >>> to_device(pad_batch([[1, 2]]), "cpu").ids.tolist()
    [[1, 2]]
    """
    import dataclasses

    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        moved = [to_device(item, device) for item in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)  # namedtuples take fields
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        changes = {f.name: to_device(getattr(batch, f.name), device) for f in dataclasses.fields(batch) if f.init}
        return dataclasses.replace(batch, **changes)
    return batch


class OnDevice(Sequence[Any]):
    """A sequence of batches read lazily, each moved to ``device`` when it is read (see :func:`to_device`).

    Args:
        batches: a task's batches (indexable; read one at a time, so a GPU holds one batch).
        device: where the model runs.

    >>> import torch
    >>> batches = OnDevice([(torch.ones(1),), (torch.zeros(1),)], torch.device("cpu"))
    >>> len(batches), batches[-1][0].tolist()
    (2, [0.0])
    """

    def __init__(self, batches: Sequence[Any], device: torch.device) -> None:
        self.batches, self.device = batches, device

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return to_device(self.batches[index], self.device)
