"""CycleGAN for unpaired 28x28 greyscale images (Zhu et al., 2017): two generators, two discriminators.

G_ab turns an image of domain a into one of domain b, G_ba the other way; D_a and D_b each tell their
domain's real images from translated ones. Unpaired: no image of a has a known counterpart in b, so
what ties a translation to its input is the **cycle**: G_ba(G_ab(a)) should give a back.

Generator (the paper's ResNet generator, scaled to 28x28): reflect-pad conv 7x7 -> (B, C, 28, 28)
-> strided conv -> (B, 2C, 14, 14) -> N residual blocks -> transposed conv -> (B, C, 28, 28) ->
reflect-pad conv 7x7 -> tanh (B, 1, 28, 28); instance norm and ReLU between.
Discriminator (a PatchGAN): strided convs 28 -> 14 -> 7 with LeakyReLU(0.2), then a 3x3 conv to
one score per 7x7 patch (B, 7, 7), trained with least squares (LSGAN, Mao et al., 2017).
The losses, the replay buffer and the two-step update are :class:`seqlab.tasks.cyclegan.CycleStep`:
models compute.
"""

from __future__ import annotations

import torch  # noqa: F401 - the doctests use it
from torch import Tensor, nn


def _init_normal(module: nn.Module) -> None:
    # the CycleGAN code's default: weights from N(0, 0.02)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class ResidualBlock(nn.Module):
    """x + [pad -> conv 3x3 -> IN -> ReLU -> pad -> conv 3x3 -> IN](x), shape kept (B, C, H, W).

    >>> ResidualBlock(4)(torch.randn(2, 4, 7, 7)).shape
    torch.Size([2, 4, 7, 7])
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class TranslationGenerator(nn.Module):
    """Images (B, 1, 28, 28) of one domain -> images (B, 1, 28, 28) in [-1, 1] of the other.

    Args:
        channels: C of the 28x28 layers (the 14x14 ones have 2C).
        residual_blocks: N blocks at 14x14.

    >>> TranslationGenerator(channels=4, residual_blocks=1)(torch.randn(2, 1, 28, 28)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, *, channels: int = 16, residual_blocks: int = 2) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(1, c, 7),
            nn.InstanceNorm2d(c),
            nn.ReLU(),  # (B, C, 28, 28)
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1),
            nn.InstanceNorm2d(2 * c),
            nn.ReLU(),  # (B, 2C, 14, 14)
            *[ResidualBlock(2 * c) for _ in range(residual_blocks)],
            nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm2d(c),
            nn.ReLU(),  # (B, C, 28, 28)
            nn.ReflectionPad2d(3),
            nn.Conv2d(c, 1, 7),
            nn.Tanh(),
        )
        self.apply(_init_normal)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)  # (B, 1, 28, 28)


class PatchDiscriminator(nn.Module):
    """Images (B, 1, 28, 28) -> one "real" score per 7x7 patch, (B, 7, 7) (least squares: real -> 1, fake -> 0).

    Args:
        channels: C; the 7x7 layer has 2C.

    >>> PatchDiscriminator(channels=4)(torch.randn(2, 1, 28, 28)).shape
    torch.Size([2, 7, 7])
    """

    def __init__(self, *, channels: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 4, stride=2, padding=1),  # 28 -> 14
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1),  # 14 -> 7
            nn.InstanceNorm2d(2 * channels),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * channels, 1, 3, padding=1),  # one score per patch
        )
        self.apply(_init_normal)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images).squeeze(1)  # (B, 7, 7)


class CycleGAN(nn.Module):
    """G_ab, G_ba, D_a, D_b, saved and loaded as one model.

    Args:
        channels: C of all four networks.
        residual_blocks: in each generator.

    >>> model = CycleGAN(channels=4, residual_blocks=1)
    >>> model.translate(torch.randn(3, 1, 28, 28), to="b").shape
    torch.Size([3, 1, 28, 28])
    """

    def __init__(self, *, channels: int = 16, residual_blocks: int = 2) -> None:
        super().__init__()
        self.g_ab = TranslationGenerator(channels=channels, residual_blocks=residual_blocks)
        self.g_ba = TranslationGenerator(channels=channels, residual_blocks=residual_blocks)
        self.d_a = PatchDiscriminator(channels=channels)
        self.d_b = PatchDiscriminator(channels=channels)

    def generators(self) -> nn.ModuleList:
        """Both generators, as one module (one optimizer updates them together, as in the paper)."""
        return nn.ModuleList([self.g_ab, self.g_ba])

    def discriminators(self) -> nn.ModuleList:
        """Both discriminators, as one module."""
        return nn.ModuleList([self.d_a, self.d_b])

    def translate(self, images: Tensor, *, to: str) -> Tensor:
        """Images (B, 1, 28, 28) of the other domain translated into domain ``to`` ("a" or "b")."""
        if to not in ("a", "b"):
            raise ValueError(f'to must be "a" or "b" (got {to!r})')
        return (self.g_ab if to == "b" else self.g_ba)(images)


__all__ = ["CycleGAN", "TranslationGenerator", "PatchDiscriminator", "ResidualBlock"]
