"""An Optuna study per (dataset, technique), stored persistently so a sweep resumes.

``sweep.n_trials`` is the study's total of finished (complete or pruned) trials: a second run
of the same command trains only what is missing, and a finished study trains nothing.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from mnist_reg import search_space
from mnist_reg.config import DataConfig, TechniqueConfig, TrainConfig
from mnist_reg.urls import safe_yaml
from mnist_reg.validation import ConfigError
from mnist_reg.worker_lock import StorageLock

log = logging.getLogger("mnist_reg")

DEFAULT_STORAGE = "sqlite:///mlruns/optuna.db"
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
RUNNING = optuna.trial.TrialState.RUNNING
SEED_STRIDE = 10_007  # sampler seeds of a study's successive openings lie this far apart


def study_name(cfg: DictConfig) -> str:
    """``sweep.study_name``, else ``<dataset>-<technique>`` (Optuna) or
    ``<dataset>-<technique>-kt-<algorithm>`` (Keras Tuner), so the two never share a name."""
    if cfg.sweep.study_name:
        return str(cfg.sweep.study_name)
    name = f"{cfg.data.name}-{cfg.technique.name}"
    if cfg.sweep.backend == "keras_tuner":
        name += f"-kt-{cfg.sweep.kt_algorithm}"
    return name


def storage(cfg: DictConfig) -> str | optuna.storages.BaseStorage:
    url = cfg.sweep.storage or DEFAULT_STORAGE
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith(("sqlite:", "postgresql", "mysql")):
        # A heartbeat lets the next run mark a killed worker's trial FAIL (and its MLflow
        # run KILLED), instead of leaving it RUNNING forever.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=cfg.sweep.heartbeat_interval,
                grace_period=cfg.sweep.grace_period,
                heartbeat_stale_trial_callback=_end_stale_trial_run,
            )
    return url


def _end_stale_trial_run(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    from mnist_reg.tracking.runs import end_stale_trial_run  # heavy: only once a trial went stale

    end_stale_trial_run(study, trial)


def make_sampler(
    cfg: DictConfig, trials_so_far: int, openings: int = 0
) -> optuna.samplers.BaseSampler:
    if cfg.sweep.sampler == "grid":
        # The same seed every time: the grid's order depends on it, and a resumed study
        # must walk on through the same order.
        return optuna.samplers.GridSampler(search_space.grid(cfg), seed=cfg.sweep.seed)
    # Offset the seed by the trials already run, so a resumed study does not replay the
    # random start-up suggestions it already tried, and by the times the study was opened,
    # so workers starting together on a fresh study do not all suggest the same values.
    seed = cfg.sweep.seed + trials_so_far + SEED_STRIDE * openings
    if cfg.sweep.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: trials other workers are still training count as bad, so parallel
    # workers spread out instead of all sampling next to the same promising point
    # (Optuna 5's default, kept explicit).
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=cfg.sweep.n_startup_trials, constant_liar=True
    )


def make_pruner(cfg: DictConfig) -> optuna.pruners.BasePruner:
    if cfg.sweep.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1,
            max_resource=cfg.train.epochs,
            reduction_factor=cfg.sweep.hyperband_factor,
        )
    if cfg.sweep.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=cfg.sweep.n_startup_trials, n_warmup_steps=cfg.sweep.n_warmup_epochs
        )
    return optuna.pruners.NopPruner()


def prunes(cfg: DictConfig) -> bool:
    """Baseline trials are seed repeats measuring noise: pruning them would bias it."""
    return cfg.sweep.pruner != "none" and bool(cfg.technique.search_space)


def target_trials(cfg: DictConfig) -> int:
    """``sweep.n_trials``, capped at the grid's size for the grid sampler."""
    if cfg.sweep.sampler != "grid":
        return int(cfg.sweep.n_trials)
    return min(int(cfg.sweep.n_trials), math.prod(len(v) for v in search_space.grid(cfg).values()))


# Keys that may change between runs of one study: they do not change what a trial trains.
VOLATILE_KEYS = ("data.cache_dir", "data.download_timeout", "train.progress_bar")


SPACE_KEY = "technique.search_space"  # stored as one JSON string


def trial_settings(cfg: DictConfig) -> dict[str, Any]:
    """What every trial of a study must share: data, training and the technique's space."""
    settings = search_space.flat_params(cfg, sections=("data", "train", "technique"))
    container = OmegaConf.to_container(cfg.technique.search_space, resolve=True)
    settings[SPACE_KEY] = json.dumps(container, sort_keys=True)
    return {k: v for k, v in settings.items() if k not in VOLATILE_KEYS}


def check_same_settings(study: optuna.Study, cfg: DictConfig) -> None:
    """Refuse to add trials to a study under settings its earlier trials did not use."""
    refuse_changed_settings(study.study_name, study.user_attrs.get("trial_settings"), cfg)


def schema_defaults() -> dict[str, Any]:
    """Defaults of the data, train and technique schemas, as flat dotted names.

    A study stored before a setting existed trained with that setting's default.
    """
    return {
        **_flatten(asdict(DataConfig()), "data"),
        **_flatten(asdict(TrainConfig()), "train"),
        **_flatten(asdict(TechniqueConfig()), "technique"),
    }


def _flatten(node: dict[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}.{key}"
        flat.update(_flatten(value, name) if isinstance(value, dict) else {name: value})
    return flat


def refuse_changed_settings(name: str, stored: dict[str, Any] | None, cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` naming each setting that differs from ``stored``."""
    if stored is None:
        return
    current = trial_settings(cfg)
    defaults = schema_defaults()

    def differs(key: str) -> bool:
        if key not in stored and key in defaults:  # a setting added since the study began
            return bool(current.get(key) != defaults[key])
        return bool(stored.get(key) != current.get(key))

    changed = sorted(k for k in stored.keys() | current.keys() if differs(k))
    if changed:
        details = ", ".join(
            ", ".join(_space_changes(current[k], stored[k]))
            if k == SPACE_KEY and k in current and k in stored
            else f"{k}={current.get(k)} (study: {stored.get(k)})"
            for k in changed
        )
        raise ConfigError(
            f"study {name} was run with other settings: {details}; restore them "
            "or start a new study with sweep.study_name=NAME"
        )


def _space_changes(current: str, stored: str) -> list[str]:
    """The search-space bounds that differ, ``key=now (study: then)``, not both whole spaces."""
    now, then = (_flatten(json.loads(space), SPACE_KEY) for space in (current, stored))
    keys = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
    return [f"{k}={now.get(k)} (study: {then.get(k)})" for k in keys]


class NoTrialLeft(Exception):
    """Every slot of ``sweep.n_trials`` is finished or being trained by some worker."""


class ClaimingStudy(optuna.Study):
    """A study whose ``ask`` starts a trial only while the study has a slot left.

    Finished trials and trials other workers are training (RUNNING, with a live heartbeat)
    hold the slots; counting and creating happen under the storage's worker lock, so several
    workers end with exactly ``target`` finished trials, never one per worker too many.
    Optuna's ``optimize`` fails stale trials (dead workers) before each ``ask``.
    """

    def __init__(
        self,
        name: str,
        store: str | optuna.storages.BaseStorage,
        sampler: optuna.samplers.BaseSampler,
        pruner: optuna.pruners.BasePruner,
        lock: StorageLock,
        target: int,
    ) -> None:
        super().__init__(study_name=name, storage=store, sampler=sampler, pruner=pruner)
        self.lock = lock
        self.target = target

    def ask(
        self, fixed_distributions: dict[str, optuna.distributions.BaseDistribution] | None = None
    ) -> optuna.Trial:
        with self.lock.held():
            taken = self.get_trials(deepcopy=False, states=(*FINISHED, RUNNING))
            if len(taken) >= self.target:
                raise NoTrialLeft
            return super().ask(fixed_distributions)


def open_study(cfg: DictConfig, lock: StorageLock) -> ClaimingStudy:
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
        )
        study.set_user_attr("openings", openings + 1)
        if trials_so_far is None:
            study.set_user_attr("technique", cfg.technique.name)
            study.set_user_attr("dataset", cfg.data.name)
            study.set_user_attr("config", safe_yaml(cfg))
            study.set_user_attr("trial_settings", trial_settings(cfg))
    check_same_settings(study, cfg)
    return study


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
                **{name.removeprefix("technique."): v for name, v in trial.params.items()},
            }
        )
    return pd.DataFrame(rows)


@dataclass
class BestTrial:
    number: int
    val_accuracy: float
    test_accuracy: float
    params: dict[str, Any]
    mlflow_run_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "val_accuracy": self.val_accuracy,
            "test_accuracy": self.test_accuracy,
            "params": self.params,
        }


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
