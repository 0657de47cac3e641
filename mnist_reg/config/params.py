"""A configuration as MLflow params (flat dotted names) and as a trial's copy with searched
values set."""

from __future__ import annotations

import copy
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_reg.config.redaction import mask_password
from mnist_reg.config.schema import Config

TRAINING_SECTIONS = ("data", "train", "technique")


def with_values(cfg: Config, values: dict[str, Any]) -> Config:
    """A copy of ``cfg`` with ``values`` set at their dotted paths."""
    trial_cfg = copy.deepcopy(cfg)  # keeps the typed schema: a bad value still fails
    node: DictConfig = trial_cfg  # type: ignore[assignment]
    for path, value in values.items():
        OmegaConf.update(node, path, value, merge=False)
    return trial_cfg


def flat_params(cfg: Config, sections: tuple[str, ...] = TRAINING_SECTIONS) -> dict[str, Any]:
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
