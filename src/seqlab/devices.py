"""Where a model runs and in which precision: ``train.device`` and ``train.precision``.

A device is named as the user writes it (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) and
resolved once, at the edge, to a ``torch.device`` that exists here; asking for one that is not
there is a one-line :class:`~seqlab.errors.ConfigError` naming the ones that are. A
:class:`Precision` pairs a precision name with that device: its :meth:`~Precision.autocast`
wraps the forward pass and the loss, and its :meth:`~Precision.grad_scaler` scales the loss of
fp16 on CUDA (the only place fp16 runs), so the training loop has a single code path for all three.

>>> resolve_device("cpu")
device(type='cpu')
>>> precision = Precision.resolve("fp32", torch.device("cpu"))
>>> with precision.autocast():
...     torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype
torch.float32
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from seqlab.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

_DEVICE_SPEC = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """The devices this machine has, as ``resolve_device`` accepts them: ``cpu``, then ``cuda:N``, then ``mps``.

    >>> available_devices()[0]
    'cpu'
    """
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        devices.append("mps")
    return devices


def resolve_device(spec: str, *, key: str = "train.device") -> torch.device:
    """The ``torch.device`` a device setting names, checked to exist on this machine.

    Args:
        spec: ``auto`` (CUDA if available, then MPS, then CPU), ``cpu``, ``cuda`` (the current
            CUDA device), ``cuda:N`` or ``mps``.
        key: the setting's name in messages (``train.device``, ``--device``).

    Raises:
        ConfigError: for a name that is not a device, or a device this machine does not have
            (the message lists the ones it has).

    >>> resolve_device("auto").type in ("cuda", "mps", "cpu")
    True
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: train.device must be one of auto, cpu, cuda, cuda:N, mps (got "tpu")
    >>> resolve_device("cuda:99", key="--device")
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: --device "cuda:99" is not available here; devices: cpu...
    """
    name = spec.strip().lower()
    if not _DEVICE_SPEC.fullmatch(name):
        raise ConfigError(f'{key} must be one of {", ".join(DEVICE_CHOICES)} (got "{spec}")')
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    present = (
        _mps_available()
        if name == "mps"
        else torch.cuda.is_available() and (name == "cuda" or int(name.split(":")[1]) < torch.cuda.device_count())
    )
    if not present:
        raise ConfigError(f'{key} "{spec}" is not available here; devices: {", ".join(available_devices())}')
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    """True when this CPU runs bf16 matrix products natively (oneDNN's AVX-512 / AMX / Arm bf16 kernels).

    Elsewhere bf16 autocast still runs, but emulated and slower than fp32, so seqlab refuses it.

    >>> isinstance(cpu_supports_bf16(), bool)
    True
    """
    if not torch.backends.mkldnn.is_available():
        return False
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check()) if check is not None else False


def supports_bf16(device: torch.device) -> bool:
    """True when ``device`` computes bf16 natively: a CPU with bf16 instructions, or a CUDA GPU that has it.

    >>> supports_bf16(torch.device("cpu")) == cpu_supports_bf16()
    True
    """
    if device.type == "cpu":
        return cpu_supports_bf16()
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


@dataclass(frozen=True)
class Precision:
    """A precision (``fp32``, ``bf16`` or ``fp16``) checked against the device it runs on.

    Build it with :meth:`resolve`, which refuses combinations that do not work: fp16 anywhere
    but CUDA, bf16 on a CPU without native bf16 or on MPS.

    Args:
        name: ``fp32``, ``bf16`` or ``fp16``.
        device: where the model runs.

    >>> with Precision("bf16", torch.device("cpu")).autocast():  # resolve() would check the CPU first
    ...     torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype
    torch.bfloat16
    >>> Precision.resolve("fp16", torch.device("cpu"))
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: train.precision "fp16" needs a CUDA device (the device is cpu); use bf16 or fp32
    """

    name: str
    device: torch.device

    CHOICES: ClassVar[tuple[str, ...]] = tuple(PRECISIONS)

    @classmethod
    def resolve(cls, name: str, device: torch.device, *, key: str = "train.precision") -> Precision:
        """Check that ``name`` is a precision that runs on ``device``.

        Args:
            name: ``fp32``, ``bf16``, ``fp16``, or ``auto`` (bf16 where the device runs it natively, else fp32).
            device: a device from :func:`resolve_device`.
            key: the setting's name in messages.

        Raises:
            ConfigError: an unknown name, or a precision the device cannot run.

        >>> Precision.resolve("fp32", torch.device("cpu")).dtype
        torch.float32
        >>> Precision.resolve("half", torch.device("cpu"))
        Traceback (most recent call last):
        ...
        seqlab.errors.ConfigError: train.precision must be one of auto, fp32, bf16, fp16 (got "half")
        >>> Precision.resolve("auto", torch.device("cpu")).name == ("bf16" if cpu_supports_bf16() else "fp32")
        True
        """
        if name == "auto":  # bf16 where the device computes it natively (measured: benchmarks/devices.md)
            name = "bf16" if supports_bf16(device) else "fp32"
        if name not in PRECISIONS:
            raise ConfigError(f'{key} must be one of auto, {", ".join(PRECISIONS)} (got "{name}")')
        kind = device.type
        if name == "fp16" and kind != "cuda":
            raise ConfigError(f'{key} "fp16" needs a CUDA device (the device is {kind}); use bf16 or fp32')
        if name == "bf16":
            if kind == "mps":
                raise ConfigError(f'{key} "bf16" is not supported on mps; use fp32')
            if kind == "cpu" and not cpu_supports_bf16():
                raise ConfigError(
                    f'{key} "bf16" needs a CPU with native bf16 (AVX-512 or AMX on x86, bf16 on Arm); '
                    "this one would emulate it, slower than fp32; use fp32"
                )
            if kind == "cuda" and not torch.cuda.is_bf16_supported():
                raise ConfigError(f'{key} "bf16" is not supported by this GPU; use fp16 or fp32')
        return cls(name, device)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype autocast computes in (float32 for fp32).

        >>> Precision("fp16", torch.device("cuda")).dtype
        torch.float16
        """
        return PRECISIONS[self.name]

    def autocast(self) -> AbstractContextManager[object]:
        """A context for the forward pass and the loss: ``torch.autocast`` in the dtype, nothing for fp32.

        Weights stay float32 (the optimizer updates full-precision weights); only the operations
        autocast lists run in the lower precision.

        >>> with Precision("fp32", torch.device("cpu")).autocast():
        ...     torch.ones(1).dtype
        torch.float32
        """
        if self.name == "fp32":
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """The loss scaler: active for fp16 on CUDA, a pass-through otherwise.

        A disabled ``GradScaler`` returns the loss unscaled, calls ``optimizer.step()`` directly
        and has an empty ``state_dict()``, so the loop always writes
        ``scaler.scale(loss).backward(); scaler.unscale_(optimizer); ...; scaler.step(optimizer); scaler.update()``,
        and a checkpoint saves ``scaler.state_dict()`` only when it is not empty.

        >>> scaler = Precision("bf16", torch.device("cpu")).grad_scaler()
        >>> scaler.is_enabled(), scaler.state_dict()
        (False, {})
        """
        enabled = self.name == "fp16" and self.device.type == "cuda"
        return torch.amp.GradScaler(self.device.type, enabled=enabled)


def restore_scaler(scaler: torch.amp.GradScaler, state: dict[str, Any]) -> None:
    """Load a checkpoint's scaler state; an empty one (saved without fp16) leaves the scaler as it starts.

    ``GradScaler.load_state_dict`` refuses an empty state in an active scaler; a run saved in
    fp32 or bf16 and resumed in fp16 just starts loss scaling afresh.

    Args:
        scaler: from :meth:`Precision.grad_scaler`.
        state: ``scaler.state_dict()`` as the checkpoint saved it (``{}`` when there was none).

    >>> scaler = Precision("fp32", torch.device("cpu")).grad_scaler()
    >>> restore_scaler(scaler, {}); scaler.state_dict()
    {}
    """
    if state:
        scaler.load_state_dict(state)


__all__ = [
    "DEVICE_CHOICES",
    "PRECISIONS",
    "Precision",
    "available_devices",
    "cpu_supports_bf16",
    "resolve_device",
    "restore_scaler",
]
