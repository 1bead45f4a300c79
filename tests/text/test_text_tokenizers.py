"""The protocol tokenizers (char, word, bpe), build_tokenizer and load_tokenizer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqlab.errors import ConfigError, DataError
from seqlab.text import (
    BPETokenizer,
    CharTokenizer,
    JamoTokenizer,
    SyllableTokenizer,
    TextTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
)

CORPUS = [
    "First Citizen: Before we proceed any further, hear me speak.",
    "All: Speak, speak.",
    "한국어 문장도 있어요 😀",
]


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.fit(CORPUS * 3, vocab_size=300)


# ----------------------------------------------------------------------------- char


def test_char_specials_and_sorted_vocabulary():
    tok = CharTokenizer.fit(["bca", "a"])
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
    assert [tok.id_to_token(i) for i in range(tok.vocab_size)] == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c"]
    assert tok.encode("cab", add_bos=True, add_eos=True) == [2, 6, 4, 5, 3]
    assert tok.token_to_id("c") == 6 and tok.token_to_id("z") is None


def test_char_unknown_characters_map_to_unk():
    tok = CharTokenizer.fit("abc")
    assert tok.encode("axb") == [4, 1, 5]
    assert tok.decode([4, 1, 5]) == "a\ufffdb"


def test_char_decode_drops_pad_bos_eos_and_takes_arrays():
    tok = CharTokenizer.fit("ab")
    assert tok.decode([2, 4, 5, 3, 0, 0]) == "ab"
    assert tok.decode(np.array([4, 5])) == "ab"
    with pytest.raises(DataError, match="outside the char vocabulary"):
        tok.decode([99])


def test_char_vocab_size_keeps_most_frequent():
    tok = CharTokenizer.fit("aaabbc", vocab_size=6)
    assert tok.tokenize("abc") == ["a", "b", "c"]
    assert tok.encode("abc") == [4, 5, 1]
    with pytest.raises(ConfigError, match="at least 5"):
        CharTokenizer.fit("abc", vocab_size=2)


def test_char_lowercase():
    tok = CharTokenizer.fit("AbC", lowercase=True)
    assert tok.decode(tok.encode("CAB")) == "cab"


def test_char_corpus_as_one_string():
    # a Corpus arrives as one long string; it is one text, not a list of characters
    assert CharTokenizer.fit("hello") == CharTokenizer.fit(["hello"])


# ----------------------------------------------------------------------------- word


def test_word_wraps_keras_tokenizer():
    tok = WordTokenizer.fit(["The cat sat.", "The dog sat!"], lowercase=True)
    assert tok.keras.word_index == {"<unk>": 1, "the": 2, "sat": 3, "cat": 4, "dog": 5}
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, None, None)
    assert tok.vocab_size == 6
    assert tok.encode("The cat ran") == [2, 4, 1]
    assert tok.tokenize("The cat ran") == ["the", "cat", "ran"]
    assert tok.decode([0, 0, 2, 4, 1]) == "the cat <unk>"
    assert tok.id_to_token(0) == "<pad>" and tok.id_to_token(1) == "<unk>"


def test_word_vocab_size_is_num_words():
    tok = WordTokenizer.fit(["a a a b b c"], vocab_size=3)
    assert tok.vocab_size == 3
    assert tok.encode("a b c") == [2, 1, 1]
    assert tok.token_to_id("b") is None
    assert tok.decode([2, 3]) == "a <unk>"


def test_word_has_no_bos():
    with pytest.raises(ConfigError, match="no BOS"):
        WordTokenizer.fit(["a"]).encode("a", add_bos=True)


def test_word_loads_keras_json():
    keras = Tokenizer(oov_token="<unk>")
    keras.fit_on_texts(["b a b"])
    tok = load_tokenizer(keras.to_json())
    assert isinstance(tok, WordTokenizer)
    assert tok.encode("a b z") == [3, 2, 1]


# ----------------------------------------------------------------------------- bpe


def test_bpe_specials_and_round_trip(bpe):
    assert [bpe.id_to_token(i) for i in range(4)] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert bpe.vocab_size == 300
    text = "Speak, speak! 새로운 글자 🎉\n\tand <pad> literally"
    ids = bpe.encode(text, add_bos=True, add_eos=True)
    assert ids[0] == 2 and ids[-1] == 3
    assert 0 not in ids[1:-1] and 1 not in ids  # a literal "<pad>" is text, never an unknown byte
    assert bpe.decode(ids) == text
    assert len(bpe.tokenize(text)) == len(ids) - 2


def test_bpe_learns_merges(bpe):
    # frequent words become few tokens
    assert len(bpe.encode("speak")) <= 2


def test_bpe_training_is_deterministic(bpe):
    assert BPETokenizer.fit(CORPUS * 3, vocab_size=300).to_json() == bpe.to_json()


def test_bpe_vocab_size_minimum():
    with pytest.raises(ConfigError, match="at least 260"):
        BPETokenizer.fit(CORPUS, vocab_size=100)


def test_bpe_lowercase():
    tok = BPETokenizer.fit(["Hello World"], vocab_size=270, lowercase=True)
    assert tok.decode(tok.encode("HeLLo")) == "hello"
    assert load_tokenizer(tok.to_json()).decode(tok.encode("HeLLo")) == "hello"


# ----------------------------------------------------------------------------- build / load


@pytest.mark.parametrize("name", ["char", "word", "bpe", "syllable", "jamo"])
def test_build_save_load_every_tokenizer(name, tmp_path):
    tok = build_tokenizer(name, CORPUS, vocab_size=300 if name == "bpe" else 0)
    assert isinstance(tok, TextTokenizer)
    assert tok.type == name and tok.pad_id == 0
    path = tmp_path / "run" / "tokenizer.json"
    tok.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["type"] == name
    for source in (path, str(path), path.parent, tok.to_json()):
        back = load_tokenizer(source)
        assert type(back) is type(tok)
        assert back.to_json() == tok.to_json()
        for text in CORPUS:
            assert back.encode(text) == tok.encode(text)
            assert back.decode(back.encode(text)) == tok.decode(tok.encode(text))


def test_build_types():
    assert isinstance(build_tokenizer("syllable", "가나"), SyllableTokenizer)
    assert isinstance(build_tokenizer("jamo", "가나"), JamoTokenizer)


def test_build_unknown_name_lists_choices():
    with pytest.raises(ConfigError, match="choices: bpe, char, jamo, minilm, morpheme, syllable, word"):
        build_tokenizer("wordpiece", CORPUS)


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_tokenizer(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("this is not json", encoding="utf-8")
    with pytest.raises(DataError, match="not JSON"):
        load_tokenizer(bad)
    bad.write_text('{"tokens": []}', encoding="utf-8")
    with pytest.raises(DataError, match='no "type"'):
        load_tokenizer(bad)
    bad.write_text('{"type": "sentencepiece"}', encoding="utf-8")
    with pytest.raises(DataError, match="unknown tokenizer type"):
        load_tokenizer(bad)
    bad.write_text('{"type": "char", "lowercase": false, "tokens": ["a"]}', encoding="utf-8")
    with pytest.raises(DataError, match="starting with <pad>"):
        load_tokenizer(bad)
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError):
        load_tokenizer(bad)


def test_from_json_refuses_another_type():
    with pytest.raises(DataError, match='"char" tokenizer, not a "jamo"'):
        JamoTokenizer.from_json(CharTokenizer.fit("a").to_json())
