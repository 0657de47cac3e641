"""Progress of a sweep as log lines: trial k of n, its epochs, the best so far, time left.

Plain lines through ``logging`` read well in a terminal and in Hydra's log file alike; Keras's
per-batch bar is shown only on a terminal (``train.progress_bar=auto``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import keras
import optuna

log = logging.getLogger("mnist_reg")


def format_duration(duration: float) -> str:
    seconds = round(duration)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class SweepProgress:
    def __init__(
        self,
        total_trials: int,
        finished_before: int,
        epochs_per_trial: int,
        unit: str = "trial",
        epochs_left: int | None = None,
    ) -> None:
        self.unit = unit  # "trial", or "repeat" for seed repeats
        self.epochs_cap = epochs_left  # what is left of sweep.epoch_budget
        self.total = total_trials
        self.finished = finished_before
        self.epochs_per_trial = epochs_per_trial
        self.epochs_done = 0
        self.started = time.monotonic()
        self.trial_number = -1
        self.trial_epoch = 0

    def trial_started(self, number: int) -> None:
        self.trial_number = number
        self.trial_epoch = 0
        log.info("%s %d started (%d of %d finished)", self.unit, number, self.finished, self.total)

    def epoch_ended(self, epoch: int, logs: dict[str, Any], best: float | None) -> None:
        self.epochs_done += 1
        self.trial_epoch = epoch + 1
        per_epoch = (time.monotonic() - self.started) / self.epochs_done
        trials_after = max(self.total - self.finished - 1, 0)
        epochs_left = (
            self.epochs_per_trial - self.trial_epoch + trials_after * self.epochs_per_trial
        )
        if self.epochs_cap is not None:  # the budget ends the search first
            epochs_left = min(epochs_left, max(self.epochs_cap - self.epochs_done, 0))
        best_text = f"{best:.4f}" if best is not None else "none yet"
        log.info(
            "%s %d (%d/%d) epoch %d/%d: val_accuracy=%.4f val_loss=%.4f | best so far %s"
            " | time left at most %s",
            self.unit,
            self.trial_number,
            self.finished + 1,
            self.total,
            self.trial_epoch,
            self.epochs_per_trial,
            logs.get("val_accuracy", float("nan")),
            logs.get("val_loss", float("nan")),
            best_text,
            format_duration(per_epoch * epochs_left),
        )

    def trial_ended(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Optuna callback, after each trial of this process."""
        if trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
            self.finished += 1
        value = f"{trial.value:.4f}" if trial.value is not None else "-"
        # A complete trial's value is its kept epoch's; a pruned trial's, its last epoch's.
        what = "last val_accuracy" if trial.state.name == "PRUNED" else "val_accuracy"
        log.info(
            "trial %d %s: %s %s, %d epochs (%d of %d finished, %s elapsed)",
            trial.number,
            trial.state.name,
            what,
            value,
            self.trial_epoch,
            self.finished,
            self.total,
            format_duration(time.monotonic() - self.started),
        )


class EpochProgress(keras.callbacks.Callback):
    def __init__(self, progress: SweepProgress, best_so_far: float | None) -> None:
        super().__init__()
        self.progress = progress
        self.best_so_far = best_so_far

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.progress.epoch_ended(epoch, logs or {}, self.best_so_far)
