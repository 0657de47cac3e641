"""The training input pipeline, and augmentation that really transforms the images.

The article fitted an ImageDataGenerator and then trained on the raw arrays, so its
augmentation never ran, and it flipped digits horizontally. Here the Keras 3 preprocessing
layers run in front of the CNN inside the model that ``fit`` trains, on every training
batch; in inference (validation, test, the logged model) they do nothing, and the logged
model is the plain CNN. No flips.

Inside the model rather than mapped over the ``tf.data`` batches: on the CPU a sequential
map was markedly slower than the layers in the training step (the measurement is in
benchmarks/results/input_pipeline.md). A parallel map was as fast, but its batches would
draw from the layers' random state in no fixed order, and a trial could not be re-run from
its seed. On a GPU, Keras compiles a model with XLA
only when all its layers support it, and the random layers do not: augmentation trials then
train without XLA (on the CPU, Keras never uses XLA unasked).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from mnist_reg.config.technique import AugmentationConfig


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


def training_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled (reshuffled each epoch) batches of the training images."""
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def augmenting(cnn: keras.Model, aug: AugmentationConfig, seed: int) -> keras.Model:
    """The model ``fit`` trains: ``cnn`` itself, or, when ``aug`` is active, the augmentation
    layers followed by ``cnn`` (the same layers and weights, so training it trains ``cnn``)."""
    if not is_active(aug):
        return cnn
    return keras.Sequential(
        [keras.Input(shape=cnn.input_shape[1:]), build_augmenter(aug, seed), cnn],
        name=f"augmented_{cnn.name}",
    )
