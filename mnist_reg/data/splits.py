"""Train / validation / test splits: the validation split comes out of the training images.

The test set is only ever used to report; selection and early stopping see the validation
split. Both the validation split and the ``train_size`` subsample are stratified and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_reg.config.schema import DataConfig
from mnist_reg.data.sources import RawDataset, load_raw


@dataclass(frozen=True)
class Splits:
    """Images as float32 in [0, 1] with a channel axis, labels as int32."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_indices: np.ndarray  # positions in the official training set, for audits
    val_indices: np.ndarray


def stratified_take(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of ``size`` items whose class shares match those of ``labels``."""
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    per_class = np.floor(exact).astype(int)
    # Hand out what flooring left over to the classes with the largest remainders.
    leftover = size - per_class.sum()
    per_class[np.argsort(exact - per_class)[::-1][:leftover]] += 1
    chosen = [
        rng.permutation(np.flatnonzero(labels == cls))[:n]
        for cls, n in zip(classes, per_class, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def normalize(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def make_splits(raw: RawDataset, cfg: DataConfig) -> Splits:
    # One generator per draw, so that e.g. the test subset does not change with train_size;
    # the test subset does not change with the split seed either (split_seed 0's draw), so
    # repeats that vary their split (repeat.vary_split) are tested on the same images.
    val_rng, train_rng = (np.random.default_rng([cfg.split_seed, i]) for i in range(2))
    test_rng = np.random.default_rng([0, 2])
    val_indices = stratified_take(raw.y_train, cfg.val_size, val_rng)
    rest = np.setdiff1d(np.arange(len(raw.y_train)), val_indices)
    if cfg.train_size is not None and cfg.train_size < len(rest):
        rest = rest[stratified_take(raw.y_train[rest], cfg.train_size, train_rng)]
    test = np.arange(len(raw.y_test))
    if cfg.test_size is not None and cfg.test_size < len(test):
        test = stratified_take(raw.y_test, cfg.test_size, test_rng)
    return Splits(
        x_train=normalize(raw.x_train[rest]),
        y_train=raw.y_train[rest].astype(np.int32),
        x_val=normalize(raw.x_train[val_indices]),
        y_val=raw.y_train[val_indices].astype(np.int32),
        x_test=normalize(raw.x_test[test]),
        y_test=raw.y_test[test].astype(np.int32),
        train_indices=rest,
        val_indices=val_indices,
    )


def load_splits(cfg: DataConfig) -> Splits:
    return make_splits(load_raw(cfg.name, cfg.cache_dir, cfg.download_timeout), cfg)
