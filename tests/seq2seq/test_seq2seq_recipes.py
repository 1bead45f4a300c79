"""Every seq2seq / Transformer / chat recipe end to end on real data and a tiny budget, through the real CLI."""

from __future__ import annotations

import os

import pytest

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(os.environ.get("SEQLAB_OFFLINE") == "1", reason="SEQLAB_OFFLINE=1"),
]

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


def _sets(overrides):
    return [arg for item in overrides for arg in ("--set", item)]


# the en-ko recipes share one code path and the dates-iso data takes a while to read: slow
SLOW = {"dates-iso", "en-ko-attention", "en-ko-luong", "en-ko-no-attention", "en-ko-transformer"}


@pytest.mark.parametrize(
    "recipe", [pytest.param(r, marks=pytest.mark.slow) if r in SLOW else r for r in sorted(RECIPES)]
)
def test_recipe_runs_end_to_end(recipe, cli, tmp_path):
    run_dir = tmp_path / "run"
    result = cli("train", recipe, "--run-dir", str(run_dir), *_sets(TINY_TRAIN + RECIPES[recipe]))
    assert result.code == 0, result.err
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
