"""The Keras Tuner backend: ``sweep.backend=keras_tuner sweep.kt_algorithm=NAME``.

Keras Tuner's oracles (Hyperband, Bayesian optimization, random search) choose the values;
everything else is the Optuna backend's: the same search space (:mod:`kt_space`), splits,
``train()`` and MLflow runs (one nested run per trial under one parent run per project,
tagged ``backend=keras_tuner``). The project folder, ``<sweep.kt_directory>/<study>``, holds
Keras Tuner's own state, the weights Hyperband continues from, and ours
(``mnist_reg.json``: the parent run, the settings, each trial's run and epochs), so the same
command resumes without redoing a finished trial.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import pandas as pd
from omegaconf import DictConfig

from mnist_reg import kt_space
from mnist_reg.kt_project import ProjectState, project_dir
from mnist_reg.progress import EpochProgress, SweepProgress
from mnist_reg.search_space import flat_params, with_values
from mnist_reg.splits import Splits, load_splits
from mnist_reg.study import BestTrial, refuse_changed_settings, trial_settings
from mnist_reg.sweep_runner import SweepOutcome, summarize_interrupted
from mnist_reg.tracked import raise_if_diverged, test_logged, train_logged
from mnist_reg.tracking.runs import EpochMetricsLogger, Tracker
from mnist_reg.training import fresh_session
from mnist_reg.urls import safe_yaml
from mnist_reg.worker_lock import sole_worker

log = logging.getLogger("mnist_reg")

# Keras Tuner's trial states, in the names Optuna and the MLflow runs use.
# One worker per project (kt_project's lock): a trial still RUNNING in the oracle when the
# table is written was stopped (Ctrl-C, SIGTERM, a killed worker); Keras Tuner runs it again
# on resume.
STATES = {"COMPLETED": "COMPLETE", "FAILED": "FAIL", "INVALID": "FAIL", "RUNNING": "INTERRUPTED"}


class EpochCounter(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epochs += 1


def _oracle_class(algorithm: str) -> type[kt.Oracle]:
    return {
        "hyperband": kt.oracles.HyperbandOracle,
        "bayesian": kt.oracles.BayesianOptimizationOracle,
        "random": kt.oracles.RandomSearchOracle,
    }[algorithm]


def make_oracle(cfg: DictConfig, state: ProjectState) -> kt.Oracle:
    """The algorithm's oracle, stopped at ``sweep.n_trials`` complete trials or
    ``sweep.epoch_budget`` epochs, whichever comes first."""
    base = _oracle_class(cfg.sweep.kt_algorithm)
    n_trials = int(cfg.sweep.n_trials)
    budget = cfg.sweep.epoch_budget

    class Limited(base):  # type: ignore[misc, valid-type]
        def populate_space(self, trial_id: str) -> dict[str, Any]:
            complete = [t for t in self.trials.values() if t.status == "COMPLETED"]
            spent = budget is not None and state.epochs_spent() >= budget
            if len(complete) >= n_trials or spent:
                return {"status": "STOPPED", "values": None}
            return dict(super().populate_space(trial_id))

    common: dict[str, Any] = {
        "objective": kt.Objective("val_accuracy", direction="max"),
        "hyperparameters": kt_space.hyperparameters(cfg),
        "allow_new_entries": False,
        "tune_new_entries": False,
        "seed": cfg.sweep.seed,
        "max_consecutive_failed_trials": 3,
    }
    if cfg.sweep.kt_algorithm == "hyperband":
        return Limited(
            max_epochs=cfg.train.epochs,
            factor=cfg.sweep.hyperband_factor,
            hyperband_iterations=None,  # endless: n_trials or the budget stops it
            **common,
        )
    if cfg.sweep.kt_algorithm == "bayesian":
        return Limited(max_trials=None, num_initial_points=cfg.sweep.n_startup_trials, **common)
    return Limited(max_trials=None, **common)


class TrackedTuner(kt.Tuner):
    """Keras Tuner's search loop around our tracked training run."""

    def __init__(
        self,
        cfg: DictConfig,
        splits: Splits,
        tracker: Tracker,
        progress: SweepProgress,
        state: ProjectState,
        oracle: kt.Oracle,
    ) -> None:
        self.cfg = cfg
        self.splits = splits
        self.tracker = tracker
        self.progress = progress
        self.state = state
        super().__init__(
            oracle=oracle,
            directory=cfg.sweep.kt_directory,
            project_name=cfg.sweep.study_name,
            overwrite=False,  # resume
        )

    def best_so_far(self) -> float | None:
        scores = [
            t.score for t in self.oracle.trials.values() if t.status == "COMPLETED" and t.score
        ]
        return max(scores, default=None)

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> dict:
        fresh_session()  # the previous model goes, and its memory
        cfg = self.cfg
        number = int(trial.trial_id)
        values = trial.hyperparameters.values
        trial_cfg = with_values(cfg, kt_space.trial_values(trial.hyperparameters, cfg))
        trial_cfg.train.seed = cfg.train.seed + number
        trial_cfg.train.epochs = int(values.get("tuner/epochs", cfg.train.epochs))
        initial_epoch = int(values.get("tuner/initial_epoch", 0))
        previous = values.get("tuner/trial_id")  # Hyperband: continue that trial's weights
        weights = self._get_checkpoint_fname(previous) if previous is not None else None
        tags = {
            "technique": cfg.technique.name,
            "study_name": cfg.sweep.study_name,
            "backend": "keras_tuner",
            "kt_algorithm": cfg.sweep.kt_algorithm,
            "kt_trial_id": trial.trial_id,
        }
        if previous is not None:
            tags["kt_continues_trial"] = str(previous)
        record = self.state.trial(trial.trial_id)
        counter = EpochCounter()
        self.progress.trial_started(number)
        try:
            with self.tracker.trial_run(number, tags, STATES["RUNNING"]) as run_id:
                record["mlflow_run_id"] = run_id
                record["seed"] = trial_cfg.train.seed
                self.state.save()
                best = self.best_so_far()
                callbacks = [EpochMetricsLogger(), EpochProgress(self.progress, best), counter]
                result = train_logged(
                    trial_cfg, self.splits, self.tracker, callbacks, weights, initial_epoch
                )
                raise_if_diverged(result)
                result.model.save_weights(self._get_checkpoint_fname(trial.trial_id))
                test = test_logged(result, self.splits, self.tracker)
        finally:
            record["epochs_trained"] = counter.epochs  # this attempt's
            record["epochs_spent"] = record.get("epochs_spent", 0) + counter.epochs  # all
            self.state.save()
        record.update(
            test_accuracy=test.test_accuracy,
            train_seconds=result.train_seconds,
            val_accuracy=result.kept_val_accuracy,
            values=kt_space.trial_values(trial.hyperparameters, cfg),
        )
        self.state.save()
        return {"val_accuracy": result.kept_val_accuracy}

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        finished = trial.status == "COMPLETED"
        self.progress.finished += int(finished)
        log.info(
            "trial %d %s: val_accuracy %s, %d epochs (%d of %d finished)",
            int(trial.trial_id),
            STATES.get(trial.status, trial.status),
            f"{trial.score:.4f}" if trial.score is not None else "-",
            self.state.trial(trial.trial_id).get("epochs_trained", 0),
            self.progress.finished,
            self.progress.total,
        )
        if not finished and trial.message:
            log.warning("trial %s failed: %s", trial.trial_id, trial.message.strip()[-500:])


def trials_table(oracle: kt.Oracle, state: ProjectState, cfg: DictConfig) -> pd.DataFrame:
    """One row per trial, in the columns of the Optuna backend's table but
    ``last_val_accuracy`` (Keras Tuner stops no trial half-way)."""
    rows = []
    for trial_id in sorted(oracle.trials, key=int):
        trial = oracle.trials[trial_id]
        record = state.trial(trial_id)
        values = {
            k.removeprefix("technique."): v
            for k, v in kt_space.trial_values(trial.hyperparameters, cfg).items()
        }
        complete = trial.status == "COMPLETED"
        rows.append(
            {
                "trial": int(trial_id),
                "state": STATES.get(trial.status, trial.status),
                "val_accuracy": trial.score if complete else None,
                "test_accuracy": record.get("test_accuracy"),
                "epochs": record.get("epochs_trained"),
                "seconds": record.get("train_seconds"),
                "seed": record.get("seed"),
                **values,
            }
        )
    return pd.DataFrame(rows)


def best_trial(oracle: kt.Oracle, state: ProjectState, cfg: DictConfig) -> BestTrial | None:
    """The complete trial with the best validation accuracy (never chosen by test)."""
    complete = [t for t in oracle.trials.values() if t.status == "COMPLETED" and t.score]
    if not complete:
        return None
    trial = max(complete, key=lambda t: t.score)
    record = state.trial(trial.trial_id)
    return BestTrial(
        number=int(trial.trial_id),
        val_accuracy=float(trial.score),
        test_accuracy=float(record.get("test_accuracy", float("nan"))),
        params=kt_space.trial_values(trial.hyperparameters, cfg),
        mlflow_run_id=record.get("mlflow_run_id"),
    )


def run_kt_sweep(cfg: DictConfig) -> SweepOutcome:
    """Run the Keras Tuner project of ``cfg`` up to ``sweep.n_trials`` complete trials."""
    cfg = copy.deepcopy(cfg)
    name = str(cfg.sweep.study_name)
    folder = project_dir(cfg.sweep.kt_directory, name)
    refusal = (
        f"another worker is running Keras Tuner project {folder}: its oracle lives in one "
        "process; run several workers with sweep.backend=optuna"
    )
    with sole_worker(folder, refusal):
        return _run_kt_sweep(cfg, name, folder)


def _run_kt_sweep(cfg: DictConfig, name: str, folder: Path) -> SweepOutcome:
    state = ProjectState(folder)
    refuse_changed_settings(name, state.data.get("trial_settings"), cfg)
    state.data.setdefault("trial_settings", trial_settings(cfg))
    splits = load_splits(cfg.data)
    oracle = make_oracle(cfg, state)
    tracker = Tracker(cfg.mlflow)
    budget = cfg.sweep.epoch_budget
    budget_left = budget - state.epochs_spent() if budget is not None else None
    progress = SweepProgress(cfg.sweep.n_trials, 0, cfg.train.epochs, epochs_left=budget_left)
    tuner = TrackedTuner(cfg, splits, tracker, progress, state, oracle)
    before = len(tuner.oracle.trials)
    progress.finished = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    log.info(
        "Keras Tuner %s project %s: %d of %d trials complete, %d epochs spent; train %d, "
        "validation %d, test %d images",
        cfg.sweep.kt_algorithm,
        folder,
        progress.finished,
        cfg.sweep.n_trials,
        state.epochs_spent(),
        len(splits.y_train),
        len(splits.y_val),
        len(splits.y_test),
    )
    with tracker.sweep_run(
        name,
        cfg.technique.name,
        state.data.get("mlflow_parent_run_id"),
        flat_params(cfg),
        flat_params(cfg, sections=("sweep",)),
        safe_yaml(cfg),
        backend="keras_tuner",
    ) as parent_run_id:
        state.data["mlflow_parent_run_id"] = parent_run_id
        state.save()
        try:
            tuner.search(verbose=0)
        except KeyboardInterrupt:  # what finished is summarized all the same, as in run_sweep
            summarize_interrupted(
                lambda: _summarize(tuner.oracle, state, cfg, tracker, parent_run_id, name)
            )
            raise
        table, best = _summarize(tuner.oracle, state, cfg, tracker, parent_run_id, name)
    return SweepOutcome(name, len(tuner.oracle.trials) - before, table, best, parent_run_id)


def _summarize(
    oracle: kt.Oracle,
    state: ProjectState,
    cfg: DictConfig,
    tracker: Tracker,
    parent_run_id: str,
    name: str,
) -> tuple[pd.DataFrame, BestTrial | None]:
    table = trials_table(oracle, state, cfg)
    best = best_trial(oracle, state, cfg)
    tracker.log_sweep_summary(table, {}, name)
    if best is not None:  # one worker per project (kt_project's lock): no race here
        tracker.mark_best(parent_run_id, best.as_dict(), cfg.data.name, name)
    return table, best
