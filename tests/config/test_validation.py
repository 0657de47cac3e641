"""Composition and validation: bad values are refused with the key and the allowed range."""

from __future__ import annotations

import pytest

from mnist_reg.config.schema import available_techniques
from mnist_reg.config.validation import config_errors
from tests.conftest import Compose

TECHNIQUES = [
    "augmentation",
    "baseline",
    "combined",
    "dropout",
    "early_stopping",
    "l2",
    "label_smoothing",
    "weight_decay",
]


def test_every_technique_is_listed() -> None:
    assert available_techniques() == TECHNIQUES


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_each_technique_composes_and_validates(compose_cfg: Compose, technique: str) -> None:
    cfg = compose_cfg(f"+technique={technique}")
    assert cfg.technique.name == technique
    assert config_errors(cfg) == []


def test_search_spaces_match_the_issue(compose_cfg: Compose) -> None:
    assert not compose_cfg("+technique=baseline").technique.search_space
    l2 = compose_cfg("+technique=l2").technique.search_space["l2_weight"]
    assert (l2.low, l2.high, l2.log) == (1e-6, 1e-2, True)
    dropout = compose_cfg("+technique=dropout").technique.search_space
    assert (dropout["dropout_rate"].low, dropout["dropout_rate"].high) == (0.0, 0.6)
    assert dropout["dropout_second_rate"].when == "technique.dropout.second"
    stopping = compose_cfg("+technique=early_stopping")
    assert stopping.train.epochs == 20
    assert stopping.technique.early_stopping.enabled
    combined = compose_cfg("+technique=combined")
    paths = {spec.path for spec in combined.technique.search_space.values()}
    for other in TECHNIQUES[3:]:  # every technique but the baseline
        space = compose_cfg(f"+technique={other}").technique.search_space
        assert {spec.path for spec in space.values()} <= paths
    assert combined.technique.name == "combined"
    assert combined.train.epochs == 20


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_the_schedules_recipe_adds_the_learning_rate_and_schedule_to_any_technique(
    compose_cfg: Compose, technique: str
) -> None:
    alone = compose_cfg(f"+technique={technique}").technique.search_space
    cfg = compose_cfg(f"+technique={technique}", "+recipe=schedules")
    space = cfg.technique.search_space
    assert config_errors(cfg) == []
    assert set(space) - set(alone) == {
        "learning_rate",
        "lr_schedule",
        "warmup_epochs",
        "one_cycle_rise",
        "decay_rate",
        "plateau_factor",
        "plateau_patience",
    }
    assert space["warmup_epochs"].when == "train.lr_schedule=cosine"


@pytest.mark.parametrize(
    "when",
    [
        "train.epochs",
        "train.lr_schedule=linear",
        "train.lr_schedule",
        "technique.dropout.second=1",
    ],
)
def test_a_condition_names_a_boolean_or_a_choice_it_has(compose_cfg: Compose, when: str) -> None:
    cfg = compose_cfg(
        "+technique=dropout", f"technique.search_space.dropout_second_rate.when='{when}'"
    )
    (error,) = config_errors(cfg)
    assert f"technique.search_space.dropout_second_rate.when={when} is invalid" in error
    assert "train.lr_schedule=VALUE" in error


def test_command_line_override_beats_technique_default(compose_cfg: Compose) -> None:
    assert compose_cfg("+technique=early_stopping", "train.epochs=3").train.epochs == 3


@pytest.mark.parametrize(
    ("override", "key", "allowed"),
    [
        ("technique.dropout.rate=1.5", "technique.dropout.rate=1.5", "0 <= value < 1"),
        ("technique.l2.weight=-0.1", "technique.l2.weight=-0.1", "0 <= value <= 1"),
        ("train.epochs=0", "train.epochs=0", "1 <= value <= 1000"),
        ("train.learning_rate=0", "train.learning_rate=0.0", "0 < value"),
        ("data.train_size=60000", "data.train_size=60000", "10 to 55000"),
        ("data.val_size=5", "data.val_size=5", "10 <= value"),
        ("data.name=cifar", "data.name=cifar", "mnist, fashion_mnist"),
        ("sweep.sampler=cmaes", "sweep.sampler=cmaes", "tpe, random, grid"),
        ("sweep.pruner=asha", "sweep.pruner=asha", "median, hyperband, none"),
        ("sweep.backend=ray", "sweep.backend=ray", "optuna, keras_tuner"),
        ("sweep.kt_algorithm=grid", "sweep.kt_algorithm=grid", "hyperband, bayesian, random"),
        ("train.lr_schedule=step", "train.lr_schedule=step", "constant, cosine, one_cycle"),
        ("train.decay_rate=1.5", "train.decay_rate=1.5", "0 < value <= 1"),
        ("train.final_lr_fraction=1", "train.final_lr_fraction=1.0", "0 <= value < 1"),
        (
            "technique.label_smoothing.amount=1",
            "technique.label_smoothing.amount=1.0",
            "0 <= value < 1",
        ),
        (
            "technique.weight_decay.coefficient=-1",
            "technique.weight_decay.coefficient=-1.0",
            "0 <= value <= 10",
        ),
        (
            "technique.search_space.dropout_rate.high=1.5",
            "technique.search_space.dropout_rate.high=1.5",
            "0 <= value < 1",
        ),
        (
            "technique.search_space.dropout_rate.path=data.val_size",
            "technique.search_space.dropout_rate.path=data.val_size",
            "cannot be searched",
        ),
    ],
)
def test_out_of_range_values_are_refused(
    compose_cfg: Compose, override: str, key: str, allowed: str
) -> None:
    errors = config_errors(compose_cfg("+technique=dropout", override))
    assert len(errors) == 1, errors
    assert key in errors[0]
    assert allowed in errors[0]


def test_grid_sampler_needs_grid_values(compose_cfg: Compose) -> None:
    cfg = compose_cfg(
        "+technique=dropout", "sweep.sampler=grid", "technique.search_space.dropout_rate.grid=null"
    )
    assert any("dropout_rate.grid" in e for e in config_errors(cfg))
