"""Streaming detokenization: every tokenizer's stream decoder, TextStream's stop strings, and linear cost.

The reference is the algorithm ``seqlab.decode.decode_stream`` had before streaming decoders
(kept below as ``old_decode_stream``): re-decode every id so far at every new id and yield the
new suffix. The new stream gives the same text, except where the old one was wrong, on purpose:

- it re-decoded by length, so text that changes as ids arrive came out garbled: a jamo syllable
  being spelled (ᄀ, then 가, then 간 all have length 1) or a Korean word being contracted
  (하, then 했); the new stream shows what ``decode`` gives (see the examples at the end);
- it lost text decoded together with a trailing undecodable byte when the ids ended; the new
  one flushes it;
- it showed the start of a stop string before knowing it was one ("a\\n" for the stop "\\n\\n");
  the new one never shows any part of a stop string (OpenAI's semantics).
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.decode import TextStream, decode_stream
from seqlab.text import (
    BPETokenizer,
    CharTokenizer,
    JamoTokenizer,
    MiniLMTokenizer,
    SyllableTokenizer,
    Tokenizer,
    WordTokenizer,
)
from seqlab.text.base import REPLACEMENT, WindowDecoder

# Shakespeare's sonnet 18 and the preamble of the Constitution of the Republic of Korea (1987),
# both in the public domain
ENGLISH = """Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall Death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.
"""
KOREAN = """유구한 역사와 전통에 빛나는 우리 대한국민은 3·1운동으로 건립된 대한민국임시정부의 법통과
불의에 항거한 4·19민주이념을 계승하고, 조국의 민주개혁과 평화적 통일의 사명에 입각하여
정의·인도와 동포애로써 민족의 단결을 공고히 하고, 모든 사회적 폐습과 불의를 타파하며,
자율과 조화를 바탕으로 자유민주적 기본질서를 더욱 확고히 하여 정치·경제·사회·문화의 모든
영역에 있어서 각인의 기회를 균등히 하고, 능력을 최고도로 발휘하게 하며, 자유와 권리에 따르는
책임과 의무를 완수하게 하여, 안으로는 국민생활의 균등한 향상을 기하고 밖으로는 항구적인
세계평화와 인류공영에 이바지함으로써 우리들과 우리들의 자손의 안전과 자유와 행복을 영원히
확보할 것을 다짐하면서 1948년 7월 12일에 제정되고 8차에 걸쳐 개정된 헌법을 이제 국회의
의결을 거쳐 국민투표에 의하여 개정한다. 😀
"""
BOTH = ENGLISH + KOREAN


def old_decode_stream(tokenizer, ids: Iterator[int], *, stop: Sequence[str] = ()) -> Iterator[str]:
    """decode_stream before streaming decoders, verbatim: quadratic, kept as the reference."""
    seen: list[int] = []
    sent = ""
    for token in ids:
        seen.append(token)
        text = tokenizer.decode(seen)
        if text.endswith("\ufffd"):
            continue  # an incomplete multi-byte character; wait for the rest
        text = text.replace("\ufffd", "")  # what is still undecodable after more ids never will be
        if stop:
            cut = min((i for i in (text.find(s, max(0, len(sent) - len(s))) for s in stop) if i >= 0), default=-1)
            if cut >= 0:
                if cut > len(sent):
                    yield text[len(sent) : cut]
                return
        if len(text) > len(sent):
            yield text[len(sent) :]
            sent = text


def minilm_tokenizer() -> MiniLMTokenizer:
    words = sorted({w.strip(".,;:?!'") for w in ENGLISH.lower().split()} - {""})
    pieces = [f"##{w[-2:]}" for w in words if len(w) > 3] + ["##s", "##'", "##.", "##"]
    extra = [".", ",", ";", ":", "?", "!", "'", "'s", "n't", "'m", "do", "not", "'ve", "'re", "[MASK]"]
    vocab = ["[PAD]", *(f"[unused{i}]" for i in range(99)), "[UNK]", "[CLS]", "[SEP]"]
    vocab += list(dict.fromkeys(w for w in [*extra, *words, *pieces] if w not in vocab))
    return MiniLMTokenizer.from_vocab(vocab)


def word_without_oov() -> WordTokenizer:
    keras = Tokenizer(num_words=30)  # no oov_token: unknown ids and ids >= 30 are dropped
    keras.fit_on_texts([ENGLISH])
    return WordTokenizer(keras)


BUILDERS: dict[str, Callable[[], object]] = {
    "char": lambda: CharTokenizer.fit(BOTH),
    "syllable": lambda: SyllableTokenizer.fit(KOREAN, vocab_size=120),
    "jamo": lambda: JamoTokenizer.fit(BOTH),
    "word": lambda: WordTokenizer.fit(ENGLISH, vocab_size=60, lowercase=True),
    "word-no-oov": word_without_oov,
    "bpe": lambda: BPETokenizer.fit(BOTH, vocab_size=330),
    "minilm": minilm_tokenizer,
}
# re-decoding by length is wrong for these (see the module docstring)
CHANGES_AS_IDS_ARRIVE = {"jamo", "morpheme"}


@functools.cache
def tokenizer(name: str):
    if name == "morpheme":
        pytest.importorskip("kiwipiepy")
        from seqlab.text import MorphemeTokenizer

        return MorphemeTokenizer.fit(KOREAN)
    return BUILDERS[name]()


NAMES = [*BUILDERS, "morpheme"]


@st.composite
def id_lists(draw, tok) -> list[int]:
    """Random ids, real text's ids, or real text's ids with random ids spliced in."""
    vocab = tok.vocab_size
    randoms = st.lists(st.integers(0, vocab - 1), max_size=40)
    kind = draw(st.sampled_from(["random", "text", "mixed"]))
    if kind == "random":
        return draw(randoms)
    start = draw(st.integers(0, len(BOTH) - 1))
    ids = tok.encode(BOTH[start : start + draw(st.integers(0, 40))])
    if kind == "mixed":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(ids)))
            ids[at:at] = draw(randoms)[:3]
    return ids


def stream_pieces(tok, ids: Sequence[int], *, stop: Sequence[str] = ()) -> tuple[list[str], bool]:
    stream = TextStream(tok, stop=stop)
    pieces = []
    for i in ids:
        pieces.append(stream.push(i))
        if stream.stopped:
            break
    pieces.append(stream.flush())
    return pieces, stream.stopped


def decoder_text(decoder, ids: Sequence[int]) -> str:
    return "".join(decoder.push(i) for i in ids) + decoder.flush()


def first_stop(text: str, stop: Sequence[str]) -> int:
    """Where text shown a character at a time is cut: at the start of the stop string that is
    complete first (the longest of those complete at that character); -1 when none occurs."""
    found = [(i + len(s), -len(s), i) for s in stop if (i := text.find(s)) >= 0]
    return min(found)[2] if found else -1


def reference_text(tok, name: str, ids: Sequence[int]) -> str:
    """The old algorithm's text, plus the end it never showed (text decoded with a trailing
    undecodable byte); for the tokenizers it got wrong, decode's text."""
    full = tok.decode(ids).replace(REPLACEMENT, "")
    if name in CHANGES_AS_IDS_ARRIVE:
        return full
    shown = "".join(old_decode_stream(tok, iter(ids)))
    assert shown == full or (full.startswith(shown) and tok.decode(ids).endswith(REPLACEMENT))
    return full


@pytest.mark.parametrize("name", NAMES)
def test_stream_decoders_give_exactly_what_decode_gives(name):
    tok = tokenizer(name)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ids=id_lists(tok))
    def check(ids):
        assert decoder_text(tok.stream_decoder(), ids) == tok.decode(ids)  # U+FFFD included

    check()


@pytest.mark.parametrize("name", NAMES)
def test_text_stream_shows_the_old_algorithms_text(name):
    tok = tokenizer(name)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ids=id_lists(tok))
    def check(ids):
        pieces, stopped = stream_pieces(tok, ids)
        assert "".join(pieces) == reference_text(tok, name, ids) and not stopped
        assert "".join(decode_stream(tok, iter(ids))) == "".join(pieces)
        assert REPLACEMENT not in "".join(pieces)

    check()


@pytest.mark.parametrize("name", NAMES)
def test_text_stream_cuts_at_the_first_stop_string_and_never_shows_one(name):
    tok = tokenizer(name)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), ids=id_lists(tok))
    def check(data, ids):
        text = reference_text(tok, name, ids)
        spans = st.tuples(st.integers(0, max(len(text) - 1, 0)), st.integers(1, 4))
        taken = [text[a : a + n] for a, n in data.draw(st.lists(spans, max_size=3))]
        others = data.draw(st.lists(st.text(alphabet="ab \n한", min_size=1, max_size=3), max_size=2))
        stop = [s for s in [*taken, *others] if s]
        pieces, stopped = stream_pieces(tok, ids, stop=stop)
        cut = first_stop(text, stop)
        assert "".join(pieces) == (text[:cut] if cut >= 0 else text)
        assert stopped == (cut >= 0)
        shown = ""
        for piece in pieces:  # at no point was any part of the stop string shown
            shown += piece
            assert cut < 0 or len(shown) <= cut
        assert list(decode_stream(tok, iter(ids), stop=stop)) == [p for p in pieces if p]

    check()


@pytest.mark.parametrize("name", sorted(set(NAMES) - CHANGES_AS_IDS_ARRIVE))
def test_the_generic_window_decoder_agrees_where_text_only_grows(name):
    tok = tokenizer(name)

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ids=id_lists(tok))
    def check(ids):
        text = decoder_text(WindowDecoder(tok), ids)
        assert text.replace(REPLACEMENT, "") == tok.decode(ids).replace(REPLACEMENT, "")

    check()


def test_a_tokenizer_without_a_stream_decoder_gets_the_window_decoder():
    class Bytes:  # a tokenizer with decode only
        def decode(self, ids):
            return bytes(ids).decode("utf-8", errors="replace")

    data = "한글 ok 😀 ".encode() + b"\xff" + b"\xe4\xb8"  # an invalid byte, and a character cut short
    assert list(decode_stream(Bytes(), iter(data))) == ["한", "글", " ", "o", "k", " ", "😀", " "]
    with_stop = list(decode_stream(Bytes(), iter("한글 ok".encode()), stop=["글 o"]))
    assert with_stop == ["한"]
    window = WindowDecoder(Bytes(), max_pending=8)
    for _ in range(100):  # invalid bytes forever: shown (as nothing) every 8 ids, the window stays small
        window.push(0xFF)
        assert len(window._window) <= 16


# ----------------------------------------------------------------------------- where the old algorithm was wrong


def test_jamo_syllables_come_out_whole():
    tok = tokenizer("jamo")
    ids = tok.encode("간다 a")
    assert "".join(old_decode_stream(tok, iter(ids))) == "ᄀᄃ a"  # the old algorithm: ᄀ, 가, 간 are length 1
    assert [TextStream(tok).push(i) for i in ids[:1]] == [""]  # ᄀ may still become a syllable
    assert "".join(decode_stream(tok, iter(ids))) == "간다 a"
    assert "".join(decode_stream(tok, iter(ids[:4]))) == "간ᄃ"  # flushed at the end: ᄃ alone


def test_korean_words_are_contracted_as_decode_does():
    tok = tokenizer("morpheme")
    ids = tok.encode("대한국민은 개정한다")
    assert "".join(decode_stream(tok, iter(ids))) == tok.decode(ids)
    assert "".join(old_decode_stream(tok, iter(ids))) != tok.decode(ids)  # 하/XSV + ㄴ다/EF: 하 then 한다


def test_text_before_a_trailing_invalid_byte_is_not_lost():
    class Bytes:
        def decode(self, ids):
            return b"".join(ids).decode("utf-8", errors="replace")

    ids = [b"ok ", b"hi\xff"]  # one token: text, then a byte that is never a character
    assert list(old_decode_stream(Bytes(), iter(ids))) == ["ok "]
    assert list(decode_stream(Bytes(), iter(ids))) == ["ok ", "hi"]


def test_no_part_of_a_stop_string_is_shown():
    class Chars:
        def decode(self, ids):
            return "".join(chr(i) for i in ids)

    ids = [ord(c) for c in "a\n\nb"]
    assert list(old_decode_stream(Chars(), iter(ids), stop=["\n\n"])) == ["a", "\n"]
    assert list(decode_stream(Chars(), iter(ids), stop=["\n\n"])) == ["a"]
    assert list(decode_stream(Chars(), iter(ids[:2]), stop=["\n\n"])) == ["a", "\n"]  # flushed: never completed


def test_the_stop_string_that_completes_first_wins():
    class Chars:
        def decode(self, ids):
            return "".join(chr(i) for i in ids)

    ids = [ord(c) for c in "xabc"]
    assert list(decode_stream(Chars(), iter(ids), stop=["abc", "b"])) == ["x", "a"]  # "b" is complete first
    assert list(decode_stream(Chars(), iter(ids), stop=["abc", "bc"])) == ["x"]  # both end at c: the longer


def test_stopping_ends_the_stream_and_reads_no_more_ids():
    tok = tokenizer("char")
    stream = TextStream(tok, stop=["thee"])
    ids = iter(tok.encode("to thee. more"))
    shown = "".join(decode_stream(tok, ids, stop=["thee"]))
    assert shown == "to " and tok.decode(list(ids)) == ". more"
    for i in tok.encode("to thee"):
        stream.push(i)
    assert stream.stopped and stream.push(tok.encode("x")[0]) == "" and stream.flush() == ""


def test_out_of_range_ids_fail_as_decode_fails():
    from seqlab.errors import DataError

    for name in ("bpe", "minilm", "char", "word-no-oov"):
        tok = tokenizer(name)
        with pytest.raises(DataError, match="outside the"):
            tok.decode([tok.vocab_size + 5])
        with pytest.raises(DataError, match="outside the"):
            list(decode_stream(tok, iter([tok.vocab_size + 5])))


# ----------------------------------------------------------------------------- linear cost


class Meter:
    """Deterministic work: every id handed to a decoding function (a stream decoder's ``push``, or
    the tokenizer's ``decode``, ``id_to_token``, ``join``...: a decode of n ids counts n, whatever
    language runs it), and every Python and C function call made while streaming."""

    DECODING = ("decode", "decoded_token", "id_to_token", "join", "sequences_to_texts")

    def __init__(self) -> None:
        self.ids = 0
        self.calls = 0
        self.metering = False

    def wrap(self, obj) -> None:
        for name in self.DECODING:
            method = getattr(obj, name, None)
            if callable(method):
                setattr(obj, name, self._counted(method))
        make = getattr(obj, "stream_decoder", None)
        if callable(make):
            obj.stream_decoder = lambda: self._counted_decoder(make())

    def _counted(self, method):
        def counted(*args, **kwargs):
            for arg in args if self.metering else ():
                self.ids += len(arg) if isinstance(arg, (list, tuple)) else 1
            return method(*args, **kwargs)

        return counted

    def _counted_decoder(self, decoder):
        decoder.push = self._counted(decoder.push)
        return decoder

    def _profile(self, frame, event, arg) -> None:
        if event in ("call", "c_call"):
            self.calls += 1

    def run(self, make_stream, ids: Sequence[int], *, warm_up: Sequence[int] = ()) -> tuple[int, int]:
        """Stream ``warm_up`` then ``ids``, counting the work from the first id of ``ids`` to the flush."""
        stream = make_stream()
        for i in warm_up:  # so that the count starts where the stream is in its steady state
            stream.push(i)
        self.metering = True
        sys.setprofile(self._profile)
        try:
            for i in ids:
                stream.push(i)
            stream.flush()
        finally:
            sys.setprofile(None)
            self.metering = False
        return self.ids, self.calls


class _Proxy:
    """A Rust ``tokenizers.Tokenizer`` seen through Python, so that its decoding calls are counted."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


class _DecodeOnly:
    """A tokenizer with only ``decode``: TextStream falls back to the window decoder."""

    def __init__(self, tok) -> None:
        self.decode = tok.decode


class _OldStream:
    """The old algorithm's re-decoding behind push/flush, to show that the meter sees quadratic work."""

    def __init__(self, tok) -> None:
        self.tok, self.seen, self.sent = tok, [], ""

    def push(self, token: int) -> str:
        self.seen.append(token)
        text = self.tok.decode(self.seen)
        new, self.sent = text[len(self.sent) :], text
        return new

    def flush(self) -> str:
        return ""


def real_ids(tok, at_least: int) -> list[int]:
    """The ids of the sonnet and the preamble, repeated to at least ``at_least`` ids (whole
    repeats, so that 10 times as many ids are the same text 10 times as often)."""
    ids = tok.encode(BOTH)
    return ids * math.ceil(at_least / len(ids))


def work(name: str, ids_of: Callable, *, how: str = "stream") -> tuple[int, int]:
    """(ids handed to decoding functions, function calls) to stream ``ids_of(tokenizer)`` after
    the text once (old: from the start)."""
    tok = tokenizer(name)
    tok = type(tok).from_json(tok.to_json())  # a copy to count on
    ids, warm_up = ids_of(tok), tok.encode(BOTH)
    meter = Meter()
    meter.wrap(tok)
    if hasattr(tok, "backend"):
        tok.backend = _Proxy(tok.backend)
        meter.wrap(tok.backend)
    if hasattr(tok, "keras"):
        meter.wrap(tok.keras)
    if how == "old":
        return meter.run(lambda: _OldStream(tok), ids)
    stop = ["the end", "\n\n\n", "영원히 영원히"]  # often matched in part, never in full
    if how == "generic":
        return meter.run(lambda: TextStream(_DecodeOnly(tok), stop=stop), ids, warm_up=warm_up)
    return meter.run(lambda: TextStream(tok, stop=stop), ids, warm_up=warm_up)


@pytest.mark.parametrize("name", NAMES)
def test_16k_tokens_cost_at_most_10x_1600(name):
    small = work(name, lambda tok: real_ids(tok, 1_600))
    large = work(name, lambda tok: real_ids(tok, 1_600) * 10)
    assert small[0] >= 1_600 and small[1] > 1_600  # the meter sees the work
    assert large[0] / small[0] <= 10 and large[1] / small[1] <= 10, (small, large)


def test_the_generic_window_decoder_is_linear_too():
    small = work("bpe", lambda tok: real_ids(tok, 1_600), how="generic")
    large = work("bpe", lambda tok: real_ids(tok, 1_600) * 10, how="generic")
    assert large[0] / small[0] <= 10 and large[1] / small[1] <= 10, (small, large)


def test_the_meter_sees_the_old_algorithms_quadratic_cost():
    for name in ("char", "bpe"):  # bpe decodes in Rust: counted by the ids handed to it
        small = work(name, lambda tok: real_ids(tok, 3_200)[:160], how="old")
        large = work(name, lambda tok: real_ids(tok, 3_200)[:1_600], how="old")
        assert large[0] / small[0] > 50, (small, large)


def test_an_added_token_outside_the_byte_alphabet_streams_as_its_own_utf8():
    tok = BPETokenizer.fit(BOTH, vocab_size=300)
    tok.backend.add_tokens(["안녕", "<|user|>"])  # not special: decode shows them
    ids = [tok.token_to_id("안녕"), *tok.encode(" ok"), tok.token_to_id("<|user|>")]
    assert decoder_text(tok.stream_decoder(), ids) == tok.decode(ids) == "안녕 ok<|user|>"
