"""Image models and losses: shapes, the VAE's loss = its parts, the MLP overfits a batch, readers."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from seqlab.data.fetching.builders.images import IDX_FILES, build_fashion_mnist
from seqlab.data.images import load_images, read_idx
from seqlab.errors import DataError
from seqlab.models.autoencoder import Autoencoder
from seqlab.models.gan import GAN
from seqlab.models.mlp import MLP
from seqlab.tasks.autoencoder import corrupt, loss_parts, roc_auc
from seqlab.tasks.gan import OptimizerPair


def test_vae_loss_is_the_sum_of_its_reported_parts():
    torch.manual_seed(0)
    model = Autoencoder(784, hidden_sizes=(32,), latent_dim=4, variational=True)
    x = torch.rand(8, 1, 28, 28)
    parts = loss_parts(model, model(x), x, beta=1.0)
    assert set(parts) == {"loss", "recon", "kl"}
    assert torch.allclose(parts["loss"], parts["recon"] + parts["kl"])
    assert parts["kl"] >= 0


def test_sparse_penalties_and_noise_kinds():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28)
    for sparsity, activation in (("l1", "relu"), ("kl", "sigmoid")):
        model = Autoencoder(784, hidden_sizes=(16,), latent_dim=8, code_activation=activation)
        parts = loss_parts(model, model(x), x, sparsity=sparsity, sparsity_weight=0.5)
        assert torch.allclose(parts["loss"], parts["recon"] + parts["sparsity"])
    for kind in ("gaussian", "masking", "salt_pepper"):
        noisy = corrupt(x, kind, 0.3, generator=torch.Generator().manual_seed(0))
        assert noisy.shape == x.shape and float(noisy.min()) >= 0 and float(noisy.max()) <= 1
        assert not torch.equal(noisy, x)


def test_mlp_overfits_one_small_batch():
    torch.manual_seed(0)
    model = MLP(784, 10, hidden_sizes=(64,), dropout=0.0)
    x, y = torch.rand(16, 1, 28, 28), torch.arange(16) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert bool((model(x).argmax(-1) == y).all())


def test_gan_shapes_and_optimizer_pair_round_trip():
    gan = GAN(8, channels=4, num_classes=3)
    assert gan.sample(5).shape == (5, 1, 28, 28)
    assert gan.discriminator(torch.randn(2, 1, 28, 28), torch.tensor([0, 2])).shape == (2,)
    opt_d = torch.optim.Adam(gan.discriminator.parameters())
    opt_g = torch.optim.Adam(gan.generator.parameters())
    gan.discriminator(torch.randn(2, 1, 28, 28), torch.tensor([0, 1])).sum().backward()
    opt_d.step()
    pair = OptimizerPair(opt_d, opt_g)
    saved = pair.state_dict()
    fresh = OptimizerPair(
        torch.optim.Adam(gan.discriminator.parameters()), torch.optim.Adam(gan.generator.parameters())
    )
    fresh.load_state_dict(saved)
    assert fresh.first.state_dict()["state"].keys() == opt_d.state_dict()["state"].keys()


def test_roc_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    scores, positive = rng.random(50), (rng.random(50) < 0.3).astype(np.int64)
    pairs = [(s > t) + 0.5 * (s == t) for s in scores[positive == 1] for t in scores[positive == 0]]
    assert roc_auc(scores, positive) == pytest.approx(np.mean(pairs))


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_idx_folder_zip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        IDX_FILES[0]: rng.integers(0, 256, (6, 28, 28)),
        IDX_FILES[1]: np.arange(6) % 3,
        IDX_FILES[2]: rng.integers(0, 256, (2, 28, 28)),
        IDX_FILES[3]: np.array([0, 2]),
    }
    folder = tmp_path / "idx"
    folder.mkdir()
    for name, array in arrays.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(_idx(array), mtime=0))
    data = load_images(folder)
    assert data.pixels.shape == (6, 28, 28) and data.test_labels.tolist() == [0, 2] and data.classes == ("0", "1", "2")
    (tmp_path / "set.zip").write_bytes(
        build_fashion_mnist({f"{n}.gz": (folder / f"{n}.gz").read_bytes() for n in arrays})
    )
    assert np.array_equal(load_images(tmp_path / "set.zip").pixels, data.pixels)
    with pytest.raises(DataError, match="truncated"):
        read_idx(_idx(np.zeros((2, 2)))[:-1])
    (tmp_path / "bad.csv").write_text("1,2,3\n", encoding="utf-8")
    with pytest.raises(DataError, match="square"):
        load_images(tmp_path / "bad.csv")
    with pytest.raises(DataError, match="fashion-mnist"):
        load_images("fashion-mnst")
