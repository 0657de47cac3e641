"""``repeat.workers=N``: the seeds of one set of repeats trained by N worker processes at
once, each on its share of the cores (:mod:`mnist_reg.pool`).

The seeds left to train are dealt out by position: worker ``i`` of ``N`` trains every
``N``-th one from the ``i``-th, under the parent run the command holds open. A killed worker
is replaced by one that trains its seeds not yet finished; once every worker has ended, a
seed's run a killed worker left RUNNING is ended KILLED, and each seed without a finished
run counts as failed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from omegaconf import OmegaConf

from mnist_reg import pool, process
from mnist_reg.config.schema import Config
from mnist_reg.config.stores import tracking_uri
from mnist_reg.repeats.plan import RepeatPlan

if TYPE_CHECKING:
    from mnist_reg.tracking.repeat_runs import RepeatTracker

log = logging.getLogger("mnist_reg")


@dataclass(frozen=True)
class SeedWork:
    """What the workers share: the seeds left (``plan.seeds``), under which parent run, with
    which repeat key and tags."""

    plan: RepeatPlan
    parent_run_id: str
    key: str
    tags: dict[str, str]


def train_in_workers(
    repeat_cfg: Config, work: SeedWork, count: int, tracker: RepeatTracker
) -> int:
    """Train ``work``'s seeds in ``count`` workers; returns how many have no finished run."""
    task = pool.Task(
        repeat_worker,
        (OmegaConf.to_yaml(repeat_cfg, resolve=True), work),
        replace_limit=len(work.plan.seeds),
    )
    since_ms = int(time.time() * 1000) - 1000  # the store's clock may lag a little
    try:
        failed = pool.run_workers(task, count)
    finally:
        tracker.end_stale_repeats(work.parent_run_id, work.key, work.plan.seeds, since_ms)
    for line in failed:
        log.error("%s", line)
    finished = tracker.finished_repeat_seeds(work.parent_run_id, work.key)
    return sum(seed not in finished for seed in work.plan.seeds)


def repeat_worker(config_yaml: str, work: SeedWork, place: pool.Place) -> None:
    """One worker: its seeds of ``work`` not yet finished, trained one after another."""
    composed = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.create(config_yaml))
    repeat_cfg = cast(Config, composed)  # the schema's own structure, as Hydra composed it
    process.prepare(threads=len(place.cores))
    from mnist_reg.repeats.seeds import train_seeds
    from mnist_reg.tracking.repeat_runs import RepeatTracker

    tracker = RepeatTracker(tracking_uri(repeat_cfg.mlflow), repeat_cfg.mlflow)
    done = tracker.finished_repeat_seeds(work.parent_run_id, work.key)  # a replaced worker's
    mine = [seed for seed in work.plan.seeds[place.index :: place.count] if seed not in done]
    with tracker.joined_repeats_run(work.parent_run_id):
        train_seeds(repeat_cfg, replace(work.plan, seeds=mine), tracker, work.tags)
