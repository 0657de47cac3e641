"""train(): reruns with ``train.deterministic=true`` give identical curves from the same
seed; a continuation goes on with the optimizer's state where it should."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from mnist_reg.data.splits import load_splits
from mnist_reg.training.fit import Continuation, train
from mnist_reg.training.session import fresh_session
from tests.conftest import TINY, Compose

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


def test_deterministic_reruns_give_identical_metrics(compose_cfg: Compose) -> None:
    # dropout and augmentation: the random parts a rerun must replay exactly
    cfg = compose_cfg("+technique=combined", *TINY, "train.epochs=2", "train.deterministic=true")
    splits = load_splits(cfg.data)
    runs = []
    for seed in (7, 7, 8):
        fresh_session()
        cfg.train.seed = seed
        result = train(cfg, splits)
        runs.append((result.history, result.clean_train_accuracy))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]  # another seed really is another run


class OptimizerAtStart(keras.callbacks.Callback):
    """The optimizer's step and variables as training begins (after any continuation)."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        self.step = int(optimizer.iterations.numpy())
        self.variables = [np.array(v.numpy()) for v in optimizer.variables]


@pytest.mark.parametrize("technique", ["baseline", "augmentation"])
def test_a_continuation_goes_on_with_the_optimizers_state(
    technique: str, compose_cfg: Compose, tmp_path: Path
) -> None:
    """Successive halving's promoted trial continues Adam (its moments and step); Keras
    Tuner's Hyperband continues the weights only, as Keras Tuner does."""
    cfg = compose_cfg(f"+technique={technique}", *TINY, "train.epochs=1")
    splits = load_splits(cfg.data)
    fresh_session()
    parent = train(cfg, splits)
    steps = int(parent.model.optimizer.iterations.numpy())
    parent_state = [np.array(v.numpy()) for v in parent.model.optimizer.variables]
    weights = str(tmp_path / "parent.weights.h5")
    parent.model.save_weights(weights)
    cfg.train.epochs = 2
    for continues_optimizer, first_step in ((True, steps), (False, 0)):
        fresh_session()
        start = OptimizerAtStart()
        child = train(cfg, splits, [start], Continuation(weights, 1, continues_optimizer))
        assert start.step == first_step
        assert int(child.model.optimizer.iterations.numpy()) == first_step + steps
        if continues_optimizer:
            assert len(start.variables) == len(parent_state)
            assert all(
                np.array_equal(a, b) for a, b in zip(start.variables, parent_state, strict=True)
            )
