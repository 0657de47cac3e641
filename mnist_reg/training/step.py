"""The one tracked training step that every sweep trial (both backends) and every seed
repeat runs: a fresh session, the run opened, the configuration and data logged, ``train()``,
the curves and metrics logged, a diverged run failed, the test set evaluated once, the model
logged. Callers keep only what is theirs: how the run is opened (a trial or a repeat),
Optuna's suggestions and pruning, Keras Tuner's continuation and checkpoints, the seed list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from mnist_reg.config.params import flat_params
from mnist_reg.config.redaction import safe_yaml
from mnist_reg.config.schema import Config
from mnist_reg.data.splits import Splits
from mnist_reg.tracking.runs import Tracker
from mnist_reg.tracking.tags import PRECISION
from mnist_reg.training import figures
from mnist_reg.training.callbacks import EpochMetricsLogger, EpochProgress
from mnist_reg.training.evaluation import TestResult, evaluate_on_test
from mnist_reg.training.fit import Continuation, TrainResult, train
from mnist_reg.training.model import model_summary
from mnist_reg.training.progress import SweepProgress
from mnist_reg.training.session import fresh_session


class DivergedError(RuntimeError):
    """Training produced a non-finite loss."""


@dataclass
class Tracked:
    """What one tracked training produced: the run, the training, the test evaluation."""

    run_id: str
    result: TrainResult
    test: TestResult


def _nothing(result: TrainResult) -> None:
    return None


@dataclass(frozen=True)
class Hooks:
    """What a caller adds around training: Keras callbacks; ``on_trained(result)`` right
    after training, before a diverged run fails; ``before_test(result)`` before the test
    set is touched (raise there to end the run early, e.g. a pruned trial)."""

    callbacks: Sequence[keras.callbacks.Callback] = ()
    on_trained: Callable[[TrainResult], None] = _nothing
    before_test: Callable[[TrainResult], None] = _nothing


@dataclass(frozen=True)
class TrialSetup:
    """One tracked training as its caller (an Optuna trial, a Keras Tuner trial, a repeat)
    sets it up.

    ``open_run(tags)`` opens the run (it records any failure); ``configure(run_id)``, called
    once the run is open, returns the configuration to train (a trial's suggestions are
    made there, so a failing one is recorded). ``continues`` another run's training.
    """

    number: int  # the trial's number, or the repeat's seed: what progress lines show
    tags: dict[str, str]  # the run's tags, named in tracking.tags
    open_run: Callable[[dict[str, str]], AbstractContextManager[str]]
    configure: Callable[[str], Config]
    hooks: Hooks = Hooks()
    best_so_far: float | None = None  # what the progress line compares against
    continues: Continuation | None = None
    checkpoints: Path | None = None  # epoch checkpoints: a stopped run resumes from there


@dataclass(frozen=True)
class Workbench:
    """What every tracked training of one sweep or one set of repeats shares."""

    splits: Splits
    tracker: Tracker
    progress: SweepProgress


def tracked_training(setup: TrialSetup, bench: Workbench) -> Tracked:
    """Train the configuration of ``setup`` in the run it opens, test it and log its model,
    with its hooks in between."""
    fresh_session()  # the previous model goes, and its memory
    bench.progress.trial_started(setup.number)
    hooks = setup.hooks
    with setup.open_run(setup.tags) as run_id:
        cfg = setup.configure(run_id)
        every = [
            EpochMetricsLogger(bench.tracker),
            EpochProgress(bench.progress, setup.best_so_far),
            *hooks.callbacks,
        ]
        result = train_logged(
            cfg, bench.splits, bench.tracker, every, setup.continues, setup.checkpoints
        )
        hooks.on_trained(result)
        raise_if_diverged(result)
        hooks.before_test(result)
        test = test_logged(result, bench.splits, bench.tracker)
    return Tracked(run_id, result, test)


def train_logged(
    cfg: Config,
    splits: Splits,
    tracker: Tracker,
    callbacks: list[keras.callbacks.Callback],
    continues: Continuation | None = None,
    checkpoints: Path | None = None,
) -> TrainResult:
    """Log the run's parameters and data, train, and log the curves and training metrics.

    ``epochs_trained`` counts only the epochs this run trained, also when it continued
    another run (``continues``; its epochs are logged as ``initial_epoch``); a run resumed
    from its ``checkpoints`` counts those before the stop too.
    """
    tracker.log_trial_start(flat_params(cfg), safe_yaml(cfg))
    tracker.log_datasets(
        [
            ("training", splits.x_train, splits.y_train),
            ("validation", splits.x_val, splits.y_val),
            ("test", splits.x_test, splits.y_test),
        ],
        cfg.data.name,
    )
    result = train(cfg, splits, callbacks, continues, checkpoints)
    first_epoch = result.initial_epoch + 1
    tracker.log_training(
        {
            "kept_val_accuracy": result.kept_val_accuracy,
            "best_val_accuracy": result.best_val_accuracy,
            "kept_epoch": result.initial_epoch + result.kept_epoch + 1,
            "initial_epoch": result.initial_epoch,
            "train_accuracy_clean": result.clean_train_accuracy,
            "generalization_gap": result.generalization_gap,
            "epochs_trained": result.epochs_trained,
            "train_seconds": result.train_seconds,
            "train_images": len(splits.y_train),
        },
        model_summary(result.model),
        figures.learning_curves(result.history, tracker.active_run_name(), first_epoch),
        {PRECISION: result.precision},
    )
    return result


def raise_if_diverged(result: TrainResult) -> None:
    """A diverged run is recorded as failed with this reason, and no NaN model is logged."""
    if result.diverged:
        raise DivergedError(
            f"loss became NaN in epoch {result.epochs_trained}: learning rate or "
            "regularization too large"
        )


def test_logged(result: TrainResult, splits: Splits, tracker: Tracker) -> TestResult:
    """Evaluate the kept model on the test set once; log the metrics and the model."""
    test = evaluate_on_test(result.model, splits.x_test, splits.y_test)
    tracker.log_test(
        {"test_loss": test.test_loss, "test_accuracy": test.test_accuracy},
        test.confusion,
        figures.confusion_matrix(test.confusion, tracker.active_run_name()),
        test.probabilities.argmax(axis=1),
        splits.y_test,
    )
    requirements = [f"tensorflow=={tf.__version__}", f"keras=={keras.__version__}"]
    tracker.log_keras_model(result.model, splits.x_test[:5], test.probabilities[:5], requirements)
    return test
