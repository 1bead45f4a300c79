"""pad_sequences: golden values for each Keras behaviour, and hypothesis invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.text import pad_sequences

SEQS = [[1], [2, 3], [4, 5, 6]]


def check(result, expected, dtype="int32"):
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(result, np.array(expected, dtype=dtype))
    assert result.shape == np.array(expected, dtype=dtype).shape


# ----------------------------------------------------------------------------- golden


def test_defaults_pre_pad_to_longest_int32():
    # quirk: default pads at the front, to the longest sequence, as int32
    check(pad_sequences(SEQS), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])


def test_post_padding_and_value():
    check(pad_sequences(SEQS, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    check(pad_sequences(SEQS, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])


def test_truncating_pre_cuts_the_front_by_default():
    # quirk: truncating="pre" keeps the last maxlen items
    check(pad_sequences(SEQS, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    check(pad_sequences(SEQS, maxlen=2, truncating="post"), [[0, 1], [2, 3], [4, 5]])
    check(pad_sequences(SEQS, maxlen=2, padding="post", truncating="post"), [[1, 0], [2, 3], [4, 5]])


def test_maxlen_longer_than_every_sequence():
    check(pad_sequences([[1]], maxlen=3), [[0, 0, 1]])
    check(pad_sequences([[1]], maxlen=3, padding="post"), [[1, 0, 0]])


def test_empty_sequences_become_rows_of_value():
    # quirk: an empty sequence is skipped, leaving a row of `value`
    check(pad_sequences([[], [1, 2]]), [[0, 0], [1, 2]])
    check(pad_sequences([[], [1, 2]], value=9, padding="post"), [[9, 9], [1, 2]])


def test_all_sequences_empty_gives_zero_width():
    # quirk: the longest sequence has length 0, so the result is (N, 0)
    result = pad_sequences([[], []])
    assert result.shape == (2, 0) and result.dtype == np.int32


def test_empty_list_of_sequences():
    # quirk: no sequences with a maxlen gives a (0, maxlen) array
    result = pad_sequences([], maxlen=3)
    assert result.shape == (0, 3) and result.dtype == np.int32
    # Keras fails here (np.max of nothing); the same exception type, with a clear message
    with pytest.raises(ValueError, match="no sequences and no maxlen"):
        pad_sequences([])


def test_maxlen_zero():
    # quirk: maxlen=0 with truncating="post" gives (N, 0); with "pre", Keras' s[-0:] keeps the
    # whole sequence: numpy squeezes a 1-item sequence into 0 columns, a longer one fails
    result = pad_sequences(SEQS, maxlen=0, truncating="post")
    assert result.shape == (3, 0) and result.dtype == np.int32
    assert pad_sequences([[], []], maxlen=0).shape == (2, 0)
    assert pad_sequences([[7], []], maxlen=0).shape == (2, 0)
    with pytest.raises(ValueError, match="maxlen=0"):
        pad_sequences(SEQS, maxlen=0)


def test_float_dtype_and_float_value():
    check(pad_sequences([[1], [2, 3]], dtype="float32", value=0.5), [[0.5, 1.0], [2.0, 3.0]], dtype="float32")


def test_int_dtype_truncates_floats_and_float_value():
    # quirk: values are cast to dtype: int32 truncates 1.7 to 1 and a 0.5 pad value to 0
    check(pad_sequences([[1.7, -2.2], [3.9]], value=0.5), [[1, -2], [0, 3]])


def test_object_dtype_with_string_values():
    # quirk: strings need dtype=object (or a string dtype)
    result = pad_sequences([["a"], ["b", "c"]], dtype=object, value="<pad>")
    assert result.dtype == np.dtype(object)
    assert result.tolist() == [["<pad>", "a"], ["b", "c"]]
    result = pad_sequences([["a"], ["b", "c"]], dtype="<U5", value="_", padding="post")
    assert result.dtype == np.dtype("<U5")
    assert result.tolist() == [["a", "_"], ["b", "c"]]


def test_string_value_with_int_dtype_is_refused():
    # quirk: Keras refuses a string value with a non-string dtype, pointing to dtype=object
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([[1]], value="x")


def test_bad_padding_and_truncating_name_the_choices():
    with pytest.raises(ValueError, match='padding must be "pre" or "post"'):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match='truncating must be "pre" or "post"'):
        pad_sequences(SEQS, truncating="both")


def test_numpy_input_and_sequences_of_vectors():
    check(pad_sequences(np.array([[1, 2, 3], [4, 5, 6]]), maxlen=2), [[2, 3], [5, 6]])
    # quirk: the item shape comes from the first non-empty sequence: (N, T, F)
    result = pad_sequences([[], [[1, 2], [3, 4]], [[5, 6]]])
    check(result, [[[0, 0], [0, 0]], [[1, 2], [3, 4]], [[0, 0], [5, 6]]])
    with pytest.raises(ValueError, match="different from expected shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


def test_non_iterable_item_is_refused():
    with pytest.raises(ValueError, match="list of iterables"):
        pad_sequences([[1], 5])


# ----------------------------------------------------------------------------- properties

sequences_strategy = st.lists(st.lists(st.integers(1, 1000), max_size=12), max_size=8)
maxlens = st.none() | st.integers(1, 15)
sides = st.sampled_from(["pre", "post"])


@settings(max_examples=80, deadline=None)
@given(seqs=sequences_strategy, maxlen=maxlens, padding=sides, truncating=sides)
def test_shape_and_kept_values(seqs, maxlen, padding, truncating):
    if not seqs and maxlen is None:
        return
    out = pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating)
    width = maxlen if maxlen is not None else max(len(s) for s in seqs)
    assert out.shape == (len(seqs), width) and out.dtype == np.int32
    for row, seq in zip(out, seqs):
        kept = seq[-width:] if truncating == "pre" else seq[:width]
        kept = kept if width else []
        real = [v for v in row.tolist() if v != 0]  # ids are >= 1, so 0 is padding
        assert real == kept  # values kept, in order
        if kept:
            pad = width - len(kept)
            assert (row[:pad] == 0).all() if padding == "pre" else (row[len(kept) :] == 0).all()


@settings(max_examples=60, deadline=None)
@given(seqs=sequences_strategy.filter(bool), maxlen=maxlens, truncating=sides)
def test_pre_and_post_padding_mirror_each_other(seqs, maxlen, truncating):
    pre = pad_sequences(seqs, maxlen=maxlen, padding="pre", truncating=truncating)
    post = pad_sequences(seqs, maxlen=maxlen, padding="post", truncating=truncating)
    for row_pre, row_post in zip(pre.tolist(), post.tolist()):
        real = [v for v in row_pre if v != 0]
        assert row_pre == [0] * (len(row_pre) - len(real)) + real
        assert row_post == real + [0] * (len(row_post) - len(real))


@settings(max_examples=60, deadline=None)
@given(seqs=sequences_strategy.filter(bool), maxlen=maxlens)
def test_truncating_pre_of_reversed_is_post_reversed(seqs, maxlen):
    # symmetry: cutting the front of reversed sequences is cutting the back of the originals
    reversed_pre = pad_sequences([s[::-1] for s in seqs], maxlen=maxlen, padding="post", truncating="pre")
    post = pad_sequences(seqs, maxlen=maxlen, padding="pre", truncating="post")
    np.testing.assert_array_equal(reversed_pre[:, ::-1], post)
