"""The kept model measured: on the test set once, after training (loss, accuracy, the
confusion matrix), and on the training images in inference mode (the clean accuracy the
generalization gap is taken from)."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from mnist_reg.data.splits import Splits


@dataclass
class TestResult:
    test_loss: float
    test_accuracy: float
    probabilities: np.ndarray  # (n, 10)
    confusion: np.ndarray  # (10, 10), rows: true class, columns: predicted


def clean_accuracy(model: keras.Model, splits: Splits, max_images: int = 5000) -> float:
    """Accuracy on (an evenly spaced sample of) the training images, in inference mode."""
    stride = max(1, len(splits.y_train) // max_images)
    x, y = splits.x_train[::stride], splits.y_train[::stride]
    predicted = model.predict(x, batch_size=1024, verbose=0).argmax(axis=1)
    return float((predicted == y).mean())


def evaluate_on_test(model: keras.Model, x_test: np.ndarray, y_test: np.ndarray) -> TestResult:
    """Loss, accuracy and confusion matrix from one prediction pass over the test set."""
    probabilities = model.predict(x_test, batch_size=1024, verbose=0)
    picked = np.clip(probabilities[np.arange(len(y_test)), y_test], 1e-7, 1.0)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_test, predicted), 1)
    return TestResult(
        test_loss=float(-np.log(picked).mean()),
        test_accuracy=float((predicted == y_test).mean()),
        probabilities=probabilities,
        confusion=confusion,
    )
