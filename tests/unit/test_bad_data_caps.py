"""Per-split caps (budgets' ``max_examples``) keep every class and never crash, whatever the split's shape."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from benchmarks.datasets import load_dataset
from benchmarks.datasets._types import PreparedDataset, Split, limit, limit_all


def split_of(counts: list[int]) -> Split:
    labels = np.repeat(np.arange(len(counts)), counts)
    return Split(np.arange(len(labels)).astype(object), labels, "bytes")


def test_102_classes_of_10_capped_at_1000_keep_every_class_deterministically():
    split = split_of([10] * 102)  # scikit-learn refuses: 20 left out < 102 classes
    a, b, other = limit(split, 1000, seed=4), limit(split, 1000, seed=4), limit(split, 1000, seed=5)
    assert len(a) == 1000
    counts = np.bincount(a.labels, minlength=102)
    assert counts.min() >= 9 and counts.max() == 10  # proportional: 898 spare shared out of 918
    np.testing.assert_array_equal(a.items, b.items)
    assert not np.array_equal(a.items, other.items)
    assert len(set(a.items)) == 1000  # no example twice


@pytest.mark.parametrize(
    "counts, cap",
    [
        ([1, 1, 1, 1, 20], 10),  # classes with a single example
        ([1] * 30 + [50], 40),
        ([1000, 2, 2], 3),  # scikit-learn's stratified split would keep [3, 0, 0]
        ([1000, 2, 2], 500),
        ([5, 6, 7], 17),  # one left out, fewer than the classes
        ([3] * 50, 51),
    ],
)
def test_every_class_is_kept_whatever_the_counts(counts, cap):
    kept = limit(split_of(counts), cap, seed=0)
    assert len(kept) == cap
    assert (np.bincount(kept.labels, minlength=len(counts)) >= 1).all()
    assert len(set(kept.items)) == cap


def test_shares_follow_the_class_sizes():
    counts = np.bincount(limit(split_of([1, 1, 300, 100]), 42, seed=2).labels)
    assert counts.tolist() == [1, 1, 30, 10]


def test_a_stratifiable_cap_is_still_scikit_learns_subset():
    kept = limit(split_of([25] * 4), 20, seed=1)
    assert np.bincount(kept.labels).tolist() == [5, 5, 5, 5]


def test_a_cap_below_the_class_count_keeps_one_image_of_each_with_a_warning(caplog):
    split = split_of([4] * 12)
    with caplog.at_level(logging.WARNING):
        kept = limit(split, 5, seed=0, what="the validation")
    assert np.bincount(kept.labels).tolist() == [1] * 12
    assert "keeps 5 images per split but the validation split has 12 classes" in caplog.text
    data = PreparedDataset("x", tuple("abcdefghijkl"), split, split, split)
    limit_all(data, (5, 5, None), seed=0).check()  # every split keeps every class


def test_load_dataset_with_a_cap_below_the_class_count_runs(caplog):
    with caplog.at_level(logging.WARNING):
        data = load_dataset("digits", max_examples=(5, None, 3))
    assert len(data.train) == 10 and len(data.test) == 10
    assert "the train split has 10 classes" in caplog.text and "the test split has 10 classes" in caplog.text
