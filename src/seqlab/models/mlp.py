"""The multilayer perceptron: flattened pixels -> [Linear -> norm -> activation -> dropout] x N -> logits.

The classic course model for Fashion-MNIST (Keras ``Flatten -> Dense(relu) -> Dropout -> Dense``),
with LayerNorm (or BatchNorm) after each hidden Linear so a deeper stack still trains quickly.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from seqlab.errors import ConfigError, unknown_choice
from seqlab.layers.dropout import Dropout

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
NORMS = ("layer", "batch", "none")


class DenseBlock(nn.Module):
    """Linear -> norm -> activation -> dropout.

    Args:
        in_features: input width.
        out_features: output width H.
        norm: ``layer``, ``batch`` or ``none``.
        activation: ``relu``, ``gelu``, ``tanh`` or ``sigmoid``.
        dropout: drop probability after the activation.

    >>> import torch
    >>> DenseBlock(4, 3, norm="layer", activation="relu", dropout=0.0)(torch.ones(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, in_features: int, out_features: int, *, norm: str, activation: str, dropout: float) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(unknown_choice("activation", activation, list(ACTIVATIONS)))
        if norm not in NORMS:
            raise ConfigError(unknown_choice("norm", norm, list(NORMS)))
        self.linear = nn.Linear(in_features, out_features)
        self.norm = {"layer": nn.LayerNorm, "batch": nn.BatchNorm1d}.get(norm, lambda _: nn.Identity())(out_features)
        self.activation = ACTIVATIONS[activation]()
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.activation(self.norm(self.linear(x))))  # (B, H)


class MLP(nn.Module):
    """A classifier on flattened inputs: hidden :class:`DenseBlock` layers, then a Linear to C logits.

    Args:
        input_size: D, features per example (784 for 28x28 images).
        num_classes: C.
        hidden_sizes: width of each hidden layer (empty: logistic regression).
        dropout: after each hidden layer.
        norm: ``layer``, ``batch`` or ``none``.
        activation: ``relu``, ``gelu``, ``tanh`` or ``sigmoid``.

    >>> import torch
    >>> model = MLP(784, 10, hidden_sizes=(64,))
    >>> model(torch.zeros(5, 1, 28, 28)).shape
    torch.Size([5, 10])
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        *,
        hidden_sizes: Sequence[int] = (256, 128),
        dropout: float = 0.2,
        norm: str = "layer",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        widths = [input_size, *hidden_sizes]
        self.blocks = nn.Sequential(
            *(DenseBlock(a, b, norm=norm, activation=activation, dropout=dropout) for a, b in zip(widths, widths[1:]))
        )
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, C) for inputs (B, ...) of D features each (images are flattened)."""
        return self.head(self.blocks(x.flatten(1)))


__all__ = ["MLP", "DenseBlock"]
