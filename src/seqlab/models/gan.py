"""DCGAN for 28x28 greyscale images (Radford et al., 2016), optionally class-conditional (Mirza & Osindero, 2014).

Generator: z (B, Z) [+ class embedding] -> Linear -> (B, 2C, 7, 7) -> ConvTranspose -> (B, C, 14, 14)
-> ConvTranspose -> (B, 1, 28, 28), BatchNorm and ReLU between, tanh out (pixels in [-1, 1]).
Discriminator: (B, 1 [+1 class map], 28, 28) -> strided Conv -> (B, C, 14, 14) -> strided Conv ->
(B, 2C, 7, 7) -> Linear -> one logit; LeakyReLU(0.2), BatchNorm on the inner layer, no pooling.
The two-player training step is :class:`seqlab.tasks.gan.GANStep`, not here: models compute.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _init_dcgan(module: nn.Module) -> None:
    # DCGAN paper: weights from N(0, 0.02); BatchNorm scales from N(1, 0.02)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (B, Z) [and labels (B,)] -> images (B, 1, 28, 28) in [-1, 1].

    Args:
        noise_dim: Z.
        channels: C; the 7x7 layer has 2C channels.
        num_classes: > 0 makes it conditional (a label embedding of size Z is concatenated to z).

    >>> Generator(16, channels=8)(torch.randn(2, 16)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, noise_dim: int, *, channels: int = 32, num_classes: int = 0) -> None:
        super().__init__()
        self.noise_dim, self.channels, self.num_classes = noise_dim, channels, num_classes
        self.embed = nn.Embedding(num_classes, noise_dim) if num_classes else None
        inputs = noise_dim * (2 if num_classes else 1)
        self.project = nn.Sequential(
            nn.Linear(inputs, 2 * channels * 7 * 7, bias=False), nn.BatchNorm1d(2 * channels * 7 * 7), nn.ReLU()
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1),  # 14 -> 28
            nn.Tanh(),
        )
        self.apply(_init_dcgan)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("a conditional generator needs labels (B,)")
            z = torch.cat([z, self.embed(labels)], dim=-1)  # (B, 2Z)
        h = self.project(z).view(-1, 2 * self.channels, 7, 7)  # (B, 2C, 7, 7)
        return self.upsample(h)  # (B, 1, 28, 28)


class Discriminator(nn.Module):
    """Images (B, 1, 28, 28) [and labels (B,)] -> logits (B,) of "real".

    Args:
        channels: C; the 7x7 layer has 2C channels.
        num_classes: > 0 makes it conditional (a learned 28x28 map per class is stacked as a second channel).

    >>> Discriminator(channels=8)(torch.randn(2, 1, 28, 28)).shape
    torch.Size([2])
    """

    def __init__(self, *, channels: int = 32, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.label_map = nn.Embedding(num_classes, 28 * 28) if num_classes else None
        self.features = nn.Sequential(
            nn.Conv2d(2 if num_classes else 1, channels, 4, stride=2, padding=1),  # 28 -> 14
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1, bias=False),  # 14 -> 7
            nn.BatchNorm2d(2 * channels),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Linear(2 * channels * 7 * 7, 1)
        self.apply(_init_dcgan)

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.label_map is not None:
            if labels is None:
                raise ValueError("a conditional discriminator needs labels (B,)")
            images = torch.cat([images, self.label_map(labels).view(-1, 1, 28, 28)], dim=1)  # (B, 2, 28, 28)
        return self.head(self.features(images).flatten(1)).squeeze(-1)  # (B,)


class GAN(nn.Module):
    """The pair (generator, discriminator), saved and loaded as one model.

    Args:
        noise_dim: Z.
        channels: C of both networks.
        num_classes: > 0 for a conditional GAN.

    >>> gan = GAN(16, channels=8, num_classes=10)
    >>> gan.sample(4, labels=torch.arange(4)).shape
    torch.Size([4, 1, 28, 28])
    """

    def __init__(self, noise_dim: int, *, channels: int = 32, num_classes: int = 0) -> None:
        super().__init__()
        self.noise_dim, self.num_classes = noise_dim, num_classes
        self.generator = Generator(noise_dim, channels=channels, num_classes=num_classes)
        self.discriminator = Discriminator(channels=channels, num_classes=num_classes)

    def noise(self, num: int, *, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), (num, Z), on the model's device (drawn on the CPU, so a seed gives the same z anywhere)."""
        device = next(self.parameters()).device
        return torch.randn(num, self.noise_dim, generator=generator).to(device)

    @torch.no_grad()
    def sample(self, num: int, *, labels: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Generate ``num`` images (num, 1, 28, 28) in [-1, 1] in eval mode (classes cycle 0..C-1 if not given)."""
        was_training = self.generator.training
        self.generator.eval()
        if self.num_classes and labels is None:
            labels = torch.arange(num) % self.num_classes
        if labels is not None:
            labels = labels.to(next(self.parameters()).device)
        try:
            return self.generator(self.noise(num, generator=generator), labels)
        finally:
            self.generator.train(was_training)


__all__ = ["GAN", "Generator", "Discriminator"]
