"""A trial stopped between two epochs (a preemption signal, Ctrl-C or SIGTERM after its
first epoch, its worker killed) is taken up again, not trained anew: Optuna's state goes
from RUNNING back to WAITING, so the next ``ask`` of any worker hands out the same trial
number, whose objective finds its epoch checkpoint and reopens its MLflow run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from mnist_reg.config.schema import Config
from mnist_reg.preemption import CHECKPOINT_STATE

log = logging.getLogger("mnist_reg")

WAITING = optuna.trial.TrialState.WAITING
RUNNING = optuna.trial.TrialState.RUNNING


def folder(cfg: Config, number: int) -> Path:
    """Where trial ``number`` keeps its epoch checkpoint while it trains."""
    study = Path(cfg.sweep.checkpoint_dir) / str(cfg.sweep.study_name)
    return study / f"trial-{number:04d}.resume"


def resumable(cfg: Config, number: int) -> bool:
    """Whether trial ``number`` has an epoch checkpoint to resume from."""
    return (folder(cfg, number) / CHECKPOINT_STATE).exists()


def put_back(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
    """Trial ``trial`` (RUNNING) goes back to WAITING, for the next ``ask`` to resume; False
    if another worker changed its state first."""
    storage = study._storage  # Optuna's own: no public call sets a trial WAITING again
    if not storage.set_trial_state_values(trial._trial_id, WAITING):
        return False
    log.info("trial %d: waits to resume from its checkpoint", trial.number)
    return True


class ResumingStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage, where a stale trial (its worker's heartbeat stopped) that has an
    epoch checkpoint goes back to WAITING to resume, instead of being failed: Optuna fails
    stale trials itself before each ``ask``, so this is the one place to take them up."""

    def __init__(
        self,
        url: str,
        resumes: Callable[[int], bool],
        end_run: Callable[[str], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(url, **kwargs)
        self.resumes = resumes
        self.end_run = end_run

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale = []
        for trial_id in super()._get_stale_trial_ids(study_id):
            trial = self.get_trial(trial_id)
            if self.resumes(trial.number) and self.set_trial_state_values(trial_id, WAITING):
                if "mlflow_run_id" in trial.user_attrs:
                    self.end_run(trial.user_attrs["mlflow_run_id"])
                continue
            stale.append(trial_id)
        return stale
