"""One training run: the same ``train()`` serves a single run, every sweep trial and repeats.

Selection signals (validation accuracy, early stopping) come from the validation split only;
the test set is touched once, after training (:mod:`.evaluation`).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mnist_reg import process
from mnist_reg.config.params import with_values
from mnist_reg.config.schema import Config
from mnist_reg.data.splits import Splits
from mnist_reg.training import precision, resume, schedules
from mnist_reg.training.augmentation import augmenting, training_dataset
from mnist_reg.training.evaluation import clean_accuracy
from mnist_reg.training.model import NUM_CLASSES, build_model, compile_model


@dataclass(frozen=True)
class Continuation:
    """An earlier run's training continued: its weights file (``.weights.h5``, which holds
    the optimizer's state too), the epochs they had trained, and whether the optimizer
    continues (Adam's moments and step: successive halving) or starts afresh with the
    weights only (Keras Tuner's Hyperband, as Keras Tuner itself does)."""

    weights: str
    initial_epoch: int
    optimizer: bool = True


@dataclass
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]  # loss, accuracy, val_loss, val_accuracy per epoch
    epochs_trained: int
    train_seconds: float
    kept_epoch: int  # index into history of the epoch whose weights the model holds
    clean_train_accuracy: float  # the kept model, inference mode, unaugmented training images
    initial_epoch: int = 0  # epochs the starting weights had already trained (Hyperband)
    precision: str = "float32"  # the Keras dtype policy it trained in

    @property
    def diverged(self) -> bool:
        return any(not math.isfinite(v) for v in self.history["loss"])

    @property
    def kept_val_accuracy(self) -> float:
        """Validation accuracy of the weights that are tested and logged: the objective."""
        return float(self.history["val_accuracy"][self.kept_epoch])

    @property
    def best_val_accuracy(self) -> float:
        """The best epoch's validation accuracy (for reference; may not be the kept weights)."""
        return float(max(self.history["val_accuracy"]))

    @property
    def generalization_gap(self) -> float:
        """Train minus validation accuracy of the kept model, both measured without dropout or
        augmentation (Keras's epoch accuracy is a running mean with both switched on)."""
        return self.clean_train_accuracy - self.kept_val_accuracy


def progress_bar_verbosity(setting: str) -> int:
    if setting == "on" or (setting == "auto" and sys.stdout.isatty()):
        return 1
    return 0


def train(
    cfg: Config,
    splits: Splits,
    callbacks: list[keras.callbacks.Callback] | None = None,
    continues: Continuation | None = None,
    checkpoints: Path | None = None,
) -> TrainResult:
    """Build, compile and fit the CNN for ``cfg``; the seed makes the run repeatable.

    ``continues`` an earlier run up to ``train.epochs`` epochs in all; the history then
    holds only the epochs trained here. With ``checkpoints``, a checkpoint is written there
    at each epoch's end, and a run that finds one there resumes from it as if it had never
    stopped (its history, epochs and seconds are those of the whole run).
    """
    resumed = resume.load(checkpoints) if checkpoints is not None else None
    policy = precision.resolve(cfg.train.precision)
    steps = schedules.steps_per_epoch(len(splits.y_train), cfg.train.batch_size)
    model, trainee = _seeded_model(cfg, policy, continues, steps)
    if resumed is not None:
        resume.restore_variables(trainee, resumed)
    first_epoch = continues.initial_epoch if continues is not None else 0
    early_stop = _early_stopping(cfg)
    all_callbacks = _callbacks(cfg, early_stop, callbacks or [])
    if checkpoints is not None:
        counted = [c for c in all_callbacks if _has_counters(c)]
        all_callbacks.append(resume.EpochCheckpoint(checkpoints, first_epoch, counted, resumed))
    labels = _labels(cfg, splits.y_train), _labels(cfg, splits.y_val)
    seed = _shuffle_seed(cfg, resumed)
    dataset = training_dataset(splits.x_train, labels[0], cfg.train.batch_size, seed)
    start_epoch, end_epoch = _epochs(cfg, first_epoch, resumed)
    start = time.perf_counter()
    with resume.preempted_once_checkpointed(checkpoints):
        history = trainee.fit(
            dataset,
            validation_data=(splits.x_val, labels[1]),
            validation_batch_size=1024,
            epochs=end_epoch,
            initial_epoch=start_epoch,
            shuffle=False,  # the dataset reshuffles itself each epoch
            callbacks=all_callbacks,
            verbose=progress_bar_verbosity(cfg.train.progress_bar),
        )
    seconds = time.perf_counter() - start + (resumed.train_seconds if resumed else 0.0)
    curves = _curves(history.history, resumed)
    epochs = len(curves["loss"])
    kept = _kept_epoch(cfg, early_stop, epochs, first_epoch)
    clean = clean_accuracy(model, splits)
    return TrainResult(model, curves, epochs, seconds, kept, clean, first_epoch, policy)


def _callbacks(
    cfg: Config,
    early_stop: keras.callbacks.EarlyStopping | None,
    callbacks: list[keras.callbacks.Callback],
) -> list[keras.callbacks.Callback]:
    """A diverged run (NaN loss) stops at once instead of training on garbage; the plateau
    schedule acts after the caller's callbacks have logged the epoch's rate."""
    every = [
        keras.callbacks.TerminateOnNaN(),
        *callbacks,
        *schedules.schedule_callbacks(cfg.train),
    ]
    return [early_stop, *every] if early_stop is not None else every


def _has_counters(callback: keras.callbacks.Callback) -> bool:
    return isinstance(callback, (resume.Stateful, *resume.KERAS_COUNTERS))


def _epochs(cfg: Config, first_epoch: int, resumed: resume.Resume | None) -> tuple[int, int]:
    """The epochs ``fit`` trains, from and to: a resumed run starts after its checkpoint's
    epoch (and trains none more if training had stopped there)."""
    if resumed is None:
        return first_epoch, cfg.train.epochs
    return resumed.epoch, resumed.epoch if resumed.stopped else cfg.train.epochs


def _shuffle_seed(cfg: Config, resumed: resume.Resume | None) -> int:
    """The seed of the training images' order. A resumed run's epochs draw theirs from the
    epoch it resumed at: repeatable, though not the order the stopped run would have drawn
    (Keras's own iterators advance the shuffle; docs/sweeps.md, "Interrupting and resuming")."""
    return cfg.train.seed if resumed is None else cfg.train.seed + 7919 * resumed.epoch


def _curves(
    history: dict[str, list[float]], resumed: resume.Resume | None
) -> dict[str, list[float]]:
    """The run's curves; a resumed run's begin with those its checkpoint holds."""
    earlier = resumed.history if resumed is not None else {}
    keys = [*earlier, *(k for k in history if k not in earlier)]
    return {k: [*earlier.get(k, []), *(float(v) for v in history.get(k, []))] for k in keys}


def _labels(cfg: Config, classes: np.ndarray) -> np.ndarray:
    """The labels ``fit`` sees: class ids, or one-hot rows where the loss smooths them."""
    if schedules.one_hot(cfg):
        return keras.utils.to_categorical(classes, NUM_CLASSES)
    return classes


def _seeded_model(
    cfg: Config, policy: str, continues: Continuation | None, steps_per_epoch: int
) -> tuple[keras.Model, keras.Model]:
    """The compiled model, seeded (and the run it continues loaded), and what ``fit``
    trains: the model itself, or the model behind its augmentation layers."""
    process.share_gpus()  # before TensorFlow initializes a GPU
    keras.utils.set_random_seed(cfg.train.seed)
    if cfg.train.deterministic:  # process-wide from here on; cannot be switched off again
        tf.config.experimental.enable_op_determinism()
    model = build_model(cfg.technique, policy)
    scheduled = _restarted_schedule(cfg, continues)
    compile_model(model, scheduled, steps_per_epoch)
    if continues is not None:
        _load(model, continues)
    trainee = augmenting(model, cfg.technique.augmentation, cfg.train.seed)
    if trainee is not model:
        compile_model(trainee, scheduled, steps_per_epoch, optimizer=model.optimizer)
    return model, trainee


def _restarted_schedule(cfg: Config, continues: Continuation | None) -> Config:
    """A continuation under a fresh optimizer starts its schedule again at step 0, over the
    epochs it has left, so that it ends where a schedule ends (a warm restart), not part-way
    along one; a kept optimizer goes on along its parent's schedule (``cfg`` as it is)."""
    if continues is None or continues.optimizer:
        return cfg
    spanned = cfg.train.schedule_epochs or cfg.train.epochs
    left = max(1, spanned - continues.initial_epoch)
    return with_values(cfg, {"train.schedule_epochs": left})


def _load(model: keras.Model, continues: Continuation) -> None:
    """Load the weights (and, if it continues, the optimizer's state) of an earlier run."""
    if continues.optimizer:  # built, so that its moments and step are loaded, not skipped
        model.optimizer.build(model.trainable_variables)
        model.load_weights(continues.weights)
        return
    with warnings.catch_warnings():  # the optimizer starts afresh, as in Keras Tuner
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(continues.weights)


def _early_stopping(cfg: Config) -> keras.callbacks.EarlyStopping | None:
    stopping = cfg.technique.early_stopping
    if not stopping.enabled:
        return None
    return keras.callbacks.EarlyStopping(
        monitor=stopping.monitor,
        patience=stopping.patience,
        min_delta=stopping.min_delta,
        restore_best_weights=stopping.restore_best_weights,
        mode="max" if stopping.monitor == "val_accuracy" else "min",
    )


def _kept_epoch(
    cfg: Config,
    early_stop: keras.callbacks.EarlyStopping | None,
    epochs: int,
    initial_epoch: int,
) -> int:
    """The index into the history of the epoch whose weights the model holds."""
    restores = early_stop is not None and cfg.technique.early_stopping.restore_best_weights
    if restores and early_stop is not None and early_stop.best_weights:
        # Keras 3 restores the best epoch's weights at the end; its epoch counts from 0
        # across runs, the history from initial_epoch.
        return int(early_stop.best_epoch) - initial_epoch
    return epochs - 1
