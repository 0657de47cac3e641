"""The Optuna objective: a trial's suggestions mapped onto the config, then ``train()``.

There is no second training path: a trial trains exactly like a single run would, and the
tracker records it as a nested MLflow run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import optuna
from omegaconf import DictConfig

from mnist_reg.progress import EpochProgress, SweepProgress
from mnist_reg.search_space import suggest, with_values
from mnist_reg.splits import Splits
from mnist_reg.tracked import raise_if_diverged, test_logged, train_logged
from mnist_reg.tracking.runs import EpochMetricsLogger, Tracker
from mnist_reg.training import fresh_session


class PruningCallback(keras.callbacks.Callback):
    """Reports val_accuracy to Optuna each epoch (every trial: the trials table and Optuna's
    intermediate-value plot read it); with ``prune``, stops training when the pruner says so.

    Stopping (rather than raising inside ``fit``) lets the trial's curves be logged before
    the objective raises ``TrialPruned``.
    """

    def __init__(
        self, trial: optuna.Trial, epochs: int, prune: bool, monitor: str = "val_accuracy"
    ) -> None:
        super().__init__()
        self.trial = trial
        self.epochs = epochs
        self.prune = prune
        self.monitor = monitor
        self.pruned_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        # Steps count epochs from 1, the unit of Hyperband's resource and of n_warmup_steps.
        self.trial.report(float(value), step=epoch + 1)
        if not self.prune or epoch + 1 >= self.epochs:  # a full run is never pruned
            return
        if self.trial.should_prune():
            self.pruned_at = epoch
            self.model.stop_training = True


def best_value(study: optuna.Study) -> float | None:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return max((t.value for t in complete if t.value is not None), default=None)


def make_objective(
    cfg: DictConfig,
    splits: Splits,
    tracker: Tracker,
    progress: SweepProgress,
    prune: bool,
) -> Callable[[optuna.Trial], float]:
    study_name = cfg.sweep.study_name

    def objective(trial: optuna.Trial) -> float:
        fresh_session()  # the previous model goes, and its memory
        progress.trial_started(trial.number)
        tags = {"technique": cfg.technique.name, "study_name": study_name, "backend": "optuna"}
        with tracker.trial_run(trial.number, tags) as run_id:  # records any failure below
            trial.set_user_attr("mlflow_run_id", run_id)
            trial_cfg = with_values(cfg, suggest(trial, cfg))
            trial_cfg.train.seed = cfg.train.seed + trial.number
            trial.set_user_attr("seed", trial_cfg.train.seed)
            pruning = PruningCallback(trial, trial_cfg.train.epochs, prune)
            callbacks: list[keras.callbacks.Callback] = [
                EpochMetricsLogger(),
                EpochProgress(progress, best_value(trial.study)),
                pruning,
            ]
            result = train_logged(trial_cfg, splits, tracker, callbacks)
            trial.set_user_attr("epochs_trained", result.epochs_trained)
            trial.set_user_attr("train_seconds", round(result.train_seconds, 2))
            raise_if_diverged(result)
            if pruning.pruned_at is not None:
                raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at + 1}")
            test = test_logged(result, splits, tracker)
            trial.set_user_attr("test_accuracy", test.test_accuracy)
            trial.set_user_attr("test_loss", test.test_loss)
        # Selection and test accuracy describe the same weights: the kept model's.
        return result.kept_val_accuracy

    return objective
