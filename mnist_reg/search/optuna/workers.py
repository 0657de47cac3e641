"""Several workers on one study: each claims a trial slot under the storage's worker lock, and
a dead worker's trial is failed before anyone counts what is still training."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna

from mnist_reg.search.locks import StorageLock

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
RUNNING = optuna.trial.TrialState.RUNNING


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
            promotion = self.promoter(self.get_trials(deepcopy=False)) if self.promoter else None
            if promotion is not None:
                self.enqueue_trial(promotion.params, user_attrs=promotion.user_attrs())
            return super().ask(fixed_distributions)


def trials_in_training(study: optuna.Study) -> int:
    """Trials other workers are training now; a dead worker's trial is failed first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial does not count
    return len(study.get_trials(deepcopy=False, states=(RUNNING,)))
