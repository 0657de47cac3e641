"""The Keras Tuner backend: ``sweep.backend=keras_tuner sweep.kt_algorithm=NAME``.

Keras Tuner's oracles (Hyperband, Bayesian optimization, random search) choose the values;
everything else is the Optuna backend's: the same search space (``search.space``), splits,
tracked training step and MLflow runs (one nested run per trial under one parent run per
project, tagged ``backend=keras_tuner``). The project folder, ``<sweep.kt_directory>/<study>``,
holds Keras Tuner's own state, the weights Hyperband continues from, and ours
(``mnist_reg.json``: the parent run, the settings, each trial's run and epochs), so the same
command resumes without redoing a finished trial.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras_tuner as kt
import pandas as pd

from mnist_reg.config.schema import Config
from mnist_reg.config.stores import tracking_uri
from mnist_reg.data.splits import load_splits
from mnist_reg.search.keras_tuner.project import ProjectState, project_dir
from mnist_reg.search.keras_tuner.space import trial_values
from mnist_reg.search.keras_tuner.tuner import STATES, TrackedTuner, make_oracle
from mnist_reg.search.locks import sole_worker
from mnist_reg.search.outcome import BestTrial, SweepOutcome, summarize_interrupted, write_summary
from mnist_reg.search.settings import refuse_changed_settings, trial_settings
from mnist_reg.search.trial import sweep_run
from mnist_reg.tracking.runs import Tracker
from mnist_reg.training.progress import SweepProgress
from mnist_reg.training.step import Workbench

log = logging.getLogger("mnist_reg")


def trials_table(oracle: kt.Oracle, state: ProjectState, cfg: Config) -> pd.DataFrame:
    """One row per trial, in the columns of the Optuna backend's table but
    ``last_val_accuracy`` (Keras Tuner stops no trial half-way)."""
    rows = []
    for trial_id in sorted(oracle.trials, key=int):
        trial = oracle.trials[trial_id]
        record = state.trial(trial_id)
        values = {
            k.removeprefix("technique."): v
            for k, v in trial_values(trial.hyperparameters, cfg).items()
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


def best_trial(oracle: kt.Oracle, state: ProjectState, cfg: Config) -> BestTrial | None:
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
        params=trial_values(trial.hyperparameters, cfg),
        mlflow_run_id=record.get("mlflow_run_id"),
    )


def run(cfg: Config) -> SweepOutcome:
    """Run the Keras Tuner project of ``cfg`` up to ``sweep.n_trials`` complete trials."""
    name = str(cfg.sweep.study_name)
    folder = project_dir(cfg.sweep.kt_directory, name)
    refusal = (
        f"another worker is running Keras Tuner project {folder}: its oracle lives in one "
        "process; run several workers with sweep.backend=optuna"
    )
    with sole_worker(folder, refusal):
        return _run_kt_sweep(cfg, name, folder)


def _run_kt_sweep(cfg: Config, name: str, folder: Path) -> SweepOutcome:
    state = ProjectState(folder)
    refuse_changed_settings(name, state.data.get("trial_settings"), cfg)
    state.data.setdefault("trial_settings", trial_settings(cfg))
    splits = load_splits(cfg.data)
    oracle = make_oracle(cfg, state)
    tracker = Tracker(tracking_uri(cfg.mlflow), cfg.mlflow)
    budget = cfg.sweep.epoch_budget
    budget_left = budget - state.epochs_spent() if budget is not None else None
    progress = SweepProgress(cfg.sweep.n_trials, 0, cfg.train.epochs, epochs_left=budget_left)
    tuner = TrackedTuner(cfg, Workbench(splits, tracker, progress), state, oracle)
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
    with sweep_run(tracker, cfg, state.data.get("mlflow_parent_run_id")) as parent_run_id:
        state.data["mlflow_parent_run_id"] = parent_run_id
        state.save()
        try:
            tuner.search(verbose=0)
        except KeyboardInterrupt:  # what finished is summarized all the same, as with Optuna
            summarize_interrupted(
                lambda: _summarize(tuner.oracle, state, cfg, tracker, parent_run_id, name)
            )
            raise
        table, best = _summarize(tuner.oracle, state, cfg, tracker, parent_run_id, name)
    return SweepOutcome(name, len(tuner.oracle.trials) - before, table, best, parent_run_id)


def _summarize(
    oracle: kt.Oracle,
    state: ProjectState,
    cfg: Config,
    tracker: Tracker,
    parent_run_id: str,
    name: str,
) -> tuple[pd.DataFrame, BestTrial | None]:
    table = trials_table(oracle, state, cfg)
    best = best_trial(oracle, state, cfg)
    # one worker per project (the project's lock): no race here
    write_summary(tracker, parent_run_id, cfg, table, best, {})
    return table, best
