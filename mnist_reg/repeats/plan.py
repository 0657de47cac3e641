"""What a repeat retrains: a study's best trial (or the composed configuration), the seeds,
and the key that tells its runs from those of other settings under the same parent."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mnist_reg.config.params import flat_params
from mnist_reg.config.schema import SCHEDULE_READS, SCHEDULE_SETTINGS, Config
from mnist_reg.errors import ConfigError
from mnist_reg.search.dispatch import stored_study
from mnist_reg.search.settings import study_name

# Settings added after repeats began storing keys, with the value every run before them
# trained with: at that value a setting is left out of the key, so a key stored before it
# existed still finds its runs (and a study resumed across the change trains nothing twice).
ADDED_LATER: dict[str, Any] = {
    "train.precision": "float32",
    "train.lr_schedule": "constant",
    "technique.weight_decay.coefficient": 0.0,
    "technique.label_smoothing.amount": 0.0,
}


@dataclass
class RepeatPlan:
    study_name: str
    values: dict[str, Any]  # searched parameters taken from the best trial (empty: as composed)
    described: str
    parent_run_id: str | None
    seeds: list[int]


def plan_repeats(cfg: Config) -> RepeatPlan:
    """What to repeat, under which parent run, with which seeds; refused with a clear
    message when there is nothing to repeat or a seed was already used while tuning."""
    name = study_name(cfg)
    seeds = list(range(cfg.repeat.first_seed, cfg.repeat.first_seed + cfg.repeat.count))
    if cfg.repeat.source == "config":
        return RepeatPlan(name, {}, f"the configuration as composed (study {name})", None, seeds)
    stored = stored_study(cfg, name)
    clash = sorted(s for s in seeds if s in stored.seeds_used)
    if clash:
        highest = max(s for s in stored.seeds_used if s is not None)
        raise ConfigError(
            f"repeat.first_seed={cfg.repeat.first_seed} reuses seeds the search trained with "
            f"({', '.join(map(str, clash))}); choose a first seed above {highest}"
        )
    return RepeatPlan(name, stored.values, stored.described, stored.parent_run_id, seeds)


def repeat_key(cfg: Config) -> str:
    """Identifies a repeated configuration, whatever its seed: runs of other settings under
    the same parent are neither skipped for nor counted with this one."""
    params = flat_params(cfg)
    params.pop("train.seed")
    params.pop("train.progress_bar")
    unread = set(SCHEDULE_SETTINGS) - set(SCHEDULE_READS[cfg.train.lr_schedule])
    for name in unread:  # what the schedule does not read does not tell runs apart
        params.pop(f"train.{name}", None)
    if "train.schedule_epochs" in params:  # null spans train.epochs: the same training
        params["train.schedule_epochs"] = cfg.train.schedule_epochs or cfg.train.epochs
    for name, before in ADDED_LATER.items():
        if name in params and params[name] == before:
            params.pop(name)
    if cfg.repeat.vary_split:  # each seed draws its own split: the runs differ only by seed
        params.pop("data.split_seed")
        params["repeat.vary_split"] = True
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
