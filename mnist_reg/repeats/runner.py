"""Run the repeats of a plan: the stores checked, the parent run opened, each seed not yet
finished trained as a tracked run (in this process, or in ``repeat.workers`` workers), the
finished ones read back."""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from mnist_reg import pool, process
from mnist_reg.config.params import flat_params, with_values
from mnist_reg.config.preflight import check_stores
from mnist_reg.config.redaction import safe_yaml
from mnist_reg.config.schema import DATASET_SIZES, Config
from mnist_reg.config.stores import tracking_uri
from mnist_reg.repeats.outcome import RepeatOutcome
from mnist_reg.repeats.parallel import SeedWork, train_in_workers
from mnist_reg.repeats.plan import RepeatPlan, plan_repeats, repeat_key
from mnist_reg.search.dispatch import backend
from mnist_reg.tracking import tags as T

if TYPE_CHECKING:
    from mnist_reg.tracking.repeat_runs import RepeatTracker

log = logging.getLogger("mnist_reg")


def run_repeats(cfg: Config) -> RepeatOutcome:
    """Retrain the planned configuration with each of its seeds that has no finished run
    under the study's parent run yet; the table holds every finished one."""
    cfg = copy.deepcopy(cfg)
    uri = tracking_uri(cfg.mlflow)
    study_storage = backend(cfg).study_storage(cfg) if cfg.repeat.source == "best" else None
    check_stores(study_storage, uri)
    plan = plan_repeats(cfg)
    cfg.sweep.study_name = plan.study_name
    repeat_cfg = with_values(cfg, plan.values)
    key = repeat_key(repeat_cfg)

    process.prepare()  # before TensorFlow's threads
    from mnist_reg.tracking.repeat_runs import RepeatTracker  # once the plan stands

    tracker = RepeatTracker(uri, cfg.mlflow)
    tags = {
        **T.study_tags(cfg.technique.name, plan.study_name),
        T.REPEAT_KEY: key,
        T.REPEAT_SOURCE: cfg.repeat.source,
    }
    with tracker.repeats_run(
        plan.study_name,
        cfg.technique.name,
        plan.parent_run_id,
        flat_params(repeat_cfg),
        safe_yaml(repeat_cfg),
    ) as parent_run_id:
        done = tracker.finished_repeat_seeds(parent_run_id, key)
        todo = replace(plan, seeds=[seed for seed in plan.seeds if seed not in done])
        failed = train(repeat_cfg, SeedWork(todo, parent_run_id, key, tags), tracker)
        rows = tracker.repeat_results(parent_run_id, key)
    return RepeatOutcome(plan, pd.DataFrame(rows), failed)


def train(repeat_cfg: Config, work: SeedWork, tracker: RepeatTracker) -> int:
    """Train the seeds of ``work`` here or in workers; returns how many failed."""
    count = pool.worker_count(repeat_cfg.repeat.workers, len(work.plan.seeds))
    _announce(work.plan, repeat_cfg, count)
    if count > 1:
        return train_in_workers(repeat_cfg, work, count, tracker)
    from mnist_reg.repeats.seeds import train_seeds

    return train_seeds(repeat_cfg, work.plan, tracker, work.tags)


def _announce(todo: RepeatPlan, cfg: Config, workers: int) -> None:
    data = cfg.data
    images = data.train_size or DATASET_SIZES[data.name][0] - data.val_size
    log.info(
        "repeating %s: seeds %s%s; %d already finished, training %d on %d images%s",
        todo.described,
        ", ".join(
            map(str, range(cfg.repeat.first_seed, cfg.repeat.first_seed + cfg.repeat.count))
        ),
        " (each also its validation split)" if cfg.repeat.vary_split else "",
        cfg.repeat.count - len(todo.seeds),
        len(todo.seeds),
        images,
        f" in {workers} workers" if workers > 1 else "",
    )
