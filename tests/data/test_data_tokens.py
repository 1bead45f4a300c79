"""Token files: tokenized once in chunks, same ids as encoding the whole text, cached safely, read as windows."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from seqlab.data.readers import read_text
from seqlab.data.tokens import TokenWindows, text_chunks, token_dtype, token_file
from seqlab.errors import DataError
from seqlab.text import BPETokenizer, CharTokenizer, WordTokenizer

LINES = [
    "First Citizen:",
    "Before we proceed any further, hear me speak.",
    "",
    "All:  Speak, speak.\t(twice)",
    "  You are all resolved rather to die than to famish?  ",
    "It's 1,000 times we've said: don't!",
    "첫 줄 한글 텍스트 😀 café",
    "",
    "",
    "THE END.",
]
TEXT = "\n".join(LINES * 6) + "\n"


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer.fit(TEXT, vocab_size=300)


def tokenizers(bpe):
    return {"char": CharTokenizer.fit(TEXT), "word": WordTokenizer.fit(TEXT, lowercase=True), "bpe": bpe}


@pytest.mark.parametrize("name", ["char", "word", "bpe"])
@pytest.mark.parametrize("chunk_chars", [7, 64, 1 << 20])
def test_the_file_holds_the_ids_of_encoding_the_whole_text(tmp_path, bpe, name, chunk_chars):
    tokenizer = tokenizers(bpe)[name]
    tokens = token_file(TEXT, tokenizer, root=tmp_path, chunk_chars=chunk_chars)
    assert isinstance(tokens.ids, np.memmap) and tokens.ids.mode == "r"
    assert tokens.ids.tolist() == tokenizer.encode(TEXT)


def test_a_file_corpus_reads_like_read_text_bom_and_crlf_included(tmp_path, bpe):
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.replace("\n", "\r\n").encode("utf-8"))
    for tokenizer in tokenizers(bpe).values():
        tokens = token_file(path, tokenizer, root=tmp_path / "cache", chunk_chars=5)  # "\r" and "\n" in two blocks
        assert tokens.ids.tolist() == tokenizer.encode(read_text(path))


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet="ab  \n\n\t'.1é", max_size=80), size=st.integers(1, 12))
def test_chunks_join_to_the_text_and_bpe_ids_do_not_depend_on_them(bpe, text, size):
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    chunks = list(text_chunks(iter(pieces), size=size))
    assert "".join(chunks) == text
    assert [i for chunk in chunks for i in bpe.encode(chunk)] == bpe.encode(text)


def test_the_dtype_is_the_smallest_the_vocabulary_fits(tmp_path, bpe):
    assert [token_dtype(n) for n in (5, 256, 257, 65_536, 65_537)] == [
        np.uint8,
        np.uint8,
        np.uint16,
        np.uint16,
        np.uint32,
    ]
    assert token_file(TEXT, CharTokenizer.fit(TEXT), root=tmp_path).ids.dtype == np.uint8
    assert bpe.vocab_size > 256 and token_file(TEXT, bpe, root=tmp_path).ids.dtype == np.uint16


class CountingChars(CharTokenizer):
    """A char tokenizer that counts its encode calls."""

    calls = 0

    def encode(self, text, **kwargs):
        CountingChars.calls += 1
        return super().encode(text, **kwargs)


def test_a_cache_hit_does_not_tokenize_again_and_another_tokenizer_gets_its_own_file(tmp_path):
    tokenizer = CountingChars.fit(TEXT)
    first = token_file(TEXT, tokenizer, root=tmp_path, chunk_chars=100)
    calls = CountingChars.calls
    assert not first.from_cache and calls > 1
    second = token_file(TEXT, tokenizer, root=tmp_path)
    assert second.from_cache and CountingChars.calls == calls
    assert second.path == first.path and second.ids.tolist() == first.ids.tolist()
    other = token_file(TEXT, CountingChars.fit(TEXT, lowercase=True), root=tmp_path)
    assert not other.from_cache and other.path != first.path
    assert sorted(p.suffix for p in (tmp_path / "tokens").iterdir()) == [".bin", ".bin", ".json", ".json"]  # no .part


def test_a_saved_and_reloaded_bpe_tokenizer_hits_the_same_cache(tmp_path, bpe):
    first = token_file(TEXT, bpe, root=tmp_path)
    again = token_file(TEXT, BPETokenizer.from_json(bpe.to_json()), root=tmp_path)
    assert again.from_cache and again.path == first.path


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda bin, manifest: bin.write_bytes(bin.read_bytes()[:-3]), "truncated"),
        (lambda bin, manifest: bin.write_bytes(bytes([bin.read_bytes()[0] ^ 1]) + bin.read_bytes()[1:]), "corrupt"),
        (lambda bin, manifest: manifest.unlink(), "manifest is missing"),
        (lambda bin, manifest: manifest.write_text("{not json"), "manifest is missing or unreadable"),
        (lambda bin, manifest: bin.unlink(), "token file is missing"),
    ],
)
def test_a_damaged_cache_file_is_detected_and_rebuilt(tmp_path, damage, reason):
    tokenizer = CharTokenizer.fit(TEXT)
    built = token_file(TEXT, tokenizer, root=tmp_path)
    damage(built.path, built.path.with_suffix(".json"))
    out = StringIO()
    rebuilt = token_file(TEXT, tokenizer, root=tmp_path, console=Console(file=out, width=200))
    assert not rebuilt.from_cache and rebuilt.ids.tolist() == tokenizer.encode(TEXT)
    assert reason in out.getvalue() and "tokenizing text again" in out.getvalue()
    assert token_file(TEXT, tokenizer, root=tmp_path).from_cache


def test_tokenizing_shows_a_progress_bar_on_the_console_it_is_given(tmp_path):
    path = tmp_path / "shakespeare.txt"
    path.write_text(TEXT, encoding="utf-8")
    out = StringIO()
    token_file(path, CharTokenizer.fit(TEXT), root=tmp_path, console=Console(file=out, width=120), chunk_chars=50)
    assert "tokenizing shakespeare.txt" in out.getvalue() and "100%" in out.getvalue()


def test_a_file_that_is_not_utf8_is_a_data_error(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt is not UTF-8 text: byte 0xe9 at byte offset 3"):
        token_file(path, CharTokenizer.fit("cafe"), root=tmp_path)
    assert list((tmp_path / "tokens").glob(".*.part")) == []


def test_an_empty_corpus_gives_an_empty_file_and_no_windows(tmp_path):
    tokens = token_file("", CharTokenizer.fit("a"), root=tmp_path)
    assert len(tokens) == 0 and len(TokenWindows(tokens.ids, 4)) == 0
    assert token_file("", CharTokenizer.fit("a"), root=tmp_path).from_cache


def test_windows_are_the_shifted_slices_of_the_ids(tmp_path):
    tokenizer = CharTokenizer.fit(TEXT)
    ids = tokenizer.encode(TEXT)
    windows = TokenWindows(token_file(TEXT, tokenizer, root=tmp_path).ids, block_size=16)
    assert len(windows) == (len(ids) - 1) // 16
    for i in (0, 1, len(windows) - 1, -1):
        x, y = windows[i]
        start = (i % len(windows)) * 16
        assert x.tolist() == ids[start : start + 16] and y.tolist() == ids[start + 1 : start + 17]
    assert [w[0].tolist() for w in windows[2:4]] == [windows[2][0].tolist(), windows[3][0].tolist()]
    with pytest.raises(IndexError):
        windows[len(windows)]


def test_random_windows_come_in_batches_and_repeat_with_the_seed(tmp_path):
    ids = token_file(TEXT, CharTokenizer.fit(TEXT), root=tmp_path).ids
    windows = TokenWindows.random(ids, 8, num_batches=3, batch_size=4, seed=5)
    x, y = windows[1]
    assert x.shape == y.shape == (4, 8) and bool((x[:, 1:] == y[:, :-1]).all())
    again = TokenWindows.random(ids, 8, num_batches=3, batch_size=4, seed=5)
    assert all(np.array_equal(windows[i][0], again[i][0]) for i in range(3))
    assert not np.array_equal(windows[0][0], TokenWindows.random(ids, 8, num_batches=3, batch_size=4, seed=6)[0][0])


# ----------------------------------------------------------------------------- the language-model task reads the file

TINY_LM = [
    "data.limit=20000",
    "data.block_size=32",
    "model.embed_dim=16",
    "model.hidden_size=32",
    "train.max_steps=8",
    "train.eval_every=4",
    "train.eval_batches=2",
    "train.checkpoint_every=4",
    "train.batch_size=8",
    "train.device=cpu",
    "sample.max_tokens=10",
]


@pytest.fixture
def token_cache(tmp_path, monkeypatch):
    """Token files go to a fresh folder; datasets still come from the usual cache."""
    monkeypatch.setattr("seqlab.data.tokens.cache_dir", lambda: tmp_path / "cache")
    return tmp_path / "cache" / "tokens"


@pytest.mark.network("shakespeare", "chatterbot", "shakespeare-dialogue")
@pytest.mark.parametrize("recipe", ["shakespeare-char", "chat-lm"])
def test_the_language_model_splits_are_token_positions_of_one_mapped_file(token_cache, recipe):
    from seqlab.config import load_config
    from seqlab.tasks import get_task
    from seqlab.tasks.language_model import _corpus_text

    config = load_config(recipe, overrides=["data.limit=20000"])
    prepared = get_task(config.task).prepare(config)
    splits = prepared.data.splits
    assert all(isinstance(ids, np.memmap) for ids in splits.values())  # no ids held in memory
    text, _ = _corpus_text(config)
    joined = np.concatenate([splits["train"], splits["val"], splits["test"]])
    assert joined.tolist() == prepared.preprocessing.encode(text)  # the same ids as encoding the corpus whole
    n = len(joined)
    assert len(splits["test"]) == int(n * config.data.test_fraction + 1e-9)
    assert len(splits["train"]) == int(n * (1 - config.data.val_fraction - config.data.test_fraction) + 1e-9)
    assert prepared.meta["tokens"] == {k: len(v) for k, v in splits.items()}
    (file,) = token_cache.glob("*.bin")
    again = get_task(config.task).prepare(config, preprocessing=prepared.preprocessing)  # resume, evaluate
    assert [f.name for f in token_cache.glob("*.bin")] == [file.name]  # read from the cache, not rebuilt
    assert all((again.data.splits[k] == splits[k]).all() for k in splits)


@pytest.mark.network("shakespeare")
def test_a_language_model_on_the_token_file_resumes_exactly(token_cache, tmp_path):
    from seqlab.config import load_config
    from seqlab.run import TrainingInterrupted, resume, train
    from seqlab.training import Callback

    class CrashAfter(Callback):
        def on_step_end(self, state, metrics):
            if state.step == 6:  # after the checkpoint of step 4
                raise KeyboardInterrupt

    config = load_config("shakespeare-char", overrides=TINY_LM)
    quiet = Console(file=StringIO())
    whole = train(config, run_dir=tmp_path / "whole", console=quiet)
    with pytest.raises(TrainingInterrupted):
        train(config, run_dir=tmp_path / "crashed", console=quiet, callbacks=[CrashAfter()])
    resumed = resume(tmp_path / "crashed", console=quiet)
    for name, tensor in whole.model.state_dict().items():
        assert (resumed.model.state_dict()[name] == tensor).all(), name
    assert (tmp_path / "whole" / "final_metrics.json").read_text() == (
        tmp_path / "crashed" / "final_metrics.json"
    ).read_text()


@pytest.mark.parametrize(("tokenizer", "sample_chars"), [("char", 50), ("bpe", 0), ("bpe", 3000)])
def test_a_text_file_corpus_is_streamed_with_the_ids_of_reading_it_whole(
    token_cache, tmp_path, monkeypatch, tokenizer, sample_chars
):
    from seqlab.config import load_config
    from seqlab.tasks import get_task
    from seqlab.tasks import language_model as lm
    from seqlab.text import build_tokenizer

    path = tmp_path / "corpus.txt"
    path.write_bytes(b"\xef\xbb\xbf" + (TEXT * 12).replace("\n", "\r\n").encode("utf-8"))
    if sample_chars:  # a char tokenizer ignores the cap; a BPE one is fitted on the first sample_chars only
        monkeypatch.setattr(lm, "FIT_SAMPLE_CHARS", sample_chars)
    monkeypatch.setattr(lm, "load_dataset", lambda *a, **k: pytest.fail("the text file was read whole"))
    vocab = ["data.vocab_size=300"] if tokenizer == "bpe" else []
    overrides = [f'data.dataset="{path}"', f"data.tokenizer={tokenizer}", *vocab]
    config = load_config("shakespeare-char", overrides=overrides)
    prepared = get_task(config.task).prepare(config)
    text = read_text(path)
    n_train = int(len(text) * (1 - config.data.val_fraction - config.data.test_fraction) + 1e-9)
    fitted_on = text[: min(n_train, sample_chars)] if tokenizer == "bpe" and sample_chars else text[:n_train]
    expected = build_tokenizer(tokenizer, [fitted_on], vocab_size=config.data.vocab_size)
    assert prepared.preprocessing.to_json() == expected.to_json()
    splits = prepared.data.splits
    assert np.concatenate([splits["train"], splits["val"], splits["test"]]).tolist() == expected.encode(text)


def test_a_limit_on_a_text_file_reads_only_its_first_characters(token_cache, tmp_path):
    from seqlab.config import load_config
    from seqlab.tasks import get_task

    path = tmp_path / "corpus.txt"
    path.write_text(TEXT * 12, encoding="utf-8")
    overrides = [f'data.dataset="{path}"', "data.limit=2000", "data.block_size=32"]
    config = load_config("shakespeare-char", overrides=overrides)
    prepared = get_task(config.task).prepare(config)
    assert sum(len(ids) for ids in prepared.data.splits.values()) == 2000
    assert prepared.preprocessing.decode(list(prepared.data.splits["train"][:14])) == "First Citizen:"


def test_read_windows_reads_what_indexing_the_map_gives(tmp_path, bpe):
    from seqlab.data.tokens import read_windows

    tokens = token_file(TEXT * 4, bpe, root=tmp_path)  # uint16 ids (vocab 300)
    ids = tokens.ids[7:-5]  # a slice of the map, as a split is
    starts = np.random.default_rng(0).integers(0, len(ids) - 9, size=(3, 4))
    windows = read_windows(ids, starts, 9)
    assert windows.dtype == np.uint16 and windows.shape == (3, 4, 9)
    assert (windows == ids[starts[..., None] + np.arange(9)]).all()
