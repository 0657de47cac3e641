"""The Keras callbacks every tracked training run uses: its epoch metrics handed to the
tracker, its progress lines, and a count of the epochs it really trained."""

from __future__ import annotations

from typing import Any

import keras

from mnist_reg.tracking.runs import Tracker
from mnist_reg.training import schedules
from mnist_reg.training.progress import SweepProgress

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class EpochMetricsLogger(keras.callbacks.Callback):
    """Logs loss, accuracy, val_loss, val_accuracy and the learning rate at the epoch's end
    to the active run with step=epoch."""

    def __init__(self, tracker: Tracker) -> None:
        super().__init__()
        self.tracker = tracker

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items() if k in EPOCH_METRICS}
        # the rate the optimizer has reached: the schedule's course in MLflow's charts
        metrics["learning_rate"] = schedules.current_rate(self.model)
        self.tracker.log_epoch(metrics, epoch)


class EpochProgress(keras.callbacks.Callback):
    def __init__(self, progress: SweepProgress, best_so_far: float | None) -> None:
        super().__init__()
        self.progress = progress
        self.best_so_far = best_so_far

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.progress.epoch_ended(epoch, logs or {}, self.best_so_far)


class EpochCounter(keras.callbacks.Callback):
    """The epochs this run trained, also when it was interrupted or failed half-way."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epochs += 1
