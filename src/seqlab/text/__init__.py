"""Text to ids and back: Keras-compatible ``Tokenizer`` and ``pad_sequences``, and seqlab's tokenizers.

Two families live here:

- exact ports of the legacy Keras API (:class:`Tokenizer`, :func:`pad_sequences`,
  :func:`text_to_word_sequence`, :func:`tokenizer_from_json`), so course notebooks run as is;
- tokenizers following one protocol (:class:`TextTokenizer`): char, word, bpe and, for Korean,
  syllable, jamo and morpheme, plus minilm (the pretrained MiniLM word pieces, whose ids number
  the rows of its embedding matrix); :func:`build_tokenizer` fits one by name and
  :func:`load_tokenizer` reads any saved one back.

>>> from seqlab.text import Tokenizer, pad_sequences
>>> tok = Tokenizer(oov_token="<OOV>")
>>> tok.fit_on_texts(["I love my dog", "I love my cat"])
>>> pad_sequences(tok.texts_to_sequences(["I love my fish"]), maxlen=5)
array([[0, 2, 3, 4, 1]], dtype=int32)
>>> jamo = build_tokenizer("jamo", ["안녕하세요"])
>>> jamo.decode(jamo.encode("안녕하세요"))
'안녕하세요'
"""

from __future__ import annotations

from seqlab.text.base import BOS, EOS, PAD, SPECIALS, UNK, TextTokenizer
from seqlab.text.bpe import BPETokenizer
from seqlab.text.build import TOKENIZERS, build_tokenizer, load_tokenizer
from seqlab.text.char import CharTokenizer
from seqlab.text.keras import (
    DEFAULT_FILTERS,
    Tokenizer,
    pad_sequences,
    text_to_word_sequence,
    tokenizer_from_json,
)
from seqlab.text.korean import JamoTokenizer, MorphemeTokenizer, SyllableTokenizer, from_jamo, to_jamo
from seqlab.text.minilm import MiniLMTokenizer
from seqlab.text.word import WordTokenizer

__all__ = [
    "TextTokenizer",
    "CharTokenizer",
    "WordTokenizer",
    "BPETokenizer",
    "SyllableTokenizer",
    "JamoTokenizer",
    "MorphemeTokenizer",
    "MiniLMTokenizer",
    "build_tokenizer",
    "load_tokenizer",
    "TOKENIZERS",
    "Tokenizer",
    "tokenizer_from_json",
    "text_to_word_sequence",
    "pad_sequences",
    "DEFAULT_FILTERS",
    "to_jamo",
    "from_jamo",
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "SPECIALS",
]
