"""Hypothesis round-trips: char, syllable, jamo, bpe, and JSON save/load of every tokenizer."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.text import (
    BPETokenizer,
    CharTokenizer,
    JamoTokenizer,
    SyllableTokenizer,
    Tokenizer,
    WordTokenizer,
    from_jamo,
    load_tokenizer,
    to_jamo,
)

# text that mixes Hangul syllables, compatibility jamo (ㄱ..ㆎ), conjoining jamo, Latin, digits,
# whitespace, punctuation, emoji, and anything else Unicode offers
hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
compat_jamo = st.characters(min_codepoint=0x3131, max_codepoint=0x318E)
conjoining = st.characters(min_codepoint=0x1100, max_codepoint=0x11FF)
emoji = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
ascii_chars = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
any_char = st.characters(blacklist_categories=("Cs",))
mixed_text = st.text(
    st.one_of(hangul, hangul, compat_jamo, conjoining, emoji, ascii_chars, st.sampled_from(" \n\t"), any_char),
    max_size=40,
)
texts = st.lists(mixed_text, min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@given(text=mixed_text)
def test_jamo_spelling_round_trips(text):
    assert from_jamo(to_jamo(text)) == text


@settings(max_examples=60, deadline=None)
@given(corpus=texts, data=st.data())
def test_jamo_tokenizer_round_trips_seen_text(corpus, data):
    tok = JamoTokenizer.fit(corpus)
    text = data.draw(st.sampled_from(corpus))
    assert tok.decode(tok.encode(text, add_bos=True, add_eos=True)) == text
    assert len(tok.tokenize(text)) == len(tok.encode(text))


@settings(max_examples=60, deadline=None)
@given(corpus=texts, extra_hangul=st.text(hangul, max_size=10))
def test_jamo_tokenizer_round_trips_unseen_hangul(corpus, extra_hangul):
    tok = JamoTokenizer.fit(corpus)
    text = corpus[0] + extra_hangul  # any syllable is encodable, seen or not
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=60, deadline=None)
@given(corpus=texts, data=st.data())
def test_char_and_syllable_round_trip_seen_characters(corpus, data):
    text = data.draw(st.sampled_from(corpus))
    for cls in (CharTokenizer, SyllableTokenizer):
        tok = cls.fit(corpus)
        ids = tok.encode(text)
        assert tok.unk_id not in ids
        assert tok.decode(ids) == text
        assert all(4 <= i < tok.vocab_size for i in ids)


@functools.lru_cache(maxsize=1)
def shared_bpe() -> BPETokenizer:
    corpus = ["The quick brown fox jumps over the lazy dog.", "다람쥐 헌 쳇바퀴에 타고파", "ㅋㅋㅋ 😀 1234"] * 5
    return BPETokenizer.fit(corpus, vocab_size=320)


@settings(max_examples=100, deadline=None)
@given(text=mixed_text)
def test_bpe_round_trips_any_text(text):
    tok = shared_bpe()
    ids = tok.encode(text)
    assert tok.unk_id not in ids and tok.pad_id not in ids
    assert tok.decode(ids) == text


@settings(max_examples=25, deadline=None)
@given(corpus=texts)
def test_bpe_trained_on_anything_round_trips_it(corpus):
    tok = BPETokenizer.fit(corpus, vocab_size=270)
    for text in corpus:
        assert tok.decode(tok.encode(text)) == text


@settings(max_examples=40, deadline=None)
@given(corpus=texts, lowercase=st.booleans(), vocab_size=st.sampled_from([0, 80, 300]))
def test_json_round_trip_of_every_tokenizer(corpus, lowercase, vocab_size):
    built = [
        CharTokenizer.fit(corpus, vocab_size=vocab_size, lowercase=lowercase),
        SyllableTokenizer.fit(corpus, vocab_size=vocab_size, lowercase=lowercase),
        JamoTokenizer.fit(corpus, vocab_size=max(vocab_size, 80) if vocab_size else 0, lowercase=lowercase),
        WordTokenizer.fit(corpus, vocab_size=vocab_size, lowercase=lowercase),
        BPETokenizer.fit(corpus, vocab_size=max(vocab_size, 270), lowercase=lowercase),
    ]
    for tok in built:
        back = load_tokenizer(tok.to_json())
        assert type(back) is type(tok)
        assert back.to_json() == tok.to_json()
        assert back.vocab_size == tok.vocab_size
        for text in corpus:
            assert back.encode(text) == tok.encode(text)
            assert back.decode(tok.encode(text)) == tok.decode(tok.encode(text))


words = st.text(st.sampled_from("abcXYZ가나 .,!'\t"), max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    corpus=st.lists(words, max_size=5),
    num_words=st.sampled_from([None, 0, 2, 5]),
    oov=st.sampled_from([None, "<OOV>", "a"]),
    char_level=st.booleans(),
)
def test_keras_tokenizer_json_round_trip(corpus, num_words, oov, char_level):
    tok = Tokenizer(num_words=num_words, oov_token=oov, char_level=char_level)
    tok.fit_on_texts(corpus)
    back = Tokenizer.from_json(tok.to_json())
    assert back.to_json() == tok.to_json()
    assert list(back.word_counts.items()) == list(tok.word_counts.items())
    assert back.texts_to_sequences(corpus) == tok.texts_to_sequences(corpus)
