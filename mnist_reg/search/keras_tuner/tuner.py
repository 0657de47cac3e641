"""Keras Tuner's oracles (Hyperband, Bayesian optimization, random search) around the one
tracked training step: each Keras Tuner trial is a tracked run like an Optuna trial, and a
trial Hyperband continues starts from the checkpoint of the trial it continues."""

from __future__ import annotations

import logging
from typing import Any

import keras_tuner as kt

from mnist_reg.config.schema import Config
from mnist_reg.search.keras_tuner.project import ProjectState
from mnist_reg.search.keras_tuner.space import hyperparameters, trial_values
from mnist_reg.search.trial import trial_config, trial_tags
from mnist_reg.tracking import tags as T
from mnist_reg.training.callbacks import EpochCounter
from mnist_reg.training.fit import Continuation, TrainResult
from mnist_reg.training.progress import epoch_count
from mnist_reg.training.step import Hooks, TrialSetup, Workbench, tracked_training

log = logging.getLogger("mnist_reg")

# Keras Tuner's trial states, in the names Optuna and the MLflow runs use.
# One worker per project (the project's lock): a trial still RUNNING in the oracle when the
# table is written was stopped (Ctrl-C, SIGTERM, a killed worker); Keras Tuner runs it again
# on resume.
STATES = {"COMPLETED": "COMPLETE", "FAILED": "FAIL", "INVALID": "FAIL", "RUNNING": T.INTERRUPTED}


def _oracle_class(algorithm: str) -> type[kt.Oracle]:
    return {
        "hyperband": kt.oracles.HyperbandOracle,
        "bayesian": kt.oracles.BayesianOptimizationOracle,
        "random": kt.oracles.RandomSearchOracle,
    }[algorithm]


def make_oracle(cfg: Config, state: ProjectState) -> kt.Oracle:
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
        "hyperparameters": hyperparameters(cfg),
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
        self, cfg: Config, bench: Workbench, state: ProjectState, oracle: kt.Oracle
    ) -> None:
        self.cfg = cfg
        self.bench = bench
        self.progress = bench.progress
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
        record = self.state.trial(trial.trial_id)
        counter = EpochCounter()
        try:
            tracked = tracked_training(self.trial_setup(trial, record, counter), self.bench)
        finally:
            record["epochs_trained"] = counter.epochs  # this attempt's
            record["epochs_spent"] = record.get("epochs_spent", 0) + counter.epochs  # all
            self.state.save()
        record.update(
            test_accuracy=tracked.test.test_accuracy,
            train_seconds=tracked.result.train_seconds,
            val_accuracy=tracked.result.kept_val_accuracy,
            values=trial_values(trial.hyperparameters, self.cfg),
        )
        self.state.save()
        return {"val_accuracy": tracked.result.kept_val_accuracy}

    def trial_setup(
        self, trial: kt.engine.trial.Trial, record: dict[str, Any], counter: EpochCounter
    ) -> TrialSetup:
        """A Keras Tuner trial as a tracked training; a trial Hyperband continues starts
        from the weights of the trial it continues."""
        cfg, number = self.cfg, int(trial.trial_id)
        values = trial.hyperparameters.values
        epochs = int(values.get("tuner/epochs", cfg.train.epochs))
        trial_cfg = trial_config(cfg, trial_values(trial.hyperparameters, cfg), number, epochs)
        previous = values.get("tuner/trial_id")  # Hyperband: continue that trial's weights
        own = {T.KT_ALGORITHM: cfg.sweep.kt_algorithm, T.KT_TRIAL_ID: trial.trial_id}
        continuation = None
        if previous is not None:
            own[T.KT_CONTINUES_TRIAL] = str(previous)
            # weights only: the optimizer starts afresh, as Keras Tuner's own Hyperband does
            initial_epoch = int(values.get("tuner/initial_epoch", 0))
            weights = self._get_checkpoint_fname(previous)
            continuation = Continuation(weights, initial_epoch, optimizer=False)

        def configure(run_id: str) -> Config:
            record["mlflow_run_id"] = run_id
            record["seed"] = trial_cfg.train.seed
            self.state.save()
            return trial_cfg

        def save_weights(result: TrainResult) -> None:
            result.model.save_weights(self._get_checkpoint_fname(trial.trial_id))

        return TrialSetup(
            number=number,
            tags=trial_tags(cfg, **own),
            open_run=lambda tags: self.bench.tracker.trial_run(number, tags, T.INTERRUPTED),
            configure=configure,
            hooks=Hooks([counter], before_test=save_weights),
            best_so_far=self.best_so_far(),
            continues=continuation,
        )

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        finished = trial.status == "COMPLETED"
        self.progress.finished += int(finished)
        log.info(
            "trial %d %s: val_accuracy %s, %s (%d of %d finished)",
            int(trial.trial_id),
            STATES.get(trial.status, trial.status),
            f"{trial.score:.4f}" if trial.score is not None else "-",
            epoch_count(int(self.state.trial(trial.trial_id).get("epochs_trained", 0))),
            self.progress.finished,
            self.progress.total,
        )
        if not finished and trial.message:
            log.warning("trial %s failed: %s", trial.trial_id, trial.message.strip()[-500:])
