"""The periodic validation estimate: batches spread over the split, fixed per seed, and said to be an estimate."""

from __future__ import annotations

import json
from io import StringIO

import torch
from rich.console import Console
from seqlab_train_toy import ToyTask, make_model, one_thread  # noqa: F401 (autouse fixture)

from seqlab.config import TrainConfig, load_config
from seqlab.run import train
from seqlab.training import fit
from seqlab.training.log import training_note
from seqlab.training.loop import estimate_batches


def test_the_estimate_reads_one_batch_from_each_stretch_of_the_split():
    chosen = estimate_batches(1000, 20, seed=3)
    assert len(chosen) == len(set(chosen)) == 20 and chosen == sorted(chosen)
    assert [index // 50 for index in chosen] == list(range(20))  # one in each twentieth: the end is read too
    assert chosen == estimate_batches(1000, 20, seed=3)  # fixed by the seed
    assert chosen != estimate_batches(1000, 20, seed=4)
    assert estimate_batches(7, 3, seed=0) != [0, 1, 2]  # not the first batches
    assert estimate_batches(7, 0, seed=0) == estimate_batches(7, 7, seed=0) == estimate_batches(7, 9, seed=0)
    assert estimate_batches(7, 0, seed=0) == list(range(7))


def test_every_batch_is_as_likely_to_be_read():
    counts = torch.zeros(12)
    for seed in range(3000):
        counts[estimate_batches(12, 4, seed=seed)] += 1
    assert torch.allclose(counts / 3000, torch.full((12,), 4 / 12), atol=0.03)


class Recorded(ToyTask):
    """12 validation batches; evaluate notes which of them it was given."""

    def __init__(self) -> None:
        super().__init__(n_val=192)
        self.passes: list[list[int]] = []

    def evaluate(self, model, batches):
        self.passes.append([next(i for i, v in enumerate(self.val) if torch.equal(v[0], x)) for x, _ in batches])
        return super().evaluate(model, batches)


def quiet() -> Console:
    return Console(file=StringIO(), width=200)


def test_fit_reads_the_same_spread_batches_at_every_pass_and_says_so(tmp_path):
    config = TrainConfig(max_steps=6, eval_every=2, eval_batches=3, seed=5)
    task, console = Recorded(), quiet()
    fit(make_model(), task, config, run_dir=tmp_path / "a", console=console)
    assert len(task.passes) == 3 and all(chosen == task.passes[0] for chosen in task.passes)
    assert task.passes[0] == estimate_batches(12, 3, seed=5) and max(task.passes[0]) >= 8
    rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [row["evaluated"] for row in rows if row["split"] == "val"] == ["estimate: 3 of 12 batches"] * 3
    assert all("evaluated" not in row for row in rows if row["split"] == "train")
    assert "val (estimate: 3 of 12 batches)" in console.file.getvalue()

    again = Recorded()
    fit(make_model(), again, config, run_dir=tmp_path / "b", console=quiet())
    assert again.passes == task.passes  # the same seed reads the same batches: curves compare like with like

    whole, console = Recorded(), quiet()
    fit(make_model(), whole, config.model_copy(update={"eval_batches": 0}), run_dir=tmp_path / "c", console=console)
    assert whole.passes[0] == list(range(12)) and "val (all 12 batches)" in console.file.getvalue()


def test_the_summary_says_which_figures_are_estimates(tmp_path):
    corpus = tmp_path / "corpus.txt"
    lines = [f"line {i}: the quick brown fox jumps over the lazy dog {i % 7}\n" for i in range(400)]
    corpus.write_text("".join(lines))
    overrides = [
        f'data.dataset="{corpus}"',
        "data.block_size=16",
        "model.embed_dim=8",
        "model.hidden_size=16",
        "train.batch_size=4",
        "train.max_steps=4",
        "train.eval_every=2",
        "train.eval_batches=2",
        "train.checkpoint_every=4",
        "train.device=cpu",
        "train.precision=fp32",
        "train.final_eval_batches=0",
        "sample.max_tokens=5",
    ]
    run_dir = tmp_path / "run"
    train(load_config("shakespeare-char", overrides=overrides), run_dir=run_dir, console=quiet())
    summary = (run_dir / "summary.md").read_text()
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    said = {row["evaluated"] for row in rows if row["split"] == "val"}
    assert len(said) == 1 and said.pop().startswith("estimate: 2 of ")
    assert "val: whole split (" in summary  # the final metrics: a full evaluation
    assert "are estimates made during training over 2 of " in summary
    assert "the final metrics above are the final evaluation" in summary


def test_the_note_for_a_run_validated_on_the_whole_split():
    note = training_note([{"split": "train"}, {"split": "val", "evaluated": "all 5 batches"}])
    assert note is not None and note.endswith("cover the whole validation split (all 5 batches).")
    assert training_note([{"split": "val", "loss": 1.0}]) is None  # rows written before they said
