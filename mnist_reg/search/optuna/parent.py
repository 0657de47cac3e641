"""The parent run a study's workers share: opened (or resumed) under the worker lock, left
RUNNING while other workers still train, ended by the last of them; a parent that a killed
worker left RUNNING is ended by the next run of the finished study."""

from __future__ import annotations

import contextlib
import logging

import optuna

from mnist_reg.config.schema import Config
from mnist_reg.config.stores import tracking_uri
from mnist_reg.search.locks import StorageLock
from mnist_reg.search.optuna.workers import trials_in_training
from mnist_reg.search.trial import sweep_run
from mnist_reg.tracking.runs import Tracker
from mnist_reg.tracking.summary import finish_if_running

log = logging.getLogger("mnist_reg")


def open_parent_run(
    stack: contextlib.ExitStack, cfg: Config, study: optuna.Study, lock: StorageLock
) -> tuple[Tracker, str]:
    """Open (or resume) the study's parent run on ``stack``, under the worker lock: one
    tracking store, one experiment, one parent run for all workers. As the worker stops, the
    parent is settled (:func:`settle_parent_run`) before its own context ends it."""
    with lock.held():
        tracker = Tracker(tracking_uri(cfg.mlflow), cfg.mlflow)
        parent_run_id = stack.enter_context(
            sweep_run(tracker, cfg, study.user_attrs.get("mlflow_parent_run_id"))
        )
        study.set_user_attr("mlflow_parent_run_id", parent_run_id)
    # exits before the parent run's own context: leaves it RUNNING if others train
    stack.callback(settle_parent_run, study, lock, tracker, parent_run_id)
    return tracker, parent_run_id


def settle_parent_run(
    study: optuna.Study, lock: StorageLock, tracker: Tracker, run_id: str
) -> int:
    """As a worker stops: if other workers still train trials of the study (RUNNING, with a
    live heartbeat), leave the parent run they share RUNNING for the last of them to end, and
    return how many trials; else 0, and the parent ends as this worker ends (FINISHED,
    FAILED or KILLED). Decided under the worker lock, after this worker's own trials ended,
    so of two workers ending together the later one's decision stands; a worker between two
    trials marks the parent RUNNING again when it starts the next (``Tracker.trial_run``)."""
    with lock.held():
        training = trials_in_training(study)
        if training:
            tracker.leave_parent_running(run_id)
    if training:
        log.info(
            "parent run %s stays RUNNING: %d trials are still training in other workers, and "
            "the last of them to stop ends it",
            run_id,
            training,
        )
    return training


def finish_abandoned_parent(
    study: optuna.Study, lock: StorageLock, cfg: Config, status: str = "FINISHED"
) -> None:
    """End with ``status`` the parent run a killed or failed worker left RUNNING, once no
    trial of the study trains any more."""
    parent_run_id = study.user_attrs.get("mlflow_parent_run_id")
    if parent_run_id is None:
        return
    with lock.held():
        if not trials_in_training(study):
            finish_if_running(tracking_uri(cfg.mlflow), parent_run_id, status)
