"""The autoencoder family, one API: basic, deep, sparse, denoising and variational (VAE).

All of them are one :class:`Autoencoder`: an encoder of dense layers to a code z of L units, and a
decoder that mirrors it back to the D inputs. What makes the variants differ lives where it
belongs:

- basic / deep: the widths (``hidden_sizes=()`` is one Linear each way; more widths, deeper);
- sparse: the code's activation (``relu`` for an L1 activity penalty, ``sigmoid`` for a KL to a
  target rate) here, the penalty in the task's loss;
- denoising: the corruption of the inputs, in the task (:mod:`seqlab.tasks.autoencoder`);
- VAE (Kingma & Welling, 2014): ``variational=True``. The encoder gives a mean and a log-variance,
  z is sampled with the reparameterisation trick ``z = mu + sigma * eps``, and the loss is the
  negative ELBO, reconstruction plus KL(q(z|x) || N(0, I)).

Inputs of any shape (B, ...) are flattened to (B, D); images (B, 1, 28, 28) and series windows
(B, T) or (B, T, F) go through the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, unknown_choice

CODE_ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
OUTPUTS = ("bernoulli", "gaussian")


@dataclass
class AutoencoderOutput:
    """What one forward pass gives.

    Args:
        logits: (B, D) the decoder's output: Bernoulli logits, or the Gaussian mean itself.
        code: (B, L) the z that was decoded (a sample for a VAE in training).
        mu: (B, L) the posterior mean (VAE), else None.
        logvar: (B, L) the posterior log-variance (VAE), else None.
    """

    logits: Tensor
    code: Tensor
    mu: Tensor | None = None
    logvar: Tensor | None = None


def dense_stack(widths: Sequence[int]) -> nn.Sequential:
    """Linear -> ReLU for each consecutive pair of widths.

    >>> dense_stack([4, 3, 2])(torch.ones(1, 4)).shape
    torch.Size([1, 2])
    """
    layers: list[nn.Module] = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


def reparameterise(mu: Tensor, logvar: Tensor) -> Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample that gradients flow through.

    >>> reparameterise(torch.zeros(2, 3), torch.full((2, 3), -1e4)).abs().max().item()
    0.0
    """
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # (B, L)


class Autoencoder(nn.Module):
    """Dense encoder -> code z -> mirrored decoder; ``variational=True`` makes it a VAE.

    Args:
        input_size: D, features per example (784 for 28x28 images, T*F for windows).
        hidden_sizes: encoder widths, first to last; the decoder uses them in reverse.
        latent_dim: L, the size of the code.
        variational: encode to a Gaussian q(z|x) and sample z (a VAE).
        code_activation: ``linear``, ``relu`` (for an L1 activity penalty) or ``sigmoid``
            (for a KL-to-target-rate sparsity penalty); plain autoencoders only.
        output: ``bernoulli`` (inputs in [0, 1]: logits, sigmoid for the mean) or ``gaussian``
            (real values: the decoder's output is the mean).

    >>> model = Autoencoder(784, hidden_sizes=(64,), latent_dim=2, variational=True)
    >>> out = model(torch.rand(3, 1, 28, 28))
    >>> out.logits.shape, out.code.shape, model.reconstruct(torch.rand(3, 1, 28, 28)).shape
    (torch.Size([3, 784]), torch.Size([3, 2]), torch.Size([3, 1, 28, 28]))
    """

    def __init__(
        self,
        input_size: int,
        *,
        hidden_sizes: Sequence[int] = (256,),
        latent_dim: int = 32,
        variational: bool = False,
        code_activation: str = "linear",
        output: str = "bernoulli",
    ) -> None:
        super().__init__()
        if code_activation not in CODE_ACTIVATIONS:
            raise ConfigError(unknown_choice("code activation", code_activation, list(CODE_ACTIVATIONS)))
        if output not in OUTPUTS:
            raise ConfigError(unknown_choice("autoencoder output", output, list(OUTPUTS)))
        if variational and code_activation != "linear":
            raise ConfigError(
                "a VAE's code is a Gaussian sample; sparsity (a code activation) is for plain autoencoders"
            )
        widths = [input_size, *hidden_sizes]
        self.input_size, self.latent_dim, self.variational, self.output = input_size, latent_dim, variational, output
        self.encoder = dense_stack(widths)
        self.to_code = nn.Linear(widths[-1], 2 * latent_dim if variational else latent_dim)
        self.code_activation = CODE_ACTIVATIONS[code_activation]()
        mirrored = [latent_dim, *widths[:0:-1]]  # L -> H_last ... -> H_first
        self.decoder = nn.Sequential(dense_stack(mirrored), nn.Linear(mirrored[-1], input_size))

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """(mu (B, L), logvar (B, L)) for a VAE; (code (B, L), None) otherwise."""
        h = self.to_code(self.encoder(x.flatten(1)))  # (B, L) or (B, 2L)
        if self.variational:
            mu, logvar = h.chunk(2, dim=-1)
            return mu, logvar
        return self.code_activation(h), None

    def encode(self, x: Tensor) -> Tensor:
        """The code of each input (B, L): the posterior mean for a VAE."""
        return self.posterior(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        """Decoder output (B, D) for codes z (B, L): logits (bernoulli) or the mean (gaussian)."""
        return self.decoder(z)

    def mean(self, logits: Tensor) -> Tensor:
        """The reconstruction in data space from decoder outputs (B, D)."""
        return torch.sigmoid(logits) if self.output == "bernoulli" else logits

    def forward(self, x: Tensor, *, sample: bool | None = None) -> AutoencoderOutput:
        """Encode, (sample,) decode. ``sample`` defaults to ``self.training`` (VAE only)."""
        mu, logvar = self.posterior(x)
        if logvar is None:
            return AutoencoderOutput(self.decode(mu), mu)
        z = reparameterise(mu, logvar) if (self.training if sample is None else sample) else mu
        return AutoencoderOutput(self.decode(z), z, mu, logvar)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Deterministic reconstruction (the posterior mean is decoded), shaped like ``x``."""
        return self.mean(self.forward(x, sample=False).logits).view_as(x)

    @torch.no_grad()
    def generate(self, num: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Decode z ~ N(0, I): (num, D) samples in data space (meaningful for a VAE)."""
        z = torch.randn(num, self.latent_dim, generator=generator)
        return self.mean(self.decode(z))


__all__ = ["Autoencoder", "AutoencoderOutput", "reparameterise", "dense_stack"]
