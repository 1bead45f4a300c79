"""Every image recipe runs end to end on a tiny budget through the real CLI, and its run loads back."""

from __future__ import annotations

import json

import numpy as np
import pytest

TINY = [
    "train.max_steps=6",
    "train.eval_every=3",
    "train.checkpoint_every=3",
    "train.threads=1",
    "train.batch_size=32",
    "data.limit=400",
]

RECIPES = {
    "fashion-mlp": ["model.hidden_sizes=[32]"],
    "mnist5k-mlp": ["model.hidden_sizes=[32]"],
    "fashion-ae": ["model.hidden_sizes=[32]", "model.latent_dim=4"],
    "fashion-deep-ae": ["model.hidden_sizes=[32, 16]", "model.latent_dim=2"],
    "fashion-dae": ["model.hidden_sizes=[32]", "model.latent_dim=4"],
    "fashion-sparse-ae": ["model.hidden_sizes=[32]", "model.latent_dim=16"],
    "fashion-vae": ["model.hidden_sizes=[32]", "model.latent_dim=2"],
    "fashion-anomaly": ["model.hidden_sizes=[32]", "model.latent_dim=4"],
    "fashion-dcgan": ["model.channels=4", "model.noise_dim=8", "model.judge_steps=5", "model.judge_samples=20"],
    "co2-anomaly-ae": ["model.hidden_sizes=[16]", "model.latent_dim=4"],
    "fashion-cgan": ["model.channels=4", "model.noise_dim=8", "model.judge_steps=5", "model.judge_samples=20"],
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_runs_end_to_end(cli, tmp_path, recipe):
    run_dir = tmp_path / recipe
    args = [a for item in (*TINY, *RECIPES[recipe]) for a in ("--set", item)]
    result = cli("train", recipe, *args, "--run-dir", str(run_dir))
    assert result.code == 0, result.err + result.out
    for name in ("model.safetensors", "summary.md", "metrics.jsonl", "config.toml", "meta.json"):
        assert (run_dir / name).is_file(), name
    assert "tokenizer" not in json.loads((run_dir / "meta.json").read_text())  # images fit no preprocessing
    assert not (run_dir / "tokenizer.json").exists() and not (run_dir / "scaler.json").exists()
    summary = (run_dir / "summary.md").read_text()
    if recipe.endswith("mlp"):
        assert (run_dir / "confusion.png").is_file()
        splits = {json.loads(line)["split"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()}
        assert splits == {"train", "val", "test"}
    if "gan" in recipe:
        assert (run_dir / "samples.png").is_file() and "confident" in summary
    if recipe == "fashion-vae":
        assert (run_dir / "samples.png").is_file() and (run_dir / "interpolation.png").is_file()
    if recipe == "fashion-dae":
        assert (run_dir / "denoising.png").is_file()
    if recipe == "co2-anomaly-ae":
        assert "injected anomalies" in summary and (run_dir / "reconstructions.png").is_file()
    if recipe == "fashion-anomaly":
        assert "ROC-AUC" in summary and (run_dir / "anomaly.png").is_file()

    from seqlab.run import load

    run = load(run_dir)
    assert run.preprocessing is None
    if recipe.endswith("mlp"):
        prediction = run.predict([np.zeros((28, 28), np.uint8)])[0]
        assert prediction.label in run.meta["classes"]


def test_anomaly_and_generate_commands(cli, tmp_path):
    tiny = [a for item in (*TINY, "model.hidden_sizes=[16]", "model.latent_dim=2") for a in ("--set", item)]
    anomaly_run, vae_run = tmp_path / "anomaly", tmp_path / "vae"
    assert cli("train", "fashion-anomaly", *tiny, "--run-dir", str(anomaly_run)).code == 0
    result = cli("anomaly", str(anomaly_run), "--percentile", "95", "--plot", str(tmp_path / "roc.png"))
    assert result.code == 0, result.err
    assert "ROC-AUC" in result.out and "p95 of train" in result.out and (tmp_path / "roc.png").is_file()
    assert cli("train", "fashion-vae", *tiny, "--run-dir", str(vae_run)).code == 0
    result = cli("generate", str(vae_run), "--num", "8", "--seed", "1", "--out", str(tmp_path / "gen.png"))
    assert result.code == 0, result.err
    assert (tmp_path / "gen.png").is_file()
    wrong = cli("generate", str(anomaly_run))
    assert wrong.code == 1 and "generate works with gan runs" in wrong.err
    wrong = cli("anomaly", str(vae_run))
    assert wrong.code == 1 and "held-out class" in wrong.err
