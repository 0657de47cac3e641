"""Random override values thrown at the configuration checks (hypothesis).

The ranges below are written down independently of ``validation.RULES``, from the README's
table: a value either is refused (by the typed schema at composition, or by the range check)
or is valid by these ranges, and every valid value is accepted.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import pytest
from hydra.core.global_hydra import GlobalHydra
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mnist_reg.config.schema import Config, as_config
from mnist_reg.config.validation import config_errors
from tests.conftest import compose_config


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return (is_int(v) or isinstance(v, float)) and math.isfinite(v)


@dataclass(frozen=True)
class Range:
    kind: str  # int | float | choice
    low: float = 0
    high: float = 0
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    optional: bool = False

    def valid(self, v: Any) -> bool:
        if v is None:
            return self.optional
        if self.kind == "choice":
            return isinstance(v, str) and v in self.choices
        if not (is_int(v) if self.kind == "int" else is_number(v)):
            return False
        above = v > self.low if self.low_open else v >= self.low
        below = v < self.high if self.high_open else v <= self.high
        return above and below

    def edges(self) -> list[Any]:
        """Values at and just beyond each bound, where off-by-one mistakes live."""
        if self.kind == "choice":
            return [*self.choices, "other"]
        if self.kind == "int":
            return [int(self.low) - 1, int(self.low), int(self.high), int(self.high) + 1]
        return [
            *(float(b) for b in (self.low, self.high)),
            math.nextafter(self.low, -math.inf),
            math.nextafter(self.high, math.inf),
        ]


VALID: dict[str, Range] = {
    "data.val_size": Range("int", 10, 30_000),
    "data.train_size": Range("int", 10, 55_000, optional=True),  # val_size stays 5,000
    "train.epochs": Range("int", 1, 1000),
    "train.batch_size": Range("int", 1, 65_536),
    "train.learning_rate": Range("float", 0, 10, low_open=True),
    "technique.dropout.rate": Range("float", 0, 1, high_open=True),
    "technique.l2.weight": Range("float", 0, 1),
    "technique.augmentation.rotation_degrees": Range("float", 0, 180),
    "technique.augmentation.width_shift": Range("float", 0, 1, high_open=True),
    "technique.augmentation.zoom": Range("float", 0, 1, high_open=True),
    "technique.early_stopping.patience": Range("int", 0, 1000),
    "technique.early_stopping.monitor": Range("choice", choices=("val_accuracy", "val_loss")),
    "sweep.n_trials": Range("int", 1, 100_000),
    "sweep.sampler": Range("choice", choices=("tpe", "random", "grid")),
    "sweep.pruner": Range("choice", choices=("median", "hyperband", "none")),
    "sweep.backend": Range("choice", choices=("optuna", "keras_tuner")),
    "sweep.kt_algorithm": Range("choice", choices=("hyperband", "bayesian", "random")),
    "sweep.hyperband_factor": Range("int", 2, 10),
    "sweep.epoch_budget": Range("int", 1, 10**9, optional=True),
    "repeat.count": Range("int", 1, 1000),
    "repeat.source": Range("choice", choices=("best", "config")),
}

VALUES = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-2, max_value=70_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1.0, max_value=2.0),
    st.booleans(),
    st.none(),
    st.sampled_from(
        ["tpe", "grid", "val_loss", "best", "config", "median", "keras_tuner", "", "1e-3"]
    ),
    st.text(max_size=4),
)


@pytest.fixture(scope="module")
def base() -> Config:
    cfg = compose_config("+technique=combined")
    GlobalHydra.instance().clear()
    assert config_errors(cfg) == []
    return cfg


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.sampled_from(sorted(VALID)), data=st.data())
def test_nothing_invalid_gets_through_and_nothing_valid_is_refused(
    base: DictConfig, key: str, data: st.DataObject
) -> None:
    value = data.draw(st.one_of(VALUES, st.sampled_from(VALID[key].edges())))
    cfg = copy.deepcopy(base)
    try:
        OmegaConf.update(cfg, key, value, merge=False)  # the typed schema, as at composition
    except OmegaConfBaseException:
        # refused by type: must not have been a valid value as given
        assert not VALID[key].valid(value), f"{key}={value!r} is valid but the schema refused it"
        return
    stored = OmegaConf.select(cfg, key)
    refused = [e for e in config_errors(as_config(cfg)) if e.startswith(f"{key}=")]
    if VALID[key].valid(stored):
        assert not refused, f"{key}={stored!r} is valid but was refused: {refused}"
    else:
        assert refused, f"{key}={stored!r} (given {value!r}) is invalid but got through"
        assert "allowed" in refused[0]
