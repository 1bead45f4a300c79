"""Data-parallel training on PyTorch's own engine: ``torch.distributed``, started by ``torchrun``.

seqlab has no launcher of its own. ``torchrun --nproc-per-node N -m seqlab train ...`` (or
``seqlab train ... --nproc N``, which runs the argv :func:`torchrun_argv` builds) starts N copies
of the same command, and tells each its place through the environment (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). Each copy reads that into a
:class:`DistributedContext`, joins the process group (gloo on CPU, nccl on CUDA), trains on its
:func:`shard` of every epoch, and lets ``DistributedDataParallel`` average the gradients.
Outside torchrun the context is a single process, and every method is a no-op.

>>> ctx = DistributedContext.from_env({})
>>> ctx.world_size, ctx.is_main, ctx.all_reduce_mean({"loss": 2.0})
(1, True, {'loss': 2.0})
>>> list(shard(range(7), rank=1, world=3))
[1, 4]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

import torch

from seqlab.errors import ConfigError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


def backend_for(device: torch.device) -> str:
    """The ``torch.distributed`` backend for a device: nccl for CUDA, gloo for everything else.

    >>> backend_for(torch.device("cpu")), backend_for(torch.device("cuda", 1))
    ('gloo', 'nccl')
    """
    return "nccl" if device.type == "cuda" else "gloo"


@dataclass(frozen=True)
class DistributedContext:
    """This process's place among the ones torchrun started (one process: rank 0 of 1).

    Args:
        rank: this process's rank, 0 .. world_size - 1.
        world_size: how many processes train together (over every node).
        local_rank: the rank on this node (which GPU to use).
        master_addr: the rendezvous host torchrun chose (None outside torchrun).
        master_port: its port.

    >>> ctx = DistributedContext.from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    >>> ctx.is_distributed, ctx.is_main, ctx.device(torch.device("cuda"))
    (True, False, device(type='cuda', index=1))
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    master_addr: str | None = None
    master_port: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DistributedContext:
        """Read torchrun's variables (from ``os.environ`` unless ``env`` is given).

        Args:
            env: the environment to read; missing ``RANK`` / ``WORLD_SIZE`` mean one process.

        Raises:
            ConfigError: a variable that is not a number, or a rank outside the world.

        >>> DistributedContext.from_env({"RANK": "2", "WORLD_SIZE": "2"})
        Traceback (most recent call last):
        ...
        seqlab.errors.ConfigError: RANK=2 must lie in 0..1 (WORLD_SIZE=2)
        """
        env = os.environ if env is None else env
        numbers: dict[str, int] = {}
        for key, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0), ("MASTER_PORT", 0)):
            value = env.get(key, "")
            try:
                numbers[key] = int(value) if value else default
            except ValueError:
                raise ConfigError(f'environment variable {key} must be a whole number (got "{value}")') from None
        rank, world = numbers["RANK"], numbers["WORLD_SIZE"]
        if world < 1 or not 0 <= rank < world:
            raise ConfigError(f"RANK={rank} must lie in 0..{world - 1} (WORLD_SIZE={world})")
        return cls(
            rank=rank,
            world_size=world,
            local_rank=numbers["LOCAL_RANK"],
            master_addr=env.get("MASTER_ADDR") or None,
            master_port=numbers["MASTER_PORT"] or None,
        )

    @property
    def is_distributed(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes the run directory, the progress bar and checkpoints."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """This process's device: an unnumbered ``cuda`` becomes ``cuda:LOCAL_RANK``; others are kept.

        Args:
            device: the device the config asked for (from :func:`seqlab.devices.resolve_device`).
        """
        if device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def init(self, device: torch.device) -> None:
        """Join the process group (gloo on CPU, nccl on CUDA); nothing in a single process.

        Uses the rendezvous torchrun set up (``env://``). On CUDA it first makes
        ``cuda:LOCAL_RANK`` the current device, so each process drives its own GPU.

        Args:
            device: this process's device (see :meth:`device`).
        """
        import torch.distributed as dist

        if not self.is_distributed or dist.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(self.device(device))
        dist.init_process_group(backend_for(device), init_method="env://", rank=self.rank, world_size=self.world_size)

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``model`` in ``DistributedDataParallel`` when several processes train (after :meth:`init`), else itself.

        The wrapper shares the model's parameters: train through it (its forward averages the
        gradients in backward), and save, evaluate and load the model itself.

        Args:
            model: the module, already on ``device``.
            device: this process's device (see :meth:`device`).

        >>> layer = torch.nn.Linear(2, 1)
        >>> DistributedContext().wrap(layer, torch.device("cpu")) is layer
        True
        """
        if not self.is_distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[self.device(device).index] if device.type == "cuda" else None)

    def all_reduce_mean(self, metrics: Mapping[str, float], *, weight: float = 1.0) -> dict[str, float]:
        """The mean of each metric over the ranks, weighted by ``weight`` (e.g. the batches each rank saw).

        Every rank must call it with the same keys (their order does not matter).

        Args:
            metrics: this rank's values.
            weight: this rank's weight; the result is sum(weight * value) / sum(weight).

        >>> DistributedContext().all_reduce_mean({"loss": 1.5, "accuracy": 0.5}, weight=3)
        {'accuracy': 0.5, 'loss': 1.5}
        """
        keys = sorted(metrics)
        if not self.is_distributed:
            return {key: float(metrics[key]) for key in keys}
        import torch.distributed as dist

        on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
        values = torch.tensor([weight * metrics[key] for key in keys] + [weight], dtype=torch.float64, device=on)
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        total = values[-1].item()
        return {key: values[i].item() / total for i, key in enumerate(keys)}

    def gather(self, value: T) -> list[T]:
        """Every rank's ``value``, in rank order, on every rank (``[value]`` in a single process).

        For small Python values (random number states at a checkpoint); they travel pickled.

        >>> DistributedContext().gather({"step": 3})
        [{'step': 3}]
        """
        if not self.is_distributed:
            return [value]
        import torch.distributed as dist

        found: list[T | None] = [None] * self.world_size
        dist.all_gather_object(found, value)
        return [item for item in found if item is not None]

    def barrier(self) -> None:
        """Wait until every rank gets here (nothing in a single process)."""
        import torch.distributed as dist

        if self.is_distributed and dist.is_initialized():
            dist.barrier()

    def destroy(self, *, wait: bool = True) -> None:
        """Leave the process group, if this process joined one.

        Args:
            wait: meet the other ranks first (the normal end: a rank that leaves while another still
                talks to it, rank 0 hosting the rendezvous store, can abort the other in gloo's
                threads). False after an error, when the others may be inside a collective and a
                barrier would hang: torchrun ends them.
        """
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            if wait:
                dist.barrier()
            dist.destroy_process_group()


class Shard(Sequence[T_co]):
    """Rank ``rank``'s items of a sequence: every ``world``-th one, starting at ``rank``.

    Every rank gets ``len(items) // world`` items: the last ``len(items) % world`` items of the
    epoch are dropped on every rank (not padded with repeats), so step ``i`` on all ranks
    together covers items ``i * world .. i * world + world - 1``, exactly the global batch of
    a single process whose batch is ``world`` items, and no item counts twice. The sequence is
    read lazily, so resuming at index ``i`` skips straight there.

    Args:
        items: the epoch, in its deterministic order (the same on every rank).
        rank: which shard, 0 .. world - 1.
        world: how many shards.

    >>> epoch = ["a", "b", "c", "d", "e"]
    >>> list(Shard(epoch, 0, 2)), list(Shard(epoch, 1, 2))
    (['a', 'c'], ['b', 'd'])
    >>> Shard(epoch, 1, 2)[-1]
    'd'
    """

    def __init__(self, items: Sequence[T_co], rank: int, world: int) -> None:
        assert world >= 1 and 0 <= rank < world, f"rank {rank} outside a world of {world}"
        self.items, self.rank, self.world = items, rank, world

    def __len__(self) -> int:
        return len(self.items) // self.world

    @overload
    def __getitem__(self, index: int) -> T_co: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T_co]: ...

    def __getitem__(self, index: int | slice) -> T_co | Sequence[T_co]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if not -len(self) <= index < len(self):
            raise IndexError(f"shard index {index} out of range ({len(self)} items)")
        return self.items[(index % len(self)) * self.world + self.rank]

    def __repr__(self) -> str:
        return f"Shard(rank={self.rank}, world={self.world}, items={len(self)} of {len(self.items)})"


def shard(items: Sequence[T_co], rank: int, world: int) -> Shard[T_co]:
    """Rank ``rank``'s share of an epoch (see :class:`Shard`: same length on every rank, the tail dropped).

    Args:
        items: the epoch's batches (or examples), in the order every rank computes alike.
        rank: this process's rank.
        world: the number of processes.

    >>> [list(shard(range(10), r, 3)) for r in range(3)]
    [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    """
    return Shard(items, rank, world)


def torchrun_argv(
    args: Sequence[str],
    *,
    nproc: int,
    nnodes: int = 1,
    node_rank: int | None = None,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = "seqlab",
    module: str = "seqlab",
    python: str | None = None,
) -> list[str]:
    """The command that starts ``python -m <module> <args>`` in ``nproc`` processes through torchrun.

    One machine uses a private (``--standalone``) rendezvous on a free port; several machines
    meet at ``rdzv_endpoint`` (``host:port`` of any one of them, the same on every machine).

    Args:
        args: the command line after ``seqlab`` (``train RECIPE ...``), without ``--nproc``.
        nproc: processes on this machine (one per GPU, or a few on a CPU).
        nnodes: machines taking part.
        node_rank: this machine's number, 0 .. nnodes - 1 (optional; the rendezvous can assign it).
        rdzv_endpoint: ``host:port`` where the machines meet; required when ``nnodes > 1``.
        rdzv_id: a name for the job, the same on every machine.
        module: the module each process runs.
        python: the interpreter (default: this one).

    Raises:
        ConfigError: a process count below 1, or several machines without an endpoint.

    >>> torchrun_argv(["train", "shakespeare-char"], nproc=2, python="python")
    ['python', '-m', 'torch.distributed.run', '--nproc-per-node', '2', '--standalone',
     '-m', 'seqlab', 'train', 'shakespeare-char']
    >>> torchrun_argv(["train", "x"], nproc=4, nnodes=2, node_rank=1, rdzv_endpoint="10.0.0.1:29400")[3:]
    ['--nproc-per-node', '4', '--nnodes', '2', '--node-rank', '1', '--rdzv-backend', 'c10d',
     '--rdzv-endpoint', '10.0.0.1:29400', '--rdzv-id', 'seqlab', '-m', 'seqlab', 'train', 'x']
    """
    if nproc < 1 or nnodes < 1:
        raise ConfigError(f"--nproc and --nnodes must be at least 1 (got {nproc} and {nnodes})")
    if nnodes > 1 and not rdzv_endpoint:
        raise ConfigError("training on several machines needs --rdzv-endpoint HOST:PORT, the same on every machine")
    argv = [python or sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc)]
    if rdzv_endpoint:
        argv += ["--nnodes", str(nnodes)]
        if node_rank is not None:
            argv += ["--node-rank", str(node_rank)]
        argv += ["--rdzv-backend", "c10d", "--rdzv-endpoint", rdzv_endpoint, "--rdzv-id", rdzv_id]
    else:
        argv.append("--standalone")
    return [*argv, "-m", module, *args]


__all__ = ["DistributedContext", "Shard", "backend_for", "shard", "torchrun_argv"]
