"""Korean tokenizers: jamo arithmetic, syllables, morphemes (kiwipiepy, extra `ko`)."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from seqlab.errors import MissingExtraError
from seqlab.text import JamoTokenizer, SyllableTokenizer, build_tokenizer, from_jamo, load_tokenizer, to_jamo
from seqlab.text.korean import ALL_JAMO, join_syllable, split_syllable


def test_split_syllable_matches_unicode_nfd():
    # every one of the 11,172 syllables splits as Unicode's canonical decomposition does
    for code in range(0xAC00, 0xD7A4):
        ch = chr(code)
        parts = split_syllable(ch)
        assert "".join(parts) == unicodedata.normalize("NFD", ch)
        assert join_syllable(*parts) == ch


def test_split_syllable_examples():
    assert split_syllable("가") == ("\u1100", "\u1161", "")
    assert split_syllable("힣") == ("\u1112", "\u1175", "\u11c2")
    assert split_syllable("닭") == ("\u1103", "\u1161", "\u11b0")
    with pytest.raises(ValueError, match="not a Hangul syllable"):
        split_syllable("ㄱ")


def test_to_jamo_leaves_other_characters():
    assert to_jamo("값 ㅋ1a😀") == ["\u1100", "\u1161", "\u11b9", " ", "ㅋ", "1", "a", "😀"]


def test_raw_conjoining_jamo_are_kept_apart():
    nfd = unicodedata.normalize("NFD", "한")  # three conjoining jamo in the text itself
    assert to_jamo(nfd) == ["<\u1112>", "<\u1161>", "<\u11ab>"]
    assert from_jamo(to_jamo(nfd)) == nfd
    mixed = "가\u11a8"  # a syllable followed by a raw final consonant must not become 각
    assert from_jamo(to_jamo(mixed)) == mixed


def test_from_jamo_keeps_malformed_sequences():
    # a model may generate a vowel with no initial consonant, or a lone final
    assert from_jamo(["\u1161", "\u11a8", "\u1100"]) == "\u1161\u11a8\u1100"


def test_jamo_tokenizer_vocabulary_has_every_jamo():
    tok = JamoTokenizer.fit("ab c")
    assert tok.vocab_size == 4 + 67 + 4
    assert [tok.id_to_token(i) for i in range(4, 71)] == list(ALL_JAMO)
    text = "똠얌꿍 뷁 abc"  # syllables never seen in training still round-trip
    assert tok.decode(tok.encode(text)) == text


def test_jamo_tokenizer_unknown_character():
    tok = JamoTokenizer.fit("가")
    assert tok.decode(tok.encode("가x")) == "가\ufffd"


def test_jamo_json_round_trip(tmp_path):
    tok = JamoTokenizer.fit(["ㅋㅋ 한국어 ok \u1100"], lowercase=True)
    tok.save(tmp_path / "t.json")
    back = load_tokenizer(tmp_path / "t.json")
    assert back == tok and back.lowercase
    assert back.decode(back.encode("OK ㅋㅋ")) == "ok ㅋㅋ"


def test_syllable_tokenizer_is_char_level_with_frequency_cap():
    tok = SyllableTokenizer.fit(["안녕 안녕 하세요"], vocab_size=7)
    assert tok.type == "syllable"
    assert tok.tokenize("안녕하") == ["안", "녕", "하"]
    assert tok.decode(tok.encode("안녕 하")) == "안녕 \ufffd"  # 하 is beyond the 3 kept characters
    full = SyllableTokenizer.fit(["안녕 하세요"])
    assert full.decode(full.encode("하세요 안녕")) == "하세요 안녕"


# ----------------------------------------------------------------------------- morphemes


def test_morpheme_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "kiwipiepy", None)  # import kiwipiepy now fails
    with pytest.raises(MissingExtraError, match=r"seqlab\[ko\]"):
        build_tokenizer("morpheme", ["나는 밥을 먹었다."])


@pytest.fixture(scope="module")
def morpheme():
    pytest.importorskip("kiwipiepy", reason="kiwipiepy (extra `ko`) is not installed")
    return build_tokenizer("morpheme", ["나는 밥을 먹었다.", "오늘 날씨가 좋네요!"])


def test_morpheme_tokens_and_decode(morpheme):
    assert morpheme.tokenize("밥을 먹었다") == ["밥/NNG", "을/JKO", " ", "먹/VV", "었/EP", "다/EF"]
    ids = morpheme.encode("밥을 먹었다", add_bos=True, add_eos=True)
    assert ids[0] == 2 and ids[-1] == 3 and 1 not in ids
    assert morpheme.decode(ids) == "밥을 먹었다"
    assert morpheme.decode(morpheme.encode("날씨가 좋네요!\n나는")) == "날씨가 좋네요!\n나는"


def test_morpheme_unknown_and_json(morpheme):
    assert morpheme.unk_id in morpheme.encode("컴퓨터")
    back = load_tokenizer(morpheme.to_json())
    assert back == morpheme
    assert back.encode("나는 밥을") == morpheme.encode("나는 밥을")
