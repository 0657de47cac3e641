"""The Optuna objective: a trial's suggestions mapped onto the config, then the one tracked
training step (``training.step``) that every trial and repeat runs. What is Optuna's own
stays here: the suggestions, the reports to the pruner, the trial's user attributes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import optuna

from mnist_reg.config.schema import Config
from mnist_reg.search.optuna import promotion, resuming
from mnist_reg.search.optuna.space import suggest
from mnist_reg.search.optuna.workers import WORKER, worker_id
from mnist_reg.search.trial import trial_config, trial_tags
from mnist_reg.tracking import tags as T
from mnist_reg.tracking.runs import Tracker
from mnist_reg.training import resume
from mnist_reg.training.fit import Continuation, TrainResult
from mnist_reg.training.step import Hooks, TrialSetup, Workbench, tracked_training

log = logging.getLogger("mnist_reg")


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


def make_objective(cfg: Config, bench: Workbench, prune: bool) -> Callable[[optuna.Trial], float]:
    """The objective of ``study.optimize``: a trial's tracked training; its value is the
    kept model's validation accuracy (the weights that are tested and logged)."""
    rungs = promotion.rungs(cfg) if cfg.sweep.strategy == "promote" else None
    worker = worker_id()

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER, worker)  # a rerun on this host sees at once if it died
        pruning = PruningCallback(trial, cfg.train.epochs, prune)  # epochs are never searched
        setup = trial_setup(cfg, trial, rungs, pruning, bench.tracker)
        try:
            tracked = tracked_training(setup, bench)
        except Exception:  # failed or pruned: nothing to resume
            resume.remove(resuming.folder(cfg, trial.number))
            raise
        resume.remove(resuming.folder(cfg, trial.number))
        trial.set_user_attr("test_accuracy", tracked.test.test_accuracy)
        trial.set_user_attr("test_loss", tracked.test.test_loss)
        return tracked.result.kept_val_accuracy

    return objective


def trial_setup(
    cfg: Config,
    trial: optuna.Trial,
    rungs: list[int] | None,
    pruning: PruningCallback,
    tracker: Tracker,
) -> TrialSetup:
    """An Optuna trial as a tracked training: suggested inside its run, reported to the
    pruner, and (with successive halving) trained to its rung, continuing its parent."""
    epochs, rung_tags = _rung(cfg, trial, rungs)
    parent = trial.user_attrs.get(promotion.CONTINUES)
    checkpoints = resuming.folder(cfg, trial.number)
    resumes = _resumed_run(trial, checkpoints, resuming.resumable(cfg, trial.number))

    def configure(run_id: str) -> Config:  # suggested inside the run: it records failures
        trial.set_user_attr("mlflow_run_id", run_id)
        trial_cfg = trial_config(cfg, suggest(trial, cfg), trial.number, epochs)
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

    return TrialSetup(
        number=trial.number,
        tags=trial_tags(cfg, **rung_tags),
        open_run=lambda tags: tracker.trial_run(
            trial.number, tags, pruned=(optuna.TrialPruned,), resumes=resumes
        ),
        configure=configure,
        hooks=Hooks([pruning], on_trained, before_test),
        best_so_far=best_value(trial.study),
        continues=None if parent is None else _continuation(cfg, trial, parent),
        checkpoints=checkpoints,
    )


def _resumed_run(trial: optuna.Trial, checkpoints: Path, resumable: bool) -> str | None:
    """The MLflow run of a trial put back to resume from its checkpoint (None for a new
    trial, whose folder is cleared: a checkpoint there is an earlier study's of this name)."""
    run_id = trial.user_attrs.get("mlflow_run_id") if resumable else None
    stopped = resume.load(checkpoints) if run_id is not None else None
    if stopped is None:
        resume.remove(checkpoints)
        return None
    log.info("trial %d resumes after epoch %d in its run %s", trial.number, stopped.epoch, run_id)
    return str(run_id)


def _continuation(cfg: Config, trial: optuna.Trial, parent: int) -> Continuation:
    """A promoted configuration continues its parent's checkpoint: with
    ``sweep.continue_optimizer``, optimizer state and all (Adam's moments and step go on
    where the parent's training stopped), else its weights under a fresh optimizer."""
    initial_epoch = int(trial.user_attrs.get(promotion.INITIAL_EPOCH, 0))
    checkpoint = str(promotion.checkpoint(cfg, parent))
    return Continuation(checkpoint, initial_epoch, optimizer=cfg.sweep.continue_optimizer)


def _rung(cfg: Config, trial: optuna.Trial, rungs: list[int] | None) -> tuple[int, dict[str, str]]:
    """The epochs the trial trains to, and its rung's tags; with successive halving a new
    configuration starts at the first rung."""
    if rungs is None:
        return cfg.train.epochs, {}
    rung = int(trial.user_attrs.get(promotion.RUNG, 0))
    trial.set_user_attr(promotion.RUNG, rung)
    tags = {T.RUNG: str(rung)}
    parent = trial.user_attrs.get(promotion.CONTINUES)
    if parent is not None:
        tags[T.CONTINUES_TRIAL] = str(parent)
    return rungs[rung], tags
