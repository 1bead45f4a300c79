"""Data-parallel training with 2 real CPU processes (gloo), started by torchrun as seqlab starts it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import textwrap

import pytest
import torch

from seqlab.distributed import DistributedContext, shard, torchrun_argv
from seqlab.errors import ConfigError

WORKER = textwrap.dedent(
    '''
    """One rank: shard an epoch, reduce metrics, and train a Linear under DDP on its shard."""
    import json
    import sys
    from pathlib import Path

    import torch
    from torch import nn

    from seqlab.distributed import DistributedContext, shard

    STEPS, ITEMS, ROWS = 3, 7, 4  # 7 items over 2 ranks: the 7th is dropped


    def epoch_items():
        """The epoch every rank computes alike: (x (ROWS, 4), y (ROWS, 2)) micro-batches."""
        generator = torch.Generator().manual_seed(1)
        return [(torch.randn(ROWS, 4, generator=generator), torch.randn(ROWS, 2, generator=generator))
                for _ in range(ITEMS)]


    def make_model_and_optimizer():
        torch.manual_seed(0)
        model = nn.Linear(4, 2)
        return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


    def step(model, optimizer, x, y):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss.item()


    def main(out):
        torch.set_num_threads(1)
        ctx = DistributedContext.from_env()
        ctx.init(torch.device("cpu"))
        mine = shard(list(range(ITEMS)), ctx.rank, ctx.world_size)
        mean = ctx.all_reduce_mean({"loss": ctx.rank + 1.0, "accuracy": 10.0 * ctx.rank})
        weighted = ctx.all_reduce_mean({"loss": ctx.rank + 1.0}, weight=ctx.rank + 1)
        model, optimizer = make_model_and_optimizer()
        ddp = nn.parallel.DistributedDataParallel(model)
        items = shard(epoch_items(), ctx.rank, ctx.world_size)
        losses = [step(ddp, optimizer, *items[i]) for i in range(STEPS)]
        ctx.barrier()
        result = {
            "rank": ctx.rank, "world": ctx.world_size, "is_main": ctx.is_main, "shard": list(mine),
            "mean": mean, "weighted": weighted, "losses": losses,
            "weight": model.weight.tolist(), "bias": model.bias.tolist(),
        }
        (Path(out) / f"rank{ctx.rank}.json").write_text(json.dumps(result))
        ctx.destroy()


    if __name__ == "__main__":
        main(sys.argv[1])
    '''
)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Run the worker in 2 processes through the argv ``seqlab train --nproc 2`` uses; each rank's JSON result."""
    folder = tmp_path_factory.mktemp("ddp")
    (folder / "ddp_worker.py").write_text(WORKER)
    out = folder / "out"
    out.mkdir()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])),
    }
    argv = torchrun_argv([str(out)], nproc=2, module="ddp_worker")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    spec = importlib.util.spec_from_file_location("ddp_worker", folder / "ddp_worker.py")
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    return worker, [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


def test_the_ranks_see_their_place_and_their_shards_cover_the_epoch_once(ranks):
    _, (zero, one) = ranks
    assert (zero["rank"], zero["world"], zero["is_main"]) == (0, 2, True)
    assert (one["rank"], one["world"], one["is_main"]) == (1, 2, False)
    assert zero["shard"] == [0, 2, 4] and one["shard"] == [1, 3, 5]  # same length; item 6 dropped on both
    assert sorted(zero["shard"] + one["shard"]) == list(range(6))


def test_all_reduce_mean_averages_the_metrics_over_the_ranks(ranks):
    _, results = ranks
    for result in results:
        assert result["mean"] == {"accuracy": 5.0, "loss": 1.5}
        assert result["weighted"]["loss"] == pytest.approx((1 * 1.0 + 2 * 2.0) / 3)


def test_ddp_on_shards_gives_identical_ranks_and_the_weights_of_one_process_with_the_global_batch(ranks):
    worker, (zero, one) = ranks
    assert zero["weight"] == one["weight"] and zero["bias"] == one["bias"]
    model, optimizer = worker.make_model_and_optimizer()
    items = worker.epoch_items()
    global_losses = []
    for i in range(worker.STEPS):
        (xa, ya), (xb, yb) = items[2 * i], items[2 * i + 1]  # the global batch of step i: one item per rank
        global_losses.append(worker.step(model, optimizer, torch.cat([xa, xb]), torch.cat([ya, yb])))
    torch.testing.assert_close(torch.tensor(zero["weight"]), model.weight.detach(), rtol=0, atol=1e-6)
    torch.testing.assert_close(torch.tensor(zero["bias"]), model.bias.detach(), rtol=0, atol=1e-6)
    rank_mean = [(a + b) / 2 for a, b in zip(zero["losses"], one["losses"])]
    assert rank_mean == pytest.approx(global_losses, abs=1e-6)


def test_a_single_process_is_rank_0_of_1_and_everything_is_a_no_op():
    ctx = DistributedContext.from_env({})
    assert (ctx.rank, ctx.world_size, ctx.is_main, ctx.is_distributed) == (0, 1, True, False)
    ctx.init(torch.device("cpu"))
    ctx.barrier()
    assert not torch.distributed.is_initialized()
    assert ctx.all_reduce_mean({"b": 1, "a": 2.5}) == {"a": 2.5, "b": 1.0}
    assert list(shard("abc", 0, 1)) == ["a", "b", "c"]
    ctx.destroy()


def test_torchrun_variables_are_read_and_checked():
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}
    ctx = DistributedContext.from_env(env)
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.master_addr, ctx.master_port) == (3, 4, 1, "10.0.0.1", 29500)
    assert ctx.device(torch.device("cuda")) == torch.device("cuda", 1)
    assert ctx.device(torch.device("cuda", 0)) == torch.device("cuda", 0)
    assert ctx.device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ConfigError, match='WORLD_SIZE must be a whole number \\(got "two"\\)'):
        DistributedContext.from_env({"WORLD_SIZE": "two"})
    with pytest.raises(ConfigError, match="RANK=4 must lie in 0..3"):
        DistributedContext.from_env({"RANK": "4", "WORLD_SIZE": "4"})


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [0, 1, 7, 12])
def test_shards_have_one_length_and_together_cover_the_first_whole_rounds_exactly_once(n, world):
    shards = [shard(range(n), r, world) for r in range(world)]
    assert {len(s) for s in shards} == {n // world}
    covered = [s[i] for i in range(n // world) for s in shards]  # step by step, rank by rank
    assert covered == list(range(n // world * world))
    assert all(list(s[-2:]) == list(s)[-2:] for s in shards)
    with pytest.raises(IndexError):
        shards[0][n // world]


def test_the_launcher_command_is_torchruns():
    argv = torchrun_argv(["train", "shakespeare-char", "--set", "train.max_steps=2"], nproc=2)
    assert argv[1:] == [
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--standalone",
        "-m",
        "seqlab",
        "train",
        "shakespeare-char",
        "--set",
        "train.max_steps=2",
    ]
    with pytest.raises(ConfigError, match="needs --rdzv-endpoint"):
        torchrun_argv(["train", "x"], nproc=2, nnodes=2)
    with pytest.raises(ConfigError, match="at least 1"):
        torchrun_argv(["train", "x"], nproc=0)
