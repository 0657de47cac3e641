"""Progress of a sweep as log lines: trial k of n, its epochs, the best so far, time left.

Plain lines through ``logging`` read well in a terminal and in Hydra's log file alike; Keras's
per-batch bar is shown only on a terminal (``train.progress_bar=auto``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("mnist_reg")


def format_duration(duration: float) -> str:
    seconds = round(duration)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def epoch_count(count: int) -> str:
    """``count`` epochs, in words: "1 epoch", "3 epochs"."""
    return f"{count} epoch" if count == 1 else f"{count} epochs"


class SweepProgress:
    def __init__(
        self,
        total_trials: int,
        finished_before: int,
        epochs_per_trial: int,
        unit: str = "trial",
        epochs_left: int | None = None,
        workers: int = 1,
    ) -> None:
        self.unit = unit  # "trial", or "repeat" for seed repeats
        self.workers = workers  # processes sharing the trials left (sweep.workers)
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
        # the other workers train their share of the trials after this one meanwhile
        trials_after = -(-trials_after // self.workers)
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

    def trial_ended(
        self, number: int, state: str, value: float | None, finished: int | None = None
    ) -> None:
        """After each trial of this process, in the state its search gave it; ``finished``:
        the study's count of finished trials now, when other workers finish trials too."""
        if finished is not None:
            self.finished = finished
        elif state in ("COMPLETE", "PRUNED"):
            self.finished += 1
        shown = f"{value:.4f}" if value is not None else "-"
        # A complete trial's value is its kept epoch's; a pruned trial's, its last epoch's.
        what = "last val_accuracy" if state == "PRUNED" else "val_accuracy"
        log.info(
            "trial %d %s: %s %s, %s (%d of %d finished, %s elapsed)",
            number,
            state,
            what,
            shown,
            epoch_count(self.trial_epoch),
            self.finished,
            self.total,
            format_duration(time.monotonic() - self.started),
        )
