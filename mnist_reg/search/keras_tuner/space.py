"""A technique's search space (its YAML ``search_space``) as Keras Tuner HyperParameters.

The same specs that become Optuna suggestions (``search.optuna.space``) become ``hp.Float``,
``hp.Int`` and ``hp.Choice`` here, named by the config key they set; a ``when`` condition on
a searched boolean becomes a conditional scope. Nothing is declared twice.
"""

from __future__ import annotations

from typing import Any

import keras_tuner as kt
from omegaconf import OmegaConf

from mnist_reg.config.schema import Config
from mnist_reg.config.technique import ParamSpec, condition
from mnist_reg.search.space import (
    condition_met,
    condition_values,
    ordered_specs,
    searched_paths,
)


def _declare(hp: kt.HyperParameters, spec: ParamSpec) -> None:
    sampling = "log" if spec.log else "linear"
    if spec.type == "categorical":
        hp.Choice(spec.path, list(spec.choices or []))
    elif spec.type == "int":
        step = int(spec.step) if spec.step is not None else None
        hp.Int(spec.path, int(spec.low or 0), int(spec.high or 0), step=step, sampling=sampling)
    else:
        low, high = float(spec.low or 0), float(spec.high or 0)
        hp.Float(spec.path, low, high, step=spec.step, sampling=sampling)


def hyperparameters(cfg: Config) -> kt.HyperParameters:
    """The search space of ``cfg.technique`` for a Keras Tuner oracle."""
    hp = kt.HyperParameters()
    searched = searched_paths(cfg)
    for spec in ordered_specs(cfg.technique.search_space):
        if spec.when is None:
            _declare(hp, spec)
            continue
        path = condition(spec.when)[0]
        if path in searched:  # active only where the searched key has the value
            with hp.conditional_scope(path, condition_values(spec.when)):
                _declare(hp, spec)
        elif condition_met(spec.when, OmegaConf.select(cfg, path)):  # type: ignore[arg-type]  # fixed: in or out for good
            _declare(hp, spec)
    return hp


def trial_values(hp: kt.HyperParameters, cfg: Config) -> dict[str, Any]:
    """A trial's values keyed by config path: the active searched ones only, each a value
    of its YAML's type (Keras Tuner hands a boolean choice back as 0 or 1, and Bayesian
    optimization hands back NumPy numbers)."""
    values: dict[str, Any] = {}
    for spec in cfg.technique.search_space.values():
        if spec.path not in hp.values or not hp.is_active(spec.path):
            continue
        value = hp.values[spec.path]
        if spec.type == "float":
            value = float(value)
        elif spec.type == "int":
            value = int(value)
        elif all(isinstance(c, bool) for c in spec.choices or []):
            value = bool(value)
        else:  # the choice itself, as the YAML wrote it
            value = next((c for c in spec.choices or [] if c == value), value)
        values[spec.path] = value
    return values
