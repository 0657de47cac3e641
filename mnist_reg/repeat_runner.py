"""Seed repeats: retrain one configuration with fresh seeds, each a tracked run.

A study's best trial won partly by luck (its seed, its split of the noise). Retraining its
configuration with seeds the search never used measures what the configuration is worth;
``compare`` turns the repeats into intervals and tests. With ``repeat.source=config`` the
composed configuration itself is repeated (the article's fixed models, data-scarcity runs).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import optuna
import pandas as pd
from omegaconf import DictConfig

from mnist_reg import malloc
from mnist_reg.kt_project import ProjectState, project_dir
from mnist_reg.preflight import check_stores
from mnist_reg.search_space import flat_params, with_values
from mnist_reg.stats import t_interval
from mnist_reg.study import DEFAULT_STORAGE, best_trial, storage, study_name
from mnist_reg.tracking.uri import tracking_uri
from mnist_reg.urls import safe_yaml
from mnist_reg.validation import ConfigError

log = logging.getLogger("mnist_reg")


@dataclass
class RepeatPlan:
    study_name: str
    values: dict[str, Any]  # searched parameters taken from the best trial (empty: as composed)
    described: str
    parent_run_id: str | None
    seeds: list[int]


def _refuse_used_seeds(cfg: DictConfig, seeds: list[int], used: set[int | None]) -> None:
    clash = sorted(s for s in seeds if s in used)
    if clash:
        highest = max(s for s in used if s is not None)
        raise ConfigError(
            f"repeat.first_seed={cfg.repeat.first_seed} reuses seeds the search trained with "
            f"({', '.join(map(str, clash))}); choose a first seed above {highest}"
        )


def _plan_kt_repeats(cfg: DictConfig, name: str, seeds: list[int]) -> RepeatPlan:
    """The best trial of a Keras Tuner project, read from our record in its folder."""
    state = ProjectState(project_dir(cfg.sweep.kt_directory, name))
    best = state.best()
    if best is None:
        raise ConfigError(
            f"no Keras Tuner project {name} with a complete trial in {cfg.sweep.kt_directory}: "
            "run the sweep first, or repeat the composed configuration with repeat.source=config"
        )
    _refuse_used_seeds(cfg, seeds, set(state.seeds()))
    trial_id, record = best
    described = (
        f"trial {int(trial_id)} of Keras Tuner project {name} "
        f"(val_accuracy {record['val_accuracy']:.4f})"
    )
    parent = state.data.get("mlflow_parent_run_id")
    return RepeatPlan(name, dict(record["values"]), described, parent, seeds)


@dataclass
class RepeatOutcome:
    plan: RepeatPlan
    table: pd.DataFrame  # one row per finished repeat with these settings
    failed: int  # repeats of this invocation that failed


def plan_repeats(cfg: DictConfig) -> RepeatPlan:
    """What to repeat, under which parent run, with which seeds; refused with a clear
    message when there is nothing to repeat or a seed was already used while tuning."""
    name = study_name(cfg)
    seeds = list(range(cfg.repeat.first_seed, cfg.repeat.first_seed + cfg.repeat.count))
    if cfg.repeat.source == "config":
        return RepeatPlan(name, {}, f"the configuration as composed (study {name})", None, seeds)
    if cfg.sweep.backend == "keras_tuner":
        return _plan_kt_repeats(cfg, name, seeds)
    url = cfg.sweep.storage or DEFAULT_STORAGE
    try:
        study = optuna.load_study(study_name=name, storage=storage(cfg))
    except KeyError:
        raise ConfigError(
            f"no study {name} in {url}: run the sweep first, or repeat the composed "
            "configuration as it is with repeat.source=config"
        ) from None
    best = best_trial(study)
    if best is None:
        raise ConfigError(f"study {name} has no complete trial to repeat")
    _refuse_used_seeds(cfg, seeds, {t.user_attrs.get("seed") for t in study.trials})
    described = f"trial {best.number} of study {name} (val_accuracy {best.val_accuracy:.4f})"
    parent = study.user_attrs.get("mlflow_parent_run_id")
    return RepeatPlan(name, dict(best.params), described, parent, seeds)


def repeat_key(cfg: DictConfig) -> str:
    """Identifies a repeated configuration, whatever its seed: runs of other settings under
    the same parent are neither skipped for nor counted with this one."""
    params = flat_params(cfg)
    params.pop("train.seed")
    params.pop("train.progress_bar")
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def run_repeats(cfg: DictConfig) -> RepeatOutcome:
    cfg = copy.deepcopy(cfg)
    uses_study = cfg.repeat.source == "best" and cfg.sweep.backend == "optuna"
    storage_url = (cfg.sweep.storage or DEFAULT_STORAGE) if uses_study else None
    check_stores(storage_url, tracking_uri(cfg.mlflow))
    plan = plan_repeats(cfg)
    cfg.sweep.study_name = plan.study_name
    repeat_cfg = with_values(cfg, plan.values)
    key = repeat_key(repeat_cfg)

    malloc.limit_arenas()  # before TensorFlow's threads: keeps a long run's memory flat
    # heavy imports only once the plan stands
    from mnist_reg.progress import EpochProgress, SweepProgress
    from mnist_reg.splits import load_splits
    from mnist_reg.tracked import raise_if_diverged, test_logged, train_logged
    from mnist_reg.tracking.repeats import RepeatTracker
    from mnist_reg.tracking.runs import EpochMetricsLogger
    from mnist_reg.training import fresh_session

    splits = load_splits(cfg.data)
    tracker = RepeatTracker(cfg.mlflow)
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
            "repeating %s: seeds %s; %d already finished, training %d on %d images",
            plan.described,
            ", ".join(map(str, plan.seeds)),
            len(plan.seeds) - len(todo),
            len(todo),
            len(splits.y_train),
        )
        progress = SweepProgress(len(todo), 0, repeat_cfg.train.epochs, unit="repeat")
        for seed in todo:
            fresh_session()  # the previous model goes, and its memory
            run_cfg = copy.deepcopy(repeat_cfg)
            run_cfg.train.seed = seed
            progress.trial_started(seed)
            callbacks = [EpochMetricsLogger(), EpochProgress(progress, None)]
            try:
                with tracker.repeat_run(seed, tags):
                    result = train_logged(run_cfg, splits, tracker, callbacks)
                    raise_if_diverged(result)
                    test = test_logged(result, splits, tracker)
            except Exception as error:  # recorded FAILED in MLflow; the next seed goes on
                failed += 1
                log.error("repeat with seed %d failed: %s", seed, error)
                continue
            progress.finished += 1
            log.info(
                "repeat seed %d: val_accuracy %.4f, test_accuracy %.4f",
                seed,
                result.kept_val_accuracy,
                test.test_accuracy,
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
