"""Search spaces from YAML to Keras Tuner hyperparameters: the same parameters as Optuna's,
conditional ones active only under their condition."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt
import pytest

from mnist_reg.search.keras_tuner.space import hyperparameters, trial_values
from tests.conftest import Compose


def filled(hp: kt.HyperParameters, name: str, value: Any) -> kt.HyperParameters:
    """``hp`` with ``name`` set, then a value for each parameter that is active, as an
    oracle fills a trial's."""
    hp.values[name] = value
    for declared in hp.space:
        if hp.is_active(declared) and declared.name not in hp.values:
            hp.values[declared.name] = declared.default
    return hp


@pytest.mark.parametrize(
    ("schedule", "own"),
    [
        ("constant", set()),
        ("cosine", {"train.warmup_epochs"}),
        ("one_cycle", {"train.one_cycle_rise"}),
        ("exponential", {"train.decay_rate"}),
        ("plateau", {"train.plateau_factor", "train.plateau_patience"}),
    ],
)
def test_a_schedules_parameters_are_active_only_under_that_schedule(
    compose_cfg: Compose, schedule: str, own: set[str]
) -> None:
    cfg = compose_cfg("+technique=baseline", "+recipe=schedules")
    hp = hyperparameters(cfg)
    values = trial_values(filled(hp, "train.lr_schedule", schedule), cfg)
    assert set(values) == {"train.learning_rate", "train.lr_schedule", *own}
    assert values["train.lr_schedule"] == schedule


def test_a_boolean_condition_still_gates_its_parameter(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=dropout")
    off = filled(hyperparameters(cfg), "technique.dropout.second", False)
    assert "technique.dropout.second_rate" not in trial_values(off, cfg)
    on = filled(hyperparameters(cfg), "technique.dropout.second", True)
    assert "technique.dropout.second_rate" in trial_values(on, cfg)
