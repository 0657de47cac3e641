"""The training input pipeline, with augmentation that really transforms the images.

The article fitted an ImageDataGenerator and then trained on the raw arrays, so its
augmentation never ran, and it flipped digits horizontally. Here the Keras 3 preprocessing
layers are mapped over the shuffled training batches of the ``tf.data`` pipeline that
``fit`` consumes; validation and test images are never augmented. No flips.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from mnist_reg.config import AugmentationConfig


def is_active(aug: AugmentationConfig) -> bool:
    return any(
        v > 0
        for v in (aug.rotation_degrees, aug.width_shift, aug.height_shift, aug.zoom, aug.shear)
    )


def build_augmenter(aug: AugmentationConfig, seed: int) -> keras.Sequential:
    """Random transforms of a batch of (28, 28, 1) images; empty areas filled with black."""
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    steps: list[layers.Layer] = []
    if aug.rotation_degrees > 0:
        steps.append(layers.RandomRotation(aug.rotation_degrees / 360.0, seed=seed, **fill))
    if aug.width_shift > 0 or aug.height_shift > 0:
        steps.append(
            layers.RandomTranslation(aug.height_shift, aug.width_shift, seed=seed + 1, **fill)
        )
    if aug.zoom > 0:
        steps.append(layers.RandomZoom(aug.zoom, seed=seed + 2, **fill))
    if aug.shear > 0:
        steps.append(layers.RandomShear(x_factor=aug.shear, seed=seed + 3, **fill))  # random sign
    return keras.Sequential(steps, name="augmentation")


def training_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, aug: AugmentationConfig
) -> tf.data.Dataset:
    """Shuffled (reshuffled each epoch) batches, augmented when ``aug`` asks for it."""
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if is_active(aug):
        augmenter = build_augmenter(aug, seed)
        # Sequential on purpose: parallel calls would draw from the layers' random state in
        # no fixed order, and a trial could not be re-run from its seed. prefetch still
        # overlaps augmenting the next batch with training on this one.
        dataset = dataset.map(lambda images, labels: (augmenter(images, training=True), labels))
    return dataset.prefetch(tf.data.AUTOTUNE)
