"""What both backends' studies and trials share: the study's parent run, a trial's
configuration from its searched values, and its run's tags. Each backend adds only its own
tags (a rung, Keras Tuner's trial id)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from mnist_reg.config.params import flat_params, with_values
from mnist_reg.config.redaction import safe_yaml
from mnist_reg.config.schema import Config
from mnist_reg.search.settings import shared_params
from mnist_reg.tracking.runs import Tracker
from mnist_reg.tracking.tags import study_tags


def trial_config(cfg: Config, values: dict[str, Any], number: int, epochs: int) -> Config:
    """``cfg`` with a trial's searched ``values``, its own seed and its number of epochs;
    its learning-rate schedule spans the study's full length (``train.epochs``), so that a
    trial promoted to a later rung goes on along the same schedule."""
    trial_cfg = with_values(cfg, values)
    trial_cfg.train.seed = cfg.train.seed + number
    trial_cfg.train.schedule_epochs = cfg.train.schedule_epochs or cfg.train.epochs
    trial_cfg.train.epochs = epochs
    return trial_cfg


def trial_tags(cfg: Config, **own: str) -> dict[str, str]:
    """The tags of a trial's run: the study's, then the backend's ``own`` ones."""
    return {
        **study_tags(cfg.technique.name, str(cfg.sweep.study_name), cfg.sweep.backend),
        **own,
    }


def sweep_run(
    tracker: Tracker, cfg: Config, parent_run_id: str | None
) -> AbstractContextManager[str]:
    """The study's parent run, created once and resumed after: the settings every run of the
    study shares as its params, this invocation's sweep settings as tags, and the composed
    configuration as an artifact."""
    return tracker.sweep_run(
        str(cfg.sweep.study_name),
        cfg.technique.name,
        parent_run_id,
        shared_params(cfg),  # the same for every run of a study (checked)
        flat_params(cfg, sections=("sweep",)),  # may change between runs: tags
        safe_yaml(cfg),
        backend=cfg.sweep.backend,
    )
