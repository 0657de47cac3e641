"""The CNN of the TensorFlow MNIST tutorial, plus only the chosen technique's regularization.

Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dense64-Dense10: 93,322 parameters. Dropout and L2
add no parameters; augmentation runs in a model wrapped around the CNN for training only
(:func:`mnist_reg.training.augmentation.augmenting`), so the saved model is the plain CNN.
"""

from __future__ import annotations

import keras
from keras import layers

from mnist_reg.config.schema import Config
from mnist_reg.config.technique import TechniqueConfig
from mnist_reg.training import schedules

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def build_model(technique: TechniqueConfig, precision: str = "float32") -> keras.Sequential:
    """The CNN with ``technique``'s regularization, its layers computing in ``precision``
    (a Keras dtype policy) but the output layer, which stays float32 (as does the loss)."""
    l2 = technique.l2.weight
    dense_l2 = keras.regularizers.L2(l2) if l2 > 0 else None
    conv_l2 = dense_l2 if technique.l2.on_conv else None
    dropout = technique.dropout
    before_dense = [layers.Dropout(dropout.rate, dtype=precision)] if dropout.rate > 0 else []
    after_dense = (
        [layers.Dropout(dropout.second_rate, dtype=precision)]
        if dropout.second and dropout.second_rate > 0
        else []
    )
    conv = {"activation": "relu", "kernel_regularizer": conv_l2, "dtype": precision}
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, (3, 3), **conv),
            layers.MaxPooling2D((2, 2), dtype=precision),
            layers.Conv2D(64, (3, 3), **conv),
            layers.MaxPooling2D((2, 2), dtype=precision),
            layers.Conv2D(64, (3, 3), **conv),
            layers.Flatten(dtype=precision),
            *before_dense,
            layers.Dense(64, activation="relu", kernel_regularizer=dense_l2, dtype=precision),
            *after_dense,
            # float32 out: a stable softmax and loss, and float32 probabilities from the model
            layers.Dense(
                NUM_CLASSES, activation="softmax", kernel_regularizer=dense_l2, dtype="float32"
            ),
        ],
        name=f"cnn_{technique.name}",
    )


def compile_model(
    model: keras.Model,
    cfg: Config,
    steps_per_epoch: int,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> None:
    """Adam (AdamW with the technique's weight decay), the learning-rate schedule, and the
    article's loss (label-smoothed where the technique says); ``optimizer``: share another
    model's (the augmenting model trains the CNN's weights with the CNN's optimizer, whose
    state is then saved with the CNN)."""
    model.compile(
        optimizer=optimizer or schedules.optimizer(cfg, steps_per_epoch),
        loss=schedules.loss(cfg),
        metrics=["accuracy"],
    )


def model_summary(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    return "\n".join(lines)
