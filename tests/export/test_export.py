"""``seqlab export``: every task family's networks go to ONNX, and onnxruntime computes what PyTorch does.

Each family trains a tiny run (a few steps: what is checked is the graph, not the learning), is
exported through the real CLI, and its files are then run with onnxruntime on real inputs of the
task: a greedy loop over the language model's one-step graph writes the same text as
``Run.sample(temperature=0)``, the translator's encoder and decoder step translate as greedy
``predict`` does, the classifier's probabilities equal ``predict``'s.
"""

from __future__ import annotations

import json
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

import seqlab
from seqlab.config import load_config
from seqlab.run import Run, train

ort = pytest.importorskip("onnxruntime", reason="the export extra: pip install 'seqlab[export]'")

TINY = ["train.max_steps=2", "train.eval_every=2", "train.checkpoint_every=2", "train.eval_batches=1"]
TINY += ["train.final_eval_batches=1", "train.batch_size=8", "train.threads=1"]
TEXT = ["data.limit=3000", "model.embed_dim=8", "model.hidden_size=8"]
PAIRS = ["data.limit=80", "data.max_source_len=12", "data.max_target_len=8", "data.samples=1"]
IMAGES = ["data.limit=200", "model.hidden_sizes=[16]"]
GAN = ["data.limit=200", "model.channels=4", "model.noise_dim=8", "model.judge_steps=2", "model.judge_samples=10"]

# name -> (recipe, overrides, the graphs it exports); every task family, both architectures where there are two
FAMILIES = {
    "lm-lstm-2layers": (
        "shakespeare-char",
        [*TEXT, "data.block_size=16", "model.num_layers=2", "sample.max_tokens=5"],
        ["step"],
    ),
    "lm-gru": ("shakespeare-char", [*TEXT, "data.block_size=16", "model.cell=gru", "sample.max_tokens=5"], ["step"]),
    "lm-rnn-scratch": (  # the course equations' cells export as ONNX's fused RNN op (same state_dict)
        "shakespeare-char",
        [*TEXT, "data.block_size=16", "model.cell=rnn", 'model.impl="scratch"', "sample.max_tokens=5"],
        ["step"],
    ),
    "lm-transformer": (
        "shakespeare-transformer",
        ["data.limit=3000", "data.block_size=16", "model.embed_dim=8", "model.num_heads=2", "model.num_layers=1"]
        + ["sample.max_tokens=5"],
        ["window"],
    ),
    "classifier": ("rotten-tomatoes-bilstm", [*TEXT, "data.limit=200", "data.max_len=16"], ["model"]),
    "image-classifier": ("fashion-mlp", IMAGES, ["model"]),
    "seq2seq-bahdanau": (
        "num2words-ko",
        [*PAIRS, "model.embed_dim=8", "model.hidden_size=8"],
        ["encoder", "decoder_step"],
    ),
    "seq2seq-luong-lstm": (
        "num2words-ko",
        [*PAIRS, "model.embed_dim=8", "model.hidden_size=8", "model.cell=lstm", 'model.attention="luong-general"']
        + ["model.bidirectional=true", "model.num_layers=2"],
        ["encoder", "decoder_step"],
    ),
    "seq2seq-transformer": (
        "num2words-ko",
        [*PAIRS, 'model.arch="transformer"', "model.embed_dim=8", "model.num_heads=2", "model.num_layers=1"],
        ["encoder", "decoder"],
    ),
    "forecaster": ("air-passengers-gru", ["model.hidden_size=8", "train.early_stopping=0"], ["model"]),
    "vae": ("fashion-vae", [*IMAGES, "model.latent_dim=2"], ["model", "decoder"]),
    "series-ae": ("co2-anomaly-ae", ["model.hidden_sizes=[8]", "model.latent_dim=2"], ["model"]),
    "gan": ("fashion-dcgan", GAN, ["generator"]),
    "cgan": ("fashion-cgan", GAN, ["generator"]),
    "stylegan": (
        "fashion-stylegan",
        ["data.limit=200", "model.channels=4", "model.noise_dim=8", "model.w_dim=8", "model.mapping_layers=1"]
        + ["model.judge_steps=2", "model.judge_samples=10"],
        ["generator"],
    ),
    "cyclegan": (
        "fashion-cyclegan",
        ["data.limit=400", "model.channels=4", "model.residual_blocks=1", "model.judge_steps=2"]
        + ["model.judge_samples=10"],
        ["a_to_b", "b_to_a"],
    ),
}
DATASETS = {
    "shakespeare-char": "shakespeare",
    "shakespeare-transformer": "shakespeare",
    "rotten-tomatoes-bilstm": "rotten-tomatoes",
    "fashion-mlp": "fashion-mnist",
    "num2words-ko": "num2words-ko",
    "air-passengers-gru": "air-passengers",
    "fashion-vae": "fashion-mnist",
    "co2-anomaly-ae": "co2",
    "fashion-dcgan": "fashion-mnist",
    "fashion-cgan": "fashion-mnist",
    "fashion-stylegan": "fashion-mnist",
    "fashion-cyclegan": "fashion-mnist",
}


def family(name: str):
    return pytest.param(name, marks=pytest.mark.network(DATASETS[FAMILIES[name][0]]))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Train each family once per module, when a test first asks for it."""
    trained: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in trained:
            recipe, overrides, _ = FAMILIES[name]
            config = load_config(recipe, overrides=[*TINY, *overrides])
            run_dir = tmp_path_factory.mktemp(name) / "run"
            trained[name] = train(config, run_dir=run_dir, console=Console(file=StringIO()))
        return trained[name]

    return get


def export(cli, run: Run, out: Path) -> list[dict]:
    result = cli("export", str(run.run_dir), "--out", str(out), "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", [family(name) for name in FAMILIES])
def test_every_family_exports_and_matches_pytorch(name, runs, cli, tmp_path):
    run = runs(name)
    rows = export(cli, run, tmp_path / "onnx")
    assert [row["graph"] for row in rows] == FAMILIES[name][2]
    for row in rows:
        assert Path(row["file"]).is_file() and row["file"].endswith(".onnx")
        assert row["max_abs_diff"] <= 1e-4, row
    saved = run.kind.preprocessing_file
    assert saved is None or (tmp_path / "onnx" / saved).read_bytes() == (run.run_dir / saved).read_bytes()


def greedy_onnx_step(path: Path, prompt: list[int], max_tokens: int) -> list[int]:
    """Greedy decoding with nothing but onnxruntime: the prompt once, then one id at a time."""
    step = session(path)
    names = [i.name for i in step.get_inputs()]
    shape = step.get_inputs()[1].shape  # (L, B, H): L and H are fixed, B is "batch"
    state = [np.zeros((shape[0], 1, shape[2]), dtype=np.float32) for _ in names[1:]]
    ids = np.array([prompt], dtype=np.int64)
    out = []
    for _ in range(max_tokens):
        logits, *state = step.run(None, {"ids": ids, **dict(zip(names[1:], state))})
        out.append(int(logits[0].argmax()))
        ids = np.array([[out[-1]]], dtype=np.int64)
    return out


@pytest.mark.parametrize("name", [family("lm-lstm-2layers"), family("lm-gru"), family("lm-rnn-scratch")])
def test_greedy_text_from_onnxruntime_equals_seqlab_sample(name, runs, cli, tmp_path):
    from seqlab.decode import SamplingParams
    from seqlab.engine import generate

    run = runs(name)
    export(cli, run, tmp_path / "onnx")
    prompt = "ROMEO: "
    ids = greedy_onnx_step(tmp_path / "onnx" / "step.onnx", run.tokenizer.encode(prompt), 60)
    assert ids == list(generate(run.model, run.tokenizer.encode(prompt), SamplingParams(max_tokens=60, temperature=0)))
    expected = "".join(run.sample(prompt, max_tokens=60, temperature=0))
    assert run.tokenizer.decode(ids).replace("\ufffd", "") == expected  # the text stream drops undecodable ids
    sampled = cli("sample", str(run.run_dir), "--prompt", prompt, "--temperature", "0", "-n", "60")
    assert sampled.code == 0 and sampled.out == prompt + expected + "\n"


@pytest.mark.parametrize("name", [family("lm-transformer")])
def test_transformer_window_greedy_equals_sample_within_the_block(name, runs, cli, tmp_path):
    run = runs(name)
    export(cli, run, tmp_path / "onnx")
    window = session(tmp_path / "onnx" / "window.onnx")
    ids = run.tokenizer.encode("KING: ")
    start = len(ids)
    while len(ids) < run.config.data.block_size:  # within one block the window and the KV cache read the same ids
        logits = window.run(None, {"ids": np.array([ids], dtype=np.int64)})[0]
        ids.append(int(logits[0, -1].argmax()))
    expected = "".join(run.sample("KING: ", max_tokens=len(ids) - start, temperature=0))
    assert run.tokenizer.decode(ids[start:]).replace("\ufffd", "") == expected


@pytest.mark.parametrize("name", [family("classifier")])
def test_classifier_probabilities_equal_predict(name, runs, cli, tmp_path):
    from seqlab.data import pad_batch
    from seqlab.tasks.classification import encode_texts

    run = runs(name)
    export(cli, run, tmp_path / "onnx")
    texts = ["a gripping, beautifully acted film", "dull", "not the worst thing i have seen this year, but close"]
    batch = pad_batch(encode_texts(run.tokenizer, texts, run.config.data.max_len), padding=run.config.data.padding)
    logits = session(tmp_path / "onnx" / "model.onnx").run(None, {"ids": batch.ids.numpy(), "mask": batch.mask.numpy()})
    probs = torch.softmax(torch.from_numpy(logits[0]), -1)
    for row, prediction in zip(probs, run.predict(texts)):
        assert row.tolist() == pytest.approx([prediction.probabilities[c] for c in run.meta["classes"]], abs=1e-5)


@pytest.mark.parametrize("name", [family("seq2seq-bahdanau"), family("seq2seq-luong-lstm")])
def test_onnx_encoder_and_decoder_step_translate_as_greedy_predict(name, runs, cli, tmp_path):
    from seqlab.tasks.seq2seq import encode_sources

    run = runs(name)
    export(cli, run, tmp_path / "onnx")
    encoder, step = session(tmp_path / "onnx" / "encoder.onnx"), session(tmp_path / "onnx" / "decoder_step.onnx")
    texts = ["삼백이십일", "구천구백구십구"]
    src, mask = encode_sources(run, texts)
    tok = run.tokenizer
    for i, text in enumerate(texts):
        source = {"src": src[i : i + 1].numpy(), "mask": mask[i : i + 1].numpy()}
        encoded = dict(zip([o.name for o in encoder.get_outputs()], encoder.run(None, source)))
        states = {n: v for n, v in encoded.items() if n in ("h", "c")}
        ids, token = [], tok.bos_id
        for _ in range(run.config.data.max_target_len):
            feed = {"ids": np.array([[token]], dtype=np.int64), "mask": source["mask"], **encoded, **states}
            logits, *new = step.run(None, {k: v for k, v in feed.items() if k in {i.name for i in step.get_inputs()}})
            states = dict(zip(states, new))
            token = int(logits[0].argmax())
            if token == tok.eos_id:
                break
            ids.append(token)
        assert tok.decode(ids) == run.predict([text], beam_width=1)[0].text


@pytest.mark.parametrize("name", [family("gan")])
def test_export_writes_a_single_file_when_out_is_an_onnx_name(name, runs, cli, tmp_path):
    run = runs(name)
    rows = export(cli, run, tmp_path / "g.onnx")
    assert [Path(row["file"]).name for row in rows] == ["g.onnx"]
    noise = np.random.default_rng(0).standard_normal((5, run.model.noise_dim)).astype(np.float32)
    images = session(tmp_path / "g.onnx").run(None, {"noise": noise})[0]
    with torch.no_grad():
        expected = run.model.generator.eval()(torch.from_numpy(noise)).numpy()
    assert images.shape == (5, 1, 28, 28) and np.abs(images - expected).max() < 1e-4


@pytest.mark.parametrize("name", [family("gan")])
def test_export_default_folder_is_inside_the_run(name, runs, cli):
    run = runs(name)
    result = cli("export", str(run.run_dir))
    assert result.code == 0, result.err
    assert (run.run_dir / "export" / "generator.onnx").is_file() and "max abs diff" in result.out


def test_bad_inputs_are_one_line(cli, tmp_path):
    result = cli("export", str(tmp_path), "--format", "tflite")
    assert result.code == 1 and result.err.strip() == 'error: unknown export format "tflite" (choices: onnx)'
    (tmp_path / "notes.txt").write_text("not a run")
    result = cli("export", str(tmp_path))
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1 and "is missing config.toml" in result.err
    result = cli("export", str(tmp_path / "nowhere"))
    assert result.code == 1 and result.err.strip() == f"error: run directory not found: {tmp_path / 'nowhere'}"


@pytest.mark.parametrize("name", [family("gan")])
def test_out_that_is_an_existing_file_is_refused(name, runs, cli, tmp_path):
    taken = tmp_path / "taken.txt"
    taken.write_text("x")
    result = cli("export", str(runs(name).run_dir), "--out", str(taken))
    assert result.code == 1 and "--out must be a folder or a .onnx file" in result.err
    assert taken.read_text() == "x"


def test_a_task_without_graphs_names_the_tasks_that_have_them():
    from seqlab.tasks.base import Task

    class Bare(Task):
        name = "bare"

    with pytest.raises(seqlab.errors.ConfigError, match="a bare run cannot be exported; runs that can: language-model"):
        Bare().export_graphs(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [family("stylegan")])
def test_python_api_leaves_the_model_in_eval_mode(name, runs, tmp_path):
    """The exporter restores the traced module's mode on everything inside it: a model in training mode
    afterwards would mix styles and draw fresh noise in the reference outputs (and in the user's run)."""
    from seqlab.export import export_run

    run = runs(name)
    [result] = export_run(run, tmp_path / "style.onnx")
    assert result.ok and result.path == tmp_path / "style.onnx"
    assert not any(module.training for module in run.model.modules())


@pytest.mark.parametrize("name", [family("gan")])
def test_a_missing_extra_is_one_line_naming_it(name, runs, cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    result = cli("export", str(runs(name).run_dir), "--out", str(tmp_path / "x"))
    assert result.code == 1
    assert result.err.strip() == "error: onnxruntime is not installed; install it with: pip install 'seqlab[export]'"
    assert not (tmp_path / "x").exists()
