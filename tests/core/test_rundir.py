"""Run-folder rules: one writer at a time, no silent replacement, temporary files per process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqlab.errors import CheckpointError
from seqlab.rundir import RunLock, check_new_run, remove_stale_temporaries, temporary_name, write_atomic

HOLD = """
import sys, time
from seqlab.rundir import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(60)
"""


def _hold_lock(folder: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_gets_the_holders_pid(tmp_path):
    holder = _hold_lock(tmp_path)
    try:
        with pytest.raises(CheckpointError, match=rf"being written by process {holder.pid};"):
            RunLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the OS released the dead holder's lock: no stale lock to clean up by hand
    with RunLock(tmp_path):
        pass


def test_the_lock_is_released_on_exit_and_reentrant_in_sequence(tmp_path):
    with RunLock(tmp_path / "new"):
        assert (tmp_path / "new" / ".lock").read_text().strip() == str(os.getpid())
    with RunLock(tmp_path / "new"):
        pass


def test_a_file_where_the_folder_should_be_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CheckpointError, match=r"is a file, not a folder"):
        RunLock(blocker / "run").acquire()
    with pytest.raises(CheckpointError, match=r"is a file; give a folder"):
        check_new_run(blocker, force=False)


@pytest.mark.parametrize("marker", ["config.toml", "model.safetensors", "checkpoints"])
def test_a_folder_holding_a_run_is_refused_without_force(tmp_path, marker):
    (tmp_path / marker).mkdir() if marker == "checkpoints" else (tmp_path / marker).write_text("old")
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    with pytest.raises(CheckpointError, match=rf"already holds a run \({marker}\).*--resume.*--force"):
        check_new_run(tmp_path, force=False)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_force_says_what_it_replaces_and_clears_it(tmp_path):
    for name in ("config.toml", "model.safetensors", "metrics.jsonl", "notes.txt"):
        (tmp_path / name).write_text("old")
    (tmp_path / "checkpoints" / "step-0000010").mkdir(parents=True)
    said = check_new_run(tmp_path, force=True)
    assert said is not None and "config.toml" in said and "checkpoints" in said and "metrics.jsonl" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # files of the user's are kept
    assert check_new_run(tmp_path / "empty", force=False) is None


def test_temporary_files_are_per_process_and_cleanup_spares_live_writers(tmp_path):
    write_atomic(tmp_path / "summary.md", "done\n")
    assert (tmp_path / "summary.md").read_text() == "done\n"
    assert not list(tmp_path.glob(".*.tmp"))
    mine = temporary_name(tmp_path / "a.json")
    mine.write_text("half")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f".b.json.{dead.pid}.tmp"
    gone.write_text("half")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = tmp_path / f".c.json.{live.pid}.tmp"
        alive.write_text("half")
        time.sleep(0.05)
        removed = remove_stale_temporaries(tmp_path)
        assert sorted(p.name for p in removed) == sorted([mine.name, gone.name])
        assert alive.exists()
    finally:
        live.kill()
        live.wait()
