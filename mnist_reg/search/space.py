"""A technique's search space (its YAML ``search_space``), as both backends read it: in
which order to declare the parameters, and the grid sampler's values. Each backend turns the
same specs into its own parameters (``optuna.space``, ``keras_tuner.space``); each parameter
is named by the config key it sets (``technique.dropout.rate``), so Optuna's and Keras
Tuner's names, MLflow's params and the command-line overrides all read the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnist_reg.config.schema import Config
from mnist_reg.config.technique import ParamSpec, condition


def ordered_specs(space: Mapping[str, ParamSpec]) -> list[ParamSpec]:
    """Specs without a ``when`` condition first, so the condition's value is known."""
    specs = list(space.values())
    return [s for s in specs if s.when is None] + [s for s in specs if s.when is not None]


def searched_paths(cfg: Config) -> set[str]:
    return {spec.path for spec in cfg.technique.search_space.values()}


def grid(cfg: Config) -> dict[str, list[Any]]:
    """The grid sampler's search space: ``grid`` values, or all ``choices``."""
    return {
        spec.path: list(spec.grid if spec.grid else spec.choices or [])
        for spec in cfg.technique.search_space.values()
    }


def condition_met(when: str, value: Any) -> bool:
    """Whether a ``when`` condition holds for its key's ``value``: true, or the value it
    names (``train.lr_schedule=cosine``)."""
    needed = condition(when)[1]
    return bool(value) if needed is None else str(value) == needed


def condition_values(when: str) -> list[Any]:
    """The values of its key under which a conditional parameter is active (Keras Tuner's
    conditional scope)."""
    needed = condition(when)[1]
    return [True] if needed is None else [needed]
