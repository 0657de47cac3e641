"""An Optuna study per (dataset, technique), stored persistently so a sweep resumes.

``sweep.n_trials`` is the study's total of finished (complete or pruned) trials: a second run
of the same command trains only what is missing, and a finished study trains nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna
import pandas as pd

from mnist_reg.config.schema import Config
from mnist_reg.config.stores import ensure_sqlite_parent, sqlite_path, storage_url, tracking_uri
from mnist_reg.search.locks import StorageLock
from mnist_reg.search.optuna import resuming
from mnist_reg.search.optuna.promotion import CONTINUES, RUNG, promoter
from mnist_reg.search.optuna.samplers import make_pruner, make_sampler, prunes, target_trials
from mnist_reg.search.optuna.workers import FINISHED, ClaimingStudy, fail_gone_workers_trials
from mnist_reg.search.outcome import BestTrial
from mnist_reg.search.settings import (
    refuse_changed_settings,
    settings_digest,
    study_name,
    trial_settings,
)


def storage(cfg: Config) -> str | optuna.storages.BaseStorage:
    url = storage_url(cfg.sweep)
    ensure_sqlite_parent(url)
    if url.startswith(("sqlite:", "postgresql", "mysql")):
        # A heartbeat lets the next run mark a killed worker's trial FAIL (and its MLflow
        # run KILLED), instead of leaving it RUNNING forever.
        end_run = _killed_run_ender(cfg)

        def end_stale_trial_run(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            run_id = trial.user_attrs.get("mlflow_run_id")
            if run_id is not None:
                end_run(run_id)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return resuming.ResumingStorage(
                url,
                heartbeat_interval=cfg.sweep.heartbeat_interval,
                grace_period=cfg.sweep.grace_period,
                heartbeat_stale_trial_callback=end_stale_trial_run,
                resumes=lambda number: resuming.resumable(cfg, number),
                end_run=_killed_run_ender(cfg, resumes=True),
            )
    return url


def _killed_run_ender(cfg: Config, resumes: bool = False) -> Callable[[str], None]:
    uri = tracking_uri(cfg.mlflow)

    def end(run_id: str) -> None:
        from mnist_reg.tracking.summary import end_killed_trial_run  # only when needed

        end_killed_trial_run(uri, run_id, resumes)

    return end


# The settings every trial of a study shares are kept where Optuna's own views do not print
# them (a system attribute: every storage has them); the user attributes keep what a user
# filters and reads in `optuna studies` or optuna-dashboard, and a digest of the settings.
SETTINGS_ATTR = "mnist_reg:trial_settings"
LEGACY_SETTINGS_ATTR = "trial_settings"  # a user attribute, in studies begun before


def stored_settings(study: optuna.Study) -> dict[str, Any] | None:
    """The settings the study's first run stored (None for a new study)."""
    legacy = study.user_attrs.get(LEGACY_SETTINGS_ATTR)
    if legacy is not None:
        return dict(legacy)
    storage = optuna.storages.get_storage(study._storage)  # its own storage
    attrs = storage.get_study_system_attrs(storage.get_study_id_from_name(study.study_name))
    found = attrs.get(SETTINGS_ATTR)
    return None if found is None else dict(found)


def store_settings(study: optuna.Study, cfg: Config) -> None:
    """What a user reads in Optuna's views, and the settings the next run is checked
    against (with a digest that a user can compare between studies)."""
    settings = trial_settings(cfg)
    storage = optuna.storages.get_storage(study._storage)
    storage.set_study_system_attr(
        storage.get_study_id_from_name(study.study_name), SETTINGS_ATTR, settings
    )
    study.set_user_attr("technique", cfg.technique.name)
    study.set_user_attr("dataset", cfg.data.name)
    study.set_user_attr("epochs", cfg.train.epochs)
    study.set_user_attr("settings_digest", settings_digest(settings))


def check_same_settings(study: optuna.Study, cfg: Config) -> None:
    """Refuse to add trials to a study under settings its earlier trials did not use."""
    refuse_changed_settings(study.study_name, stored_settings(study), cfg)


def open_study(cfg: Config, lock: StorageLock) -> ClaimingStudy:
    """Create or load the study; under the worker lock, so workers starting together on a
    fresh store neither race to create its tables nor to create the study."""
    name = study_name(cfg)
    with lock.held():
        store = storage(cfg)  # an RDB storage creates its tables here
        try:
            existing = optuna.load_study(study_name=name, storage=store)
            trials_so_far: int | None = len(existing.trials)
            openings = int(existing.user_attrs.get("openings", 0))
        except KeyError:  # no such study yet
            trials_so_far, openings = None, 0
        optuna.create_study(
            storage=store, study_name=name, direction="maximize", load_if_exists=True
        )
        study = ClaimingStudy(
            name,
            store,
            make_sampler(cfg, trials_so_far or 0, openings),
            make_pruner(cfg) if prunes(cfg) else optuna.pruners.NopPruner(),
            lock,
            target_trials(cfg),
            promoter(cfg),
        )
        study.set_user_attr("openings", openings + 1)
        fail_trials_of_gone_workers(cfg, study)
        if trials_so_far is None:
            store_settings(study, cfg)
    check_same_settings(study, cfg)
    return study


def fail_trials_of_gone_workers(cfg: Config, study: optuna.Study) -> int:
    """With a storage on this machine (SQLite), fail at once the RUNNING trials whose worker
    process is gone and end their MLflow runs (elsewhere the heartbeat tells, later)."""
    if sqlite_path(storage_url(cfg.sweep)) is None:  # one machine: ask its OS
        return 0
    end_resumable = _killed_run_ender(cfg, resumes=True)

    def resumes(trial: optuna.trial.FrozenTrial) -> bool:
        if not resuming.resumable(cfg, trial.number) or not resuming.put_back(study, trial):
            return False
        if "mlflow_run_id" in trial.user_attrs:
            end_resumable(trial.user_attrs["mlflow_run_id"])
        return True

    return fail_gone_workers_trials(study, _killed_run_ender(cfg), resumes)


def epochs_spent(study: optuna.Study) -> int:
    """Epochs every trial of the study really trained: complete, pruned and failed alike."""
    trials = study.get_trials(deepcopy=False)
    return sum(int(t.user_attrs.get("epochs_trained", 0)) for t in trials)


class EpochBudget:
    """Optuna callback: no new trial once the study's trials trained ``budget`` epochs."""

    def __init__(self, budget: int | None) -> None:
        self.budget = budget

    def spent(self, study: optuna.Study) -> bool:
        return self.budget is not None and epochs_spent(study) >= self.budget

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.spent(study):
            study.stop()


def finished_count(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: state, validation accuracy (the objective, of the kept weights;
    none for a pruned trial) and that of the last epoch trained (where a pruned trial
    stopped), test accuracy, cost, parameters."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        reported = trial.intermediate_values
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name,
                "val_accuracy": trial.value if trial.state == FINISHED[0] else None,
                "last_val_accuracy": reported[max(reported)] if reported else None,
                "test_accuracy": attrs.get("test_accuracy"),
                "epochs": attrs.get("epochs_trained"),
                "seconds": attrs.get("train_seconds"),
                "seed": attrs.get("seed"),
                **{k: attrs[k] for k in (RUNG, CONTINUES) if k in attrs},  # strategy=promote
                **{name.removeprefix("technique."): v for name, v in trial.params.items()},
            }
        )
    return pd.DataFrame(rows)


def best_trial(study: optuna.Study) -> BestTrial | None:
    """The complete trial with the best validation accuracy (never chosen by test)."""
    complete = study.get_trials(deepcopy=False, states=(FINISHED[0],))
    if not complete:
        return None
    trial = max(complete, key=lambda t: t.value if t.value is not None else float("-inf"))
    return BestTrial(
        number=trial.number,
        val_accuracy=float(trial.value or 0.0),
        test_accuracy=float(trial.user_attrs.get("test_accuracy", float("nan"))),
        params=dict(trial.params),
        mlflow_run_id=trial.user_attrs.get("mlflow_run_id"),
    )


def load_stored(cfg: Config, name: str) -> tuple[BestTrial | None, set[Any], str | None] | None:
    """A stored study's best trial, the seeds its trials used and its parent run; None if
    the storage has no study of that name."""
    try:
        study = optuna.load_study(study_name=name, storage=storage(cfg))
    except KeyError:
        return None
    seeds = {t.user_attrs.get("seed") for t in study.trials}
    return best_trial(study), seeds, study.user_attrs.get("mlflow_parent_run_id")
