"""Several workers on one study: each claims a trial slot under the storage's worker lock, and
a dead worker's trial is failed before anyone counts what is still training."""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from mnist_reg.search.locks import StorageLock

log = logging.getLogger("mnist_reg")

WORKER = "worker"  # trial user attribute: host:pid:start of the process training it
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
RUNNING = optuna.trial.TrialState.RUNNING
WAITING = optuna.trial.TrialState.WAITING


class NoTrialLeft(Exception):
    """Every slot of ``sweep.n_trials`` is finished or being trained by some worker."""


class ClaimingStudy(optuna.Study):
    """A study whose ``ask`` starts a trial only while the study has a slot left.

    Finished trials and trials other workers are training (RUNNING, with a live heartbeat)
    hold the slots; counting and creating happen under the storage's worker lock, so several
    workers end with exactly ``target`` finished trials, never one per worker too many.
    Optuna's ``optimize`` fails stale trials (dead workers) before each ``ask``.

    With a ``promoter`` (``sweep.strategy=promote``), the trial asked for is the promotion
    it names, when it names one: enqueued with its parameters and lineage, and claimed in
    the same locked step, so two workers never promote the same configuration.
    """

    def __init__(
        self,
        name: str,
        store: str | optuna.storages.BaseStorage,
        sampler: optuna.samplers.BaseSampler,
        pruner: optuna.pruners.BasePruner,
        lock: StorageLock,
        target: int,
        promoter: Callable[[list[optuna.trial.FrozenTrial]], Any] | None = None,
    ) -> None:
        super().__init__(study_name=name, storage=store, sampler=sampler, pruner=pruner)
        self.lock = lock
        self.target = target
        self.promoter = promoter

    def ask(
        self, fixed_distributions: dict[str, optuna.distributions.BaseDistribution] | None = None
    ) -> optuna.Trial:
        with self.lock.held():
            taken = self.get_trials(deepcopy=False, states=(*FINISHED, RUNNING))
            if len(taken) >= self.target:
                raise NoTrialLeft
            # a trial put back to resume (WAITING) comes first: Optuna hands it out again
            waiting = self.get_trials(deepcopy=False, states=(WAITING,))
            promotion = self.promoter(self.get_trials(deepcopy=False)) if self.promoter else None
            if promotion is not None and not waiting:
                self.enqueue_trial(promotion.params, user_attrs=promotion.user_attrs())
            trial = super().ask(fixed_distributions)
            if waiting and isinstance(self._storage, optuna.storages.RDBStorage):
                # its heartbeat is old: renewed before another worker finds it stale
                self._storage.record_heartbeat(trial._trial_id)
            # at once: a worker stopped before its objective starts leaves a trial that the
            # next worker on this host can tell is gone
            trial.set_user_attr(WORKER, worker_id())
            return trial


def trials_in_training(study: optuna.Study) -> int:
    """Trials other workers are training now; a dead worker's trial is failed first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial does not count
    return len(study.get_trials(deepcopy=False, states=(RUNNING,)))


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), or "" where the
    system does not say: with the pid, it names one process even after pids are reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def worker_id() -> str:
    """This process, as the trials it trains record it."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"


def is_gone(worker: str) -> bool:
    """Whether the process ``worker_id`` named on this host has ended (a worker on another
    host is never judged here: Optuna's heartbeat tells)."""
    host, pid, started = worker.rsplit(":", 2)
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return bool(started) and _started(int(pid)) not in ("", started)  # the pid was reused


def fail_gone_workers_trials(
    study: optuna.Study,
    end_run: Callable[[str], None],
    resumes: Callable[[optuna.trial.FrozenTrial], bool] = lambda trial: False,
) -> int:
    """End at once the RUNNING trials whose worker on this host is gone (kill -9, an
    out-of-memory kill): ``resumes(trial)`` takes up one that can resume (it returns True),
    the others are marked FAIL with their MLflow runs ended by ``end_run``; returns how
    many. Only for a storage on this machine (SQLite): the operating system knows at once,
    where the heartbeat needs ``sweep.grace_period``."""
    ended = 0
    for trial in study.get_trials(deepcopy=False, states=(RUNNING,)):
        worker = trial.user_attrs.get(WORKER)
        if not worker or not is_gone(worker):
            continue
        ended += 1
        if resumes(trial):
            continue
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id is not None:
            end_run(run_id)
        log.info("trial %d: its worker (%s) is gone; marked FAIL", trial.number, worker)
    return ended


def own_running_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The RUNNING trials this process is training."""
    me = worker_id()
    running = study.get_trials(deepcopy=False, states=(RUNNING,))
    return [trial for trial in running if trial.user_attrs.get(WORKER) == me]
