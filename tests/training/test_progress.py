"""The progress lines: what a sweep says it has left."""

from __future__ import annotations

import logging

import pytest

from mnist_reg.training import progress


@pytest.mark.parametrize(("workers", "left"), [(1, "1m30s"), (2, "0m50s"), (4, "0m30s")])
def test_time_left_counts_the_trials_other_workers_train_meanwhile(
    workers: int, left: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = iter([100.0, 110.0])  # the sweep starts; its first epoch ends 10 s later
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    sweep = progress.SweepProgress(5, 0, epochs_per_trial=2, workers=workers)
    sweep.trial_started(0)
    with caplog.at_level(logging.INFO, logger="mnist_reg"):
        sweep.epoch_ended(0, {"val_accuracy": 0.9, "val_loss": 0.3}, None)
    # 1 epoch of this trial left, then 4 trials of 2 epochs shared by the workers
    assert caplog.records[-1].getMessage().endswith(f"time left at most {left}")
