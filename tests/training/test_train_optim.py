"""Optimizers, schedules, penalties and clipping."""

from __future__ import annotations

import json
import math

import pytest
import torch
from seqlab_train_toy import one_thread  # noqa: F401 (autouse fixture)
from torch import nn

from seqlab.config import TrainConfig
from seqlab.errors import ConfigError
from seqlab.training import build_optimizer, build_schedule, train_step, update, weight_penalty
from seqlab.training.fused_adam import FusedAdam, FusedAdamW
from seqlab.training.schedules import (
    CosineSchedule,
    ExponentialSchedule,
    PlateauSchedule,
    Schedule,
    StepSchedule,
    monitor_mode,
)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("adam", FusedAdam),  # torch.optim.Adam(fused=True) without the compiler hooks
        ("adamw", FusedAdamW),
        ("sgd", torch.optim.SGD),
        ("rmsprop", torch.optim.RMSprop),
    ],
)
def test_build_optimizer_names(name, cls):
    opt = build_optimizer(nn.Linear(3, 2), TrainConfig(optimizer=name, lr=0.01, weight_decay=0.1))
    assert type(opt) is cls
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert all(g["lr"] == 0.01 for g in opt.param_groups)


def test_weight_decay_skips_biases_and_norms():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Embedding(5, 3))
    opt = build_optimizer(model, TrainConfig(optimizer="adamw", weight_decay=0.5))
    decayed = {id(p) for p in opt.param_groups[0]["params"]}
    assert decayed == {id(model[0].weight), id(model[2].weight)}
    assert {id(p) for p in opt.param_groups[1]["params"]} == {id(model[0].bias), id(model[1].weight), id(model[1].bias)}


def test_sgd_momentum_step_matches_hand_computation():
    param = nn.Parameter(torch.tensor([[1.0, 2.0]]))
    model = nn.Module()
    model.w = param
    opt = build_optimizer(model, TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9))
    for _ in range(2):
        opt.zero_grad()
        (param.sum()).backward()  # gradient 1 everywhere
        opt.step()
    # buffer: 1 then 0.9 * 1 + 1 = 1.9; w = w - 0.1 * (1 + 1.9)
    torch.testing.assert_close(param.detach(), torch.tensor([[1.0 - 0.29, 2.0 - 0.29]]))


def test_no_trainable_parameters_is_a_clear_error():
    from seqlab.errors import ConfigError

    model = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        build_optimizer(model, TrainConfig())


# ----------------------------------------------------------------------------- schedules


def test_constant_with_warmup():
    s = build_schedule(TrainConfig(lr=0.1, warmup_steps=4), total_steps=100)
    assert [s.lr(k) for k in (0, 1, 3, 4, 99)] == pytest.approx([0.025, 0.05, 0.1, 0.1, 0.1])


def test_step_decay():
    s = build_schedule(TrainConfig(schedule="step", lr=1.0, step_size=3, gamma=0.1), total_steps=100)
    assert [s.lr(k) for k in (0, 2, 3, 5, 6, 9)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01, 0.001])


def test_cosine_with_warmup():
    s = build_schedule(TrainConfig(schedule="cosine", lr=1.0, warmup_steps=10), total_steps=110)
    assert s.lr(0) == pytest.approx(0.1)
    assert s.lr(9) == pytest.approx(1.0)
    assert s.lr(10) == pytest.approx(1.0)
    assert s.lr(60) == pytest.approx(0.5)  # halfway through the cosine
    assert s.lr(35) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    assert s.lr(110) == pytest.approx(0.0, abs=1e-12)
    assert s.lr(500) == pytest.approx(0.0, abs=1e-12)


def test_plateau_reduces_after_patience_and_round_trips_through_json():
    s = build_schedule(TrainConfig(schedule="plateau", lr=1.0, gamma=0.5), total_steps=0)
    assert isinstance(s, PlateauSchedule) and s.patience == 2 and s.mode == "min"
    for value in (1.0, 0.8, 0.9, 0.85):  # two passes without beating 0.8
        s.observe(value)
    assert s.lr(7) == 0.5
    s.observe(0.81)
    assert s.lr(7) == 0.5
    s.observe(0.82)
    assert s.lr(7) == 0.25
    copy = PlateauSchedule(1.0, gamma=0.5)
    copy.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert copy.lr(7) == 0.25 and copy.state_dict() == s.state_dict()


def test_plateau_maximises_accuracy():
    s = build_schedule(TrainConfig(schedule="plateau", lr=1.0, gamma=0.5, monitor="val_accuracy"), total_steps=0)
    for value in (0.5, 0.6, 0.7):
        s.observe(value)
    assert s.lr(0) == 1.0
    for value in (0.6, 0.6):
        s.observe(value)
    assert s.lr(0) == 0.5


def test_monitor_mode():
    assert monitor_mode("val_loss") == "min" and monitor_mode("val_perplexity") == "min"
    assert monitor_mode("val_accuracy") == "max" and monitor_mode("val_bleu") == "max"


def test_schedules_are_json_state():
    for s in (Schedule(1.0), StepSchedule(1.0, step_size=2, gamma=0.5), CosineSchedule(1.0, total_steps=5)):
        assert json.loads(json.dumps(s.state_dict())) == {}


# ----------------------------------------------------------------------------- penalties and clipping


def test_l1_l2_penalty_values_skip_biases():
    model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 0.5]]))
        model[0].bias.fill_(100.0)
    abs_sum, sq_sum = 6.5, 1 + 4 + 9 + 0.25
    assert weight_penalty(model, l1=0.1).item() == pytest.approx(0.1 * abs_sum)
    assert weight_penalty(model, l2=0.01).item() == pytest.approx(0.01 * sq_sum)
    assert weight_penalty(model, l1=0.1, l2=0.01).item() == pytest.approx(0.1 * abs_sum + 0.01 * sq_sum)
    assert weight_penalty(model).item() == 0.0


def test_l2_penalty_gradient_is_2_l2_w():
    layer = nn.Linear(3, 1)
    weight_penalty(layer, l2=0.5).backward()
    torch.testing.assert_close(layer.weight.grad, 2 * 0.5 * layer.weight.detach())
    assert layer.bias.grad is None


class _SumTask:
    """loss = 100 * sum of outputs: a huge gradient to clip."""

    def loss(self, model, batch):
        return 100 * model(batch).sum(), {}


def test_train_step_clips_the_gradient_norm_and_reports_the_penalty():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    row = train_step(model, _SumTask(), torch.ones(2, 4), opt, lr=0.0, config=TrainConfig(clip_norm=1.0, l2=0.1))
    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()))
    assert total.item() == pytest.approx(1.0, rel=1e-4)
    assert row["grad_norm"] > 100
    assert row["penalty"] == pytest.approx(0.1 * model.weight.pow(2).sum().item(), rel=1e-5)
    assert row["loss"] == pytest.approx(100 * model(torch.ones(2, 4)).sum().item(), rel=1e-5)


def test_train_step_sets_the_learning_rate():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    opt = torch.optim.SGD(model.parameters(), lr=123.0)
    train_step(model, _SumTask(), torch.ones(1, 1), opt, lr=0.001, config=TrainConfig())
    assert model.weight.item() == pytest.approx(1.0 - 0.001 * 100)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_betas_reach_adam_and_adamw(name):
    opt = build_optimizer(nn.Linear(3, 2), TrainConfig(optimizer=name, betas=(0.5, 0.99)))
    assert all(g["betas"] == (0.5, 0.99) for g in opt.param_groups)
    default = build_optimizer(nn.Linear(3, 2), TrainConfig(optimizer=name))
    assert all(g["betas"] == (0.9, 0.999) for g in default.param_groups)  # torch's own default


def test_betas_out_of_range_name_the_key():
    with pytest.raises(ConfigError, match=r"train.betas must be two numbers in \[0, 1\)"):
        build_optimizer(nn.Linear(3, 2), TrainConfig(betas=(0.9, 1.0)))


def test_the_exponential_schedule_rises_evenly_on_a_log_scale():
    schedule = ExponentialSchedule(1e-5, 1.0, steps=6)
    rates = [schedule.lr(s) for s in range(6)]
    assert rates == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert schedule.state_dict() == {}  # a pure function of the step: nothing to checkpoint
    with pytest.raises(ConfigError, match="0 < min_lr < max_lr"):
        ExponentialSchedule(1.0, 1e-3, steps=5)


def test_update_penalises_and_clips_only_the_module_it_is_given():
    a, b = nn.Linear(4, 4), nn.Linear(4, 1)
    opt = torch.optim.SGD(b.parameters(), lr=0.0)
    loss = b(a(torch.ones(2, 4))).sum() * 100
    row = update(b, loss, opt, lr=0.0, config=TrainConfig(clip_norm=0.5, l1=0.1))
    assert set(row) == {"penalty", "grad_norm"}
    assert row["penalty"] == pytest.approx(0.1 * b.weight.abs().sum().item())
    assert torch.nn.utils.clip_grad_norm_(b.parameters(), float("inf")) <= 0.5 + 1e-6
    assert torch.nn.utils.clip_grad_norm_(a.parameters(), float("inf")) > 0.5  # a's gradient is left alone
