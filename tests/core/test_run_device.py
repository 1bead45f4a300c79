"""Where a run trains and loads: the device and precision it records, loading on another device, the capped
final evaluation, and a 2-process run through torchrun that only rank 0 writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import torch
from rich.console import Console

import seqlab
from seqlab.config import load_config
from seqlab.devices import cpu_supports_bf16
from seqlab.errors import ConfigError
from seqlab.run import train

TINY_LM = [
    "data.limit=30000",
    "data.block_size=32",
    "model.embed_dim=16",
    "model.hidden_size=32",
    "train.max_steps=6",
    "train.eval_every=3",
    "train.eval_batches=2",
    "train.checkpoint_every=3",
    "train.batch_size=8",
    "train.device=cpu",
    "train.precision=fp32",  # the recipe's "auto" is bf16 on a CPU that has it
    "sample.max_tokens=10",
]


def _train(run_dir: Path, *extra: str) -> tuple[Path, str]:
    out = StringIO()
    train(load_config("shakespeare-char", overrides=[*TINY_LM, *extra]), run_dir=run_dir, console=Console(file=out))
    return run_dir, out.getvalue()


@pytest.fixture(scope="module")
def fp32_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("fp32") / "run")


@pytest.mark.network("shakespeare")
def test_meta_records_device_precision_and_world(fp32_run):
    run_dir, printed = fp32_run
    meta = json.loads((run_dir / "meta.json").read_text())
    assert (meta["device"], meta["precision"], meta["world_size"], meta["global_batch"]) == ("cpu", "fp32", 1, 8)
    assert "device: cpu (fp32)" in printed


def test_a_bad_device_fails_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="train.device"):
        _train(tmp_path / "run", "train.device=cuda:99")
    assert not (tmp_path / "run").exists()


@pytest.mark.network("shakespeare")
def test_fp32_run_loads_on_the_device_asked_for(fp32_run):
    run_dir, _ = fp32_run
    run = seqlab.load(run_dir, device="cpu")
    assert {p.device.type for p in run.model.parameters()} == {"cpu"}
    assert run.evaluate()["val"]["loss"] == pytest.approx(seqlab.load(run_dir).evaluate()["val"]["loss"])
    with pytest.raises(ConfigError, match='--device "cuda:99" is not available here'):
        seqlab.load(run_dir, device="cuda:99")


@pytest.mark.skipif(not cpu_supports_bf16(), reason="this CPU has no native bf16")
@pytest.mark.network("shakespeare")
def test_bf16_run_records_it_and_loads_in_fp32(tmp_path):
    run_dir, printed = _train(tmp_path / "run", "train.precision=bf16")
    assert json.loads((run_dir / "meta.json").read_text())["precision"] == "bf16"
    assert "device: cpu (bf16)" in printed
    run = seqlab.load(run_dir, device="cpu")
    assert {p.dtype for p in run.model.parameters()} == {torch.float32}  # weights stay fp32; autocast computes bf16
    assert run.evaluate()["val"]["loss"] > 0


@pytest.mark.network("shakespeare")
def test_final_evaluation_is_capped_and_says_so(tmp_path):
    capped, _ = _train(tmp_path / "capped", "train.final_eval_batches=2")
    whole, _ = _train(tmp_path / "whole", "train.final_eval_batches=0")
    capped_summary, whole_summary = (capped / "summary.md").read_text(), (whole / "summary.md").read_text()
    assert "val: final evaluation over 2 of 5 batches" in capped_summary
    assert "val: whole split (5 batches)" in whole_summary and "final evaluation over" not in whole_summary
    capped_metrics = json.loads((capped / "final_metrics.json").read_text())
    whole_metrics = json.loads((whole / "final_metrics.json").read_text())
    assert capped_metrics["val"]["loss"] != whole_metrics["val"]["loss"]  # fewer batches, another mean
    run = seqlab.load(whole)
    assert run.evaluate()["val"]["loss"] == pytest.approx(whole_metrics["val"]["loss"], rel=1e-5)


@pytest.mark.timeout(300)
@pytest.mark.network("shakespeare")
def test_two_processes_write_one_run_folder_from_rank_zero(tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "seqlab", "train", "shakespeare-char", "--run-dir", str(run_dir), "--nproc", "2"]
    command += [f"--set={item}" for item in TINY_LM]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no second folder from rank 1
    meta = json.loads((run_dir / "meta.json").read_text())
    assert (meta["world_size"], meta["global_batch"]) == (2, 16)
    for name in ("config.toml", "tokenizer.json", "model.safetensors", "summary.md", "final_metrics.json"):
        assert (run_dir / name).is_file(), name
    assert (done.stdout + done.stderr).count("device: cpu (fp32)") == 1  # rank 1 prints nothing
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert max(row["step"] for row in rows) == 6 and len({(r["step"], r["split"]) for r in rows}) == len(rows)
    assert seqlab.load(run_dir, device="cpu").evaluate()["val"]["loss"] > 0


@pytest.mark.parametrize(
    ("overrides", "env", "message"),
    [
        (["train.precision=bf16"], {}, 'train.precision must be "fp32" for a GAN'),
        ([], {"RANK": "0", "WORLD_SIZE": "2"}, "a GAN trains in one process"),
    ],
)
def test_the_gan_refuses_torchrun_and_mixed_precision_before_reading_anything(monkeypatch, overrides, env, message):
    from seqlab.tasks import get_task

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = load_config("fashion-dcgan", overrides=overrides)
    reads = []
    monkeypatch.setattr("seqlab.tasks.gan._read", lambda config: reads.append(config))
    with pytest.raises(ConfigError, match=message):
        get_task(config.task).prepare(config)
    assert reads == []  # refused before the images are read or the judge trains
