"""Range checks for a composed configuration, run before TensorFlow is imported.

Hydra's structured configs already refuse unknown keys and wrong types; this module refuses
values of the right type that make no sense (a dropout rate of 1.5, a negative lambda, zero
epochs) and search spaces that would suggest them. Every message names the key, the value
and what is allowed, on one line.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from mnist_reg.config.fields import choices
from mnist_reg.config.rules import RULES
from mnist_reg.config.schema import AUTO, DATASET_SIZES, Config
from mnist_reg.config.stores import STORAGE_SCHEMES, TRACKING_SCHEMES, url_problem
from mnist_reg.config.technique import ParamSpec, condition
from mnist_reg.errors import ConfigError

SPEC_TYPES = choices(ParamSpec, "type")


def _get(cfg: Config, path: str) -> Any:
    return OmegaConf.select(cfg, path, throw_on_missing=False)  # type: ignore[arg-type]


def _check_spec(name: str, spec: ParamSpec) -> list[str]:
    key = f"technique.search_space.{name}"
    rule = RULES.get(spec.path)
    if rule is None or not rule.searchable:
        searchable = ", ".join(p for p, r in RULES.items() if r.searchable)
        return [f"{key}.path={spec.path} cannot be searched; allowed: {searchable}"]
    if spec.type not in SPEC_TYPES:
        return [f"{key}.type={spec.type} is invalid; allowed: one of {', '.join(SPEC_TYPES)}"]
    errors = []
    if spec.type == "categorical":
        if not spec.choices:
            errors.append(f"{key}.choices is empty; a categorical parameter needs choices")
        for choice in spec.choices or []:
            if not rule.accepts(choice):
                errors.append(f"{key}.choices has {choice!r}; {spec.path} allows {rule.allowed()}")
    else:
        if rule.kind not in ("int", "float") or (rule.kind == "int" and spec.type == "float"):
            errors.append(f"{key}.type={spec.type} does not fit {spec.path} ({rule.allowed()})")
            return errors
        for bound in ("low", "high"):
            value = getattr(spec, bound)
            if value is None or not rule.accepts(int(value) if spec.type == "int" else value):
                errors.append(f"{key}.{bound}={value} is invalid; allowed: {rule.allowed()}")
        if not errors and (spec.low or 0) > (spec.high or 0):  # both set: no errors above
            errors.append(f"{key}.low={spec.low} is above {key}.high={spec.high}")
        if spec.log and spec.low is not None and spec.low <= 0:
            errors.append(f"{key}.low={spec.low} must be above 0 when log is true")
        if spec.step is not None and spec.step <= 0:
            errors.append(f"{key}.step={spec.step} is invalid; allowed: a value above 0")
        if spec.step is not None and spec.log:
            errors.append(f"{key}.step={spec.step} cannot be combined with log: true")
        if spec.type == "int" and spec.step is not None and spec.step != int(spec.step):
            errors.append(f"{key}.step={spec.step} is invalid; allowed: a whole number")
    for value in spec.grid or []:
        if not rule.accepts(value):
            errors.append(f"{key}.grid has {value!r}; {spec.path} allows {rule.allowed()}")
    if spec.when is not None:
        errors.extend(_when_errors(key, spec.when))
    return errors


def _when_errors(key: str, when: str) -> list[str]:
    """A condition names a boolean key, or a key with choices and one of them (KEY=VALUE)."""
    path, value = condition(when)
    rule = RULES.get(path)
    if value is None and rule is not None and rule.kind == "bool":
        return []
    if value is not None and rule is not None and rule.choices and value in rule.choices:
        return []
    booleans = ", ".join(p for p, r in RULES.items() if r.kind == "bool")
    keyed = ", ".join(f"{p}=VALUE" for p, r in RULES.items() if r.choices and r.searchable)
    return [f"{key}.when={when} is invalid; allowed: one of {booleans}; or {keyed}"]


def config_errors(cfg: Config) -> list[str]:
    """Every problem with ``cfg``, one line each; empty when the configuration is valid."""
    errors = []
    for path, rule in RULES.items():
        value = _get(cfg, path)
        if not rule.accepts(value):
            errors.append(f"{path}={value} is invalid; allowed: {rule.allowed()}")
    name = _get(cfg, "data.name")
    val_size = _get(cfg, "data.val_size")
    train_size = _get(cfg, "data.train_size")
    if name in DATASET_SIZES and isinstance(val_size, int) and isinstance(train_size, int):
        available = DATASET_SIZES[name][0] - val_size
        if train_size > available:
            errors.append(
                f"data.train_size={train_size} is larger than the data; allowed: 10 to "
                f"{available} ({name} has {DATASET_SIZES[name][0]} training images, "
                f"data.val_size={val_size} of them held out)"
            )
    min_epochs, epochs = _get(cfg, "sweep.min_epochs"), _get(cfg, "train.epochs")
    promotes = _get(cfg, "sweep.strategy") == "promote"
    if (
        promotes
        and isinstance(min_epochs, int)
        and isinstance(epochs, int)
        and min_epochs >= epochs
    ):
        errors.append(
            f"sweep.min_epochs={min_epochs} is invalid with sweep.strategy=promote; allowed: "
            f"1 to {epochs - 1} (below train.epochs={epochs}: a rung to promote to)"
        )
    errors.extend(_url_errors(cfg))
    errors.extend(_workers_errors(cfg))
    if not _get(cfg, "technique.name"):
        errors.append("technique.name is empty; allowed: a non-empty name")
    if not _get(cfg, "mlflow.experiment"):
        errors.append("mlflow.experiment is empty; allowed: a non-empty experiment name")
    for spec_name, spec in (_get(cfg, "technique.search_space") or {}).items():
        errors.extend(_check_spec(spec_name, spec))
        if _get(cfg, "sweep.sampler") == "grid" and spec.type != "categorical" and not spec.grid:
            errors.append(
                f"technique.search_space.{spec_name}.grid is empty; sweep.sampler=grid needs "
                "the values to try, e.g. grid: [0.1, 0.2]"
            )
    return errors


def _url_errors(cfg: Config) -> list[str]:
    errors = []
    for key, schemes in (
        ("sweep.storage", STORAGE_SCHEMES),
        ("mlflow.tracking_uri", TRACKING_SCHEMES),
    ):
        url = _get(cfg, key)
        problem = url_problem(key, url, schemes) if isinstance(url, str) else None
        if problem is not None:
            errors.append(problem)
    return errors


def _workers_errors(cfg: Config) -> list[str]:
    workers = _get(cfg, "sweep.workers")
    if workers not in (1, AUTO) and _get(cfg, "sweep.backend") != "optuna":
        return [
            f"sweep.workers={workers} is invalid with sweep.backend=keras_tuner (its oracle "
            "lives in one process); allowed: 1 or auto (one), or several with optuna"
        ]
    return []


def validate(cfg: Config) -> None:
    """Raise :class:`ConfigError` naming every invalid key of ``cfg``."""
    errors = config_errors(cfg)
    if errors:
        raise ConfigError("\n".join(errors))
