"""The minilm tokenizer: BERT's word pieces and ids behind seqlab's tokenizer protocol, saved as JSON."""

from __future__ import annotations

import json
import os

import pytest

from seqlab.errors import ConfigError, DataError
from seqlab.text import MiniLMTokenizer, TextTokenizer, build_tokenizer, load_tokenizer

# a BERT-shaped vocabulary: [PAD] 0, 99 unused slots, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103
WORDS = [
    "[PAD]",
    *(f"[unused{i}]" for i in range(99)),
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "film",
    "##s",
    "is",
    "good",
    "bad",
    ",",
    ".",
    "!",
    "un",
    "##like",
    "##ly",
]


@pytest.fixture
def tok() -> MiniLMTokenizer:
    return MiniLMTokenizer.from_vocab(WORDS)


def test_follows_the_protocol_with_berts_special_ids(tok):
    assert isinstance(tok, TextTokenizer)
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 100, 101, 102)
    assert [tok.id_to_token(i) for i in (0, 100, 101, 102)] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    assert tok.vocab_size == len(WORDS) and tok.token_to_id("film") == WORDS.index("film")
    assert tok.token_to_id("cinema") is None


def test_round_trip_lowercases_and_joins_pieces(tok):
    text = "The films is good, unlikely bad!"
    ids = tok.encode(text)
    assert tok.tokenize(text) == ["the", "film", "##s", "is", "good", ",", "un", "##like", "##ly", "bad", "!"]
    assert ids == [WORDS.index(t) for t in tok.tokenize(text)]
    assert tok.decode(ids) == text.lower()
    framed = tok.encode(text, add_bos=True, add_eos=True)
    assert framed == [101, *ids, 102]
    assert tok.decode([*framed, 0, 0]) == text.lower()  # CLS, SEP and PAD are dropped


def test_unknown_words_become_unk_and_stay_visible(tok):
    assert tok.encode("the cinema") == [WORDS.index("the"), 100]
    assert tok.decode(tok.encode("the cinema")) == "the [UNK]"
    assert tok.tokenize("[SEP]") == ["[UNK]", "[UNK]", "[UNK]"]  # a literal "[SEP]" is text, not the special id
    with pytest.raises(DataError, match="outside the minilm vocabulary"):
        tok.decode([len(WORDS)])


def test_the_packages_padding_and_truncation_are_switched_off(tok):
    backend = tok.backend
    backend.enable_padding(length=128)  # what the package's tokenizer.json asks for
    backend.enable_truncation(max_length=8)
    again = MiniLMTokenizer.from_tokenizer_json(backend.to_str())
    assert len(again.encode("the film " * 200)) == 400
    assert json.loads(again.to_json())["tokenizer"]["padding"] is None


def test_json_save_and_load(tok, tmp_path):
    saved = json.loads(tok.to_json())
    assert saved["type"] == "minilm" and saved["tokenizer"]["model"]["type"] == "WordPiece"
    tok.save(tmp_path / "tokenizer.json")
    for source in (tmp_path / "tokenizer.json", tmp_path, tok.to_json()):
        back = load_tokenizer(source)
        assert isinstance(back, MiniLMTokenizer) and back == tok
        assert back.encode("The films, unlikely!") == tok.encode("The films, unlikely!")


def test_bad_vocabularies_and_files_are_reported():
    with pytest.raises(DataError, match=r"BERT's special ids .* this vocabulary gives \[UNK\] id 1"):
        MiniLMTokenizer.from_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    with pytest.raises(DataError, match="appears twice"):
        MiniLMTokenizer.from_vocab(["[PAD]", "a", "a"])
    with pytest.raises(DataError, match='needs a "tokenizer" field'):
        MiniLMTokenizer.from_json('{"type": "minilm", "version": 1}')
    with pytest.raises(DataError, match="not a valid tokenizers file"):
        MiniLMTokenizer.from_json('{"type": "minilm", "version": 1, "tokenizer": {"model": 3}}')


def test_the_vocabulary_cannot_be_cut():
    # checked before anything is fetched
    with pytest.raises(ConfigError, match='data.vocab_size must be 0 with data.tokenizer = "minilm"'):
        build_tokenizer("minilm", ["some text"], vocab_size=20000)


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("SEQLAB_OFFLINE") == "1", reason="SEQLAB_OFFLINE=1")
def test_the_real_minilm_vocabulary():
    tok = build_tokenizer("minilm", ["texts are not used"])
    assert tok.vocab_size == 30522
    assert tok.encode("Hello world") == [7592, 2088]  # bert-base-uncased's ids
    review = "a gripping, beautifully acted film that never lets go."
    assert tok.decode(tok.encode(review)) == review
    assert tok.tokenize("unwatchable") == ["un", "##watch", "##able"]
    assert len(tok.encode("good " * 300)) == 300  # the package truncates to 128; seqlab does not
    assert load_tokenizer(tok.to_json()) == tok
