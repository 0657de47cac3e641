"""The learning-rate schedules at chosen steps against their curves written out here, AdamW's
decay and label smoothing reaching the optimizer and the loss, and a schedule continued
across a promoted trial's checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from mnist_reg.data.splits import load_splits
from mnist_reg.training import schedules
from mnist_reg.training.fit import Continuation, train
from mnist_reg.training.model import build_model, compile_model
from mnist_reg.training.session import fresh_session
from tests.conftest import TINY, Compose

STEPS = 10  # steps an epoch


def rates(compose_cfg: Compose, *overrides: str) -> dict[int, float]:
    """The schedule's rate at a few steps of a 4-epoch (40-step) training."""
    cfg = compose_cfg("+technique=baseline", "train.epochs=4", *overrides)
    rate = schedules.learning_rate(cfg.train, STEPS)
    if isinstance(rate, float):
        return dict.fromkeys((0, 5, 20, 40), rate)
    return {step: float(rate(step)) for step in (0, 5, 10, 20, 25, 40)}


def test_constant_is_the_articles_rate(compose_cfg: Compose) -> None:
    assert set(rates(compose_cfg).values()) == {0.001}


def test_cosine_warms_up_linearly_then_follows_half_a_cosine(compose_cfg: Compose) -> None:
    found = rates(compose_cfg, "train.lr_schedule=cosine", "train.warmup_epochs=1")
    # 10 steps up from 0 to 1e-3, then 30 down: cos from 0 to pi
    expected = {
        0: 0.0,
        5: 0.0005,
        10: 0.001,
        20: 0.001 * 0.5 * (1 + math.cos(math.pi * 10 / 30)),
        25: 0.001 * 0.5 * (1 + math.cos(math.pi * 15 / 30)),
        40: 0.0,
    }
    assert found == pytest.approx(expected, abs=1e-9)


def test_cosine_ends_at_its_final_fraction(compose_cfg: Compose) -> None:
    found = rates(compose_cfg, "train.lr_schedule=cosine", "train.final_lr_fraction=0.1")
    assert found[0] == pytest.approx(0.001)
    assert found[20] == pytest.approx(0.0001 + 0.0009 * 0.5, rel=1e-6)  # half-way
    assert found[40] == pytest.approx(0.0001)


def test_one_cycle_rises_from_a_25th_for_its_share_of_the_steps(compose_cfg: Compose) -> None:
    found = rates(compose_cfg, "train.lr_schedule=one_cycle", "train.one_cycle_rise=0.25")
    expected = {
        0: 0.001 / 25,
        5: 0.001 / 25 + (0.001 - 0.001 / 25) * 5 / 10,
        10: 0.001,  # the peak after a quarter of the 40 steps
        20: 0.001 * 0.5 * (1 + math.cos(math.pi * 10 / 30)),
        25: 0.0005,
        40: 0.0,
    }
    assert found == pytest.approx(expected, abs=1e-9)


def test_exponential_multiplies_by_its_rate_each_epoch(compose_cfg: Compose) -> None:
    found = rates(compose_cfg, "train.lr_schedule=exponential", "train.decay_rate=0.5")
    assert found[0] == pytest.approx(0.001)
    assert found[5] == pytest.approx(0.001 * 0.5**0.5)  # smoothly, not in stairs
    assert found[20] == pytest.approx(0.00025)
    assert found[40] == pytest.approx(0.001 / 16)


def test_a_schedule_spans_schedule_epochs_where_set(compose_cfg: Compose) -> None:
    found = rates(compose_cfg, "train.lr_schedule=cosine", "train.schedule_epochs=8")
    assert found[40] == pytest.approx(0.0005)  # half of 80 steps: half-way down


def test_plateau_is_keras_callback_with_its_settings(compose_cfg: Compose) -> None:
    cfg = compose_cfg(
        "+technique=baseline",
        "train.lr_schedule=plateau",
        "train.plateau_factor=0.2",
        "train.plateau_patience=3",
        "train.final_lr_fraction=0.01",
    )
    (callback,) = schedules.schedule_callbacks(cfg.train)
    assert isinstance(callback, keras.callbacks.ReduceLROnPlateau)
    assert (callback.monitor, callback.factor, callback.patience) == ("val_loss", 0.2, 3)
    assert callback.min_lr == pytest.approx(1e-5)
    assert schedules.learning_rate(cfg.train, STEPS) == 0.001  # the callback moves it
    assert schedules.schedule_callbacks(compose_cfg("+technique=baseline").train) == []


def test_weight_decay_makes_the_optimizer_adamw(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=weight_decay", "technique.weight_decay.coefficient=0.05")
    model = build_model(cfg.technique)
    compile_model(model, cfg, STEPS)
    assert type(model.optimizer) is keras.optimizers.AdamW
    assert model.optimizer.weight_decay == pytest.approx(0.05)
    plain = build_model(cfg.technique)
    compile_model(plain, compose_cfg("+technique=baseline"), STEPS)
    assert type(plain.optimizer) is keras.optimizers.Adam
    assert plain.optimizer.weight_decay is None


def test_adamw_shrinks_weights_by_decay_times_rate_apart_from_the_gradient(
    compose_cfg: Compose,
) -> None:
    cfg = compose_cfg("+technique=weight_decay", "technique.weight_decay.coefficient=0.5")
    model = build_model(cfg.technique)
    compile_model(model, cfg, STEPS)
    variable = model.trainable_variables[0]
    before = np.array(variable.numpy())
    zero = [keras.ops.zeros_like(v) for v in model.trainable_variables]
    model.optimizer.apply_gradients(zip(zero, model.trainable_variables, strict=True))
    # a zero gradient moves nothing in Adam; AdamW still decays: w - 0.5 * 1e-3 * w
    assert np.array(variable.numpy()) == pytest.approx(before * (1 - 0.5 * 0.001), rel=1e-6)


def test_label_smoothing_reaches_the_loss(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=label_smoothing", "technique.label_smoothing.amount=0.2")
    assert schedules.one_hot(cfg)
    probabilities = np.array([[0.7, 0.2, 0.1] + [0.0] * 7, [0.1] * 10], dtype="float32")
    probabilities[0] = np.clip(probabilities[0], 1e-7, 1)
    labels = keras.utils.to_categorical([0, 3], 10)
    smoothed = labels * 0.8 + 0.2 / 10  # the target: 0.82 on the class, 0.02 elsewhere
    expected = -(smoothed * np.log(probabilities / probabilities.sum(1, keepdims=True))).sum(1)
    loss = schedules.loss(cfg)
    assert isinstance(loss, keras.losses.CategoricalCrossentropy)
    assert float(loss(labels, probabilities)) == pytest.approx(expected.mean(), rel=1e-4)
    assert schedules.loss(compose_cfg("+technique=baseline")) == "sparse_categorical_crossentropy"


@pytest.mark.slow
@pytest.mark.usefixtures("mnist_available")
@pytest.mark.parametrize("keeps_optimizer", [True, False])
def test_a_promoted_trial_goes_on_along_its_parents_schedule(
    keeps_optimizer: bool, compose_cfg: Compose, tmp_path: Path
) -> None:
    """A kept optimizer keeps its step and so its place in the schedule; a fresh one starts
    the schedule again over the epochs left (a warm restart), so both end where a schedule
    ends. The rate each epoch ended with is what MLflow's curve shows."""
    cfg = compose_cfg(
        "+technique=label_smoothing",
        *TINY,
        "train.epochs=1",
        "train.schedule_epochs=2",
        "train.lr_schedule=cosine",
    )
    splits = load_splits(cfg.data)
    fresh_session()
    parent = train(cfg, splits)
    steps = int(parent.model.optimizer.iterations.numpy())
    assert schedules.current_rate(parent.model) == pytest.approx(0.0005, rel=1e-4)
    weights = str(tmp_path / "parent.weights.h5")
    parent.model.save_weights(weights)
    fresh_session()
    cfg.train.epochs = 2
    child = train(cfg, splits, continues=Continuation(weights, 1, optimizer=keeps_optimizer))
    step = int(child.model.optimizer.iterations.numpy())
    assert step == (2 * steps if keeps_optimizer else steps)
    # at the end of the 2-epoch schedule, or of the 1-epoch one it restarted over
    assert schedules.current_rate(child.model) == pytest.approx(0.0, abs=1e-7)
