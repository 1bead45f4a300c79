"""Device selection and precision: what exists here resolves, what does not is a one-line error."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import seqlab.devices as devices
from seqlab.devices import Precision, available_devices, cpu_supports_bf16, resolve_device, restore_scaler
from seqlab.errors import ConfigError

ONLY_CPU = not torch.cuda.is_available() and not torch.backends.mps.is_available()
only_cpu = pytest.mark.skipif(not ONLY_CPU, reason="this machine has an accelerator")


@only_cpu
def test_auto_resolves_to_the_cpu_on_a_machine_without_accelerators():
    assert resolve_device("auto") == torch.device("cpu")
    assert available_devices() == ["cpu"]


def test_named_devices_resolve():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


@only_cpu
@pytest.mark.parametrize("spec", ["cuda", "cuda:1", "mps"])
def test_an_absent_device_is_a_one_line_error_naming_the_devices_there_are(spec):
    with pytest.raises(ConfigError) as err:
        resolve_device(spec)
    assert str(err.value) == f'train.device "{spec}" is not available here; devices: cpu'


def test_a_name_that_is_no_device_lists_the_choices_under_the_key_given():
    with pytest.raises(ConfigError, match=r'^--device must be one of auto, cpu, cuda, cuda:N, mps \(got "gpu"\)$'):
        resolve_device("gpu", key="--device")
    with pytest.raises(ConfigError, match="must be one of"):
        resolve_device("cuda:x")


def test_fp16_runs_on_cuda_only():
    with pytest.raises(ConfigError, match=r'^train.precision "fp16" needs a CUDA device \(the device is cpu\)'):
        Precision.resolve("fp16", torch.device("cpu"))
    with pytest.raises(ConfigError, match='"fp16" needs a CUDA device'):
        Precision.resolve("fp16", torch.device("mps"))
    with pytest.raises(ConfigError, match=r"must be one of auto, fp32, bf16, fp16 \(got \"fp8\"\)"):
        Precision.resolve("fp8", torch.device("cpu"))


def test_bf16_on_a_cpu_without_native_bf16_is_refused(monkeypatch):
    monkeypatch.setattr(devices, "cpu_supports_bf16", lambda: False)
    with pytest.raises(ConfigError, match='"bf16" needs a CPU with native bf16'):
        Precision.resolve("bf16", torch.device("cpu"))
    with pytest.raises(ConfigError, match='"bf16" is not supported on mps'):
        Precision.resolve("bf16", torch.device("mps"))


def one_step(precision: Precision) -> tuple[nn.Linear, torch.Tensor]:
    """One SGD step of a seeded Linear under ``precision``, through the scaler as the loop will do it."""
    torch.manual_seed(0)
    model = nn.Linear(16, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = precision.grad_scaler()
    x, y = torch.randn(8, 16), torch.randn(8, 4)
    with precision.autocast():
        out = model(x)
        loss = ((out.float() - y) ** 2).mean()
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    scaler.step(optimizer)
    scaler.update()
    return model, out


def test_fp32_is_plain_float32_and_its_scaler_passes_through():
    cpu = torch.device("cpu")
    model, out = one_step(Precision.resolve("fp32", cpu))
    torch.manual_seed(0)
    plain = nn.Linear(16, 4)
    x, y = torch.randn(8, 16), torch.randn(8, 4)
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.1)
    ((plain(x) - y) ** 2).mean().backward()
    optimizer.step()
    assert out.dtype == torch.float32
    torch.testing.assert_close(model.weight, plain.weight, rtol=0, atol=0)
    scaler = Precision.resolve("fp32", cpu).grad_scaler()
    assert not scaler.is_enabled() and scaler.state_dict() == {}
    restore_scaler(scaler, {})  # a checkpoint without scaler state
    assert scaler.state_dict() == {}


@pytest.mark.skipif(not devices.cpu_supports_bf16(), reason="this CPU has no native bf16")
def test_bf16_on_this_cpu_computes_in_bf16_and_keeps_float32_weights_close_to_fp32():
    cpu = torch.device("cpu")
    bf16 = Precision.resolve("bf16", cpu)
    assert bf16.dtype == torch.bfloat16 and not bf16.grad_scaler().is_enabled()
    model, out = one_step(bf16)
    reference, _ = one_step(Precision.resolve("fp32", cpu))
    assert out.dtype == torch.bfloat16
    assert model.weight.dtype == torch.float32 and model.weight.grad.dtype == torch.float32
    torch.testing.assert_close(model.weight, reference.weight, rtol=0, atol=2e-2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fp16_on_cuda_scales_the_loss_and_its_state_round_trips():
    fp16 = Precision.resolve("fp16", resolve_device("cuda"))
    scaler = fp16.grad_scaler()
    assert scaler.is_enabled()
    state = scaler.state_dict()
    fresh = fp16.grad_scaler()
    restore_scaler(fresh, state)
    assert fresh.state_dict() == state


def test_auto_precision_is_bf16_exactly_where_the_device_computes_it():
    cpu = torch.device("cpu")
    assert Precision.resolve("auto", cpu).name == ("bf16" if cpu_supports_bf16() else "fp32")
