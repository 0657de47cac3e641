"""A study's name, and the settings every trial of a study must share: stored when the study
begins (by either backend), and checked each time it resumes, so that a study never mixes
trials trained on other data, epochs or search spaces."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from omegaconf import OmegaConf

from mnist_reg.config.params import flat_params
from mnist_reg.config.schema import Config, DataConfig, TrainConfig
from mnist_reg.config.technique import TechniqueConfig
from mnist_reg.errors import ConfigError

# Keys that may change between runs of one study: they do not change what a trial trains.
VOLATILE_KEYS = ("data.cache_dir", "data.download_timeout", "train.progress_bar")
SPACE_KEY = "technique.search_space"  # stored as one JSON string


def study_name(cfg: Config) -> str:
    """``sweep.study_name``, else ``<dataset>-<technique>`` (Optuna) or
    ``<dataset>-<technique>-kt-<algorithm>`` (Keras Tuner), so the two never share a name."""
    if cfg.sweep.study_name:
        return str(cfg.sweep.study_name)
    name = f"{cfg.data.name}-{cfg.technique.name}"
    if cfg.sweep.backend == "keras_tuner":
        name += f"-kt-{cfg.sweep.kt_algorithm}"
    return name


def trial_settings(cfg: Config) -> dict[str, Any]:
    """What every trial of a study must share: data, training and the technique's space."""
    settings = flat_params(cfg)
    container = OmegaConf.to_container(cfg.technique.search_space, resolve=True)
    settings[SPACE_KEY] = json.dumps(container, sort_keys=True)
    return {k: v for k, v in settings.items() if k not in VOLATILE_KEYS}


def settings_digest(settings: dict[str, Any]) -> str:
    """A short digest of a study's settings: two studies with the same one trained their
    trials under the same data, training and search space."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def shared_params(cfg: Config) -> dict[str, Any]:
    """The parent run's params: what every trial of the study shares. Searched keys are
    left out: their YAML values are defaults that no trial may have used."""
    searched = {spec.path for spec in cfg.technique.search_space.values()}
    return {k: v for k, v in flat_params(cfg).items() if k not in searched}


def schema_defaults() -> dict[str, Any]:
    """Defaults of the data, train and technique schemas, as flat dotted names.

    A study stored before a setting existed trained with that setting's default.
    """
    return {
        **_flatten(asdict(DataConfig()), "data"),
        **_flatten(asdict(TrainConfig()), "train"),
        **_flatten(asdict(TechniqueConfig()), "technique"),
    }


def _flatten(node: dict[str, Any], prefix: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}.{key}"
        flat.update(_flatten(value, name) if isinstance(value, dict) else {name: value})
    return flat


def refuse_changed_settings(name: str, stored: dict[str, Any] | None, cfg: Config) -> None:
    """Raise :class:`ConfigError` naming each setting that differs from ``stored``."""
    if stored is None:
        return
    current = trial_settings(cfg)
    defaults = schema_defaults()

    def differs(key: str) -> bool:
        if key not in stored and key in defaults:  # a setting added since the study began
            return bool(current.get(key) != defaults[key])
        return bool(stored.get(key) != current.get(key))

    changed = sorted(k for k in stored.keys() | current.keys() if differs(k))
    if changed:
        details = ", ".join(
            ", ".join(_space_changes(current[k], stored[k]))
            if k == SPACE_KEY and k in current and k in stored
            else f"{k}={current.get(k)} (study: {stored.get(k)})"
            for k in changed
        )
        raise ConfigError(
            f"study {name} was run with other settings: {details}; restore them "
            "or start a new study with sweep.study_name=NAME"
        )


def _space_changes(current: str, stored: str) -> list[str]:
    """The search-space bounds that differ, ``key=now (study: then)``, not both whole spaces."""
    now, then = (_flatten(json.loads(space), SPACE_KEY) for space in (current, stored))
    keys = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
    return [f"{k}={now.get(k)} (study: {then.get(k)})" for k in keys]
