"""Checkpoints that survive a kill at any moment: safetensors + JSON, written atomically.

A checkpoint is a folder ``run_dir/checkpoints/step-NNNNNNN/`` holding

- ``model.safetensors``: the model's ``state_dict`` (tied weights stored once per name);
- ``optimizer.safetensors``: every tensor of the optimizer state, named ``state.<param>.<name>``;
- ``rng.safetensors``: torch's CPU generator state as a uint8 tensor (key ``torch``; ``cuda`` on a GPU;
  ``rank1.torch``... for the other ranks of a distributed run, whose random numbers drift apart);
- ``best.safetensors``: the best weights so far (only when early stopping is on and a best exists);
- ``state.json``: everything else (position, elapsed time, schedule, early stopping, the
  optimizer's non-tensor parts, Python and NumPy RNG states);
- ``manifest.json``: sha256 and size of each file above, written last.

It is written into ``checkpoints/.tmp-step-NNNNNNN-<pid>/``, every file fsynced, then renamed into
place, so a folder named ``step-*`` is complete unless the disk lies; a folder whose manifest is
missing or does not match its files is reported and skipped. Reading never unpickles.

>>> import tempfile, torch
>>> from pathlib import Path
>>> model = torch.nn.Linear(2, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> folder = Path(tempfile.mkdtemp())
>>> path = save_checkpoint(folder, step=5, model=model, optimizer=opt, state={"step": 5}, keep=2)
>>> path.name, verify_checkpoint(path)
('step-0000005', None)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from seqlab.errors import CheckpointError

if TYPE_CHECKING:
    import torch
    from rich.console import Console

FORMAT = 1
_NAME = re.compile(r"step-(\d{7,})")
TMP_PREFIX = ".tmp-"
REQUIRED = ("model.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json")
STATE_KEYS = ("format", "step", "optimizer", "rng")  # what every state.json holds
# what the training loop adds and reads back on resume (seqlab.training.loop._checkpoint)
LOOP_STATE_KEYS = (
    "epoch",
    "batch_index",
    "elapsed",
    "lr",
    "stop_reason",
    "schedule",
    "early_stopping",
    "metrics_log",
    "last_val",
)


class Stateful(Protocol):
    """What a checkpoint saves as ``optimizer``: a torch optimizer, or a training step holding several."""

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {param id: {name: value}}, "param_groups": [...]}``, as ``torch.optim.Optimizer`` has it."""
        ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> None:
        """Restore what :meth:`state_dict` returned."""
        ...


def checkpoint_name(step: int) -> str:
    """Folder name of the checkpoint at ``step``.

    >>> checkpoint_name(1200)
    'step-0001200'
    """
    return f"step-{step:07d}"


# ----------------------------------------------------------------------------- files


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def state_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``model.state_dict()`` (tied weights become separate copies).

    >>> import torch
    >>> sorted(state_tensors(torch.nn.Linear(2, 1)))
    ['bias', 'weight']
    """
    return {name: value.detach().cpu().clone().contiguous() for name, value in model.state_dict().items()}


def save_weights(tensors: dict[str, torch.Tensor], path: str | os.PathLike[str]) -> Path:
    """Write tensors to a safetensors file atomically (temp file, fsync, rename).

    Args:
        tensors: e.g. :func:`state_tensors` of a model.
        path: the target, e.g. ``run_dir/model.safetensors``.

    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from safetensors.torch import load_file
    >>> out = save_weights({"w": torch.ones(2)}, Path(tempfile.mkdtemp()) / "model.safetensors")
    >>> load_file(out)["w"].tolist()
    [1.0, 1.0]
    """
    from safetensors.torch import save

    target = Path(path)
    tmp = target.with_name(f"{TMP_PREFIX}{target.name}.{os.getpid()}")
    try:
        _write_durably(tmp, save(tensors))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)
    return target


def load_weights(model: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a safetensors file written by :func:`save_weights` into ``model`` (strict).

    Raises:
        CheckpointError: the file is missing, unreadable, or its tensors do not fit the model.

    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> path = save_weights(state_tensors(torch.nn.Linear(2, 1)), Path(tempfile.mkdtemp()) / "m.safetensors")
    >>> load_weights(torch.nn.Linear(2, 1), path)
    >>> load_weights(torch.nn.Linear(3, 1), path)
    Traceback (most recent call last):
    ...
    seqlab.errors.CheckpointError: weights in ... do not fit this Linear: ...
    """
    from safetensors.torch import load_file

    try:
        tensors = load_file(path)
    except (OSError, Exception) as err:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"cannot read weights from {path}: {err}") from None
    _load_into(model, tensors, where=str(path))


def _load_into(model: torch.nn.Module, tensors: dict[str, torch.Tensor], *, where: str) -> None:
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {where} do not fit this {type(model).__name__}: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}; the model config differs from the one that wrote them"
        )
    for name, value in model.state_dict().items():
        if tuple(tensors[name].shape) != tuple(value.shape):
            raise CheckpointError(
                f"weights in {where} do not fit this {type(model).__name__}: {name} has shape "
                f"{tuple(tensors[name].shape)}, the model needs {tuple(value.shape)}; "
                "the model config differs from the one that wrote them"
            )
    try:
        model.load_state_dict(tensors)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"weights in {where} do not fit this {type(model).__name__}: {first}") from None


# ----------------------------------------------------------------------------- optimizer


def flatten_optimizer(optimizer: Stateful) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into safetensors-ready tensors and a JSON-able rest.

    >>> import torch
    >>> p = torch.nn.Parameter(torch.ones(2))
    >>> opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    >>> p.grad = torch.ones(2); opt.step()
    >>> tensors, meta = flatten_optimizer(opt)
    >>> sorted(tensors), meta["param_groups"][0]["params"]
    (['state.0.momentum_buffer'], [0])
    """
    import torch

    full = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, param_state in full["state"].items():
        for name, value in param_state.items():
            if torch.is_tensor(value):
                tensors[f"state.{param_id}.{name}"] = value.detach().cpu().clone().contiguous()
            else:
                scalars.setdefault(str(param_id), {})[name] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in full["param_groups"]]
    extra = {k: v for k, v in full.items() if k not in ("state", "param_groups")}  # e.g. a step's "scaler"
    return tensors, {"param_groups": groups, "state": scalars, **extra}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the ``state_dict`` that :func:`flatten_optimizer` split (for ``optimizer.load_state_dict``).

    Keys besides ``state`` and ``param_groups`` (a step's JSON-able extras, such as its ``scaler``) come back as saved.
    """
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, param_id, name = key.split(".", 2)
        state.setdefault(int(param_id), {})[name] = value
    for param_id, values in meta["state"].items():
        state.setdefault(int(param_id), {}).update(values)
    groups = [
        {k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
        for g in meta["param_groups"]
    ]
    extra = {k: v for k, v in meta.items() if k not in ("state", "param_groups")}
    return {"state": state, "param_groups": groups, **extra}


# ----------------------------------------------------------------------------- rng


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The torch CPU (and current CUDA device's, once CUDA is in use), Python ``random`` and NumPy RNG states.

    Returns ``(tensors, json)``; a checkpoint written on a GPU resumes on a CPU, which ignores the ``cuda`` state.
    """
    import random

    import numpy as np
    import torch

    version, internal, gauss = random.getstate()
    legacy = np.random.get_state(legacy=True)
    assert isinstance(legacy, tuple)  # legacy=True: (name, keys, pos, has_gauss, cached)
    name, keys, pos, has_gauss, cached = legacy
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["cuda"] = torch.cuda.get_rng_state()
    return (
        tensors,
        {"python": [version, list(internal), gauss], "numpy": [name, keys.tolist(), pos, has_gauss, cached]},
    )


def _rank_prefix(rank: int) -> str:
    return f"rank{rank}." if rank else ""


def set_rng_state(tensors: dict[str, torch.Tensor], saved: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    import random

    import numpy as np
    import torch

    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])
    version, internal, gauss = saved["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = saved["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


# ----------------------------------------------------------------------------- save / find / load


def save_checkpoint(
    directory: str | os.PathLike[str],
    *,
    step: int,
    model: torch.nn.Module,
    optimizer: Stateful,
    state: dict[str, Any],
    best: dict[str, torch.Tensor] | None = None,
    keep: int = 2,
    rngs: list[tuple[dict[str, torch.Tensor], dict[str, Any]]] | None = None,
) -> Path:
    """Write a checkpoint for ``step`` atomically, then delete all but the newest ``keep``.

    Args:
        directory: ``run_dir/checkpoints``.
        step: optimizer steps taken; names the folder.
        model: its weights go to ``model.safetensors``.
        optimizer: its state goes to ``optimizer.safetensors`` + ``state.json`` (an optimizer, or the
            :class:`~seqlab.training.loop.Step` that holds the optimizers).
        state: JSON-able training state (position, schedule, ...), saved in ``state.json``.
        best: best weights so far, if early stopping tracks them.
        keep: how many checkpoints to keep.
        rngs: every rank's :func:`rng_state`, rank 0 first (default: this process's only).

    Returns:
        The new checkpoint folder.

    Raises:
        CheckpointError: the folder cannot be written (read-only, full); the half-written one is
            removed and the checkpoints already there are left as they were.
    """
    blobs = checkpoint_files(model=model, optimizer=optimizer, state=state, best=best, rngs=rngs)
    return write_checkpoint(directory, step=step, files=blobs, keep=keep)


def checkpoint_files(
    *,
    model: torch.nn.Module,
    optimizer: Stateful,
    state: dict[str, Any],
    best: dict[str, torch.Tensor] | None = None,
    rngs: list[tuple[dict[str, torch.Tensor], dict[str, Any]]] | None = None,
) -> dict[str, bytes]:
    """The files of a checkpoint as bytes: a snapshot that later training steps do not change.

    Args: as :func:`save_checkpoint`.

    >>> import torch
    >>> model = torch.nn.Linear(2, 1)
    >>> sorted(checkpoint_files(model=model, optimizer=torch.optim.SGD(model.parameters()), state={"step": 1}))
    ['model.safetensors', 'optimizer.safetensors', 'rng.safetensors', 'state.json']
    """
    from safetensors.torch import save

    opt_tensors, opt_meta = flatten_optimizer(optimizer)
    rngs = rngs if rngs is not None else [rng_state()]
    rng_tensors = {
        _rank_prefix(rank) + name: value for rank, (tensors, _) in enumerate(rngs) for name, value in tensors.items()
    }
    rng_json = {**rngs[0][1], "ranks": [saved for _, saved in rngs[1:]]}
    blobs = {
        "model.safetensors": save(state_tensors(model)),
        "optimizer.safetensors": save(opt_tensors),
        "rng.safetensors": save(rng_tensors),
        "state.json": json.dumps({"format": FORMAT, **state, "optimizer": opt_meta, "rng": rng_json}).encode(),
    }
    if best is not None:
        blobs["best.safetensors"] = save(best)
    return blobs


def write_checkpoint(directory: str | os.PathLike[str], *, step: int, files: dict[str, bytes], keep: int = 2) -> Path:
    """Write :func:`checkpoint_files` as the checkpoint of ``step``, atomically, and keep the newest ``keep``.

    Raises:
        CheckpointError: as :func:`save_checkpoint`.
    """
    directory = Path(directory)
    final = directory / checkpoint_name(step)
    tmp = directory / f"{TMP_PREFIX}{final.name}-{os.getpid()}"
    try:
        return _write_checkpoint(directory, final, tmp, files, keep=keep)
    except OSError as err:  # a read-only or full disk: the checkpoints already there stay as they were
        shutil.rmtree(tmp, ignore_errors=True)
        kept = list_checkpoints(directory) if directory.is_dir() else []
        last = f"the last good checkpoint {kept[0].name} is kept" if kept else "no earlier checkpoint exists"
        reason = err.strerror or str(err)
        raise CheckpointError(f"cannot write checkpoint {final} ({reason}); {last}") from None


def _write_checkpoint(directory: Path, final: Path, tmp: Path, blobs: dict[str, bytes], *, keep: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for name, data in blobs.items():
        _write_durably(tmp / name, data)
    files = {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in blobs.items()}
    manifest = {"format": FORMAT, "step": int(final.name.removeprefix("step-")), "files": files}
    _write_durably(tmp / "manifest.json", json.dumps(manifest, indent=1).encode())
    _fsync_dir(tmp)
    if final.exists():  # a rewrite of the same step (cannot happen in one run; be safe)
        old = directory / f"{TMP_PREFIX}old-{final.name}-{os.getpid()}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)
    _fsync_dir(directory)
    for stale in list_checkpoints(directory)[keep:]:
        shutil.rmtree(stale)
    return final


class CheckpointWriter:
    """Writes checkpoints from a background thread, one at a time, so training does not wait for the disk.

    :meth:`save` is handed the snapshot (:func:`checkpoint_files`, taken on the caller's thread) and
    writes, hashes and fsyncs it on another while training goes on (a 31 MB sentiment checkpoint: 45 ms of
    snapshot, then about 120 ms off the training thread; benchmarks/keras.md). A second ``save`` first
    waits for the first. A write that failed raises its :class:`CheckpointError` at the next ``save``
    or :meth:`wait`; the checkpoints already written stay as they were, as with :func:`save_checkpoint`.

    >>> import tempfile, torch
    >>> model = torch.nn.Linear(2, 1)
    >>> writer, folder = CheckpointWriter(), Path(tempfile.mkdtemp())
    >>> files = checkpoint_files(model=model, optimizer=torch.optim.SGD(model.parameters()), state={"step": 3})
    >>> writer.save(folder, step=3, files=files)
    >>> writer.wait()
    >>> [p.name for p in list_checkpoints(folder)]
    ['step-0000003']
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: CheckpointError | None = None

    def save(self, directory: str | os.PathLike[str], *, step: int, files: dict[str, bytes], keep: int = 2) -> None:
        """:func:`write_checkpoint` in the background, once the write before it is done.

        Args:
            directory, step, keep: as :func:`save_checkpoint`.
            files: the snapshot, from :func:`checkpoint_files` (taken by the caller, on its thread).
        """
        self.wait()

        def write() -> None:
            try:
                write_checkpoint(directory, step=step, files=files, keep=keep)
            except CheckpointError as err:
                self._error = err

        # not a daemon: an interpreter that exits mid-write first lets the write finish
        self._thread = threading.Thread(target=write, name=f"seqlab-checkpoint-{step}")
        self._thread.start()

    def join(self) -> None:
        """Wait for the write under way, keeping any error for :meth:`wait`."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wait(self) -> None:
        """Wait for the write under way; raise the error of a write that failed."""
        self.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """The ``step-*`` folders in ``directory``, newest (highest step) first.

    >>> import tempfile
    >>> list_checkpoints(tempfile.mkdtemp())
    []
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if p.is_dir() and (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def remove_unfinished(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete temp folders left by a checkpoint write that was killed; return what was removed."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    leftovers = [p for p in directory.iterdir() if p.name.startswith(TMP_PREFIX)]
    for path in leftovers:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return leftovers


def verify_checkpoint(path: str | os.PathLike[str]) -> str | None:
    """Check a checkpoint folder against its manifest; return what is wrong, or None when it is good.

    >>> import tempfile
    >>> verify_checkpoint(tempfile.mkdtemp())
    'manifest.json is missing (the checkpoint was not finished)'
    """
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "manifest.json is missing (the checkpoint was not finished)"
    except (OSError, ValueError) as err:
        return f"manifest.json is unreadable ({err})"
    files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
    for name in REQUIRED:
        if name not in files:
            return f"manifest.json does not list {name}"
    for name, info in files.items():
        try:
            data = (path / name).read_bytes()
        except OSError:
            return f"{name} is missing"
        if len(data) != info.get("bytes") or hashlib.sha256(data).hexdigest() != info.get("sha256"):
            return f"{name} does not match its sha256 in manifest.json (truncated or changed)"
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"state.json is unreadable ({err})"
    if not isinstance(state, dict):
        return "state.json is not a JSON object"
    wanted = STATE_KEYS + (LOOP_STATE_KEYS if any(key in state for key in LOOP_STATE_KEYS) else ())
    missing = [key for key in wanted if key not in state]
    if missing:
        return f"state.json lacks {', '.join(missing)}"
    return None


def latest_good_checkpoint(directory: str | os.PathLike[str], *, console: Console | None = None) -> Path | None:
    """The newest checkpoint that passes :func:`verify_checkpoint`, reporting the bad ones skipped.

    Args:
        directory: ``run_dir/checkpoints``.
        console: where to say which checkpoints were skipped and why.

    Returns:
        The folder, or None when there is no checkpoint at all.

    Raises:
        CheckpointError: there are checkpoints but none of them is good.

    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> latest_good_checkpoint(folder) is None
    True
    >>> (folder / "step-0000010").mkdir()
    >>> latest_good_checkpoint(folder)
    Traceback (most recent call last):
    ...
    seqlab.errors.CheckpointError: no usable checkpoint in ... (step-0000010: manifest.json is missing ...
    """
    candidates = list_checkpoints(directory)
    problems = []
    for path in candidates:
        problem = verify_checkpoint(path)
        if problem is None:
            return path
        problems.append(f"{path.name}: {problem}")
        if console is not None:
            console.print(f"[yellow]checkpoint {path} is unusable: {problem}; trying the previous one[/]")
    if candidates:
        raise CheckpointError(
            f"no usable checkpoint in {directory} ({'; '.join(problems)}); "
            "start again without resume, in a new run directory"
        )
    return None


def load_checkpoint(
    path: str | os.PathLike[str], *, model: torch.nn.Module, optimizer: Stateful, rank: int = 0
) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    """Load a verified checkpoint into ``model`` and ``optimizer`` and restore the RNG states.

    Args:
        path: a checkpoint folder.
        model: receives the weights.
        optimizer: receives its state (built for the same model, same config; an optimizer or a step).
        rank: whose random number states to restore (a distributed run saves every rank's).

    Returns:
        ``(state, best)``: the JSON training state and the best weights (or None).
    """
    from safetensors.torch import load_file

    path = Path(path)
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {state.get('format')}; this seqlab reads format {FORMAT}")
    _load_into(model, load_file(path / "model.safetensors"), where=str(path))
    saved_groups = state["optimizer"].get("param_groups", []) if isinstance(state["optimizer"], dict) else []
    current_groups = optimizer.state_dict().get("param_groups", [])
    saved_keys = sorted({key for group in saved_groups for key in group})
    current_keys = sorted({key for group in current_groups for key in group})
    if saved_keys != current_keys:  # another train.optimizer: its settings (betas, momentum) differ
        raise CheckpointError(
            f"the optimizer state in {path} was written by another train.optimizer (settings "
            f"{', '.join(saved_keys)}; this config's has {', '.join(current_keys)}); "
            "resume with the config the run was started with"
        )
    try:
        optimizer.load_state_dict(unflatten_optimizer(load_file(path / "optimizer.safetensors"), state["optimizer"]))
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise CheckpointError(
            f"the optimizer state in {path} does not fit train.optimizer / the model ({err}); "
            "resume with the config the run was started with"
        ) from None
    rng, prefix = load_file(path / "rng.safetensors"), _rank_prefix(rank)
    if rank and prefix + "torch" in rng:
        mine = {name.removeprefix(prefix): value for name, value in rng.items() if name.startswith(prefix)}
        set_rng_state(mine, state["rng"]["ranks"][rank - 1])
    else:
        set_rng_state({name: value for name, value in rng.items() if not name.startswith("rank")}, state["rng"])
    best = load_file(path / "best.safetensors") if (path / "best.safetensors").exists() else None
    return state, best
