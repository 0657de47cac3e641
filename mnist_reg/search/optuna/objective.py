"""The Optuna objective: a trial's suggestions mapped onto the config, then the one tracked
training step (``training.step``) that every trial and repeat runs. What is Optuna's own
stays here: the suggestions, the reports to the pruner, the trial's user attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import optuna

from mnist_reg.config.params import with_values
from mnist_reg.config.schema import Config
from mnist_reg.data.splits import Splits
from mnist_reg.search.optuna import promotion
from mnist_reg.search.optuna.space import suggest
from mnist_reg.search.optuna.workers import WORKER, worker_id
from mnist_reg.tracking.runs import Tracker
from mnist_reg.training.fit import TrainResult
from mnist_reg.training.progress import SweepProgress
from mnist_reg.training.step import tracked_training


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
    cfg: Config,
    splits: Splits,
    tracker: Tracker,
    progress: SweepProgress,
    prune: bool,
) -> Callable[[optuna.Trial], float]:
    study_tags = {
        "technique": cfg.technique.name,
        "study_name": str(cfg.sweep.study_name),
        "backend": "optuna",
    }
    rungs = promotion.rungs(cfg) if cfg.sweep.strategy == "promote" else None
    worker = worker_id()

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER, worker)  # a rerun on this host sees at once if it died
        pruning = PruningCallback(trial, cfg.train.epochs, prune)  # epochs are never searched
        tags, epochs = dict(study_tags), cfg.train.epochs
        parent = trial.user_attrs.get(promotion.CONTINUES)
        if rungs is not None:  # a new configuration starts at the first rung
            rung = int(trial.user_attrs.get(promotion.RUNG, 0))
            trial.set_user_attr(promotion.RUNG, rung)
            tags[promotion.RUNG], epochs = str(rung), rungs[rung]
            if parent is not None:
                tags[promotion.CONTINUES] = str(parent)

        def configure(run_id: str) -> Config:  # suggested inside the run: it records failures
            trial.set_user_attr("mlflow_run_id", run_id)
            trial_cfg = with_values(cfg, suggest(trial, cfg))
            trial_cfg.train.seed = cfg.train.seed + trial.number
            trial_cfg.train.epochs = epochs
            trial.set_user_attr("seed", trial_cfg.train.seed)
            return trial_cfg

        def on_trained(result: TrainResult) -> None:
            trial.set_user_attr("epochs_trained", result.epochs_trained)
            trial.set_user_attr("train_seconds", round(result.train_seconds, 2))

        def before_test(result: TrainResult) -> None:
            if pruning.pruned_at is not None:
                raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at + 1}")
            if rungs is not None and epochs < rungs[-1]:  # a later trial may continue it
                weights = promotion.checkpoint(cfg, trial.number)
                weights.parent.mkdir(parents=True, exist_ok=True)
                result.model.save_weights(str(weights))

        tracked = tracked_training(
            configure,
            splits,
            tracker,
            progress,
            trial.number,
            lambda: tracker.trial_run(trial.number, tags, pruned=(optuna.TrialPruned,)),
            best_so_far=best_value(trial.study),
            callbacks=[pruning],
            on_trained=on_trained,
            before_test=before_test,
            initial_weights=None if parent is None else str(promotion.checkpoint(cfg, parent)),
            initial_epoch=int(trial.user_attrs.get(promotion.INITIAL_EPOCH, 0)),
        )
        trial.set_user_attr("test_accuracy", tracked.test.test_accuracy)
        trial.set_user_attr("test_loss", tracked.test.test_loss)
        # Selection and test accuracy describe the same weights: the kept model's.
        return tracked.result.kept_val_accuracy

    return objective
