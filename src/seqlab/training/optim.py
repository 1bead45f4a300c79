"""Optimizers, weight decay, and the L1/L2 penalties added to the loss.

Which parameters are "weights": every trainable parameter with two or more dimensions (linear and
recurrent weight matrices, embeddings, convolution kernels). Biases and normalisation scales and
shifts (one dimension) get neither weight decay nor the L1/L2 penalty, as in Keras, where
``kernel_regularizer`` and ``bias_regularizer`` are separate and biases are usually left alone.

Everything not in :class:`~seqlab.sections.TrainConfig` keeps PyTorch's default (Adam's eps,
RMSprop's alpha, ...).

>>> import torch
>>> from seqlab.sections import TrainConfig
>>> model = torch.nn.Linear(3, 2)
>>> opt = build_optimizer(model, TrainConfig(optimizer="sgd", lr=0.1, weight_decay=1e-4))
>>> type(opt).__name__, [g["weight_decay"] for g in opt.param_groups]
('SGD', [0.0001, 0.0])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqlab.errors import ConfigError, unknown_choice

if TYPE_CHECKING:
    import torch

    from seqlab.sections import TrainConfig


def split_parameters(model: torch.nn.Module) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
    """Split the trainable parameters into (weights, others): weights have two or more dimensions.

    Args:
        model: any module.

    >>> import torch
    >>> weights, others = split_parameters(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2)))
    >>> [tuple(p.shape) for p in weights], [tuple(p.shape) for p in others]
    ([(2, 3)], [(2,), (2,), (2,)])
    """
    weights: list[torch.nn.Parameter] = []
    others: list[torch.nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (weights if param.ndim >= 2 else others).append(param)
    return weights, others


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Make the optimizer named by ``config.optimizer`` for ``model``'s trainable parameters.

    Two parameter groups: weight matrices with ``config.weight_decay``, everything else with none.
    ``adam`` adds the decay to the gradient (classic L2 decay, as torch.optim.Adam does); ``adamw``
    decouples it (Loshchilov & Hutter, 2019); both use ``config.betas``. ``sgd`` uses
    ``config.momentum``; ``rmsprop`` uses torch defaults (alpha 0.99, no momentum).

    Args:
        model: the module to train.
        config: reads ``optimizer``, ``lr``, ``betas``, ``momentum``, ``weight_decay``.

    >>> import torch
    >>> from seqlab.sections import TrainConfig
    >>> opt = build_optimizer(torch.nn.Linear(2, 2), TrainConfig(optimizer="adamw"))
    >>> type(opt).__name__, isinstance(opt, torch.optim.AdamW)  # torch's fused AdamW, see seqlab.training.fused_adam
    ('FusedAdamW', True)
    """
    import torch

    weights, others = split_parameters(model)
    groups = [
        {"params": params, "weight_decay": decay}
        for params, decay in ((weights, config.weight_decay), (others, 0.0))
        if params
    ]
    if not groups:
        raise ConfigError(f"{type(model).__name__} has no trainable parameters; nothing to optimise")
    betas = tuple(config.betas)
    if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
        raise ConfigError(f"train.betas must be two numbers in [0, 1), e.g. [0.9, 0.999] (got {list(betas)})")
    # torch's fused Adam kernels update every tensor in one pass; the default loops over the
    # tensors one by one, about 30% of a sentiment step on this CPU (benchmarks/keras.md). The
    # Fused* classes run that kernel without torch.optim's compiler hooks, which import
    # torch._dynamo (72 MB) into every training process (seqlab.training.fused_adam)
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in (*weights, *others))
    adam, adamw = torch.optim.Adam, torch.optim.AdamW
    if fused:
        from seqlab.training.fused_adam import FusedAdam as adam
        from seqlab.training.fused_adam import FusedAdamW as adamw
    makers = {
        "adam": lambda: adam(groups, lr=config.lr, betas=(betas[0], betas[1]), fused=fused or None),
        "adamw": lambda: adamw(groups, lr=config.lr, betas=(betas[0], betas[1]), fused=fused or None),
        "sgd": lambda: torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum),
        "rmsprop": lambda: torch.optim.RMSprop(groups, lr=config.lr),
    }
    if config.optimizer not in makers:
        raise ConfigError(unknown_choice("train.optimizer", config.optimizer, list(makers)))
    return makers[config.optimizer]()


def weight_penalty(model: torch.nn.Module, *, l1: float = 0.0, l2: float = 0.0) -> torch.Tensor:
    """The regularisation term ``l1 * sum|w| + l2 * sum w**2`` over the weight matrices.

    Keras' convention: no factor 1/2 on the L2 term. Biases and normalisation parameters are
    left out (see the module docstring).

    Args:
        model: the module whose weights are penalised.
        l1: L1 factor.
        l2: L2 factor.

    Returns:
        A scalar tensor (0.0 when both factors are 0) that carries gradients.

    >>> import torch
    >>> layer = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    >>> round(weight_penalty(layer, l1=0.1, l2=0.01).item(), 6)  # 0.1 * 3 + 0.01 * 5
    0.35
    """
    import torch

    weights, _ = split_parameters(model)
    total = torch.zeros((), device=weights[0].device if weights else None)
    for weight in weights:
        if l1:
            total = total + l1 * weight.abs().sum()
        if l2:
            total = total + l2 * weight.pow(2).sum()
    return total
