"""Truncated backprop through time for the language model (``data.stateful``): streams, carried state, resume."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from rich.console import Console

from seqlab.config import load_config, with_overrides
from seqlab.distributed import shard
from seqlab.errors import ConfigError, DataError
from seqlab.models.language_model import RecurrentLM
from seqlab.sections import TrainConfig
from seqlab.tasks.language_model import LanguageModeling, LanguageModelTask, Streams
from seqlab.training import Callback, fit

T, B = 8, 4


def make_task(**options) -> LanguageModelTask:
    """A task whose ids are their positions: 400 training tokens, 203 validation tokens (ids from 1000)."""
    settings = {"block_size": T, "batch_size": B, "seed": 3, "stateful": True, **options}
    return LanguageModelTask(torch.arange(400), torch.arange(1000, 1203), torch.arange(0), **settings)


def tokens(batch) -> list[list[int]]:
    """The positions each row reads: its inputs and the one target past them (ids here are positions)."""
    return torch.cat([batch.ids, batch.targets[:, -1:]], dim=1).tolist()


class Recorder(torch.nn.Module):
    """A model that records the state each call starts from, around a real LM."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lm = RecurrentLM(1300, cell="lstm", embed_dim=4, hidden_size=6)
        self.seen: list[list[torch.Tensor] | None] = []
        self.returned: list[list[torch.Tensor]] = []

    def forward(self, ids, state=None):
        self.seen.append(None if state is None else [part.clone() for part in state])
        logits, final = self.lm(ids, state)
        self.returned.append([part.detach().clone() for part in final])
        return logits, final


def test_an_epoch_is_deterministic_and_its_window_borders_move_with_the_epoch():
    task = make_task()
    first, again = task.train_batches(0), make_task().train_batches(0)
    assert len(first) == len(again) > 5
    assert all(torch.equal(first[i].ids, again[i].ids) for i in range(len(first)))
    offsets = {task.train_batches(epoch).offset for epoch in range(8)}
    assert len(offsets) > 1 and all(0 <= o < T for o in offsets)


def test_every_stream_continues_from_one_batch_to_the_next_and_the_streams_are_disjoint():
    epoch = make_task().train_batches(1)
    rows = [tokens(epoch[k]) for k in range(len(epoch))]  # (steps, B, T + 1)
    for before, after in zip(rows, rows[1:]):
        for row_before, row_after in zip(before, after):
            assert row_after[0] == row_before[-1]  # the next window starts on the last target
            assert row_after == list(range(row_before[-1], row_before[-1] + T + 1))
    streams = [set(p for step in rows for p in step[j][:-1]) for j in range(B)]
    assert all(a.isdisjoint(b) for i, a in enumerate(streams) for b in streams[i + 1 :])
    assert [epoch[k].position for k in range(3)] == [0, 1, 2]


def test_the_state_is_carried_detached_and_starts_afresh_at_each_epoch_and_reset():
    task, model = make_task(reset_every=4), Recorder()
    epoch0, epoch1 = task.train_batches(0), task.train_batches(1)
    for k in range(len(epoch0)):
        loss, _ = task.loss(model, epoch0[k])
        loss.backward()  # the graph of the carried state ends at the window: no second backward through it
    task.loss(model, epoch1[0])
    steps = len(epoch0)
    for k in range(steps + 1):
        fresh = k % steps == 0 or k % 4 == 0  # epoch starts, and the steps that are multiples of reset_every
        assert (model.seen[k] is None) == fresh, k
        if not fresh:
            assert all(torch.equal(a, b) for a, b in zip(model.seen[k], model.returned[k - 1]))
            assert not any(part.requires_grad for part in model.seen[k])


def test_stateful_evaluation_reads_each_stream_as_one_sequence():
    task, model = make_task(), Recorder().lm.eval()
    batches = task.split_batches("val")
    assert isinstance(batches, Streams) and len(batches) == (202 // B) // T
    got = task.evaluate(model, batches)["loss"]
    starts = batches.starts(0)  # each stream read whole in one call, as the windows tile it
    whole = task.splits["val"][starts.unsqueeze(1) + torch.arange(len(batches) * T + 1)]
    with torch.no_grad():
        logits, _ = model(whole[:, :-1])
    expected = F.cross_entropy(logits.flatten(0, 1), whole[:, 1:].flatten())
    assert got == pytest.approx(float(expected), rel=1e-5)


def test_evaluation_starts_afresh_where_the_batches_given_are_not_consecutive():
    task, model = make_task(), Recorder()
    batches = task.split_batches("val")
    task.evaluate(model.eval(), [batches[0], batches[1], batches[3], batches[4]])
    assert [state is None for state in model.seen] == [True, False, True, False]
    assert len(task.split_batches("val", limit=2)) == 2


@pytest.mark.parametrize("world", [2, 3])
def test_each_process_reads_its_own_streams_continued_step_after_step(world):
    epoch = make_task(world_size=world).train_batches(0)
    assert len(epoch) % world == 0
    seen = []
    for rank in range(world):
        mine = shard(epoch, rank, world)
        rows = [tokens(mine[i]) for i in range(len(mine))]
        for before, after in zip(rows, rows[1:]):
            assert [r[0] for r in after] == [r[-1] for r in before]
        seen.append({p for step in rows for row in step for p in row[:-1]})
    assert all(a.isdisjoint(b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    assert sum(len(s) for s in seen) == len(epoch) * B * T  # every window read once


class Crash(Callback):
    def on_step_end(self, state, metrics) -> None:
        if state.step == 13:
            raise RuntimeError("simulated crash")


def test_a_run_resumed_from_a_checkpoint_trains_exactly_as_an_uninterrupted_one(tmp_path):
    config = TrainConfig(
        lr=0.01, batch_size=B, max_steps=22, max_epochs=50, eval_every=5, checkpoint_every=5, threads=1, device="cpu"
    )

    def run(run_dir: Path, *, resume: bool = False, callbacks=()) -> torch.nn.Module:
        torch.manual_seed(0)
        model = RecurrentLM(1300, cell="gru", embed_dim=4, hidden_size=6, dropout=0.1)
        task = make_task(reset_every=config.checkpoint_every)
        console = Console(file=StringIO())
        fit(model, task, config, run_dir=run_dir, console=console, resume=resume, callbacks=callbacks)
        return model

    assert len(make_task().train_batches(0)) == 12  # the run crosses an epoch, and resumes mid-epoch
    whole = run(tmp_path / "whole")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path / "crashed", callbacks=[Crash()])
    resumed = run(tmp_path / "crashed", resume=True)
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
    same = (tmp_path / "whole" / "model.safetensors").read_bytes() == (
        tmp_path / "crashed" / "model.safetensors"
    ).read_bytes()
    assert same


def test_a_training_split_too_short_for_the_streams_is_refused():
    with pytest.raises(DataError, match=r"8 streams \(train.batch_size = 4 x 2 process\(es\)\)"):
        LanguageModelTask(
            torch.arange(40),
            torch.arange(20),
            torch.arange(0),
            block_size=T,
            batch_size=B,
            seed=0,
            stateful=True,
            world_size=2,
        )


def test_a_transformer_cannot_carry_a_state():
    config = with_overrides(load_config("shakespeare-char"), ["data.stateful=true", 'model.arch="transformer"'])
    with pytest.raises(ConfigError, match='data.stateful .* model.arch must be "rnn"'):
        LanguageModeling().prepare(config)


@pytest.mark.slow  # torchrun starts 2 processes that import torch: ~20-40 s
def test_two_processes_train_the_stateful_recipe_through_the_cli(tmp_path):
    """Under DistributedDataParallel the state goes through the wrapper's forward and each rank carries its own."""
    import json
    import os
    import subprocess
    import sys

    text = tmp_path / "plays.txt"
    lines = [
        f"ROMEO {i}: my love is {'deep' if i % 3 else 'fair'} as the sea, number {i * 7 % 11}.\n" for i in range(800)
    ]
    text.write_text("".join(lines))
    sets = [
        "data.block_size=16",
        "model.embed_dim=8",
        "model.hidden_size=16",
        "train.batch_size=4",
        "train.max_steps=30",
    ]
    sets += ["train.max_time=0", "train.eval_every=10", "train.checkpoint_every=10", "train.threads=1"]
    sets += ["sample.max_tokens=5", "train.device=cpu"]
    argv = [sys.executable, "-m", "seqlab", "train", "shakespeare-char", "--data", str(text), "--nproc", "2"]
    argv += ["--run-dir", str(tmp_path / "run"), *[arg for item in sets for arg in ("--set", item)]]
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 processes on cpu" in done.stderr + done.stdout
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    val = [row["loss"] for row in rows if row["split"] == "val"]
    assert len(val) == 3 and val[-1] < val[0]
