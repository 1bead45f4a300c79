"""Splits and batches: determinism, coverage, padding on either side."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data import bucket_batches, pad_batch, split_corpus, split_indices
from seqlab.errors import DataError


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=300), st.integers(1, 17), st.integers(0, 3), st.integers(0, 3))
def test_bucket_batches_cover_every_index_once(lengths, batch_size, seed, epoch):
    batches = bucket_batches(lengths, batch_size, seed=seed, epoch=epoch, pool_batches=4)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert batches == bucket_batches(lengths, batch_size, seed=seed, epoch=epoch, pool_batches=4)


def test_bucketing_groups_similar_lengths_and_changes_per_epoch():
    lengths = [(i * 37) % 100 for i in range(1000)]
    batches = bucket_batches(lengths, 10, seed=0, epoch=0)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 5  # random batches of 10 would spread ~80
    assert batches != bucket_batches(lengths, 10, seed=0, epoch=1)
    assert batches != bucket_batches(lengths, 10, seed=1, epoch=0)


def test_pre_and_post_padding_hold_the_same_tokens():
    seqs = [[3, 4, 5], [6], []]
    post, pre = pad_batch(seqs, padding="post", pad_id=0), pad_batch(seqs, padding="pre", pad_id=0)
    assert post.ids.dtype == torch.long and post.mask.dtype == torch.bool and post.ids.shape == (3, 3)
    assert post.lengths.tolist() == pre.lengths.tolist() == [3, 1, 0]
    for row in range(3):
        assert post.ids[row][post.mask[row]].tolist() == pre.ids[row][pre.mask[row]].tolist() == seqs[row]
    assert pre.ids[1].tolist() == [0, 0, 6] and post.mask.sum().item() == 4
    assert pad_batch([[1]], targets=torch.tensor([2])).targets.tolist() == [2]


def test_split_corpus_is_contiguous_and_complete():
    text = "".join(chr(65 + i % 26) for i in range(1001))
    train, val, test = split_corpus(text, 0.1, 0.05)
    assert train + val + test == text and (len(train), len(val), len(test)) == (850, 101, 50)
    with pytest.raises(DataError, match="below 1"):
        split_corpus(text, 0.6, 0.5)


def test_split_indices_deterministic_disjoint_and_stratified():
    labels = [0] * 90 + [1] * 10
    train, val, test = split_indices(100, 0.2, 0.1, 7, stratify=labels)
    assert sorted(train + val + test) == list(range(100))
    assert (train, val, test) == split_indices(100, 0.2, 0.1, 7, stratify=labels)
    assert sum(labels[i] for i in val) == 2 and sum(labels[i] for i in test) == 1
    assert split_indices(100, 0.2, 0.1, 8) != split_indices(100, 0.2, 0.1, 7)
