"""Deterministic train / validation / test splits.

A corpus is split into contiguous pieces in reading order (the validation text comes after
the training text, as in char-rnn and nanoGPT), so no sentence leaks across the boundary.
Examples are split by a seeded shuffle, optionally stratified so each class keeps its share.

>>> split_corpus("abcdefghij", 0.2, 0.1)
('abcdefg', 'hi', 'j')
>>> split_indices(10, 0.2, 0.1, seed=2)
([0, 2, 3, 4, 5, 7, 8], [1, 6], [9])
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from seqlab.errors import DataError


def _check(val_fraction: float, test_fraction: float) -> None:
    for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise DataError(f"data.{key} must be at least 0 and below 1 (got {value})")
    if val_fraction + test_fraction >= 1.0:
        raise DataError(
            f"data.val_fraction + data.test_fraction must stay below 1 so something is left to "
            f"train on (got {val_fraction} + {test_fraction})"
        )


def _sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    # train = floor(n * train share), as nanoGPT does: 90/10 of 1,115,394 chars -> 1,003,854 / 111,540
    n_train = int(n * (1.0 - val_fraction - test_fraction) + 1e-9)
    if val_fraction == 0.0:
        return n_train, 0, n - n_train
    n_test = int(n * test_fraction + 1e-9)
    return n_train, n - n_train - n_test, n_test


def split_corpus(text: str, val_fraction: float, test_fraction: float) -> tuple[str, str, str]:
    """Cut one text into contiguous (train, val, test) pieces, in that order.

    Args:
        text: the corpus.
        val_fraction: share of characters for validation, in [0, 1).
        test_fraction: share of characters for the test, in [0, 1); the two add up to less than 1.

    >>> train, val, test = split_corpus("x" * 1_115_394, 0.1, 0.0)
    >>> len(train), len(val), len(test)
    (1003854, 111540, 0)
    """
    _check(val_fraction, test_fraction)
    n_train, n_val, _ = _sizes(len(text), val_fraction, test_fraction)
    return text[:n_train], text[n_train : n_train + n_val], text[n_train + n_val :]


def split_indices(
    n: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    *,
    stratify: Sequence[int] | None = None,
) -> tuple[list[int], list[int], list[int]]:
    """Split ``range(n)`` into sorted (train, val, test) index lists by a seeded shuffle.

    Args:
        n: number of examples.
        val_fraction: share for validation, in [0, 1).
        test_fraction: share for the test, in [0, 1).
        seed: the same seed gives the same split on every machine and Python version.
        stratify: a class per example; each class is then split in the same proportions.

    >>> labels = [0] * 8 + [1] * 4
    >>> train, val, test = split_indices(12, 0.25, 0.0, seed=1, stratify=labels)
    >>> sorted(labels[i] for i in val)
    [0, 0, 1]
    """
    _check(val_fraction, test_fraction)
    if n < 0:
        raise DataError(f"cannot split a negative number of examples ({n})")
    if stratify is not None and len(stratify) != n:
        raise DataError(f"stratify has {len(stratify)} labels for {n} examples")
    rng = random.Random(f"split:{seed}")
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(stratify[i] if stratify is not None else 0, []).append(i)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        n_train, n_val, _ = _sizes(len(members), val_fraction, test_fraction)
        train += members[:n_train]
        val += members[n_train : n_train + n_val]
        test += members[n_train + n_val :]
    return sorted(train), sorted(val), sorted(test)
