"""The CNN's architecture, and regularization that really acts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_reg.augmentation import build_augmenter, is_active, training_dataset
from mnist_reg.config import AugmentationConfig, DropoutConfig, L2Config, TechniqueConfig
from mnist_reg.model import build_model


def test_baseline_is_the_articles_cnn_with_93322_parameters() -> None:
    model = build_model(TechniqueConfig(name="baseline"))
    assert model.count_params() == 93_322
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D",
        "Flatten", "Dense", "Dense",
    ]  # fmt: skip
    assert model.output_shape == (None, 10)
    assert not model.losses  # no regularization at all


def test_dropout_sits_before_dense64_and_optionally_after() -> None:
    technique = TechniqueConfig(
        name="dropout", dropout=DropoutConfig(rate=0.3, second=True, second_rate=0.1)
    )
    model = build_model(technique)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[5:] == ["Flatten", "Dropout", "Dense", "Dropout", "Dense"]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [
        0.3,
        0.1,
    ]
    assert model.count_params() == 93_322


@pytest.mark.parametrize(("on_conv", "penalized"), [(False, 2), (True, 5)])
def test_l2_penalizes_dense_kernels_and_optionally_conv(on_conv: bool, penalized: int) -> None:
    model = build_model(TechniqueConfig(name="l2", l2=L2Config(weight=1e-3, on_conv=on_conv)))
    model(np.zeros((1, 28, 28, 1), dtype=np.float32))
    assert len(model.losses) == penalized
    assert all(float(loss) > 0 for loss in model.losses)


AUGMENT = AugmentationConfig(
    rotation_degrees=15.0, width_shift=0.1, height_shift=0.1, zoom=0.1, shear=0.1
)


def digit_like_images(n: int) -> np.ndarray:
    """A bright off-centre bar per image: every transform visibly moves it."""
    images = np.zeros((n, 28, 28, 1), dtype=np.float32)
    images[:, 6:22, 9:13, 0] = 1.0
    return images


def test_no_flips_and_nothing_when_inactive() -> None:
    layers = build_augmenter(AUGMENT, seed=0).layers
    assert not any(isinstance(layer, keras.layers.RandomFlip) for layer in layers)
    assert not is_active(AugmentationConfig())


def test_training_batches_are_really_augmented_and_differ_by_epoch() -> None:
    """The article's augmentation never ran; here the batches fit() consumes are changed."""
    x = digit_like_images(64)
    y = np.zeros(64, dtype=np.int32)
    dataset = training_dataset(x, y, batch_size=64, seed=0, aug=AUGMENT)
    first = next(iter(dataset))[0].numpy()
    second = next(iter(dataset))[0].numpy()  # the next epoch
    assert first.shape == x.shape
    changed = np.abs(first - x).reshape(64, -1).max(axis=1) > 0.1
    assert changed.mean() > 0.9  # nearly every image transformed
    assert not np.allclose(first, second)  # fresh transforms every epoch
    assert abs(float(first.sum()) - float(x.sum())) / float(x.sum()) < 0.5  # not erased

    plain = next(iter(training_dataset(x, y, 64, 0, AugmentationConfig())))[0].numpy()
    np.testing.assert_array_equal(plain, x)  # without augmentation: untouched


def test_augmentation_is_off_outside_training() -> None:
    x = digit_like_images(8)
    augmenter = build_augmenter(AUGMENT, seed=0)
    np.testing.assert_array_equal(augmenter(x, training=False).numpy(), x)


def test_augmented_batches_are_reproducible_from_the_seed() -> None:
    x = digit_like_images(256)
    y = np.zeros(256, dtype=np.int32)

    def first_epoch(seed: int) -> np.ndarray:
        keras.utils.set_random_seed(seed)
        batches = training_dataset(x, y, batch_size=32, seed=seed, aug=AUGMENT)
        return np.concatenate([images.numpy() for images, _ in batches])

    np.testing.assert_array_equal(first_epoch(1), first_epoch(1))
    assert not np.array_equal(first_epoch(1), first_epoch(2))
