"""The progress bar draws from the training thread, at most every redraw_every seconds, and says what val covers."""

from __future__ import annotations

import threading
from io import StringIO

from rich.console import Console

from seqlab.config import TrainConfig
from seqlab.training.callbacks import TrainState
from seqlab.training.progress import ProgressBar


def steps(bar: ProgressBar, count: int) -> TrainState:
    state = TrainState(steps_per_epoch=100)
    bar.on_train_start(state)
    for step in range(1, count + 1):
        state.step, state.batch_index, state.elapsed = step, step, 0.01 * step
        bar.on_step_end(state, {"loss": 2.0 / step, "accuracy": 0.5, "lr": 0.1, "tokens_per_s": 1000.0})
    return state


def test_no_thread_draws_the_bar():
    before = threading.active_count()
    console = Console(file=StringIO(), force_terminal=True, width=150)
    bar = ProgressBar(console, TrainConfig(max_steps=100))
    steps(bar, 5)
    assert threading.active_count() == before  # rich's refresh thread used to cost ~4% of a step's CPU
    bar.stop()


def test_a_terminal_is_redrawn_at_most_every_redraw_every_seconds():
    console = Console(file=StringIO(), force_terminal=True, width=150)
    bar = ProgressBar(console, TrainConfig(max_steps=100), redraw_every=3600.0)
    state = steps(bar, 50)
    assert "step 1 " in console.file.getvalue() and "step 2 " not in console.file.getvalue()  # the first, then none
    bar.on_train_end(state)
    assert "step 50 " in console.file.getvalue()  # the last figures when it stops

    console = Console(file=StringIO(), force_terminal=True, width=150)
    bar = ProgressBar(console, TrainConfig(max_steps=100), redraw_every=0.0)
    steps(bar, 5)
    assert all(f"step {n} " in console.file.getvalue() for n in range(1, 6))
    bar.stop()


def test_a_file_gets_the_bar_once_at_the_end_and_a_line_per_validation():
    console = Console(file=StringIO(), width=150)
    bar = ProgressBar(console, TrainConfig(max_steps=100), evaluated="estimate: 20 of 56 batches")
    state = steps(bar, 30)
    bar.on_eval_end(state, {"loss": 1.5})
    assert "step 30  epoch 0.30  val (estimate: 20 of 56 batches)  loss 1.5" in console.file.getvalue()
    assert "loss 0." not in console.file.getvalue()  # no bar yet
    bar.on_train_end(state)
    bar.stop()  # twice is fine
    text = console.file.getvalue()
    assert text.count("step 30  loss") == 1 and "accuracy 0.500" in text and "tok/s" in text
