"""Every seq2seq / Transformer / chat recipe end to end on real data and a tiny budget, through the real CLI."""

from __future__ import annotations

import json

import pytest

TINY_TRAIN = [
    "train.max_steps=3",
    "train.eval_every=2",
    "train.eval_batches=1",
    "train.checkpoint_every=2",
    "train.batch_size=8",
    "train.max_time=0",
]
TINY_PAIRS = [
    "data.limit=120",
    "data.val_fraction=0.1",
    "data.test_fraction=0.1",
    "data.samples=2",
    "data.max_source_len=16",
    "data.max_target_len=8",
]
TINY_RNN = ["model.embed_dim=8", "model.hidden_size=16"]
TINY_TRANSFORMER = ["model.embed_dim=16", "model.num_heads=2", "model.num_layers=1"]

RECIPES = {
    "num2words-ko": TINY_PAIRS + TINY_RNN,
    "dates-iso": TINY_PAIRS + TINY_RNN,
    "en-ko-attention": TINY_PAIRS + TINY_RNN + ["data.vocab_size=300"],
    "en-ko-luong": TINY_PAIRS + TINY_RNN + ["data.vocab_size=300"],
    "en-ko-no-attention": TINY_PAIRS + TINY_RNN + ["data.vocab_size=300"],
    "en-ko-transformer": TINY_PAIRS + TINY_TRANSFORMER + ["data.vocab_size=300"],
    "shakespeare-transformer": ["data.limit=20000", "data.block_size=16", "sample.max_tokens=20"] + TINY_TRANSFORMER,
    "chat-seq2seq": TINY_PAIRS + TINY_RNN + ["data.vocab_size=300"],
    "chat-lm": ["data.limit=60", "data.block_size=16", "sample.max_tokens=20", "model.num_layers=1"] + TINY_RNN,
}
LANGUAGE_MODELS = {"shakespeare-transformer", "chat-lm"}
# num2words-ko trains 40 steps instead of 3, enough for its metrics to show learning
LEARNS = {"num2words-ko": ["train.max_steps=40", "train.eval_every=20", "train.checkpoint_every=20"]}


def _sets(overrides):
    return [arg for item in overrides for arg in ("--set", item)]


# the en-ko recipes share one code path and the dates-iso data takes a while to read: slow
SLOW = {"dates-iso", "en-ko-attention", "en-ko-luong", "en-ko-no-attention", "en-ko-transformer"}


DATASETS = {
    "num2words-ko": ("num2words-ko",),
    "dates-iso": ("dates",),
    "shakespeare-transformer": ("shakespeare",),
    "chat-seq2seq": ("chatterbot", "shakespeare-dialogue"),
    "chat-lm": ("chatterbot", "shakespeare-dialogue"),
}


def _marks(recipe: str) -> list[pytest.MarkDecorator]:
    """Offline (SEQLAB_OFFLINE=1) a recipe skips unless its datasets are cached; some are slow."""
    marks = [pytest.mark.network(*DATASETS.get(recipe, ("en-ko",)))]
    return [*marks, pytest.mark.slow] if recipe in SLOW else marks


@pytest.mark.parametrize("recipe", [pytest.param(r, marks=_marks(r)) for r in sorted(RECIPES)])
def test_recipe_runs_end_to_end(recipe, cli, tmp_path):
    run_dir = tmp_path / "run"
    overrides = TINY_TRAIN + RECIPES[recipe] + LEARNS.get(recipe, [])
    result = cli("train", recipe, "--run-dir", str(run_dir), *_sets(overrides))
    assert result.code == 0, result.err
    if recipe in LEARNS:
        rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        first = next(row for row in rows if row["split"] == "train")
        vals = [row for row in rows if row["split"] == "val"]
        # seed 0 measures 3.27 (first rows) -> 3.21 (step 20) -> 3.01 (step 40); token accuracy 0.04 -> 0.16
        assert vals[-1]["loss"] < first["loss"] - 0.15 and vals[-1]["loss"] < vals[0]["loss"] - 0.1, (first, vals)
        assert vals[-1]["token_accuracy"] > vals[0]["token_accuracy"] + 0.05, vals
    summary = (run_dir / "summary.md").read_text(encoding="utf-8")
    assert "## Final metrics" in summary
    if recipe in LANGUAGE_MODELS:
        assert "## Samples" in summary
        sample = cli("sample", str(run_dir), "--prompt", "ROMEO", "-n", "10", "--seed", "1")
        assert sample.code == 0 and sample.out.startswith("ROMEO")
        return
    assert "## Sample translations" in summary and "exact_match" in summary and "bleu" in summary
    source = "칠십팔" if recipe == "num2words-ko" else ("March 3, 1999" if recipe == "dates-iso" else "Save the file")
    for args in ((), ("--beam", "3"), ("--beam", "3", "--n-best", "2")):
        shown = cli("predict", str(run_dir), source, *args)
        assert shown.code == 0 and source in shown.out, shown.err
    if recipe != "en-ko-no-attention":
        assert (run_dir / "attention.png").is_file()
        inspected = cli("inspect", str(run_dir), source, "--out", str(tmp_path / "plots"))
        assert inspected.code == 0, inspected.err
        assert (tmp_path / "plots" / "inspect-attention.png").is_file() and "most attended" in inspected.out
    else:
        inspected = cli("inspect", str(run_dir), source)
        assert inspected.code == 1 and "has no attention" in inspected.err
