"""Splits: stratified, seeded, and no test image ever in training or validation."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_reg.config.schema import DataConfig
from mnist_reg.data.sources import load_raw
from mnist_reg.data.splits import make_splits, stratified_take


def test_stratified_take_keeps_class_shares() -> None:
    labels = np.repeat(np.arange(10), [100, 200, 100, 100, 100, 100, 100, 100, 100, 100])
    taken = stratified_take(labels, 110, np.random.default_rng(0))
    assert len(taken) == len(set(taken)) == 110
    counts = np.bincount(labels[taken])
    assert counts[1] == 20 and all(counts[c] == 10 for c in range(10) if c != 1)


@pytest.mark.usefixtures("mnist_available")
def test_real_mnist_splits_are_disjoint_stratified_and_seeded() -> None:
    raw = load_raw("mnist", "~/.cache/mnist_reg")
    cfg = DataConfig(val_size=5000, train_size=2000, split_seed=3)
    splits = make_splits(raw, cfg)
    assert len(splits.y_val) == 5000 and len(splits.y_train) == 2000
    assert not set(splits.train_indices) & set(splits.val_indices)
    assert len(splits.y_test) == 10_000  # the test set is untouched and separate
    shares = np.bincount(splits.y_val) / 5000
    np.testing.assert_allclose(shares, np.bincount(raw.y_train) / 60_000, atol=0.001)
    assert splits.x_train.dtype == np.float32 and splits.x_train.shape[1:] == (28, 28, 1)
    assert splits.x_train.min() >= 0.0 and splits.x_train.max() <= 1.0
    again = make_splits(raw, cfg)
    np.testing.assert_array_equal(splits.val_indices, again.val_indices)
    other = make_splits(raw, DataConfig(val_size=5000, train_size=2000, split_seed=4))
    assert not np.array_equal(splits.val_indices, other.val_indices)
    small_test = make_splits(raw, DataConfig(val_size=5000, train_size=2000, test_size=500))
    other_sizes = make_splits(raw, DataConfig(val_size=4000, train_size=900, test_size=500))
    np.testing.assert_array_equal(small_test.y_test, other_sizes.y_test)  # same test subset
    np.testing.assert_array_equal(small_test.x_test, other_sizes.x_test)
    full = make_splits(raw, DataConfig(val_size=5000))
    assert len(full.y_train) == 55_000
    assert len(set(full.train_indices) | set(full.val_indices)) == 60_000
