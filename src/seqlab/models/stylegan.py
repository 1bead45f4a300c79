"""A style-based generator for 28x28 greyscale images: StyleGAN's ideas (Karras et al., 2019) at small scale.

Mapping network f: z (B, Z) -> pixel norm -> MLP -> w (B, W), the intermediate latent. Synthesis
network g: a learned constant (B, 4C, 7, 7) -> two style layers at 7x7 -> upsample -> two at 14x14
(2C) -> upsample -> two at 28x28 (C) -> 1x1 conv -> tanh. Each style layer is conv 3x3 -> add
per-pixel noise scaled per channel (StyleGAN's B) -> LeakyReLU(0.2) -> AdaIN, whose scale and shift
come from its own copy of w through a learned affine map (StyleGAN's A):

    AdaIN(x, y) = y_s * (x - mean(x)) / std(x) + y_b      (per image, per channel)

So every layer takes its own w, ``ws`` (B, L, W) with L = 6 layers: the same w in each for plain
sampling, two different ones split at a crossover layer for **style mixing** (training draws a second
z for most images, so no layer can rely on its neighbour's style; at sampling time the coarse layers
(7x7 and 14x14: shape) from one latent and the fine ones (28x28: ink and texture) from another give
the mixing grid). The generator keeps a
running mean of w (``w_avg``, a buffer updated in training) for the **truncation trick**: sampling
from ``w_avg + psi (w - w_avg)`` with psi < 1 trades variety for typical, cleaner images.

The noise inputs draw fresh noise in training mode and use a fixed map per layer in eval mode
(StyleGAN's "const" noise), so a seed fixes a sample. The mapping network and the style maps use
the equalised learning rate (weights drawn from N(0, 1) and scaled at run time, so w and the styles
start at unit scale, and the mapping network learns 100x slower, as in the paper); without it the
styles start near zero and every sample comes out the same. The discriminator (ProGAN's) appends the
minibatch standard deviation as a feature, so it can see when samples lack variety. Left out at
this scale: progressive growing and the R1 penalty. The training step is
:class:`seqlab.tasks.gan.GANStep`, not here: models compute.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NUM_LAYERS = 6  # style layers: two each at 7x7, 14x14, 28x28
COARSE = 4  # the 7x7 and 14x14 layers set the shape; the 28x28 ones ink density and texture


def pixel_norm(x: Tensor) -> Tensor:
    """Scale each row to unit root-mean-square (StyleGAN normalises z this way before mapping).

    >>> pixel_norm(torch.tensor([[3.0, 4.0]])).pow(2).mean().item()
    1.0
    """
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """A linear map with an equalised learning rate (Karras et al., 2018): y = x (W * lr_mul / sqrt(in))^T + b * lr_mul.

    W is drawn from N(0, 1 / lr_mul^2), so the map starts with unit gain and Adam's steps move it
    ``lr_mul`` times as fast as an ordinary layer.

    Args:
        in_features: input size.
        out_features: output size.
        lr_mul: learning-rate multiplier (0.01 for the mapping network).
        bias_init: the starting bias.

    >>> EqualLinear(64, 8)(torch.randn(1000, 64)).std().item() > 0.8
    True
    """

    def __init__(self, in_features: int, out_features: int, *, lr_mul: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul))
        self.scale, self.lr_mul = lr_mul / math.sqrt(in_features), lr_mul

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class MappingNetwork(nn.Module):
    """z (B, Z) -> w (B, W): pixel norm, then ``num_layers`` x [EqualLinear (lr x 0.01) -> LeakyReLU(0.2) x sqrt 2].

    Args:
        noise_dim: Z.
        w_dim: W.
        num_layers: depth of the MLP.

    >>> MappingNetwork(8, 16, num_layers=2)(torch.randn(3, 8)).shape
    torch.Size([3, 16])
    """

    def __init__(self, noise_dim: int, w_dim: int, *, num_layers: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [EqualLinear(noise_dim if i == 0 else w_dim, w_dim, lr_mul=0.01) for i in range(num_layers)]
        )

    def forward(self, z: Tensor) -> Tensor:
        w = pixel_norm(z)  # (B, Z)
        for layer in self.layers:
            w = F.leaky_relu(layer(w), 0.2) * math.sqrt(2.0)  # the gain keeps unit variance
        return w  # (B, W)


class NoiseInput(nn.Module):
    """x + weight * noise: per-pixel Gaussian noise, one learned weight per channel (zero at the start).

    Fresh noise in training mode; in eval mode a fixed map drawn once at construction, so a sample
    depends on its latent only.

    Args:
        channels: C.
        size: the side of the feature map (H = W).
    """

    fixed: Tensor  # (1, 1, H, W), the eval-mode noise map

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("fixed", torch.randn(1, 1, size, size, generator=torch.Generator().manual_seed(size)))

    def forward(self, x: Tensor) -> Tensor:
        # fresh noise drawn on the CPU (a seed gives the same noise on every device), (B, 1, H, W)
        noise = torch.randn(len(x), 1, *x.shape[2:]).to(x.device) if self.training else self.fixed
        return x + self.weight * noise


class AdaIN(nn.Module):
    """Adaptive instance normalisation: normalise each channel, then scale and shift it by a style from w.

    Args:
        channels: C.
        w_dim: W.

    >>> AdaIN(4, 8)(torch.randn(2, 4, 5, 5), torch.randn(2, 8)).shape
    torch.Size([2, 4, 5, 5])
    """

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.style = EqualLinear(w_dim, 2 * channels)  # StyleGAN's A: w -> (y_s, y_b)
        with torch.no_grad():
            self.style.bias[:channels] = 1.0  # y_s around 1, y_b around 0

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        scale, shift = self.style(w).chunk(2, dim=1)  # (B, C) each
        return F.instance_norm(x) * scale[:, :, None, None] + shift[:, :, None, None]


class StyleLayer(nn.Module):
    """[conv 3x3] -> noise -> LeakyReLU(0.2) -> AdaIN(w): one layer of the synthesis network.

    Args:
        in_channels: of the input (ignored without a conv).
        out_channels: C.
        size: H = W of the feature map.
        w_dim: W.
        conv: False for the first layer, which styles the learned constant directly.
    """

    def __init__(self, in_channels: int, out_channels: int, *, size: int, w_dim: int, conv: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1) if conv else None
        self.noise = NoiseInput(out_channels, size)
        self.adain = AdaIN(out_channels, w_dim)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.conv is not None:
            x = self.conv(x)
        return self.adain(F.leaky_relu(self.noise(x), 0.2), w)


class SynthesisNetwork(nn.Module):
    """ws (B, L, W) -> images (B, 1, 28, 28) in [-1, 1], from a learned 7x7 constant.

    Args:
        w_dim: W.
        channels: C of the 28x28 layers (14x14 has 2C, 7x7 4C).

    >>> SynthesisNetwork(8, channels=4)(torch.randn(2, NUM_LAYERS, 8)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, w_dim: int, *, channels: int = 16) -> None:
        super().__init__()
        c7, c14, c28 = 4 * channels, 2 * channels, channels
        self.const = nn.Parameter(torch.randn(1, c7, 7, 7))
        self.layers = nn.ModuleList(
            [
                StyleLayer(c7, c7, size=7, w_dim=w_dim, conv=False),
                StyleLayer(c7, c7, size=7, w_dim=w_dim),
                StyleLayer(c7, c14, size=14, w_dim=w_dim),  # after 7 -> 14
                StyleLayer(c14, c14, size=14, w_dim=w_dim),
                StyleLayer(c14, c28, size=28, w_dim=w_dim),  # after 14 -> 28
                StyleLayer(c28, c28, size=28, w_dim=w_dim),
            ]
        )
        self.to_image = nn.Conv2d(c28, 1, 1)

    def forward(self, ws: Tensor) -> Tensor:
        x = self.const.expand(len(ws), -1, -1, -1)  # (B, 4C, 7, 7)
        for i, layer in enumerate(self.layers):
            if i in (2, 4):
                x = F.interpolate(x, scale_factor=2, mode="nearest")  # 7 -> 14 -> 28
            x = layer(x, ws[:, i])
        return torch.tanh(self.to_image(x))  # (B, 1, 28, 28)


class StyleGenerator(nn.Module):
    """z (B, Z) -> images (B, 1, 28, 28): the mapping network, then the synthesis network with one w per layer.

    In training mode each forward updates ``w_avg`` and mixes styles: with probability
    ``style_mixing`` an image takes a second latent's w from a random crossover layer on.

    Args:
        noise_dim: Z.
        w_dim: W.
        mapping_layers: depth of the mapping network.
        channels: C of the 28x28 layers.
        style_mixing: probability that a training image mixes two latents.
        w_avg_decay: decay of the running mean of w.

    >>> g = StyleGenerator(8, w_dim=8, mapping_layers=2, channels=4).eval()
    >>> g(torch.randn(3, 8)).shape, g.ws(torch.randn(3, 8), truncation=0.0).std(0).max().item()
    (torch.Size([3, 1, 28, 28]), 0.0)
    """

    w_avg: Tensor  # (W,), the running mean of w

    def __init__(
        self,
        noise_dim: int,
        *,
        w_dim: int = 64,
        mapping_layers: int = 4,
        channels: int = 16,
        style_mixing: float = 0.9,
        w_avg_decay: float = 0.995,
    ) -> None:
        super().__init__()
        self.noise_dim, self.style_mixing, self.w_avg_decay = noise_dim, style_mixing, w_avg_decay
        self.num_classes = 0
        self.mapping = MappingNetwork(noise_dim, w_dim, num_layers=mapping_layers)
        self.synthesis = SynthesisNetwork(w_dim, channels=channels)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def ws(self, z: Tensor, *, truncation: float = 1.0) -> Tensor:
        """One w per layer (B, L, W) for latents z (B, Z): mixed in training, truncated towards ``w_avg`` if psi < 1."""
        w = self.mapping(z)  # (B, W)
        ws = w.unsqueeze(1).expand(-1, NUM_LAYERS, -1)  # (B, L, W)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(0), 1.0 - self.w_avg_decay)
            if self.style_mixing > 0:
                ws = self._mix(z, ws)
        if truncation != 1.0:
            ws = self.w_avg.lerp(ws, truncation)  # w_avg + psi (w - w_avg)
        return ws

    def _mix(self, z: Tensor, ws: Tensor) -> Tensor:
        # drawn on the CPU, so a seed gives the same mixing on every device
        other = self.mapping(torch.randn(z.shape).to(z.device))  # (B, W)
        mixed = torch.rand(len(z)) < self.style_mixing  # (B,)
        crossover = torch.randint(1, NUM_LAYERS, (len(z),))  # (B,)
        later = (torch.arange(NUM_LAYERS)[None, :] >= crossover[:, None]) & mixed[:, None]  # (B, L)
        return torch.where(later.to(z.device)[:, :, None], other[:, None, :], ws)

    def forward(self, z: Tensor, labels: Tensor | None = None, *, truncation: float = 1.0) -> Tensor:
        if labels is not None:
            raise ValueError("the style-based generator is not conditional; it takes no labels")
        return self.synthesis(self.ws(z, truncation=truncation))


class MinibatchStd(nn.Module):
    """Append one feature map: the standard deviation over the batch, averaged over features and pixels.

    A generator that gives every z the same image makes it 0, which the discriminator can learn to
    call fake (Karras et al., 2018).

    >>> MinibatchStd()(torch.randn(4, 3, 2, 2)).shape
    torch.Size([4, 4, 2, 2])
    """

    def forward(self, x: Tensor) -> Tensor:
        spread = x.std(dim=0, unbiased=False).mean() if len(x) > 1 else x.new_zeros(())  # ()
        return torch.cat([x, spread.expand(len(x), 1, *x.shape[2:])], dim=1)  # (B, C + 1, H, W)


class StyleDiscriminator(nn.Module):
    """Images (B, 1, 28, 28) -> logits (B,) of "real": strided convs 28 -> 14 -> 7, minibatch std, conv, linear.

    No normalisation layers (as in ProGAN and StyleGAN); LeakyReLU(0.2).

    Args:
        channels: C of the 28x28 layer; 14x14 has 2C, 7x7 4C.

    >>> StyleDiscriminator(channels=4)(torch.randn(2, 1, 28, 28)).shape
    torch.Size([2])
    """

    def __init__(self, *, channels: int = 16) -> None:
        super().__init__()
        c = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1),
            nn.LeakyReLU(0.2),  # (B, C, 28, 28)
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),  # (B, 2C, 14, 14)
            nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),  # (B, 4C, 7, 7)
            MinibatchStd(),
            nn.Conv2d(4 * c + 1, 4 * c, 3, padding=1),
            nn.LeakyReLU(0.2),  # (B, 4C, 7, 7)
        )
        self.head = nn.Linear(4 * c * 7 * 7, 1)

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is not None:
            raise ValueError("the style-based GAN's discriminator is not conditional; it takes no labels")
        return self.head(self.features(images).flatten(1)).squeeze(-1)  # (B,)


class StyleGAN(nn.Module):
    """The style-based generator and its discriminator, saved and loaded as one model.

    Args:
        noise_dim: Z.
        w_dim: W.
        mapping_layers: depth of the mapping network.
        channels: C of the 28x28 layers of both networks.
        style_mixing: probability that a training image mixes two latents.
        w_avg_decay: decay of the running mean of w.

    >>> gan = StyleGAN(8, w_dim=8, mapping_layers=2, channels=4)
    >>> gan.sample(4, truncation=0.7).shape, gan.mix(torch.randn(2, 8), torch.randn(3, 8)).shape
    (torch.Size([4, 1, 28, 28]), torch.Size([2, 3, 1, 28, 28]))
    """

    def __init__(
        self,
        noise_dim: int,
        *,
        w_dim: int = 64,
        mapping_layers: int = 4,
        channels: int = 16,
        style_mixing: float = 0.9,
        w_avg_decay: float = 0.995,
    ) -> None:
        super().__init__()
        self.noise_dim, self.num_classes = noise_dim, 0
        self.generator = StyleGenerator(
            noise_dim,
            w_dim=w_dim,
            mapping_layers=mapping_layers,
            channels=channels,
            style_mixing=style_mixing,
            w_avg_decay=w_avg_decay,
        )
        self.discriminator = StyleDiscriminator(channels=channels)

    def noise(self, num: int, *, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), (num, Z), on the model's device (drawn on the CPU, so a seed gives the same z anywhere)."""
        device = next(self.parameters()).device
        return torch.randn(num, self.noise_dim, generator=generator).to(device)

    @torch.no_grad()
    def sample(
        self,
        num: int,
        *,
        labels: Tensor | None = None,
        generator: torch.Generator | None = None,
        truncation: float = 1.0,
    ) -> Tensor:
        """Generate ``num`` images (num, 1, 28, 28) in [-1, 1] in eval mode, truncated towards ``w_avg`` by psi."""
        if labels is not None:
            raise ValueError("the style-based generator is not conditional; it takes no labels")
        return self.images(self.noise(num, generator=generator), truncation=truncation)

    @torch.no_grad()
    def images(self, z: Tensor, *, truncation: float = 1.0) -> Tensor:
        """The images (B, 1, 28, 28) of latents z (B, Z) in eval mode (fixed noise maps, no mixing)."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(z, truncation=truncation)
        finally:
            self.generator.train(was_training)

    @torch.no_grad()
    def mix(self, coarse: Tensor, fine: Tensor, *, truncation: float = 1.0, crossover: int = COARSE) -> Tensor:
        """Style mixing: images (R, K, 1, 28, 28), styled by ``coarse`` (R, Z) and ``fine`` (K, Z).

        The layers before ``crossover`` (default: the 7x7 and 14x14 ones) take row r's w; the rest column k's.
        """
        was_training = self.generator.training
        self.generator.eval()
        try:
            rows = self.generator.ws(coarse, truncation=truncation)  # (R, L, W)
            cols = self.generator.ws(fine, truncation=truncation)  # (K, L, W)
            r, k = len(rows), len(cols)
            ws = cols.unsqueeze(0).repeat(r, 1, 1, 1)  # (R, K, L, W)
            ws[:, :, :crossover] = rows[:, None, :crossover]
            return self.generator.synthesis(ws.flatten(0, 1)).view(r, k, 1, 28, 28)
        finally:
            self.generator.train(was_training)


__all__ = [
    "StyleGAN",
    "StyleGenerator",
    "StyleDiscriminator",
    "SynthesisNetwork",
    "MappingNetwork",
    "AdaIN",
    "NoiseInput",
    "EqualLinear",
    "MinibatchStd",
    "pixel_norm",
]
