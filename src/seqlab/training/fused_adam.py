"""Adam and AdamW on torch's fused kernels, without torch.optim's compiler hooks.

torch.optim wraps ``Optimizer.step``, ``add_param_group``, ``zero_grad``, ``state_dict`` and
``load_state_dict`` (and its functional ``adam``) in hooks for ``torch.compile``, and the first
call of any of them imports ``torch._dynamo``, and with it sympy and ``torch._inductor``: 72 MB
resident and 0.7 s on this CPU, in a process that never compiles (benchmarks/charlm.md, issue 13's
memory aim). :class:`FusedAdam` and :class:`FusedAdamW` are torch's classes with the same
``param_groups``, state layout and state dict (a checkpoint of one loads into the other); they call
the undecorated base methods and the fused kernel (``torch._fused_adam_`` / ``torch._fused_adamw_``)
directly, so they take the same steps bit for bit (tests/training/test_fused_adam.py).

Imported by :func:`seqlab.training.optim.build_optimizer` when it needs them (this module imports
torch).

>>> import torch
>>> layer = torch.nn.Linear(2, 1)
>>> opt = FusedAdamW(layer.parameters(), lr=0.1, fused=True)
>>> layer(torch.ones(1, 2)).sum().backward()
>>> opt.step()
>>> int(opt.state[layer.weight]["step"])
1
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer


def _undecorated(method: Callable[..., Any]) -> Callable[..., Any]:
    """The function under torch's ``_disable_dynamo`` wrapper (itself where a torch version has none)."""
    return getattr(method, "__wrapped__", method)


class _WithoutCompilerHooks(Optimizer):
    """The base methods torch wraps for ``torch.compile``, called unwrapped, and a fused ``step``."""

    decoupled_weight_decay = False  # Adam adds the decay to the gradient; AdamW shrinks the weights

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _undecorated(Optimizer.add_param_group)(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _undecorated(Optimizer.zero_grad)(self, set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return _undecorated(Optimizer.state_dict)(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _undecorated(Optimizer.load_state_dict)(self, state_dict)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One fused Adam(W) update of every parameter that has a gradient.

        ``grad_scale`` / ``found_inf``, when a ``GradScaler`` sets them (fp16), unscale the
        gradients inside the kernel and skip the update (and the step count) of a step with an
        infinite gradient, as torch's fused step does.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grad_scale = getattr(self, "grad_scale", None)
        found_inf = getattr(self, "found_inf", None)
        for group in self.param_groups:
            if group.get("amsgrad") or group.get("differentiable"):
                raise ValueError("FusedAdam(W) does not implement amsgrad or differentiable; use torch.optim's class")
            params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:  # torch's fused layout: a float32 step count on the parameter's device
                    state["step"] = torch.zeros((), dtype=torch.float32, device=param.device)
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                params.append(param)
                grads.append(param.grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            if not params:
                continue
            torch._foreach_add_(steps, 1)
            kernel = torch._fused_adamw_ if self.decoupled_weight_decay else torch._fused_adam_
            beta1, beta2 = group["betas"]
            kernel(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],  # max_exp_avg_sqs: amsgrad only
                steps,
                amsgrad=False,
                lr=float(group["lr"]),
                beta1=float(beta1),
                beta2=float(beta2),
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=group["maximize"],
                grad_scale=grad_scale,
                found_inf=found_inf,
            )
            if found_inf is not None:
                torch._foreach_sub_(steps, [found_inf] * len(steps))
        return loss


class FusedAdam(_WithoutCompilerHooks, torch.optim.Adam):
    """``torch.optim.Adam(..., fused=True)`` without the compiler hooks (see the module docstring).

    Args: as ``torch.optim.Adam``; ``fused`` must be True, ``amsgrad`` and ``differentiable`` False.

    >>> import torch
    >>> type(FusedAdam(torch.nn.Linear(2, 1).parameters(), fused=True)).__mro__[2].__name__
    'Adam'
    """


class FusedAdamW(_WithoutCompilerHooks, torch.optim.AdamW):
    """``torch.optim.AdamW(..., fused=True)`` without the compiler hooks (see the module docstring).

    Args: as ``torch.optim.AdamW``; ``fused`` must be True, ``amsgrad`` and ``differentiable`` False.

    >>> import torch
    >>> isinstance(FusedAdamW(torch.nn.Linear(2, 1).parameters(), fused=True), torch.optim.AdamW)
    True
    """

    decoupled_weight_decay = True
