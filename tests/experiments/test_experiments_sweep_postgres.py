"""seqlab sweep --storage postgresql://...: workers in separate processes finish one study on a real server.

Each worker is its own ``seqlab sweep`` process with its own ``--out`` folder, as on separate
machines, and the same ``--storage``, ``--study-name`` and ``--trials`` (the study's total). The
server is Debian's ``postgresql`` package, started here on a free local port in a temporary data
directory and stopped by its process id; the tests skip where the package or the driver is missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
psycopg2 = pytest.importorskip("psycopg2", reason="the PostgreSQL driver: pip install 'seqlab[sweep-pg]'")

SRC = Path(__file__).parents[2] / "src"
SPACE = ["--space", "train.lr=log(1e-3,3e-2)", "--space", "model.cell=choice(rnn,gru)"]
HEARTBEAT = 2  # seconds; a trial silent for 3 heartbeats is failed and queued again


def _pg_bin() -> Path | None:
    """The folder of Debian's initdb and pg_ctl (the newest version installed), or of those on PATH."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl") if (p.parent / "initdb").exists()]
    if found:
        return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def postgres() -> Iterator[tuple[str, int]]:
    """A PostgreSQL server of our own: (host, port), user ``seqlab`` with trust auth; stopped at the end."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql, or make services)"
        )
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:  # postgres refuses to run as root: run it as the package's system user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser is missing")
        as_user = ["runuser", "-u", "postgres", "--"]
    # /tmp: the postgres user must reach the folder, which a root-only TMPDIR would not let it
    home = Path(tempfile.mkdtemp(prefix="seqlab-pg-", dir="/tmp" if owner is not None else None))
    if owner is not None:
        os.chown(home, owner.pw_uid, owner.pw_gid)
    data, log, port = home / "data", home / "server.log", _free_port()
    pid = None
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "seqlab", "--auth=trust", "-E", "UTF8"]
            + ["--locale=C", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        started = subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options]
            + ["start"],
            capture_output=True,
            text=True,
            timeout=90,
        )
        if (data / "postmaster.pid").exists():
            pid = int((data / "postmaster.pid").read_text().split()[0])
        assert started.returncode == 0, started.stderr + (log.read_text() if log.exists() else "")
        yield "127.0.0.1", port
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
            capture_output=True,
            timeout=60,
        )
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: tuple[str, int], request: pytest.FixtureRequest) -> str:
    """A fresh database on the server, as an Optuna storage URL."""
    host, port = postgres
    name = "sweep_" + request.node.name.removeprefix("test_")[:40]
    connection = psycopg2.connect(host=host, port=port, user="seqlab", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"postgresql://seqlab@{host}:{port}/{name}"


def start_worker(tmp_path: Path, index: int, url: str, tiny_sets: list[str], *, trials: int) -> subprocess.Popen:
    """``seqlab sweep`` in its own process and folder (one machine), output to machine-K.log."""
    args = ["sweep", "shakespeare-char", "--trials", str(trials), *SPACE, "--budget", "2s", "--storage", url]
    args += ["--study-name", "shared", "--heartbeat", str(HEARTBEAT), "--out", str(tmp_path / f"machine-{index}")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    with open(tmp_path / f"machine-{index}.log", "w", encoding="utf-8") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "seqlab", *args, *tiny_sets], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def finish(process: subprocess.Popen, log: Path, *, timeout: float = 150) -> str:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert process.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    return text


def load(url: str, store=None):
    from seqlab.experiments.sweep import open_storage

    return optuna.load_study(study_name="shared", storage=store or open_storage(url, folder=Path(".")))


@pytest.mark.slow  # a server, two worker processes and four tiny trials
def test_two_workers_finish_one_postgres_study_with_the_exact_trial_count(pg_url, tmp_path, tiny_sets):
    workers = [start_worker(tmp_path, index, pg_url, tiny_sets, trials=4) for index in (0, 1)]
    logs = [finish(process, tmp_path / f"machine-{index}.log") for index, process in enumerate(workers)]
    trials = load(pg_url).get_trials()
    assert len(trials) == 4, [(t.number, t.state.name) for t in trials]  # no surplus trial, none failed
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    by_worker = {t.user_attrs["worker"].rpartition(":")[2] for t in trials}
    assert by_worker == {str(p.pid) for p in workers}, "both workers ran trials"
    for trial in trials:  # each trial trained once, in the folder of the worker that ran it
        ran = [i for i, p in enumerate(workers) if trial.user_attrs["worker"].endswith(f":{p.pid}")]
        folders = [i for i in (0, 1) if (tmp_path / f"machine-{i}" / trial.user_attrs["run_dir"]).exists()]
        assert folders == ran, (trial.number, folders, ran)
    for index, log in enumerate(logs):
        assert "best of 4 trials" in log, log[-2000:]
        assert "Trials finished: 4 of 4" in (tmp_path / f"machine-{index}" / "report.md").read_text()


@pytest.mark.slow  # a server, two worker processes, one killed mid-trial, four tiny trials
def test_a_worker_killed_mid_trial_has_its_trial_retried_by_the_other(pg_url, tmp_path, tiny_sets):
    victim = start_worker(tmp_path, 0, pg_url, tiny_sets, trials=3)
    survivor = start_worker(tmp_path, 1, pg_url, tiny_sets, trials=3)
    from seqlab.experiments.sweep import open_storage

    store = open_storage(pg_url, folder=tmp_path)
    # wait until the victim is inside a trial that has written a checkpoint
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            study = load(pg_url, store)
        except KeyError:  # the workers have not created the study yet
            continue
        for trial in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
            checkpoints = tmp_path / "machine-0" / str(trial.user_attrs.get("run_dir")) / "checkpoints"
            if trial.user_attrs.get("worker", "").endswith(f":{victim.pid}") and checkpoints.is_dir():
                # as if the victim ran on another machine: only its stopped heartbeat can tell it died
                store.set_trial_user_attr(trial._trial_id, "worker", "another-machine:1")
                victim.send_signal(signal.SIGKILL)
                killed = trial
                break
    victim.wait(timeout=30)
    assert killed is not None, (tmp_path / "machine-0.log").read_text()[-3000:]
    log = finish(survivor, tmp_path / "machine-1.log")

    trials = load(pg_url, store).get_trials()
    states = {t.number: t.state.name for t in trials}
    failed = [t for t in trials if t.state.name == "FAIL"]
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert [t.number for t in failed] == [killed.number], states  # failed through its stale heartbeat
    assert len(finished) == 3 and len(trials) == 4, states  # the count is exact: 3 finished, none extra
    assert len({t.number for t in trials}) == len(trials)
    retry = next(t for t in finished if t.user_attrs.get("retry_of") == killed.number)
    assert retry.params == killed.params and retry.user_attrs["retries"] == 1
    assert retry.user_attrs["run_dir"] == killed.user_attrs["run_dir"]  # resumed there when the folder is shared
    assert all(t.user_attrs["worker"].endswith(f":{survivor.pid}") for t in finished if t.number > killed.number)
    assert "best of 3 trials" in log, log[-2000:]


def test_the_claim_lock_lets_one_worker_at_a_time_count_and_claim(pg_url, tmp_path):
    import threading

    from seqlab.experiments.sweep import ClaimLock, open_storage

    first, second = (
        ClaimLock(open_storage(pg_url, folder=tmp_path), pg_url, folder=tmp_path, study_name="shared") for _ in range(2)
    )
    claimed = threading.Event()

    def claim() -> None:
        second.acquire()
        claimed.set()
        second.release()

    first.acquire()
    waiter = threading.Thread(target=claim)
    waiter.start()
    assert not claimed.wait(1.0), "the second worker claimed while the first held the lock"
    first.release()
    first.release()  # releasing twice is harmless (the objective releases early, the loop again)
    assert claimed.wait(30)
    waiter.join(30)
