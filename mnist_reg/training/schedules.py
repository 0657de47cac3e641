"""The learning rate's course (``train.lr_schedule``), the optimizer and the loss, built from
Keras's own schedules, optimizers and losses only, so a logged model loads in plain Keras.

The step-wise schedules count the optimizer's steps: a promoted trial that keeps its parent's
optimizer (``sweep.continue_optimizer``) keeps its step too, and so goes on along its
parent's schedule; a fresh optimizer starts the schedule again (a warm restart, which is
what Keras Tuner's Hyperband does with any schedule, as it compiles a fresh model each
round). ``docs/schedules.md`` gives each schedule's curve and parameters.
"""

from __future__ import annotations

import math

import keras

from mnist_reg.config.schema import Config, TrainConfig

ONE_CYCLE_START = 25.0  # one_cycle starts at learning_rate / 25 (Smith's and PyTorch's default)


def schedule_steps(train: TrainConfig, steps_per_epoch: int) -> int:
    """The steps cosine and one_cycle span: ``train.schedule_epochs`` (null: ``epochs``)."""
    return max(1, (train.schedule_epochs or train.epochs) * steps_per_epoch)


def learning_rate(
    train: TrainConfig, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's learning rate: a number (constant, or moved by the plateau callback)
    or one of Keras's schedules."""
    peak, kind = train.learning_rate, train.lr_schedule
    final = peak * train.final_lr_fraction
    total = schedule_steps(train, steps_per_epoch)
    if kind == "cosine":
        warmup = min(total - 1, round(train.warmup_epochs * steps_per_epoch))
        return keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else peak,
            decay_steps=total - warmup,
            alpha=train.final_lr_fraction,
            warmup_target=peak if warmup else None,
            warmup_steps=warmup,
        )
    if kind == "one_cycle":  # a linear rise from peak / 25, then a cosine fall to final
        rise = min(total - 1, max(1, round(train.one_cycle_rise * total)))
        return keras.optimizers.schedules.CosineDecay(
            peak / ONE_CYCLE_START,
            decay_steps=total - rise,
            alpha=final / peak,
            warmup_target=peak,
            warmup_steps=rise,
        )
    if kind == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            peak, decay_steps=steps_per_epoch, decay_rate=train.decay_rate
        )
    return peak


def schedule_callbacks(train: TrainConfig) -> list[keras.callbacks.Callback]:
    """The plateau schedule is Keras's callback (on the validation loss); none else."""
    if train.lr_schedule != "plateau":
        return []
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=train.plateau_factor,
            patience=train.plateau_patience,
            min_lr=train.learning_rate * train.final_lr_fraction,
            verbose=0,
        )
    ]


def optimizer(cfg: Config, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam, or AdamW where the technique sets a decoupled weight decay; float16 training
    scales its loss (its gradients would underflow unscaled)."""
    rate = learning_rate(cfg.train, steps_per_epoch)
    decay = cfg.technique.weight_decay.coefficient
    chosen: keras.optimizers.Optimizer = (
        keras.optimizers.AdamW(learning_rate=rate, weight_decay=decay)
        if decay > 0
        else keras.optimizers.Adam(learning_rate=rate)
    )
    if cfg.train.precision == "mixed_float16":
        chosen = keras.optimizers.LossScaleOptimizer(chosen)
    return chosen


def loss(cfg: Config) -> str | keras.losses.Loss:
    """The article's sparse cross-entropy; with label smoothing Keras's categorical one on
    one-hot labels (the sparse loss has no smoothing), which :func:`one_hot` makes."""
    amount = cfg.technique.label_smoothing.amount
    if amount > 0:
        return keras.losses.CategoricalCrossentropy(label_smoothing=amount)
    return "sparse_categorical_crossentropy"


def one_hot(cfg: Config) -> bool:
    """Whether the labels ``fit`` sees are one-hot (label smoothing) rather than class ids."""
    return cfg.technique.label_smoothing.amount > 0


def current_rate(model: keras.Model) -> float:
    """The rate the optimizer applies at its current step."""
    rate = model.optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate))


def steps_per_epoch(images: int, batch_size: int) -> int:
    return math.ceil(images / batch_size)
