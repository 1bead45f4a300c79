"""Fixtures for the experiment tests: a tiny text corpus and the --set flags of a tiny model."""

from __future__ import annotations

import random
from pathlib import Path

import pytest


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """About 9,000 characters of a 14-word language, enough for train/val/test windows of 16."""
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "the", "park", "while", "birds", "sang"]
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(" ".join(rng.choice(words) for _ in range(10)) for _ in range(180)), encoding="utf-8")
    return path


@pytest.fixture
def tiny_sets(tiny_corpus: Path) -> list[str]:
    """``--set`` arguments that shrink shakespeare-char to a model of a few hundred parameters."""
    values = [
        f'data.dataset="{tiny_corpus.as_posix()}"',
        "data.block_size=16",
        "model.hidden_size=8",
        "model.embed_dim=8",
        "model.num_layers=1",
        "model.dropout=0.0",
        "train.batch_size=4",
        "train.checkpoint_every=2",
        "train.schedule=constant",
        "train.warmup_steps=0",
        "train.threads=1",
        "sample.max_tokens=4",
    ]
    return [arg for value in values for arg in ("--set", value)]
