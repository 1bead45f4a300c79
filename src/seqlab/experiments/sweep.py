"""Hyperparameter sweeps with Optuna: TPE sampling, median pruning on validation curves, shared storage.

A sweep is a loop over configs: each trial turns Optuna's suggestions into ``--set`` overrides,
trains an ordinary run into ``trials/trial-NNNN/`` and returns its final validation metric.
While it trains, a callback reports every validation value to the trial and stops the run when
the median rule prunes it (the run still ends cleanly, with a checkpoint and its summary).

Storage: a journal file in the sweep folder by default (safe for several local processes);
``storage="sqlite:///..."`` or ``"postgresql://..."`` (an Optuna RDB URL) lets workers on several
machines share one study. Trials are counted in the study, so running the same command again
continues it: finished trials stay finished, and a trial whose process died (same machine, its
process gone; or, with an RDB URL, its heartbeat stale) is marked failed and queued again with the
same parameters, resuming its run from the last checkpoint when the folder is local.

The folder::

    study.json             the plan (base config, space, budget, storage, metric)
    sweep.journal          the Optuna study (default storage)
    trials/trial-NNNN/     one run directory per trial
    workers/worker-K.log   output of extra local workers (--workers)
    report.md / .html      trials table, optimisation history, importances, curves
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from seqlab.config import Config, to_toml, with_overrides
from seqlab.errors import ConfigError, MissingExtraError, SeqlabError, needs_extra
from seqlab.experiments.report import (
    Code,
    Heading,
    Image,
    Para,
    Section,
    Table,
    fmt,
    read_study,
    write_report,
    write_study,
)
from seqlab.experiments.space import Param, format_value, parse_space

JOURNAL = "sweep.journal"
RDB_PREFIXES = ("sqlite:", "postgresql", "postgres:", "mysql")
HEARTBEAT_SECONDS = 60


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` returns.

    Args:
        folder: the sweep folder.
        best_params: the best trial's parameters (config key -> value), empty without one.
        best_value: its objective value, or None.
        best_run_dir: its run directory, or None.
        finished: trials complete or pruned in the study.
        reports: report.md and report.html.
    """

    folder: Path
    best_params: dict[str, Any]
    best_value: float | None
    best_run_dir: Path | None
    finished: int
    reports: list[Path]


def _optuna() -> Any:
    with needs_extra("sweep"):
        import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(storage: str, *, folder: Path) -> Any:
    """An Optuna storage: an RDB URL (with heartbeats and retry of dead trials) or a journal file path.

    Args:
        storage: ``sqlite:///path.db``, ``postgresql://user@host/db``, ... or a file path (journal).
        folder: relative journal paths are taken from here.
    """
    optuna = _optuna()
    if storage.startswith(RDB_PREFIXES):
        import warnings

        from optuna.storages import RDBStorage

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeats are marked experimental
                # a worker whose heartbeat stops (its machine died) has its trial failed and queued again
                if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):  # optuna >= 4.9
                    retry = {
                        "heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)
                    }
                else:
                    retry = {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=2)}
                return RDBStorage(
                    storage, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=3 * HEARTBEAT_SECONDS, **retry
                )
        except ImportError as err:  # a database driver (psycopg2, pymysql) is missing
            raise MissingExtraError(f"cannot open storage {storage}: {err}; install the database driver") from None
        except Exception as err:  # sqlalchemy's errors: bad URL, unreachable server
            raise ConfigError(f"cannot open storage {storage}: {type(err).__name__}: {err}") from None
    if "://" in storage:
        raise ConfigError(
            f'--storage "{storage}" is not a supported URL; use sqlite:///file.db, '
            "postgresql://user:password@host/db, or a journal file path"
        )
    path = Path(storage)
    if not path.is_absolute():
        path = folder / path
    path.parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(str(path))
    return optuna.storages.JournalStorage(backend)


def check_space(base: Config, space: Sequence[Param], *, budget: Sequence[str] = ()) -> None:
    """Fail early when a key does not exist or a range leaves the setting's valid values.

    >>> from seqlab.config import load_config
    >>> check_space(load_config("shakespeare-char"), [parse_space("model.dropout=uniform(0,1)")])
    Traceback (most recent call last):
    ...
    seqlab.errors.ConfigError: --space "model.dropout=uniform(0,1)": model.dropout:
    input should be less than 1 (got 1.0)
    """
    if not space:
        raise ConfigError('give at least one --space, e.g. --space "train.lr=log(1e-4,1e-2)"')
    keys = [p.key for p in space]
    if len(set(keys)) != len(keys):
        raise ConfigError(
            f"--space names the same key twice ({', '.join(sorted({k for k in keys if keys.count(k) > 1}))})"
        )
    for param in space:
        for value in param.corners():
            try:
                with_overrides(base, [*budget, f"{param.key}={format_value(value)}"])
            except ConfigError as err:
                raise ConfigError(f'--space "{param.describe()}": {err}') from None


def _suggest(trial: Any, param: Param) -> Any:
    if param.kind == "choice":
        return trial.suggest_categorical(param.key, list(param.choices))
    if param.kind in ("int", "logint"):
        return trial.suggest_int(param.key, int(param.low), int(param.high), log=param.kind == "logint")
    return trial.suggest_float(param.key, param.low, param.high, log=param.kind == "log")


def sweep(
    config: Config,
    space: Sequence[Param],
    *,
    trials: int,
    out_dir: str | Path,
    storage: str | None = None,
    study_name: str | None = None,
    workers: int = 1,
    budget: Sequence[str] = (),
    metric: str | None = None,
    seed: int = 0,
    latency: bool = False,
    command: str = "",
    console: Console | None = None,
) -> SweepResult:
    """Search ``space`` for the best final validation metric until the study holds ``trials`` finished trials.

    Args:
        config: the base config.
        space: the parameters to search (:func:`~seqlab.experiments.space.parse_space`).
        trials: how many complete-or-pruned trials the study should end with (over all workers and sessions).
        out_dir: the sweep folder; running again with the same folder resumes the sweep.
        storage: an Optuna RDB URL or a journal file path (default ``out_dir/sweep.journal``).
        study_name: the study's name in the storage (default ``<config name>-sweep``); workers on
            other machines give the same name and storage.
        workers: local worker processes (this one included), all on the same storage.
        budget: overrides applied to every trial (:func:`~seqlab.experiments.space.parse_budget`).
        metric: the validation metric to optimise (default: ``train.monitor``); its direction follows the name.
        seed: seeds the TPE sampler (worker K uses seed + K).
        latency: also time inference of each trial's model.
        command: the command that made it, for the report.
        console: where progress goes.

    Returns:
        A :class:`SweepResult`.
    """
    from seqlab.experiments.compare import ranking_metric

    optuna = _optuna()
    if trials < 1:
        raise ConfigError(f"--trials must be at least 1 (got {trials})")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1 (got {workers})")
    console = console or Console()
    folder = Path(out_dir)
    check_space(config, space, budget=budget)
    metric_name, mode = ranking_metric(config, metric)
    if not metric_name.startswith("val_"):
        raise ConfigError(
            f'a sweep optimises a validation metric (val_...), not "{metric_name}"; the test split stays unseen'
        )
    plan = {
        "kind": "sweep",
        "version": 1,
        "title": f"{config.name}: sweep of {', '.join(p.key for p in space)}",
        "command": command,
        "base_config": to_toml(config),
        "space": [p.describe() for p in space],
        "budget": list(budget),
        "trials": trials,
        "metric": metric_name,
        "direction": "minimize" if mode == "min" else "maximize",
        "storage": storage or JOURNAL,
        "study_name": study_name or f"{config.name}-sweep",
        "seed": seed,
        "latency": latency,
    }
    if (folder / "study.json").exists():
        old = read_study(folder)
        keys = ("kind", "base_config", "space", "budget", "metric", "storage", "study_name")
        changed = [k for k in keys if old.get(k) != plan[k]]
        if changed:
            raise ConfigError(
                f"{folder} holds a sweep with a different {', '.join(changed)}; "
                "resume it with the same settings or choose another --out folder"
            )
    write_study(folder, plan)
    store = open_storage(plan["storage"], folder=folder)
    optuna.create_study(study_name=plan["study_name"], storage=store, direction=plan["direction"], load_if_exists=True)

    threads = max(1, (os.cpu_count() or 1) // workers)
    extra = [_start_worker(folder, index, threads) for index in range(1, workers)]
    import torch

    saved_threads = torch.get_num_threads()
    try:
        run_worker(folder, index=0, threads=threads if workers > 1 else 0, console=console)
    finally:
        torch.set_num_threads(saved_threads)
        failures = _wait_workers(extra)
    if failures:
        raise SeqlabError("; ".join(failures))

    reports = render(folder)
    study = optuna.load_study(study_name=plan["study_name"], storage=store)
    finished = _count(study, ("COMPLETE", "PRUNED"))
    best = _best_trial(study)
    if best is None:
        console.print("no trial finished with a value")
        return SweepResult(folder, {}, None, None, finished, reports)
    run_dir = folder / best.user_attrs["run_dir"] if "run_dir" in best.user_attrs else None
    console.print(
        f"best of {finished} trials: {metric_name} {best.value:.4g} with "
        + ", ".join(f"{k}={_show(v)}" for k, v in best.params.items())
    )
    console.print(f"report: [bold]{reports[0]}[/] and {reports[1].name}")
    return SweepResult(folder, dict(best.params), float(best.value), run_dir, finished, reports)


def _start_worker(folder: Path, index: int, threads: int) -> tuple[int, subprocess.Popen, Path]:
    import seqlab

    log = folder / "workers" / f"worker-{index}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    src = str(Path(seqlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}
    code = (
        "import sys; from pathlib import Path; from seqlab.experiments.sweep import run_worker; "
        "run_worker(Path(sys.argv[1]), index=int(sys.argv[2]), threads=int(sys.argv[3]))"
    )
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(folder), str(index), str(threads)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return index, process, log


def _wait_workers(workers: list[tuple[int, subprocess.Popen, Path]]) -> list[str]:
    failures = []
    for index, process, log in workers:
        if process.wait() != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            failures.append(f"worker {index} failed (exit {process.returncode}); see {log}: " + " / ".join(tail))
    return failures


def _show(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _count(study: Any, states: Sequence[str]) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.name in states)


def _best_trial(study: Any) -> Any:
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if not done:
        return None
    pick = min if study.direction.name == "MINIMIZE" else max
    return pick(done, key=lambda t: t.value)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def requeue_dead_trials(study: Any, storage: Any) -> list[int]:
    """Fail the RUNNING trials whose process on this machine is gone, and queue their parameters again.

    The queued trial carries the dead trial's run directory, so its training resumes from the last
    checkpoint. Returns the numbers of the trials failed.
    """
    optuna = _optuna()
    host = socket.gethostname()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = str(trial.user_attrs.get("worker", ""))
        name, _, pid = worker.rpartition(":")
        if name != host or not pid.isdigit() or _alive(int(pid)) and int(pid) != os.getpid():
            continue
        try:
            storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL)
        except Exception:  # another worker failed it first
            continue
        user_attrs = {"retry_of": trial.number}
        if "run_dir" in trial.user_attrs:
            user_attrs["run_dir"] = trial.user_attrs["run_dir"]
        study.enqueue_trial(trial.params, user_attrs=user_attrs, skip_if_exists=False)
        failed.append(trial.number)
    return failed


class _Pruning:
    """Reports each validation value to the trial; stops the run when the pruner says so."""

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial, self.monitor = trial, monitor
        self.pruned_at: int | None = None

    def on_train_start(self, state: Any) -> None:
        pass

    def on_step_end(self, state: Any, metrics: dict[str, float]) -> None:
        pass

    def on_eval_end(self, state: Any, metrics: dict[str, float]) -> None:
        from seqlab.training.callbacks import monitor_value

        value = monitor_value(self.monitor, metrics)
        if value is None:
            return
        self.trial.report(value, state.step)
        if self.pruned_at is None and self.trial.should_prune():
            self.pruned_at = state.step
            state.request_stop(f"pruned: {self.monitor} {value:.4g} at step {state.step} is worse than the median")

    def on_train_end(self, state: Any) -> None:
        pass


def run_worker(folder: str | Path, *, index: int = 0, threads: int = 0, console: Console | None = None) -> None:
    """Run trials of the sweep in ``folder`` until the study holds its number of finished trials.

    Extra local workers run this in their own process; so can a worker started by hand.

    Args:
        folder: a sweep folder (its study.json holds the plan).
        index: the worker's number (seeds its sampler differently).
        threads: torch threads for training (0 = the config's setting).
        console: where progress goes.
    """
    from seqlab.experiments.measure import measure_run
    from seqlab.run import train

    optuna = _optuna()
    console = console or Console()
    folder = Path(folder)
    plan = read_study(folder)
    base = load_config_text(plan["base_config"])
    space = [parse_space(spec) for spec in plan["space"]]
    budgeted = with_overrides(base, plan["budget"])
    store = open_storage(plan["storage"], folder=folder)
    sampler = optuna.samplers.TPESampler(
        seed=plan["seed"] + index, n_startup_trials=min(10, max(2, plan["trials"] // 3)), constant_liar=True
    )
    # prune from the second validation pass on, once two trials have finished
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=budgeted.train.eval_every)
    study = optuna.load_study(study_name=plan["study_name"], storage=store, sampler=sampler, pruner=pruner)
    heartbeat = hasattr(store, "is_heartbeat_enabled") and store.is_heartbeat_enabled()

    def objective(trial: Any) -> float:
        trial.set_user_attr("worker", _worker_id())
        run_dir = trial.user_attrs.get("run_dir") or f"trials/trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", run_dir)
        overrides = [f"{p.key}={format_value(_suggest(trial, p))}" for p in space]
        if threads:
            overrides.append(f"train.threads={threads}")
        config = with_overrides(base, [*plan["budget"], *overrides])
        path = folder / run_dir
        resume = (path / "checkpoints").is_dir() and any((path / "checkpoints").iterdir())
        shown = ", ".join(f"{p.key.split('.', 1)[1]}={_show(trial.params[p.key])}" for p in space)
        console.rule(f"[bold]trial {trial.number}[/] ({worker_label}) {shown}" + (" (resumed)" if resume else ""))
        pruning = _Pruning(trial, plan["metric"])
        run = train(config, run_dir=path, console=console, resume=resume, callbacks=[pruning])
        result = measure_run(run, latency=plan.get("latency", False))
        trial.set_user_attr("result", result)
        if pruning.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned at step {pruning.pruned_at}")
        value = result["metrics"].get(plan["metric"])
        if value is None:
            have = ", ".join(k for k in result["metrics"] if k.startswith("val_"))
            raise ConfigError(
                f"the sweep metric {plan['metric']} is not among the final metrics ({have}); set --metric"
            )
        return float(value)

    worker_label = f"worker {index}"
    while True:
        if heartbeat:
            optuna.storages.fail_stale_trials(study)
        requeued = requeue_dead_trials(study, store)
        if requeued:
            console.print(f"queued again the parameters of interrupted trial(s) {', '.join(map(str, requeued))}")
        finished = _count(study, ("COMPLETE", "PRUNED"))
        running = _count(study, ("RUNNING",))
        if finished + running >= plan["trials"]:
            break
        console.print(f"[dim]{worker_label}: {finished} of {plan['trials']} trials finished, {running} running[/]")
        # one trial per call: Optuna keeps its heartbeat, the loop keeps the count exact
        study.optimize(objective, n_trials=1, catch=())


def load_config_text(text: str) -> Config:
    """A Config from TOML text (the base config stored in study.json)."""
    import tomllib

    from seqlab.config import from_dict

    return from_dict(tomllib.loads(text), where="study.json")


# ----------------------------------------------------------------------------- report


def render(folder: str | Path) -> list[Path]:
    """Draw the sweep's plots and write report.md / report.html from its study (read from the storage)."""
    from seqlab.experiments.measure import read_records
    from seqlab.viz import save_figure
    from seqlab.viz.experiments import plot_optimization_history, plot_param_importances, plot_variant_curves

    optuna = _optuna()
    folder = Path(folder)
    plan = read_study(folder)
    store = open_storage(plan["storage"], folder=folder)
    try:
        study = optuna.load_study(study_name=plan["study_name"], storage=store)
    except KeyError:
        raise ConfigError(f'the storage of {folder} holds no study "{plan["study_name"]}"') from None
    all_trials = study.get_trials(deepcopy=False)
    best = _best_trial(study)
    metric = plan["metric"]
    doc = Section()
    doc.add(Heading(plan["title"]))
    finished = _count(study, ("COMPLETE", "PRUNED"))
    doc.add(
        Para(
            f"Optuna TPE sampler with median pruning on the validation curve of `{metric}` "
            f"({plan['direction']}). Space: "
            + ", ".join(f"`{s}`" for s in plan["space"])
            + f". Budget per trial: {', '.join(f'`{b}`' for b in plan['budget']) or 'the recipe own'}. "
            f"Trials finished: {finished} of {plan['trials']} "
            f"({_count(study, ('PRUNED',))} pruned, {_count(study, ('FAIL',))} failed)."
        )
    )
    if plan.get("command"):
        doc.add(Code(plan["command"], "sh"))
    if best is not None:
        params = " ".join(f"{k}={_show(v)}" for k, v in best.params.items())
        doc.add(
            Heading("Best trial", 2),
            Para(
                f"Trial {best.number}: **{metric} {fmt(best.value)}** with `{params}`. "
                f"Its run: [{best.user_attrs.get('run_dir', '?')}]({best.user_attrs.get('run_dir', '')})."
            ),
            Code("seqlab train " + f"{folder / best.user_attrs.get('run_dir', '?')}/config.toml", "sh"),
        )

    doc.add(Heading("Trials", 2))
    keys = [spec.split("=", 1)[0] for spec in plan["space"]]
    header = ["trial", "state", *keys, metric, "steps", "train time (s)", "parameters", "run"]
    rows, highlight = [], None
    for trial in all_trials:
        result = trial.user_attrs.get("result") or {}
        value = (
            trial.value
            if trial.state.name == "COMPLETE"
            else (list(trial.intermediate_values.values())[-1] if trial.intermediate_values else None)
        )
        if best is not None and trial.number == best.number:
            highlight = len(rows)
        run_dir = trial.user_attrs.get("run_dir")
        rows.append(
            [
                f"**{trial.number}** ★" if highlight == len(rows) else str(trial.number),
                trial.state.name.lower()
                + (f" (retry of {trial.user_attrs['retry_of']})" if "retry_of" in trial.user_attrs else ""),
                *(
                    fmt(trial.params[k]) if isinstance(trial.params.get(k), float) else str(trial.params.get(k, "-"))
                    for k in keys
                ),
                fmt(value),
                fmt(result.get("steps")),
                fmt(result.get("train_time"), digits=3),
                fmt(result.get("params")),
                f"[{run_dir}]({run_dir})" if run_dir else "-",
            ]
        )
    doc.add(Table(header, rows, highlight))

    values = []
    for trial in all_trials:
        if trial.state.name == "COMPLETE":
            values.append(trial.value)
        elif trial.state.name == "PRUNED" and trial.intermediate_values:
            values.append(list(trial.intermediate_values.values())[-1])
        else:
            values.append(None)
    doc.add(Heading("Optimisation history", 2))
    save_figure(
        plot_optimization_history(
            values, states=[t.state.name for t in all_trials], direction=plan["direction"], metric=metric
        ),
        folder / "history.png",
    )
    doc.add(Image("history.png", "objective per trial and best so far"))

    importances, method = _importances(study)
    if importances:
        doc.add(Heading("Parameter importances", 2))
        save_figure(plot_param_importances(importances, method=method), folder / "importances.png")
        doc.add(Image("importances.png", "importance of each hyperparameter"))
    elif finished:
        doc.add(Para("Parameter importances need at least two complete trials that differ in their parameters."))

    ranked = sorted(
        (t for t in all_trials if t.state.name in ("COMPLETE", "PRUNED") and "run_dir" in t.user_attrs),
        key=lambda t: (t.state.name != "COMPLETE", t.value if t.value is not None else 0.0),
        reverse=False,
    )
    if plan["direction"] == "maximize":
        ranked = sorted(ranked, key=lambda t: (t.state.name != "COMPLETE", -(t.value or 0.0)))
    curves = {f"trial {t.number}": [read_records(folder / t.user_attrs["run_dir"])] for t in ranked[:10]}
    if curves:
        doc.add(Heading("Validation curves (the 10 best trials)", 2))
        column = metric.split("_", 1)[1]
        save_figure(
            plot_variant_curves(
                curves, metric=column, split="val", best=f"trial {best.number}" if best is not None else None
            ),
            folder / "curves-val.png",
        )
        doc.add(Image("curves-val.png", f"validation {column} of the best trials"))
    doc.add(
        Heading("Continue or share", 2),
        Para(
            "Run the same command again to continue (finished trials are kept; an interrupted one resumes). "
            "With `--storage postgresql://...` and the same `--study-name`, workers on other machines join "
            "the study. Re-render this report with `seqlab report <folder>`."
        ),
    )
    return write_report(folder, doc.blocks)


def _importances(study: Any) -> tuple[dict[str, float], str]:
    optuna = _optuna()
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2 or len({tuple(sorted(t.params.items())) for t in complete}) < 2:
        return {}, ""
    try:
        import sklearn  # noqa: F401 (fANOVA needs it)

        evaluator, method = optuna.importance.FanovaImportanceEvaluator(seed=0), "fANOVA"
    except ImportError:
        evaluator, method = optuna.importance.PedAnovaImportanceEvaluator(), "PED-ANOVA"
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}, ""
    return {k: float(v) for k, v in values.items()}, method


__all__ = [
    "sweep",
    "SweepResult",
    "run_worker",
    "render",
    "check_space",
    "open_storage",
    "requeue_dead_trials",
    "load_config_text",
]
