"""The steps of one tracked training run, shared by sweep trials and seed repeats.

A trial and a repeat train and log exactly alike: the same ``train()``, the same metrics,
curves, test evaluation and model. Only what surrounds them differs (Optuna's suggestions
and pruning for a trial, a fixed configuration and a fresh seed for a repeat).
"""

from __future__ import annotations

import keras
from omegaconf import DictConfig

from mnist_reg.model import model_summary
from mnist_reg.search_space import flat_params
from mnist_reg.splits import Splits
from mnist_reg.tracking.runs import Tracker
from mnist_reg.training import TestResult, TrainResult, evaluate_on_test, train
from mnist_reg.urls import safe_yaml


class DivergedError(RuntimeError):
    """Training produced a non-finite loss."""


def train_logged(
    cfg: DictConfig,
    splits: Splits,
    tracker: Tracker,
    callbacks: list[keras.callbacks.Callback],
    initial_weights: str | None = None,
    initial_epoch: int = 0,
) -> TrainResult:
    """Log the run's parameters and data, train, and log the curves and training metrics.

    ``epochs_trained`` counts only the epochs this run trained, also when it continued
    another run's weights (``initial_epoch`` > 0, logged as ``initial_epoch``).
    """
    tracker.log_trial_start(flat_params(cfg), safe_yaml(cfg))
    tracker.log_datasets(splits, cfg.data.name)
    result = train(cfg, splits, callbacks, initial_weights, initial_epoch)
    tracker.log_training(
        result.history,
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
        {"test_loss": test.test_loss, "test_accuracy": test.test_accuracy}, test.confusion
    )
    tracker.log_keras_model(result.model, splits.x_test[:5], test.probabilities[:5])
    return test
