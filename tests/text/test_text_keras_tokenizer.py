"""Golden tests for the Keras-compatible Tokenizer: each test names the Keras quirk it pins.

Expected values are written out by hand from the legacy Keras implementation's documented
behaviour (keras.preprocessing.text / keras.src.legacy.preprocessing.text).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict

import numpy as np
import pytest

from seqlab.errors import DataError
from seqlab.text import DEFAULT_FILTERS, Tokenizer, text_to_word_sequence, tokenizer_from_json

DOCS = ["The cat sat on the mat.", "The dog ate my homework!"]


def fitted(*args, texts=DOCS, **kwargs) -> Tokenizer:
    tok = Tokenizer(*args, **kwargs)
    tok.fit_on_texts(texts)
    return tok


# ----------------------------------------------------------------------------- text_to_word_sequence


def test_default_filters_are_keras_string():
    # quirk: the default filters are all ASCII punctuation except the apostrophe, plus tab and newline
    assert DEFAULT_FILTERS == '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
    assert "'" not in DEFAULT_FILTERS and "\r" not in DEFAULT_FILTERS


def test_word_sequence_lowers_filters_and_drops_empty_strings():
    # quirk: lowercase first, filters become the separator, runs of separators leave no empty words
    assert text_to_word_sequence("Hello, World!!  foo\tbar\nbaz") == ["hello", "world", "foo", "bar", "baz"]
    assert text_to_word_sequence("") == []
    assert text_to_word_sequence("  ...  ") == []


def test_word_sequence_keeps_apostrophes_and_non_ascii_punctuation():
    # quirk: only the ASCII filters are removed: "'", "…", curly quotes and \r stay inside words
    assert text_to_word_sequence("Don't stop") == ["don't", "stop"]
    assert text_to_word_sequence("안녕하세요… “반가워요”") == ["안녕하세요…", "“반가워요”"]
    assert text_to_word_sequence("a\rb c") == ["a\rb", "c"]


def test_word_sequence_splits_on_split_exactly():
    # quirk: filters are mapped to `split`, then str.split(split) (not on any whitespace)
    assert text_to_word_sequence("a.b c", split=",") == ["a", "b c"]
    assert text_to_word_sequence("a,b c", filters="", split=",") == ["a", "b c"]
    assert text_to_word_sequence("Hello hello", lower=False) == ["Hello", "hello"]


# ----------------------------------------------------------------------------- fit_on_texts


def test_fit_word_index_counts_docs_and_reserved_zero():
    # quirk: index 0 is reserved, ranks start at 1; word_counts keep first-appearance order
    tok = fitted()
    assert tok.document_count == 2
    assert list(tok.word_counts.items()) == [
        ("the", 3), ("cat", 1), ("sat", 1), ("on", 1), ("mat", 1),
        ("dog", 1), ("ate", 1), ("my", 1), ("homework", 1),
    ]  # fmt: skip
    assert isinstance(tok.word_counts, OrderedDict)
    assert tok.word_index == {
        "the": 1, "cat": 2, "sat": 3, "on": 4, "mat": 5, "dog": 6, "ate": 7, "my": 8, "homework": 9,
    }  # fmt: skip
    assert tok.index_word == {
        1: "the",
        2: "cat",
        3: "sat",
        4: "on",
        5: "mat",
        6: "dog",
        7: "ate",
        8: "my",
        9: "homework",
    }
    assert dict(tok.word_docs) == {
        "the": 2,
        "cat": 1,
        "sat": 1,
        "on": 1,
        "mat": 1,
        "dog": 1,
        "ate": 1,
        "my": 1,
        "homework": 1,
    }
    assert dict(tok.index_docs) == {1: 2, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1}
    assert 0 not in tok.index_word


def test_ties_broken_by_first_appearance():
    # quirk: the sort by count is stable, so equal counts keep word_counts (first-seen) order
    assert fitted(texts=["b a", "a b c c"]).word_index == {"b": 1, "a": 2, "c": 3}
    assert fitted(texts=["x y y", "z z z"]).word_index == {"z": 1, "y": 2, "x": 3}


def test_fitting_twice_accumulates_and_reranks():
    # quirk: fit_on_texts adds to earlier counts and re-ranks the whole vocabulary
    tok = fitted(texts=["a"])
    tok.fit_on_texts(["b b"])
    assert tok.document_count == 2
    assert dict(tok.word_counts) == {"a": 1, "b": 2}
    assert tok.word_index == {"b": 1, "a": 2}


def test_oov_token_is_index_one():
    # quirk: the OOV token is forced to index 1, words follow from 2
    tok = fitted(oov_token="<OOV>")
    assert tok.word_index == {
        "<OOV>": 1, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6, "dog": 7, "ate": 8, "my": 9, "homework": 10,
    }  # fmt: skip
    assert "<OOV>" not in tok.word_counts


def test_oov_token_occurring_in_texts_takes_its_rank_id():
    # quirk: word_index is dict(zip(vocab, ids)); the OOV token seen in the texts keeps its first
    # slot but takes the id of its rank, and id 1 is left without a word
    tok = fitted(oov_token="oov", texts=["oov a a"])
    assert tok.word_index == {"oov": 3, "a": 2}
    assert list(tok.word_index) == ["oov", "a"]
    assert tok.index_word == {3: "oov", 2: "a"}
    assert tok.texts_to_sequences(["a b"]) == [[2, 3]]


def test_char_level_ignores_filters():
    # quirk: char_level makes every character a token and never applies filters (space and "!" count)
    tok = fitted(char_level=True, texts=["Ab a!"])
    assert tok.word_index == {"a": 1, "b": 2, " ": 3, "!": 4}
    assert tok.texts_to_sequences(["BA?"]) == [[2, 1]]


def test_char_level_lower_false_keeps_case():
    # quirk: char_level with lower=False: "A" and "a" are different tokens
    tok = fitted(char_level=True, lower=False, texts=["aAa"])
    assert tok.word_index == {"a": 1, "A": 2}


def test_lists_of_tokens_are_lowered_not_filtered():
    # quirk: a text given as a list is taken as tokens: lowercased (lower=True) but never filtered
    tok = fitted(texts=[["Hello", "World!"], ["hello"]])
    assert tok.word_index == {"hello": 1, "world!": 2}
    assert tok.texts_to_sequences([["HELLO", "world!"], "hello world"]) == [[1, 2], [1]]


def test_word_docs_counts_documents_not_occurrences():
    # quirk: word_docs counts each word once per document
    tok = fitted(texts=["a a a", "a b"])
    assert dict(tok.word_docs) == {"a": 2, "b": 1}
    assert dict(tok.word_counts) == {"a": 4, "b": 1}


# ----------------------------------------------------------------------------- texts_to_sequences


def test_unknown_words_dropped_without_oov():
    # quirk: without oov_token, words not in word_index are silently dropped
    assert fitted().texts_to_sequences(["the cat ate the fish"]) == [[1, 2, 7, 1]]


def test_unknown_words_become_oov():
    # quirk: with oov_token, unknown words become id 1
    assert fitted(oov_token="<OOV>").texts_to_sequences(["the cat ate the fish"]) == [[2, 3, 8, 2, 1]]


def test_num_words_keeps_ids_below_num_words_only():
    # quirk: num_words=3 keeps ids 1 and 2 (strictly below 3); word_index still has every word
    tok = fitted(num_words=3)
    assert tok.texts_to_sequences(["the cat sat on the mat"]) == [[1, 2, 1]]
    assert len(tok.word_index) == 9


def test_num_words_with_oov_maps_rare_words_to_oov():
    # quirk: with oov_token, ids >= num_words become the OOV id instead of being dropped
    tok = fitted(num_words=4, oov_token="<OOV>")
    assert tok.texts_to_sequences(["the cat ate the fish"]) == [[2, 3, 1, 2, 1]]
    assert len(tok.word_index) == 10


def test_num_words_zero_means_no_limit():
    # quirk: `if num_words and ...`: num_words=0 behaves like None
    assert fitted(num_words=0).texts_to_sequences(["homework"]) == [[9]]


def test_empty_text_gives_empty_sequence():
    # quirk: a text with only filtered characters gives [], even with an OOV token
    assert fitted(oov_token="<OOV>").texts_to_sequences(["", "?!"]) == [[], []]


def test_generator_input_is_accepted():
    # quirk: fit_on_texts takes any iterable of texts, e.g. a generator
    tok = Tokenizer()
    tok.fit_on_texts(t for t in ["a b", "b"])
    assert tok.word_index == {"b": 1, "a": 2}
    assert list(tok.texts_to_sequences_generator(["b a"])) == [[1, 2]]


def test_single_string_is_refused_with_a_clear_message():
    # deliberate deviation: Keras iterates a bare string character by character
    with pytest.raises(TypeError, match="list of texts"):
        Tokenizer().fit_on_texts("the cat")


# ----------------------------------------------------------------------------- sequences_to_texts


def test_sequences_to_texts_drops_unknown_ids_without_oov():
    # quirk: ids not in index_word (0 included) are dropped; ids >= num_words too
    assert fitted().sequences_to_texts([[1, 2, 7, 100, 0]]) == ["the cat ate"]
    assert fitted(num_words=3).sequences_to_texts([[1, 2, 7]]) == ["the cat"]


def test_sequences_to_texts_turns_unknown_ids_into_oov():
    # quirk: with an OOV token, padding id 0 and ids >= num_words come back as the OOV token
    tok = fitted(num_words=4, oov_token="<OOV>")
    assert tok.sequences_to_texts([[2, 3, 8, 0]]) == ["the cat <OOV> <OOV>"]


# ----------------------------------------------------------------------------- matrices


def test_texts_to_matrix_modes():
    # quirk: the width is len(word_index) + 1 without num_words; unknown words are dropped first
    tok = fitted(texts=["a a b", "b c"])
    assert tok.word_index == {"a": 1, "b": 2, "c": 3}
    np.testing.assert_array_equal(tok.texts_to_matrix(["a a b", "c d"]), [[0, 1, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(tok.texts_to_matrix(["a a b", "c d"], mode="count"), [[0, 2, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_allclose(tok.texts_to_matrix(["a a b", "c d"], mode="freq"), [[0, 2 / 3, 1 / 3, 0], [0, 0, 0, 1]])
    tfidf = tok.texts_to_matrix(["a a b"], mode="tfidf")
    # tf = 1 + ln(count); idf = ln(1 + documents / (1 + documents containing the word))
    expected = [0, (1 + math.log(2)) * math.log(1 + 2 / 2), 1 * math.log(1 + 2 / 3), 0]
    np.testing.assert_allclose(tfidf, [expected])
    assert tfidf.dtype == np.float64


def test_matrix_num_words_sets_width():
    # quirk: with num_words the width is num_words and ids beyond it are skipped
    tok = fitted(num_words=2, texts=["a a b"])
    np.testing.assert_array_equal(tok.texts_to_matrix(["a b"], mode="count"), [[0, 1]])


def test_matrix_errors():
    with pytest.raises(ValueError, match="binary, count, tfidf, freq"):
        fitted().texts_to_matrix(["the"], mode="bogus")
    with pytest.raises(ValueError, match="fit on some text"):
        Tokenizer().texts_to_matrix(["the"])


# ----------------------------------------------------------------------------- JSON


def test_to_json_has_keras_fields():
    # quirk: Keras nests the five tables as JSON strings inside "config"; int keys become strings
    tok = fitted(num_words=5, oov_token="<OOV>", texts=["b a b"])
    data = json.loads(tok.to_json())
    assert data["class_name"] == "Tokenizer"
    assert list(data["config"]) == [
        "num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count",
        "word_counts", "word_docs", "index_docs", "index_word", "word_index",
    ]  # fmt: skip
    config = data["config"]
    assert config["num_words"] == 5 and config["oov_token"] == "<OOV>" and config["document_count"] == 1
    assert config["word_counts"] == '{"b": 2, "a": 1}'
    assert config["word_index"] == '{"<OOV>": 1, "b": 2, "a": 3}'
    assert config["index_word"] == '{"1": "<OOV>", "2": "b", "3": "a"}'
    assert config["index_docs"] == '{"2": 1, "3": 1}'


def test_json_round_trip_is_exact():
    tok = fitted(num_words=4, oov_token="<OOV>", texts=["한국어 텍스트 text", "Text again!"])
    back = tokenizer_from_json(tok.to_json())
    assert back.to_json() == tok.to_json()
    for name in ("word_counts", "word_docs", "index_docs", "word_index", "index_word"):
        assert getattr(back, name) == getattr(tok, name)
    assert list(back.word_counts) == list(tok.word_counts)
    assert back.texts_to_sequences(["text 한국어 zzz"]) == tok.texts_to_sequences(["text 한국어 zzz"])
    assert (back.num_words, back.filters, back.lower, back.split, back.char_level, back.document_count) == (
        4, tok.filters, True, " ", False, 2,
    )  # fmt: skip


def test_from_json_reads_keras_written_json():
    # what keras' tokenizer.to_json() writes for Tokenizer(oov_token="<OOV>").fit_on_texts(["b a b"])
    keras_json = json.dumps(
        {
            "class_name": "Tokenizer",
            "config": {
                "num_words": None, "filters": DEFAULT_FILTERS, "lower": True, "split": " ",
                "char_level": False, "oov_token": "<OOV>", "document_count": 1,
                "word_counts": '{"b": 2, "a": 1}', "word_docs": '{"a": 1, "b": 1}',
                "index_docs": '{"3": 1, "2": 1}', "index_word": '{"1": "<OOV>", "2": "b", "3": "a"}',
                "word_index": '{"<OOV>": 1, "b": 2, "a": 3}',
            },
        }
    )  # fmt: skip
    tok = Tokenizer.from_json(keras_json)
    assert tok.index_word == {1: "<OOV>", 2: "b", 3: "a"}
    assert tok.index_docs == {3: 1, 2: 1}
    assert tok.texts_to_sequences(["a b c"]) == [[3, 2, 1]]


def test_from_json_rejects_garbage():
    with pytest.raises(DataError, match="not Keras Tokenizer JSON"):
        tokenizer_from_json('{"type": "char"}')
    with pytest.raises(DataError):
        tokenizer_from_json("not json")
