"""FusedAdam / FusedAdamW: torch's fused Adam(W) steps without torch.optim's compiler hooks."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from seqlab_train_toy import one_thread  # noqa: F401 (autouse fixture)
from torch import nn

from seqlab.config import TrainConfig
from seqlab.training import build_optimizer
from seqlab.training.fused_adam import FusedAdam, FusedAdamW

PAIRS = [(FusedAdam, torch.optim.Adam), (FusedAdamW, torch.optim.AdamW)]


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Embedding(7, 4), nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))


def _groups(model: nn.Module) -> list[dict]:
    decayed = [p for p in model.parameters() if p.ndim >= 2]
    return [{"params": decayed, "weight_decay": 0.1}, {"params": [p for p in model.parameters() if p.ndim < 2]}]


def _train(model: nn.Module, opt: torch.optim.Optimizer, steps: range, *, frozen_last: bool = False) -> None:
    data = torch.Generator().manual_seed(1)
    for step in steps:
        ids = torch.randint(0, 7, (5, 3), generator=data)
        loss = model(ids).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        if frozen_last:
            model[3].bias.grad = None  # a parameter without a gradient this step is left alone
        for group in opt.param_groups:
            group["lr"] = 0.05 / (1 + step)  # the schedule writes the rate into the groups
        opt.step()


@pytest.mark.parametrize(("ours", "torchs"), PAIRS)
def test_the_same_steps_bit_for_bit_as_torchs_fused_class(ours, torchs):
    a, b = _model(), _model()
    opt_a = ours(_groups(a), lr=0.05, betas=(0.8, 0.95), fused=True)
    opt_b = torchs(_groups(b), lr=0.05, betas=(0.8, 0.95), fused=True)
    _train(a, opt_a, range(3), frozen_last=True)
    _train(b, opt_b, range(3), frozen_last=True)
    _train(a, opt_a, range(3, 6))
    _train(b, opt_b, range(3, 6))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert [float(opt_a.state[p]["step"]) for p in a.parameters()] == [6, 6, 6, 6, 6, 6, 3]


@pytest.mark.parametrize(("ours", "torchs"), PAIRS)
def test_state_dicts_load_into_each_other(ours, torchs):
    """A checkpoint written with torch's class resumes with ours and the other way round."""
    a, b = _model(), _model()
    opt_a, opt_b = torchs(_groups(a), lr=0.05, fused=True), ours(_groups(b), lr=0.05, fused=True)
    _train(a, opt_a, range(2))
    b.load_state_dict(a.state_dict())
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # torch's load keeps the tensors it is given
    _train(a, opt_a, range(2, 4))
    _train(b, opt_b, range(2, 4))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    back = torchs(_groups(_model()), lr=0.05, fused=True)
    back.load_state_dict(copy.deepcopy(opt_b.state_dict()))
    assert set(back.state_dict()["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}


def test_a_grad_scaler_unscales_inside_the_kernel_and_skips_an_infinite_step():
    """With an enabled GradScaler (fp16), the scale and the found-inf flag reach the kernel as in torch's step."""
    results = []
    for cls in (FusedAdamW, torch.optim.AdamW):
        model = _model()
        opt = cls(_groups(model), lr=0.05, fused=True)
        scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
        for step in range(3):
            loss = model(torch.tensor([[1, 2, 3]])).pow(2).mean()
            opt.zero_grad()
            scaler.scale(loss).backward()
            if step == 1:
                model[1].weight.grad[0, 0] = float("inf")
            scaler.step(opt)
            scaler.update()
        results.append(([p.detach().clone() for p in model.parameters()], float(opt.state[model[1].weight]["step"])))
    (ours, ours_steps), (theirs, theirs_steps) = results
    assert ours_steps == theirs_steps == 2.0  # the infinite step was skipped
    for pa, pb in zip(ours, theirs, strict=True):
        assert torch.equal(pa, pb)


def test_build_optimizer_picks_them_for_cpu_parameters():
    model = _model()
    assert type(build_optimizer(model, TrainConfig(optimizer="adamw"))) is FusedAdamW
    assert type(build_optimizer(model, TrainConfig(optimizer="adam"))) is FusedAdam


def test_amsgrad_is_refused_with_the_class_to_use():
    model = _model()
    opt = FusedAdamW(model.parameters(), amsgrad=True, fused=True)
    model(torch.tensor([[1]])).sum().backward()
    with pytest.raises(ValueError, match="torch.optim's class"):
        opt.step()


def test_training_never_imports_torch_dynamo():
    """The point of the classes: 72 MB and 0.7 s of torch._dynamo stay out of a training process."""
    script = """
import sys, torch
from seqlab.config import TrainConfig
from seqlab.training import build_optimizer
model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2))
opt = build_optimizer(model, TrainConfig(optimizer="adamw", weight_decay=0.1))
model(torch.tensor([1, 2])).sum().backward()
opt.step()
opt.zero_grad()
opt.load_state_dict(opt.state_dict())
print("torch._dynamo" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr
