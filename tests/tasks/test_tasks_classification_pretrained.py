"""rotten-tomatoes-bilstm-minilm end to end on real data and a tiny budget: MiniLM's vectors and word pieces."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

import seqlab
from seqlab.config import load_config
from seqlab.data.vectors import load_vectors
from seqlab.run import train
from seqlab.tasks import get_task

pytestmark = pytest.mark.network("minilm", "rotten-tomatoes")  # offline: skipped unless both are cached

RECIPE = "rotten-tomatoes-bilstm-minilm"
TINY = [
    "data.limit=400",
    "data.max_len=24",
    "model.hidden_size=8",
    "train.max_steps=3",
    "train.eval_every=2",
    "train.eval_batches=1",
    "train.checkpoint_every=1000",
    "train.batch_size=8",
    "train.max_time=0",
    "train.early_stopping=0",
]


@pytest.fixture(scope="module")
def matrix() -> torch.Tensor:
    return torch.from_numpy(load_vectors("minilm").matrix)  # (30522, 384)


def test_build_model_starts_from_the_minilm_matrix(matrix):
    config = load_config(RECIPE, overrides=TINY)
    task = get_task("classification")
    prepared = task.prepare(config)
    assert prepared.preprocessing.type == "minilm" and prepared.meta["vocab_size"] == 30522
    model = task.build_model(config, prepared.meta, preprocessing=prepared.preprocessing)
    assert torch.equal(model.embed.weight, matrix)


def test_recipe_runs_end_to_end_through_the_cli(cli, tmp_path):
    run_dir = tmp_path / "run"
    result = cli("train", RECIPE, "--run-dir", str(run_dir), *[arg for item in TINY for arg in ("--set", item)])
    assert result.code == 0, result.err
    assert "vocabulary 30,522" in result.out
    assert json.loads((run_dir / "tokenizer.json").read_text(encoding="utf-8"))["type"] == "minilm"
    assert "## Final metrics" in (run_dir / "summary.md").read_text(encoding="utf-8")
    shown = cli("predict", str(run_dir), "a gripping, beautifully acted film")
    assert shown.code == 0 and ("fresh" in shown.out or "rotten" in shown.out), shown.err
    run = seqlab.load(run_dir)
    assert run.tokenizer.encode("Hello world") == [7592, 2088]
    assert torch.equal(run.model.embed.weight, load_file(str(run_dir / "model.safetensors"))["embed.weight"])


def test_frozen_embeddings_are_unchanged_after_training(matrix, tmp_path):
    config = load_config(RECIPE, overrides=[*TINY, "model.freeze_embeddings=true"])
    run = train(config, run_dir=tmp_path / "run", console=Console(file=StringIO()))
    saved = load_file(str(run.run_dir / "model.safetensors"))
    assert torch.equal(saved["embed.weight"], matrix)
    assert max(row["step"] for row in run.metrics()) == 3


def test_recipe_summary_counts_frozen_vectors_as_non_trainable(cli):
    result = cli("summary", RECIPE, "--set", "model.freeze_embeddings=true")
    assert result.code == 0, result.err
    assert "Non-trainable params: 11,720,448" in result.out  # 30,522 x 384


def test_a_run_loads_without_reading_the_vectors_again(tmp_path, monkeypatch):
    run = train(load_config(RECIPE, overrides=TINY), run_dir=tmp_path / "run", console=Console(file=StringIO()))
    before = run.predict(["a gripping, beautifully acted film"])[0].probabilities

    def unavailable(name, **kwargs):
        raise AssertionError("loading a run read the pretrained vectors")

    monkeypatch.setattr("seqlab.data.vectors.load_vectors", unavailable)  # as on a machine without the cache
    loaded = seqlab.load(run.run_dir)
    assert loaded.predict(["a gripping, beautifully acted film"])[0].probabilities == pytest.approx(before)
    saved = load_file(str(run.run_dir / "model.safetensors"))
    assert torch.equal(loaded.model.embed.weight, saved["embed.weight"])
