"""Run directories: train a config into one, load one back, and use what it learned.

A run directory holds everything needed to use and reproduce a run:

====================  =========================================================
``config.toml``       the resolved config (``seqlab train config.toml`` re-runs it)
``meta.json``         task facts the model needs (vocabulary size, class names)
``tokenizer.json``    the fitted tokenizer
``model.safetensors`` the final (or best, with early stopping) weights
``checkpoints/``      training state for exact resume
``metrics.jsonl``     one row per logging point; ``curves.png`` draws them
``summary.md``        final metrics, samples or predictions, plots
====================  =========================================================

Loading never unpickles anything: JSON, TOML and safetensors only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from seqlab.config import Config, load_config, to_toml
from seqlab.errors import CheckpointError, ConfigError

RUN_FILES = ("config.toml", "meta.json", "tokenizer.json")


@dataclass
class Run:
    """A trained (or training) run, ready to use.

    Attributes:
        run_dir: the folder.
        config: the resolved config.
        meta: task facts from meta.json.
        tokenizer: the fitted tokenizer.
        model: the torch module, in eval mode.
    """

    run_dir: Path
    config: Config
    meta: dict[str, Any]
    tokenizer: Any
    model: Any

    @property
    def task(self) -> str:
        return self.config.task

    def sample(
        self,
        prompt: str = "",
        *,
        max_tokens: int = 200,
        temperature: float = 0.8,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Stream text that continues ``prompt``, piece by piece (generating tasks).

        Args:
            prompt: the text to continue.
            max_tokens: the most new tokens.
            temperature: 0 is greedy; higher is more random.
            top_k: sample among the k most likely tokens (0 = all).
            top_p: sample from the smallest set with this much probability (1 = all).
            seed: makes the sample reproducible.
            stop: strings that end the text (not included).
        """
        return self._binding("sample").sample(
            self, prompt, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, stop=stop
        )

    def predict(self, inputs: Sequence[Any]) -> list[Any]:
        """The task's prediction for each input (a class for a text, a translation, a forecast...)."""
        return self._binding("predict").predict(self, inputs)

    def metrics(self) -> list[dict[str, Any]]:
        """The rows of metrics.jsonl."""
        path = self.run_dir / "metrics.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def _binding(self, action: str) -> Any:
        from seqlab.tasks import TASK_MODULES, get_task

        binding = get_task(self.task)
        if not hasattr(binding, action):
            able = [name for name in TASK_MODULES if hasattr(get_task(name), action)]
            raise ConfigError(
                f"{self.run_dir} is a {self.task} run, which cannot {action}; runs that can: {', '.join(able)}"
            )
        return binding


def default_run_dir(name: str) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>`` under the current folder."""
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_atomic(path: Path, text: str) -> None:
    """Write text through a temporary file and a rename, so a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def train(
    config: Config,
    *,
    run_dir: str | Path | None = None,
    console: Console | None = None,
    resume: bool = False,
    callbacks: Sequence[Any] = (),
) -> Run:
    """Train a config into a run directory and return the trained run.

    Args:
        config: a validated config (:func:`seqlab.config.load_config`).
        run_dir: where to write; defaults to ``runs/<name>-<timestamp>``.
        console: where progress goes (inject ``Console(file=StringIO())`` in tests).
        resume: continue the run in ``run_dir`` from its last good checkpoint.
        callbacks: :class:`seqlab.training.Callback` objects for the loop (a sweep's pruning).
    """
    import torch

    from seqlab.tasks import get_task
    from seqlab.text import load_tokenizer
    from seqlab.training import fit

    console = console or Console()
    binding = get_task(config.task)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config.name)
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)

    console.print(f"[bold]{config.name}[/]: {config.task} on [cyan]{config.data.dataset}[/] -> {run_dir}")
    with console.status("reading data and fitting the tokenizer..."):
        saved = run_dir / "tokenizer.json"
        # a task whose fitted preprocessing is not a text tokenizer (a series scaler) reads its own
        read_saved = getattr(binding, "load_tokenizer", load_tokenizer)
        tokenizer, task, meta = binding.prepare(
            config, tokenizer=read_saved(saved) if resume and saved.exists() else None
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_atomic(run_dir / "config.toml", to_toml(config))
        if tokenizer is not None:  # image tasks have none (their meta.json says "tokenizer": false)
            write_atomic(run_dir / "tokenizer.json", tokenizer.to_json())
        write_atomic(run_dir / "meta.json", json.dumps(meta, ensure_ascii=False, indent=2))

    model = binding.build_model(config, tokenizer, meta)
    params = sum(p.numel() for p in model.parameters())
    vocabulary = f"; vocabulary {tokenizer.vocab_size:,}" if hasattr(tokenizer, "vocab_size") else ""
    console.print(f"model: {type(model).__name__}, {params:,} parameters{vocabulary}")
    # a task whose training is not the generic loop (the GAN's two-player step) brings its own fit
    task_fit = getattr(binding, "fit", fit)
    task_fit(model, task, config.train, run_dir=run_dir, console=console, resume=resume, callbacks=tuple(callbacks))

    run = Run(run_dir, config, meta, tokenizer, model.eval())
    write_summary(run, task, console=console)
    return run


def resume(run_dir: str | Path, *, console: Console | None = None) -> Run:
    """Continue an interrupted run from its last good checkpoint (same config, same data)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise CheckpointError(
            f"{run_dir} is not a run directory (no config.toml); give the folder `seqlab train` wrote"
        )
    return train(load_config(run_dir / "config.toml"), run_dir=run_dir, console=console, resume=True)


def write_summary(run: Run, task: Any, *, console: Console) -> dict[str, dict[str, float]]:
    """Evaluate on validation and test, and write summary.md (metrics, then the task's report)."""
    from seqlab.tasks import get_task

    binding = get_task(run.task)
    results = {}
    for split in ("val", "test"):
        batches = task.split_batches(split)
        if len(batches):
            results[split] = task.evaluate(run.model.eval(), batches)
    names = sorted({k for metrics in results.values() for k in metrics}, key=lambda k: (k != "loss", k))
    lines = [
        f"# {run.config.name}",
        "",
        run.config.description,
        "",
        f"Task: {run.task}. Data: `{run.config.data.dataset}`. "
        f"Parameters: {sum(p.numel() for p in run.model.parameters()):,}.",
        "",
        "## Final metrics",
        "",
        "| split | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for split, metrics in results.items():
        lines.append(f"| {split} | " + " | ".join(f"{metrics.get(n, float('nan')):.4f}" for n in names) + " |")
        console.print(f"[bold]{split}[/]: " + ", ".join(f"{n} {metrics[n]:.4f}" for n in names if n in metrics))
    lines += ["", "![learning curves](curves.png)", ""]
    lines += binding.report(run, task, console=console)
    write_atomic(run.run_dir / "summary.md", "\n".join(lines) + "\n")
    write_atomic(run.run_dir / "final_metrics.json", json.dumps(results, indent=2))  # read by seqlab compare / sweep
    return results


def _without_tokenizer(run_dir: Path) -> bool:
    """True when the run's task uses no tokenizer (meta.json has ``"tokenizer": false``)."""
    try:
        return json.loads((run_dir / "meta.json").read_text(encoding="utf-8")).get("tokenizer") is False
    except (OSError, ValueError, AttributeError):
        return False


def load(run_dir: str | Path) -> Run:
    """Load a run directory for use: config, tokenizer and weights (safetensors; nothing unpickled).

    Args:
        run_dir: a folder written by ``seqlab train``.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from seqlab.tasks import get_task
    from seqlab.text import load_tokenizer

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory not found: {run_dir}")
    missing = [name for name in (*RUN_FILES, "model.safetensors") if not (run_dir / name).is_file()]
    if "tokenizer.json" in missing and _without_tokenizer(run_dir):
        missing.remove("tokenizer.json")
    if missing:
        hint = (
            " (training has not finished; `seqlab train --resume` continues it)"
            if "model.safetensors" in missing
            else ""
        )
        raise CheckpointError(f"{run_dir} is missing {', '.join(missing)}{hint}")
    config = load_config(run_dir / "config.toml")
    try:
        meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{run_dir / 'meta.json'} is not valid JSON: {err}") from None
    binding = get_task(config.task)
    read_saved = getattr(binding, "load_tokenizer", load_tokenizer)  # e.g. a series scaler
    tokenizer = read_saved(run_dir / "tokenizer.json") if (run_dir / "tokenizer.json").is_file() else None
    # the saved weights replace every value, so a task may skip work only fresh weights need
    model = getattr(binding, "model_to_load", binding.build_model)(config, tokenizer, meta)
    try:
        state = load_file(str(run_dir / "model.safetensors"))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{run_dir / 'model.safetensors'} cannot be read ({err}); it may be truncated") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f"{run_dir / 'model.safetensors'} does not fit the model in config.toml: {first}"
        ) from None
    return Run(run_dir, config, meta, tokenizer, model.eval())


__all__ = ["Run", "train", "resume", "load", "default_run_dir", "write_summary"]
