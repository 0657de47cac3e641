"""Augmentation that really acts: what fit() feeds the CNN is changed, fresh each epoch."""

from __future__ import annotations

import keras
import numpy as np

from mnist_reg.config.schema import Config
from mnist_reg.config.technique import AugmentationConfig, TechniqueConfig
from mnist_reg.training.augmentation import (
    augmenting,
    build_augmenter,
    is_active,
    training_dataset,
)
from mnist_reg.training.model import build_model, compile_model

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


class Recorder(keras.layers.Layer):
    """Keeps the last training batch it was given: what the CNN really trained on."""

    def build(self, input_shape: tuple[int, ...]) -> None:
        self.seen = self.add_weight(
            shape=(64, 28, 28, 1), initializer="zeros", trainable=False, name="seen"
        )

    def call(self, images: object, training: bool = False) -> object:
        if training:
            self.seen.assign(images)
        return images


def trained_on(aug: AugmentationConfig, x: np.ndarray, seed: int = 0, epochs: int = 1) -> list:
    """The batch the wrapped model trained on in each epoch (one batch of 64 per epoch)."""
    keras.utils.set_random_seed(seed)
    recorder = Recorder()
    cnn = keras.Sequential(
        [keras.Input((28, 28, 1)), recorder, keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    trainee = augmenting(cnn, aug, seed)
    compile_model(trainee, Config(technique=TechniqueConfig(name="baseline")), 1)
    dataset = training_dataset(x, np.zeros(len(x), dtype=np.int32), batch_size=64, seed=seed)
    seen = []
    for _ in range(epochs):
        trainee.fit(dataset, epochs=1, shuffle=False, verbose=0)
        seen.append(recorder.seen.numpy().copy())
    return seen


def test_the_cnn_really_trains_on_augmented_images_fresh_each_epoch() -> None:
    """The article's augmentation never ran; here what fit() feeds the CNN is changed."""
    x = digit_like_images(64)
    first, second = trained_on(AUGMENT, x, epochs=2)
    changed = np.abs(first - x).reshape(64, -1).max(axis=1) > 0.1
    assert changed.mean() > 0.9  # nearly every image transformed
    assert not np.allclose(first, second)  # fresh transforms every epoch
    assert abs(float(first.sum()) - float(x.sum())) / float(x.sum()) < 0.5  # not erased

    (plain,) = trained_on(AugmentationConfig(), x)
    np.testing.assert_array_equal(plain, x)  # without augmentation: untouched


def test_augmentation_is_off_outside_training_and_the_cnn_is_shared() -> None:
    x = digit_like_images(8)
    augmenter = build_augmenter(AUGMENT, seed=0)
    np.testing.assert_array_equal(augmenter(x, training=False).numpy(), x)
    cnn = build_model(TechniqueConfig(name="baseline"))
    trainee = augmenting(cnn, AUGMENT, seed=0)
    assert trainee.layers[-1] is cnn  # training the wrapper trains the logged CNN's weights
    assert trainee.count_params() == cnn.count_params() == 93_322
    np.testing.assert_allclose(trainee.predict(x, verbose=0), cnn.predict(x, verbose=0))
    assert augmenting(cnn, AugmentationConfig(), seed=0) is cnn


def test_augmented_batches_are_reproducible_from_the_seed() -> None:
    x = digit_like_images(64)
    np.testing.assert_array_equal(trained_on(AUGMENT, x, seed=1)[0], trained_on(AUGMENT, x, 1)[0])
    assert not np.array_equal(trained_on(AUGMENT, x, seed=1)[0], trained_on(AUGMENT, x, 2)[0])
