"""The classifier's embedding started from pretrained vectors: exact rows, and frozen means unchanged."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.config import TrainConfig
from seqlab.errors import ConfigError
from seqlab.models.classifier import RecurrentClassifier
from seqlab.training.optim import build_optimizer

V, E = 50, 12


def vectors() -> torch.Tensor:
    return torch.randn(V, E, generator=torch.Generator().manual_seed(0))


def classifier(*, freeze: bool) -> RecurrentClassifier:
    torch.manual_seed(0)
    return RecurrentClassifier(
        V,
        2,
        cell="lstm",
        embed_dim=E,
        hidden_size=8,
        bidirectional=True,
        dropout=0.2,
        pooling="max",
        embeddings=vectors(),
        freeze_embeddings=freeze,
    )


def train_step(model: RecurrentClassifier) -> None:
    # the recipe's optimizer: AdamW with weight decay, which would shrink any weight it is given
    optimizer = build_optimizer(model, TrainConfig(optimizer="adamw", lr=1e-2, weight_decay=0.01))
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 10, 11]])
    loss = F.cross_entropy(model.train()(ids, ids != 0), torch.tensor([0, 1]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def test_embedding_rows_equal_the_pretrained_matrix_after_build():
    model = classifier(freeze=False)
    assert torch.equal(model.embed.weight, vectors())  # every row, PAD's (row 0) included
    assert model.embed.weight.requires_grad


def test_frozen_embeddings_stay_unchanged_after_a_training_step():
    model = classifier(freeze=True)
    head_before = model.head.weight.clone()
    train_step(model)
    assert torch.equal(model.embed.weight, vectors())
    assert not torch.equal(model.head.weight, head_before)  # the rest did train


def test_unfrozen_embeddings_train():
    model = classifier(freeze=False)
    train_step(model)
    assert not torch.equal(model.embed.weight[5], vectors()[5])


def test_a_frozen_model_saves_and_loads_like_any_other():
    trained = classifier(freeze=True)
    train_step(trained)
    fresh = RecurrentClassifier(V, 2, cell="lstm", embed_dim=E, hidden_size=8, bidirectional=True, pooling="max")
    fresh.load_state_dict(trained.state_dict())
    ids = torch.tensor([[5, 6, 7]])
    assert torch.equal(fresh.eval()(ids), trained.eval()(ids))


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (
            torch.zeros(V, E + 1),
            f"pretrained embeddings are ({V}, {E + 1}), but the embedding is (vocab_size, embed_dim) "
            f"= ({V}, {E}); set model.embed_dim = {E + 1}",
        ),
        (torch.zeros(V - 1, E), "use the tokenizer whose ids number its rows"),
    ],
)
def test_a_matrix_of_the_wrong_shape_is_a_clear_error(matrix, message):
    with pytest.raises(ConfigError) as info:
        RecurrentClassifier(V, 2, embed_dim=E, embeddings=matrix)
    assert message in str(info.value) and "\n" not in str(info.value)
