"""A run stopped at an epoch's end and resumed from its checkpoint trains on as if it had
never stopped: the same curves, weights and optimizer state, the callbacks' counters kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from mnist_reg import preemption
from mnist_reg.data.splits import load_splits
from mnist_reg.errors import Preempted
from mnist_reg.training import resume
from mnist_reg.training.fit import Continuation, train
from mnist_reg.training.session import fresh_session
from tests.conftest import TINY, Compose

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


class AskToStopAfter(keras.callbacks.Callback):
    """Asks for a stop during epoch ``epoch`` (counted from 1), as a signal would."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch + 1 == self.epoch:
            preemption.ask_to_stop()


@pytest.fixture(autouse=True)
def no_stop_left() -> Iterator[None]:
    yield
    preemption.clear_stop()


def variables(model: keras.Model) -> list[np.ndarray]:
    return [np.array(v.numpy()) for v in resume.state_variables(model)]


class StateAtStart(keras.callbacks.Callback):
    """Every variable as training begins (after a resume)."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.variables = variables(self.model)


class StateAtEpochEnd(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.variables: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.variables[epoch + 1] = variables(self.model)


@pytest.mark.parametrize(
    "overrides",
    [
        # dropout, augmentation and early stopping: random layers' states and counters
        ["+technique=combined", "technique.early_stopping.patience=3"],
        # the plateau schedule's counters and the rate it reached
        ["+technique=baseline", "train.lr_schedule=plateau", "train.plateau_patience=1"],
    ],
)
def test_a_resumed_run_goes_on_from_the_state_it_stopped_in(
    compose_cfg: Compose, tmp_path: Path, overrides: list[str]
) -> None:
    cfg = compose_cfg(*overrides, *TINY, "train.epochs=4", "train.deterministic=true")
    splits = load_splits(cfg.data)
    fresh_session()
    ends = StateAtEpochEnd()
    whole = train(cfg, splits, [ends], checkpoints=tmp_path / "whole")
    fresh_session()
    with pytest.raises(Preempted):
        train(cfg, splits, [AskToStopAfter(2)], checkpoints=tmp_path / "cut")
    stopped = resume.load(tmp_path / "cut")
    assert stopped is not None and stopped.epoch == 2
    preemption.clear_stop()
    fresh_session()
    start = StateAtStart()
    resumed = train(cfg, splits, [start], checkpoints=tmp_path / "cut")
    # weights, optimizer (moments, step, rate) and random layers' states: those of epoch 2
    same = zip(start.variables, ends.variables[2], strict=True)
    assert all(np.array_equal(a, b) for a, b in same)
    assert {k: v[:2] for k, v in resumed.history.items()} == {
        k: v[:2] for k, v in whole.history.items()
    }
    assert resumed.epochs_trained == len(resumed.history["loss"]) == 4
    assert resumed.train_seconds > stopped.train_seconds
    assert resume.load(tmp_path / "cut").epoch == 4  # type: ignore[union-attr]


def test_the_callbacks_counters_go_on_counting(compose_cfg: Compose, tmp_path: Path) -> None:
    """Early stopping with a patience of 2 and no epoch good enough: an uninterrupted run
    stops after epoch 3, and so does one stopped after epoch 2 and resumed."""
    cfg = compose_cfg("+technique=early_stopping", *TINY, "train.epochs=6")
    cfg.technique.early_stopping.patience = 2
    cfg.technique.early_stopping.min_delta = 1.0  # no epoch counts as a gain
    splits = load_splits(cfg.data)
    fresh_session()
    whole = train(cfg, splits, checkpoints=tmp_path / "whole")
    fresh_session()
    with pytest.raises(Preempted):
        train(cfg, splits, [AskToStopAfter(2)], checkpoints=tmp_path / "cut")
    preemption.clear_stop()
    fresh_session()
    resumed = train(cfg, splits, checkpoints=tmp_path / "cut")
    assert whole.epochs_trained == resumed.epochs_trained == 3
    assert whole.kept_epoch == resumed.kept_epoch == 0  # the first epoch's weights restored


def test_a_run_stopped_by_its_own_early_stopping_trains_no_further_when_resumed(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    cfg = compose_cfg("+technique=early_stopping", *TINY, "train.epochs=6")
    cfg.technique.early_stopping.patience = 0  # stops at the first epoch without a gain
    cfg.technique.early_stopping.min_delta = 1.0
    splits = load_splits(cfg.data)
    fresh_session()
    stopped = train(cfg, splits, checkpoints=tmp_path)
    assert stopped.epochs_trained < 6
    fresh_session()
    again = train(cfg, splits, checkpoints=tmp_path)  # as after a kill before the test set
    assert again.history == stopped.history and again.kept_epoch == stopped.kept_epoch


def test_an_interrupt_is_a_preemption_only_once_an_epoch_is_checkpointed(tmp_path: Path) -> None:
    """Ctrl-C in the first epoch: nothing to resume, the interrupt goes on (the trial
    fails); after an epoch's checkpoint: the run stops as preempted and resumes later."""
    with pytest.raises(KeyboardInterrupt), resume.preempted_once_checkpointed(tmp_path):
        raise KeyboardInterrupt
    (tmp_path / "state.json").write_text(
        '{"epoch": 3, "initial_epoch": 0, "history": {}, "train_seconds": 1.0,'
        ' "stopped": false, "callbacks": []}'
    )
    stopped = pytest.raises(Preempted, match="after epoch 3")
    with stopped, resume.preempted_once_checkpointed(tmp_path):
        raise KeyboardInterrupt


def test_a_continuation_resumes_on_its_parents_epochs(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    """Successive halving's promoted trial (it continues its parent's epoch 1) stopped
    after epoch 2 resumes at epoch 3, its history and epochs counted from its parent's."""
    cfg = compose_cfg("+technique=baseline", *TINY, "train.epochs=1")
    splits = load_splits(cfg.data)
    fresh_session()
    parent = train(cfg, splits)
    steps = int(parent.model.optimizer.iterations.numpy())
    weights = str(tmp_path / "parent.weights.h5")
    parent.model.save_weights(weights)
    cfg.train.epochs = 3
    continues = Continuation(weights, initial_epoch=1)
    fresh_session()
    with pytest.raises(Preempted):
        train(cfg, splits, [AskToStopAfter(2)], continues, tmp_path / "cut")
    preemption.clear_stop()
    fresh_session()
    resumed = train(cfg, splits, None, continues, tmp_path / "cut")
    assert resumed.initial_epoch == 1 and resumed.epochs_trained == 2
    assert len(resumed.history["loss"]) == 2
    assert int(resumed.model.optimizer.iterations.numpy()) == 3 * steps
