"""A technique's search space (its YAML ``search_space``) turned into Optuna suggestions.

Each parameter is named by the config key it sets (``technique.dropout.rate``), so Optuna's
parameter names, MLflow's params and the command-line overrides all read the same.
"""

from __future__ import annotations

import copy
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf

from mnist_reg.urls import mask_password


def ordered_specs(space: DictConfig) -> list[Any]:
    """Specs without a ``when`` condition first, so the condition's value is known."""
    specs = list(space.values())
    return [s for s in specs if s.when is None] + [s for s in specs if s.when is not None]


def suggest(trial: optuna.Trial | optuna.trial.FixedTrial, cfg: DictConfig) -> dict[str, Any]:
    """The trial's values for the technique's search space, keyed by config path."""
    values: dict[str, Any] = {}
    for spec in ordered_specs(cfg.technique.search_space):
        if spec.when is not None:
            condition = values.get(spec.when, OmegaConf.select(cfg, spec.when))
            if not condition:
                continue
        if spec.type == "categorical":
            values[spec.path] = trial.suggest_categorical(spec.path, list(spec.choices))
        elif spec.type == "int":
            step = int(spec.step) if spec.step is not None else 1
            values[spec.path] = trial.suggest_int(
                spec.path, int(spec.low), int(spec.high), step=step, log=spec.log
            )
        else:
            values[spec.path] = trial.suggest_float(
                spec.path, float(spec.low), float(spec.high), step=spec.step, log=spec.log
            )
    return values


def grid(cfg: DictConfig) -> dict[str, list[Any]]:
    """The grid sampler's search space: ``grid`` values, or all ``choices``."""
    return {
        spec.path: list(spec.grid if spec.grid else spec.choices)
        for spec in cfg.technique.search_space.values()
    }


def with_values(cfg: DictConfig, values: dict[str, Any]) -> DictConfig:
    """A copy of ``cfg`` with ``values`` set at their dotted paths."""
    trial_cfg = copy.deepcopy(cfg)  # keeps the typed schema: a bad value still fails
    for path, value in values.items():
        OmegaConf.update(trial_cfg, path, value, merge=False)
    return trial_cfg


def flat_params(
    cfg: DictConfig, sections: tuple[str, ...] = ("data", "train", "technique")
) -> dict[str, Any]:
    """Every hyperparameter of a trial, suggested and fixed, as flat dotted names."""
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        else:  # a storage or tracking URL is logged without its password
            flat[prefix] = mask_password(node) if isinstance(node, str) else node

    for section in sections:
        node = dict(container[section])
        node.pop("search_space", None)
        node.pop("cache_dir", None)
        walk(section, node)
    return flat
