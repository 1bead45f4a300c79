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

The count is exact: a worker counts the trials and starts one under a lock shared by all workers
(a PostgreSQL advisory lock; an flock beside a SQLite or journal file), so ``trials`` is the
study's total, never exceeded however many workers join. With an RDB URL a worker whose trials
are all taken waits for those still running elsewhere, and retries any whose heartbeat stops.

The folder::

    study.json             the plan (base config, space, budget, storage, metric)
    sweep.journal          the Optuna study (default storage)
    trials/trial-NNNN/     one run directory per trial
    workers/worker-K.log   output of extra local workers (--workers)
    report.md / .html      trials table, optimisation history, importances, curves
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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

if TYPE_CHECKING:
    from seqlab.training.callbacks import Callback

JOURNAL = "sweep.journal"
RDB_PREFIXES = ("sqlite:", "postgresql", "postgres:", "mysql")
PG_PREFIXES = ("postgresql", "postgres:")
HEARTBEAT_SECONDS = 60
MAX_RETRIES = 2  # a trial that kills its worker every time (out of memory) is not queued forever


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


def open_storage(storage: str, *, folder: Path, heartbeat: int = HEARTBEAT_SECONDS) -> Any:
    """An Optuna storage: an RDB URL (with heartbeats and retry of dead trials) or a journal file path.

    Args:
        storage: ``sqlite:///path.db``, ``postgresql://user@host/db``, ... or a file path (journal).
        folder: relative journal paths are taken from here.
        heartbeat: seconds between a running trial's heartbeats (RDB only); a trial silent for
            three of them is failed and its parameters queued again.
    """
    optuna = _optuna()
    url = _with_pg_driver(storage) if storage.startswith(("postgres://", "postgresql://")) else storage
    if storage.startswith(RDB_PREFIXES):
        import warnings

        import sqlalchemy.exc
        from optuna.storages import RDBStorage
        from sqlalchemy.engine import make_url

        try:
            shown = make_url(storage).render_as_string(hide_password=True)
        except Exception:  # not a URL SQLAlchemy can parse: said below
            shown = storage

        # optuna >= 4.9 renamed the callback run on trials whose heartbeat stopped
        name = (
            "heartbeat_stale_trial_callback"
            if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback")
            else "failed_trial_callback"
        )
        for attempt in range(3):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # heartbeats are marked experimental
                    retry: dict[str, Any] = {name: _retry_stale}
                    return RDBStorage(url, heartbeat_interval=heartbeat, grace_period=3 * heartbeat, **retry)
            except ImportError as err:  # the database driver (psycopg2, pymysql) is missing
                module = getattr(err.__cause__, "name", None) or err.name or "the database driver"
                extra = "sweep-pg" if storage.startswith(PG_PREFIXES) else "sweep"
                hint = f"pip install 'seqlab[{extra}]'" if extra == "sweep-pg" else "pip install the database driver"
                raise MissingExtraError(f"cannot open storage {shown}: {module} is not installed; {hint}") from None
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as err:
                # workers starting together on an empty database race to create Optuna's tables
                if attempt == 2:
                    raise ConfigError(f"cannot open storage {shown}: {type(err).__name__}: {err}") from None
                time.sleep(0.5 + attempt)
            except Exception as err:  # sqlalchemy's errors: bad URL, unreachable server
                raise ConfigError(f"cannot open storage {shown}: {type(err).__name__}: {err}") from None
    if "://" in storage:
        raise ConfigError(
            f'--storage "{storage}" is not a supported URL; use sqlite:///file.db, '
            "postgresql://user:password@host/db, or a journal file path"
        )
    path = _journal_path(storage, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(str(path))
    return optuna.storages.JournalStorage(backend)


def _with_pg_driver(url: str) -> str:
    """``postgresql://`` with the installed driver named: SQLAlchemy 2.1 defaults to psycopg 3, older ones to psycopg2.

    >>> _with_pg_driver("postgres://me@db/sweeps").split("://")[1]
    'me@db/sweeps'
    """
    import importlib.util

    rest = url.split("://", 1)[1]
    for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://{rest}"
    return f"postgresql+psycopg2://{rest}"  # the driver of the sweep-pg extra, named when it is missing


def _journal_path(storage: str, folder: Path) -> Path:
    path = Path(storage)
    return path if path.is_absolute() else folder / path


class ClaimLock:
    """Serialises "count the study's trials, then start one" over all its workers, so none starts a surplus trial.

    PostgreSQL: a session advisory lock (the server drops it when a worker's connection dies);
    SQLite and journal files: an ``flock`` on a file beside them; other databases: none, and two
    workers may then both start the last trial. ``release`` may be called more than once.

    Args:
        store: the storage :func:`open_storage` returned for ``storage``.
        storage: the storage URL or journal path.
        folder: where a relative journal path is taken from.
        study_name: the study (PostgreSQL locks one key per study).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> lock = ClaimLock(None, "sweep.journal", folder=folder, study_name="demo")
    >>> lock.acquire(); lock.release(); lock.release()
    >>> (folder / "sweep.journal.claim").exists()
    True
    >>> import shutil; shutil.rmtree(folder)
    """

    def __init__(self, store: Any, storage: str, *, folder: Path, study_name: str) -> None:
        self.store, self.storage, self.folder = store, storage, folder
        digest = hashlib.sha256(study_name.encode("utf-8")).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)  # pg_advisory_lock takes a bigint
        self._release: Any = None

    def _lock_file(self) -> Path | None:
        if self.storage.startswith("sqlite:"):
            from sqlalchemy.engine import make_url

            database = make_url(self.storage).database
            return Path(database + ".claim") if database and database != ":memory:" else None
        if "://" in self.storage or self.storage.startswith(RDB_PREFIXES):
            return None
        return Path(str(_journal_path(self.storage, self.folder)) + ".claim")

    def acquire(self) -> None:
        """Wait for the lock."""
        assert self._release is None, "the claim lock is not re-entrant"
        if self.storage.startswith(PG_PREFIXES):
            from sqlalchemy import text

            connection = self.store.engine.connect()
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self.key})
            connection.commit()

            def unlock() -> None:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                    connection.commit()
                finally:
                    connection.close()

            self._release = unlock
            return
        path = self._lock_file()
        try:
            import fcntl
        except ImportError:  # Windows: no flock
            path = None
        if path is None:
            self._release = lambda: None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(handle, fcntl.LOCK_EX)

        def unflock() -> None:
            try:
                fcntl.flock(handle, fcntl.LOCK_UN)
            finally:
                os.close(handle)

        self._release = unflock

    def release(self) -> None:
        """Let the next worker count and claim (nothing when not held)."""
        release, self._release = self._release, None
        if release is not None:
            release()


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
    heartbeat: int = HEARTBEAT_SECONDS,
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
        heartbeat: seconds between a running trial's heartbeats with an RDB storage; a trial silent
            for three of them (its worker or machine died) is failed and its parameters queued again.
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
    if heartbeat < 1:
        raise ConfigError(f"--heartbeat must be at least 1 second (got {heartbeat})")
    console = console or Console()
    folder = Path(out_dir)
    check_space(config, space, budget=budget)
    metric_name, mode = ranking_metric(config, metric)
    if not metric_name.startswith("val_"):
        raise ConfigError(
            f'a sweep optimises a validation metric (val_...), not "{metric_name}"; the test split stays unseen'
        )
    plan: dict[str, Any] = {
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
        "heartbeat": heartbeat,
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
    store = open_storage(plan["storage"], folder=folder, heartbeat=heartbeat)
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
        _queue_again(study, trial)
        failed.append(trial.number)
    return failed


def _queue_again(study: Any, trial: Any) -> None:
    """Queue a failed trial's parameters again, with its run directory (resumed where it is local)."""
    retries = int(trial.user_attrs.get("retries", 0)) + 1
    if retries > MAX_RETRIES:
        return
    user_attrs = {"retry_of": trial.number, "retries": retries}
    if "run_dir" in trial.user_attrs:
        user_attrs["run_dir"] = trial.user_attrs["run_dir"]
    study.enqueue_trial(trial.params, user_attrs=user_attrs, skip_if_exists=False)


def _taken_over(study: Any, number: int) -> bool:
    """Whether another worker failed this live worker's trial as stale and queued it again."""
    return any(t.user_attrs.get("retry_of") == number for t in study.get_trials(deepcopy=False))


def _retry_stale(study: Any, trial: Any) -> None:
    """Optuna's callback for a trial failed because its heartbeat stopped (its worker or machine died)."""
    _queue_again(study, trial)


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

    Extra local workers run this in their own process; so can a worker started by hand. Trials are
    claimed under a :class:`ClaimLock`, so all workers together run exactly the study's number;
    with an RDB storage a worker left without a trial to start waits for those running elsewhere
    and retries any whose heartbeat stops.

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
    beat = int(plan.get("heartbeat", HEARTBEAT_SECONDS))
    store = open_storage(plan["storage"], folder=folder, heartbeat=beat)
    sampler = optuna.samplers.TPESampler(
        seed=plan["seed"] + index, n_startup_trials=min(10, max(2, plan["trials"] // 3)), constant_liar=True
    )
    # prune from the second validation pass on, once two trials have finished
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=budgeted.train.eval_every)
    study = optuna.load_study(study_name=plan["study_name"], storage=store, sampler=sampler, pruner=pruner)
    heartbeat = callable(getattr(store, "get_heartbeat_interval", None)) and store.get_heartbeat_interval() is not None
    claim = ClaimLock(store, plan["storage"], folder=folder, study_name=plan["study_name"])

    current: dict[str, int] = {}

    def objective(trial: Any) -> float:
        claim.release()  # the trial is in the study now: the next worker may count it and claim another
        current["number"] = trial.number
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
        run = train(config, run_dir=path, console=console, resume=resume, callbacks=[cast("Callback", pruning)])
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
    waiting = False
    while True:
        if heartbeat:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # marked experimental
                optuna.storages.fail_stale_trials(study)  # queues them again through _retry_stale
        requeued = requeue_dead_trials(study, store)
        if requeued:
            console.print(f"queued again the parameters of interrupted trial(s) {', '.join(map(str, requeued))}")
        claim.acquire()
        try:
            finished = _count(study, ("COMPLETE", "PRUNED"))
            running = _count(study, ("RUNNING",))
            if finished >= plan["trials"] or (finished + running >= plan["trials"] and not heartbeat):
                break
            if finished + running < plan["trials"]:
                console.print(
                    f"[dim]{worker_label}: {finished} of {plan['trials']} trials finished, {running} running[/]"
                )
                waiting = False
                current.clear()
                # one trial per call: Optuna keeps its heartbeat, the loop keeps the count; the
                # objective releases the claim once the trial is in the study (popped from the queue first)
                try:
                    study.optimize(objective, n_trials=1, catch=())
                except Exception:
                    if "number" not in current or not _taken_over(study, current["number"]):
                        raise
                    console.print(
                        f"trial {current['number']} was failed by another worker (its heartbeat came late) "
                        "and queued again; this worker's result is dropped"
                    )
                continue
        finally:
            claim.release()
        if not waiting:
            console.print(f"[dim]{worker_label}: waiting for {running} trial(s) running elsewhere[/]")
            waiting = True
        time.sleep(min(beat, 2))  # until they finish, or their heartbeat goes stale and one is queued again


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
    rows: list[list[str]] = []
    highlight: int | None = None
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
    ranked = [t for t in ranked if (folder / t.user_attrs["run_dir"] / "metrics.jsonl").exists()]  # run here
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
    "ClaimLock",
    "requeue_dead_trials",
    "load_config_text",
]
