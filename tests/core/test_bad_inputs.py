"""Bad inputs, table-driven: each ends in one line that names the problem, and an existing run is left byte-identical.

A tiny language-model run is trained once per module. Every case hashes its files (and, for the
cases that train into a copy of it with ``--force``, the copy's files) before and after, runs the
CLI in-process or the Python API, and asserts the exit code, a single-line message that names the
problem, and no traceback (a traceback would be an exception escaping ``cli``, failing the test).
The HTTP fields have their own table in tests/serve/test_serve_limits.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

pytestmark = pytest.mark.network("shakespeare")

TINY_LM = [
    "data.limit=20000",
    "data.block_size=16",
    "model.embed_dim=8",
    "model.hidden_size=16",
    "model.num_layers=1",
    "train.max_steps=4",
    "train.eval_every=2",
    "train.eval_batches=1",
    "train.checkpoint_every=2",
    "train.batch_size=4",
    "sample.max_tokens=8",
]


def hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> digest)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory) -> Path:
    from seqlab.config import load_config
    from seqlab.run import train

    run_dir = tmp_path_factory.mktemp("bad-inputs") / "run"
    train(load_config("shakespeare-char", overrides=TINY_LM), run_dir=run_dir, console=Console(file=StringIO()))
    return run_dir


@pytest.fixture
def work(lm_run, tmp_path) -> dict[str, Path]:
    """A copy of the run to train into with --force, and a folder for bad files."""
    copy = tmp_path / "copy"
    shutil.copytree(lm_run, copy, ignore=shutil.ignore_patterns(".lock"))
    return {"run": lm_run, "copy": copy, "tmp": tmp_path}


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def check_cli(cli, work, args: list[str], needles: tuple[str, ...], code: int = 1) -> None:
    before, before_copy = hashes(work["run"]), hashes(work["copy"])
    fill = {"run": str(work["run"]), "copy": str(work["copy"]), "tmp": str(work["tmp"])}
    result = cli(*[a.format(**fill) for a in args])
    assert result.code == code, (result.code, result.out, result.err)
    line = one_line(result.err)
    for needle in needles:
        assert needle.lower() in line.lower(), (needle, line)
    assert hashes(work["run"]) == before
    assert hashes(work["copy"]) == before_copy


# ----------------------------------------------------------------------------- configs through --set

TRAIN_INTO_COPY = [
    "train",
    "shakespeare-char",
    "--force",
    "--run-dir",
    "{copy}",
    *sum((["--set", s] for s in TINY_LM), []),
]

SET_CASES: list[tuple[str, tuple[str, ...]]] = [
    ("train.lr=nan", ("train.lr", "nan")),
    ("train.lr=inf", ("train.lr", "inf")),
    ("train.lr=-inf", ("train.lr",)),
    ("train.lr=0", ("train.lr", "greater than 0")),
    ("train.lr=-1e-3", ("train.lr",)),
    ("train.lr=fast", ("train.lr", "fast")),
    ("train.batch_size=true", ("train.batch_size", "true")),
    ("train.batch_size=0", ("train.batch_size", "0")),
    ("train.batch_size=-4", ("train.batch_size", "-4")),
    ("train.batch_size=1.5", ("train.batch_size", "1.5")),
    ("train.batch_size=1000000", ("batch_size", "1000000")),
    ("train.max_steps=false", ("train.max_steps", "false")),
    ("train.max_steps=-1", ("train.max_steps",)),
    ("train.max_epochs=0", ("train.max_epochs",)),
    ("train.max_time=nan", ("train.max_time",)),
    ("train.max_time=inf", ("train.max_time",)),
    ('train.max_time="soon"', ("soon",)),
    ("train.seed=-1", ("train.seed", "-1")),
    ("train.seed=18446744073709551616", ("train.seed",)),
    ("train.seed=true", ("train.seed", "true")),
    ("train.seed=1.5", ("train.seed",)),
    ("train.momentum=1.0", ("train.momentum",)),
    ("train.betas=[0.9]", ("train.betas",)),
    ("train.betas=[nan, 0.999]", ("train.betas",)),
    ("train.weight_decay=inf", ("train.weight_decay",)),
    ("train.clip_norm=nan", ("train.clip_norm",)),
    ("train.gamma=0", ("train.gamma",)),
    ("train.gamma=2", ("train.gamma",)),
    ("train.eval_every=0", ("train.eval_every",)),
    ("train.checkpoint_every=true", ("train.checkpoint_every",)),
    ("train.keep_checkpoints=0", ("train.keep_checkpoints",)),
    ("train.threads=-1", ("train.threads",)),
    ("train.optimizer=adamm", ("train.optimizer", "adamm")),
    ("train.precision=fp8", ("train.precision", "fp8")),
    ("train.lrr=0.1", ("lrr", "lr")),
    ("model.hidden_size=0", ("model.hidden_size",)),
    ("model.hidden_size=true", ("model.hidden_size", "true")),
    ("model.hidden_size=nan", ("model.hidden_size",)),
    ("model.hidden_size=1000000000", ("hidden_size", "memory")),
    ("model.embed_dim=1000000000", ("embed_dim", "memory")),
    ("model.num_layers=100000000", ("num_layers", "memory")),
    ("model.dropout=nan", ("model.dropout",)),
    ("model.dropout=1.0", ("model.dropout",)),
    ("model.dropout=-0.1", ("model.dropout",)),
    ("model.cell=lstn", ("model.cell", "lstn")),
    ("model.bidirectional=2", ("model.bidirectional",)),
    ("data.block_size=1", ("data.block_size",)),
    ("data.block_size=true", ("data.block_size",)),
    ("data.block_size=100000000", ("block_size",)),
    ("data.vocab_size=1000000000000", ("vocab_size",)),
    ("data.val_fraction=nan", ("data.val_fraction",)),
    ("data.val_fraction=1.0", ("data.val_fraction",)),
    ("data.limit=-5", ("data.limit",)),
    ("data.tokenizer=chars", ("data.tokenizer", "chars")),
    ("sample.temperature=nan", ("sample.temperature",)),
    ("sample.temperature=0", ("sample.temperature",)),
    ("sample.top_p=inf", ("sample.top_p",)),
    ("sample.top_p=0", ("sample.top_p",)),
    ("sample.max_tokens=0", ("sample.max_tokens",)),
    ("sample.max_tokens=true", ("sample.max_tokens",)),
    ("sample.top_k=-1", ("sample.top_k",)),
    ("name=../escape", ("name",)),
    ("name=/abs", ("name",)),
    ("task=nope", ("task", "nope")),
    ("nonsense", ("section.key=value",)),
    ("data.dataset=no-such-dataset", ("no-such-dataset",)),
]


@pytest.mark.parametrize(("override", "needles"), SET_CASES, ids=[c[0] for c in SET_CASES])
def test_bad_set_value(cli, work, override, needles):
    check_cli(cli, work, [*TRAIN_INTO_COPY, "--set", override], needles)


# ----------------------------------------------------------------------------- config and data files


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


RECIPE = (Path(__file__).parents[2] / "src/seqlab/recipes/shakespeare-char.toml").read_text(encoding="utf-8")
MINIMAL = 'name = "x"\ntask = "language-model"\n[data]\ndataset = "shakespeare"\n'

FILE_CASES: list[tuple[str, Callable[[Path], list[str]], tuple[str, ...]]] = [
    (
        "config-latin1",
        lambda tmp: ["train", str(_write(tmp / "c.toml", "name = 'caf\xe9'\n".encode("latin-1")))],
        ("c.toml", "utf-8"),
    ),
    ("config-binary", lambda tmp: ["train", str(_write(tmp / "b.toml", bytes(range(256))))], ("b.toml",)),
    ("config-not-toml", lambda tmp: ["train", str(_write(tmp / "n.toml", b"[data\nx = 1"))], ("n.toml", "toml")),
    ("config-missing", lambda tmp: ["train", str(tmp / "absent.toml")], ("absent.toml",)),
    (
        "config-nan",
        lambda tmp: ["train", str(_write(tmp / "nan.toml", (MINIMAL + "[train]\nlr = nan\n").encode()))],
        ("train.lr", "nan"),
    ),
    (
        "config-bool-int",
        lambda tmp: [
            "train",
            str(_write(tmp / "bool.toml", (MINIMAL + "[train]\nbatch_size = true\n").encode())),
        ],
        ("train.batch_size", "true"),
    ),
    (
        "config-unknown-section",
        lambda tmp: ["train", str(_write(tmp / "sec.toml", (RECIPE + "\n[extra]\na = 1\n").encode()))],
        ("extra",),
    ),
    (
        "config-section-not-table",
        lambda tmp: ["train", str(_write(tmp / "tab.toml", b'name = "x"\ntask = "language-model"\ntrain = 3\n'))],
        ("train",),
    ),
    ("config-no-task", lambda tmp: ["train", str(_write(tmp / "nt.toml", b'name = "x"\n'))], ("task",)),
    (
        "data-latin1",
        lambda tmp: [*TRAIN_INTO_COPY, "--data", str(_write(tmp / "t.txt", "caf\xe9 ".encode("latin-1") * 4000))],
        ("t.txt", "utf-8"),
    ),
    (
        "data-binary",
        lambda tmp: [*TRAIN_INTO_COPY, "--data", str(_write(tmp / "bin.txt", bytes(range(256)) * 100))],
        ("bin.txt",),
    ),
    ("data-empty", lambda tmp: [*TRAIN_INTO_COPY, "--data", str(_write(tmp / "empty.txt", b""))], ("empty.txt",)),
    (
        "data-too-short-for-block",
        lambda tmp: [*TRAIN_INTO_COPY, "--data", str(_write(tmp / "short.txt", b"hello world\n"))],
        ("block_size",),
    ),
    ("data-missing", lambda tmp: [*TRAIN_INTO_COPY, "--data", str(tmp / "nothere.txt")], ("nothere.txt",)),
    ("data-folder", lambda tmp: [*TRAIN_INTO_COPY, "--data", str(_folder(tmp / "adir"))], ("adir",)),
    (
        "run-dir-under-file",
        lambda tmp: ["train", "shakespeare-char", "--run-dir", str(_write(tmp / "f", b"x") / "run")],
        ("f",),
    ),
    (
        "resume-not-a-run",
        lambda tmp: ["train", "--resume", str(tmp)],
        ("config.toml",),
    ),
]


@pytest.mark.parametrize(("make", "needles"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_bad_file(cli, work, make, needles):
    check_cli(cli, work, make(work["tmp"]), needles)


# ----------------------------------------------------------------------------- run folders and checkpoints


def _break(copy: Path, name: str, data: bytes | None) -> None:
    if data is None:
        (copy / name).unlink()
    else:
        (copy / name).write_bytes(data)


RUN_CASES: list[tuple[str, str, bytes | None, tuple[str, ...]]] = [
    ("no-weights", "model.safetensors", None, ("model.safetensors",)),
    ("truncated-weights", "model.safetensors", b"\x10\x00\x00", ("model.safetensors",)),
    ("no-meta", "meta.json", None, ("meta.json",)),
    ("meta-not-json", "meta.json", b"{", ("meta.json",)),
    ("meta-not-object", "meta.json", b"[1, 2]", ("meta.json",)),
    ("meta-no-vocab", "meta.json", b"{}", ("meta.json", "vocab_size")),
    ("meta-vocab-string", "meta.json", b'{"vocab_size": "many"}', ("meta.json", "vocab_size")),
    ("meta-vocab-bool", "meta.json", b'{"vocab_size": true}', ("meta.json", "vocab_size")),
    ("no-config", "config.toml", None, ("config.toml",)),
    ("config-latin1", "config.toml", "name = 'caf\xe9'\n".encode("latin-1"), ("config.toml",)),
    ("config-other-size", "config.toml", None, ("model.safetensors",)),
    ("tokenizer-garbage", "tokenizer.json", b"\xff\xfe\x00", ("tokenizer.json",)),
]


@pytest.mark.parametrize(("name", "data", "needles"), [c[1:] for c in RUN_CASES], ids=[c[0] for c in RUN_CASES])
@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_bad_run_folder(cli, work, name, data, needles, command):
    copy = work["copy"]
    if needles == ("model.safetensors",) and name == "config.toml":  # the weights are of another size
        text = (copy / "config.toml").read_text(encoding="utf-8").replace("hidden_size = 16", "hidden_size = 24")
        (copy / "config.toml").write_text(text, encoding="utf-8")
    else:
        _break(copy, name, data)
    args = ["sample", "{copy}", "-n", "3"] if command == "sample" else ["evaluate", "{copy}"]
    check_cli(cli, work, args, needles)


def _weights(copy: Path, change: Callable[[dict], dict]) -> None:
    from safetensors.torch import load_file, save_file

    save_file(change(load_file(str(copy / "model.safetensors"))), str(copy / "model.safetensors"))


def _rename_first(state: dict) -> dict:
    first = next(iter(state))
    state["renamed." + first] = state.pop(first)
    return state


def _nan_first(state: dict) -> dict:
    first = next(iter(state))
    state[first] = state[first].clone().fill_(float("nan"))
    return state


def _drop_first(state: dict) -> dict:
    state.pop(next(iter(state)))
    return state


def _reshape_first(state: dict) -> dict:
    first = next(iter(state))
    state[first] = state[first].flatten()[:-1].clone()
    return state


WEIGHT_CASES = [
    ("renamed-key", _rename_first, ("model.safetensors", "renamed.", "needs")),
    ("nan-weight", _nan_first, ("model.safetensors", "finite")),
    ("missing-key", _drop_first, ("model.safetensors", "missing")),
    ("wrong-shape", _reshape_first, ("model.safetensors", "shape")),
]


@pytest.mark.parametrize(("change", "needles"), [c[1:] for c in WEIGHT_CASES], ids=[c[0] for c in WEIGHT_CASES])
def test_bad_weights(cli, work, change, needles):
    _weights(work["copy"], change)
    check_cli(cli, work, ["sample", "{copy}", "-n", "3"], needles)


def _checkpoint_dirs(copy: Path) -> list[Path]:
    return sorted(p for p in (copy / "checkpoints").iterdir() if p.is_dir())


def _edit_config(copy: Path, old: str, new: str) -> None:
    """Change the copy's config.toml (and give it more steps, so a resume has work left)."""
    text = (copy / "config.toml").read_text(encoding="utf-8")
    assert old in text and "max_steps = 4" in text
    text = text.replace(old, new).replace("max_steps = 4", "max_steps = 8")
    (copy / "config.toml").write_text(text, encoding="utf-8")


def test_resume_with_other_model_is_one_line(cli, work):
    _edit_config(work["copy"], "hidden_size = 16", "hidden_size = 24")
    check_cli(cli, work, ["train", "--resume", "{copy}"], ("checkpoints", "has shape"))


def test_resume_with_other_optimizer_is_one_line(cli, work):
    _edit_config(work["copy"], 'optimizer = "adamw"', 'optimizer = "sgd"')
    check_cli(cli, work, ["train", "--resume", "{copy}"], ("checkpoints", "train.optimizer"))


# ----------------------------------------------------------------------------- sampling arguments, CLI and API

SAMPLE_CLI_CASES: list[tuple[list[str], tuple[str, ...], int]] = [
    (["-n", "0"], ("max_tokens",), 1),
    (["-t", "nan"], ("temperature",), 1),
    (["-t", "inf"], ("temperature",), 1),
    (["-t", "-1"], ("temperature",), 1),
    (["--top-p", "nan"], ("top_p",), 1),
    (["--top-p", "0"], ("top_p",), 1),
    (["--top-p", "1.5"], ("top_p",), 1),
    (["--top-k", "-1"], ("top_k",), 1),
    (["-t", "1e999"], ("temperature",), 1),
    (["--seed", "99999999999999999999999"], ("seed",), 1),
    (["--frequency-penalty", "nan"], ("frequency_penalty",), 1),
    (["--presence-penalty", "3"], ("presence_penalty",), 1),
]


@pytest.mark.parametrize(("extra", "needles", "code"), SAMPLE_CLI_CASES, ids=[" ".join(c[0]) for c in SAMPLE_CLI_CASES])
def test_bad_sample_option(cli, work, extra, needles, code):
    check_cli(cli, work, ["sample", "{run}", "-p", "KING", *extra], needles, code)


SAMPLE_API_CASES: list[tuple[dict, tuple[str, ...]]] = [
    ({"max_tokens": 0}, ("max_tokens",)),
    ({"max_tokens": True}, ("max_tokens",)),
    ({"max_tokens": 2.5}, ("max_tokens",)),
    ({"temperature": float("nan")}, ("temperature",)),
    ({"temperature": float("inf")}, ("temperature",)),
    ({"top_p": float("nan")}, ("top_p",)),
    ({"top_k": True}, ("top_k",)),
    ({"seed": "3"}, ("seed",)),
    ({"seed": 2**64}, ("seed",)),
    ({"seed": True}, ("seed",)),
    ({"prompt": 42}, ("prompt",)),
    ({"prompt": b"bytes"}, ("prompt",)),
]


@pytest.mark.parametrize(("kwargs", "needles"), SAMPLE_API_CASES, ids=[repr(c[0]) for c in SAMPLE_API_CASES])
def test_bad_sample_argument_in_python(lm_run, kwargs, needles):
    import seqlab
    from seqlab.errors import SeqlabError

    before = hashes(lm_run)
    run = seqlab.load(lm_run)
    prompt = kwargs.pop("prompt", "KING")
    with pytest.raises(SeqlabError) as caught:
        list(run.sample(prompt, **{"max_tokens": 3, **kwargs}))
    line = one_line(str(caught.value))
    for needle in needles:
        assert needle in line
    assert hashes(lm_run) == before


TRAIN_API_CASES: list[tuple[list[str], tuple[str, ...]]] = [
    (["train.lr=nan"], ("train.lr",)),
    (["train.batch_size=true"], ("train.batch_size",)),
    (["train.seed=-3"], ("train.seed",)),
]


@pytest.mark.parametrize(("overrides", "needles"), TRAIN_API_CASES, ids=[c[0][0] for c in TRAIN_API_CASES])
def test_bad_config_in_python(lm_run, overrides, needles):
    from seqlab.config import load_config
    from seqlab.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config("shakespeare-char", overrides=overrides)
    line = one_line(str(caught.value))
    assert all(n in line for n in needles)


def test_predict_on_language_model_says_which_command(cli, work):
    check_cli(cli, work, ["predict", "{run}", "KING"], ("sample",))


def test_meta_json_is_checked_by_load(lm_run, tmp_path):
    import seqlab
    from seqlab.errors import CheckpointError

    copy = tmp_path / "c"
    shutil.copytree(lm_run, copy, ignore=shutil.ignore_patterns(".lock"))
    (copy / "meta.json").write_text(json.dumps({"vocab_size": -3}), encoding="utf-8")
    with pytest.raises(CheckpointError, match="meta.json"):
        seqlab.load(copy)


TINY_IMAGES = ["train.max_steps=4", "train.eval_every=2", "train.checkpoint_every=2", "train.batch_size=16"]


@pytest.mark.network("fashion-mnist", "co2")
@pytest.mark.parametrize(
    ("recipe", "sizes", "command"),
    [
        ("fashion-mlp", ["model.hidden_sizes=[8]", "data.limit=200"], "seqlab evaluate"),
        ("fashion-anomaly", ["model.hidden_sizes=[8]", "model.latent_dim=2", "data.limit=200"], "seqlab anomaly"),
        ("co2-anomaly-ae", ["model.hidden_sizes=[8]", "model.latent_dim=2"], "seqlab anomaly"),
    ],
)
def test_predict_on_image_and_series_runs_names_the_command_and_anomaly_takes_both_recipes(
    cli, tmp_path, recipe, sizes, command
):
    run_dir = tmp_path / "run"
    sets = [a for item in (*TINY_IMAGES, *sizes) for a in ("--set", item)]
    trained = cli("train", recipe, *sets, "--run-dir", str(run_dir))
    assert trained.code == 0, trained.err
    before = hashes(run_dir)
    result = cli("predict", str(run_dir), "a text")
    assert result.code == 1 and command in one_line(result.err)
    if "anomaly" in recipe:  # the README lists both next to `seqlab anomaly`
        scored = cli("anomaly", str(run_dir), "--percentile", "95")
        assert scored.code == 0 and "ROC-AUC" in scored.out, scored.err
    assert hashes(run_dir) == before
