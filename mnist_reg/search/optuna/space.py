"""A technique's search space as Optuna suggestions, one per spec, named by its config key."""

from __future__ import annotations

from typing import Any

import optuna
from omegaconf import OmegaConf

from mnist_reg.config.schema import Config
from mnist_reg.config.technique import condition
from mnist_reg.search.space import condition_met, ordered_specs


def suggest(trial: optuna.Trial | optuna.trial.FixedTrial, cfg: Config) -> dict[str, Any]:
    """The trial's values for the technique's search space, keyed by config path."""
    values: dict[str, Any] = {}
    for spec in ordered_specs(cfg.technique.search_space):
        if spec.when is not None:
            path = condition(spec.when)[0]
            current = values.get(path, OmegaConf.select(cfg, path))  # type: ignore[arg-type]
            if not condition_met(spec.when, current):
                continue
        if spec.type == "categorical":
            values[spec.path] = trial.suggest_categorical(spec.path, list(spec.choices or []))
        elif spec.type == "int":
            step = int(spec.step) if spec.step is not None else 1
            values[spec.path] = trial.suggest_int(
                spec.path, int(spec.low or 0), int(spec.high or 0), step=step, log=spec.log
            )
        else:
            values[spec.path] = trial.suggest_float(
                spec.path,
                float(spec.low or 0),
                float(spec.high or 0),
                step=spec.step,
                log=spec.log,
            )
    return values
