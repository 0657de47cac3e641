"""Samplers and pruners from the configuration, and the grid from the YAML search space."""

from __future__ import annotations

import optuna

from mnist_reg.search.optuna.samplers import make_pruner, make_sampler, prunes
from mnist_reg.search.settings import study_name
from mnist_reg.search.space import grid
from tests.conftest import Compose


def test_grid_uses_grid_values_and_categorical_choices(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=l2", "sweep.sampler=grid")
    assert grid(cfg) == {
        "technique.l2.weight": [1e-6, 1e-5, 1e-4, 1e-3, 1e-2],
        "technique.l2.on_conv": [False, True],
    }
    assert isinstance(make_sampler(cfg, 0), optuna.samplers.GridSampler)


def test_samplers_pruners_and_names(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=dropout", "sweep.pruner=hyperband", "sweep.sampler=random")
    assert isinstance(make_sampler(cfg, 0), optuna.samplers.RandomSampler)
    assert isinstance(make_pruner(cfg), optuna.pruners.HyperbandPruner)
    assert prunes(cfg)
    assert not prunes(compose_cfg("+technique=baseline"))  # seed repeats are never pruned
    assert study_name(cfg) == "mnist-dropout"
    named = compose_cfg("+technique=l2", "data=fashion_mnist", "sweep.study_name=mine")
    assert study_name(named) == "mine"
    assert study_name(compose_cfg("+technique=l2", "data=fashion_mnist")) == "fashion_mnist-l2"
