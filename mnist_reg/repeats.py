"""Seed repeats: retrain one configuration with fresh seeds, each a tracked run.

A study's best trial won partly by luck (its seed, its split of the noise). Retraining its
configuration with seeds the search never used measures what the configuration is worth;
``compare`` turns the repeats into intervals and tests. With ``repeat.source=config`` the
composed configuration itself is repeated (the article's fixed models, data-scarcity runs).
Each repeat runs the same tracked training step as a sweep trial.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mnist_reg.analysis.stats import t_interval
from mnist_reg.config.params import flat_params, with_values
from mnist_reg.config.preflight import check_stores
from mnist_reg.config.redaction import safe_yaml
from mnist_reg.config.schema import Config
from mnist_reg.config.stores import storage_url, tracking_uri
from mnist_reg.errors import ConfigError
from mnist_reg.search.dispatch import stored_study
from mnist_reg.search.settings import study_name
from mnist_reg.training import memory

log = logging.getLogger("mnist_reg")


@dataclass
class RepeatPlan:
    study_name: str
    values: dict[str, Any]  # searched parameters taken from the best trial (empty: as composed)
    described: str
    parent_run_id: str | None
    seeds: list[int]


@dataclass
class RepeatOutcome:
    plan: RepeatPlan
    table: pd.DataFrame  # one row per finished repeat with these settings
    failed: int  # repeats of this invocation that failed


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
    if cfg.repeat.vary_split:  # each seed draws its own split: the runs differ only by seed
        params.pop("data.split_seed")
        params["repeat.vary_split"] = True
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def run_repeats(cfg: Config) -> RepeatOutcome:
    cfg = copy.deepcopy(cfg)
    uses_study = cfg.repeat.source == "best" and cfg.sweep.backend == "optuna"
    uri = tracking_uri(cfg.mlflow)
    check_stores(storage_url(cfg.sweep) if uses_study else None, uri)
    plan = plan_repeats(cfg)
    cfg.sweep.study_name = plan.study_name
    repeat_cfg = with_values(cfg, plan.values)
    key = repeat_key(repeat_cfg)

    memory.limit_arenas()  # before TensorFlow's threads: keeps a long run's memory flat
    # heavy imports only once the plan stands
    from mnist_reg.data.sources import load_raw
    from mnist_reg.data.splits import make_splits
    from mnist_reg.tracking.repeats import RepeatTracker
    from mnist_reg.training.progress import SweepProgress
    from mnist_reg.training.step import tracked_training

    raw = load_raw(cfg.data.name, cfg.data.cache_dir, cfg.data.download_timeout)
    splits = make_splits(raw, cfg.data)
    tracker = RepeatTracker(uri, cfg.mlflow)
    failed = 0
    tags = {
        "technique": cfg.technique.name,
        "study_name": plan.study_name,
        "repeat_key": key,
        "repeat_source": cfg.repeat.source,
    }
    with tracker.repeats_run(
        plan.study_name,
        cfg.technique.name,
        plan.parent_run_id,
        flat_params(repeat_cfg),
        safe_yaml(repeat_cfg),
    ) as parent_run_id:
        done = tracker.finished_repeat_seeds(parent_run_id, key)
        todo = [seed for seed in plan.seeds if seed not in done]
        log.info(
            "repeating %s: seeds %s%s; %d already finished, training %d on %d images",
            plan.described,
            ", ".join(map(str, plan.seeds)),
            " (each also its validation split)" if cfg.repeat.vary_split else "",
            len(plan.seeds) - len(todo),
            len(todo),
            len(splits.y_train),
        )
        progress = SweepProgress(len(todo), 0, repeat_cfg.train.epochs, unit="repeat")
        for seed in todo:
            run_cfg = copy.deepcopy(repeat_cfg)
            run_cfg.train.seed = seed
            if cfg.repeat.vary_split:
                run_cfg.data.split_seed = seed
                splits = make_splits(raw, run_cfg.data)
            try:
                tracked = tracked_training(
                    lambda run_id, run_cfg=run_cfg: run_cfg,  # type: ignore[misc]
                    splits,
                    tracker,
                    progress,
                    seed,
                    lambda seed=seed: tracker.repeat_run(seed, tags),  # type: ignore[misc]
                )
            except Exception as error:  # recorded FAILED in MLflow; the next seed goes on
                failed += 1
                log.error("repeat with seed %d failed: %s", seed, error)
                continue
            progress.finished += 1
            log.info(
                "repeat seed %d: val_accuracy %.4f, test_accuracy %.4f",
                seed,
                tracked.result.kept_val_accuracy,
                tracked.test.test_accuracy,
            )
        rows = tracker.repeat_results(parent_run_id, key)
    return RepeatOutcome(plan, pd.DataFrame(rows), failed)


def print_outcome(outcome: RepeatOutcome) -> None:
    print(f"\nRepeats of {outcome.plan.described}:")
    for path, value in outcome.plan.values.items():
        print(f"  {path} = {value}")
    table = outcome.table
    if table.empty:
        print("No repeat finished.")
        return
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ci = t_interval(table["test_accuracy"].tolist())
    print(
        f"\ntest_accuracy over {len(table)} seeds: mean {ci.mean:.4f}, "
        f"95% t interval [{ci.low:.4f}, {ci.high:.4f}]"
    )
