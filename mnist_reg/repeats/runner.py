"""Run the repeats of a plan: the stores checked, the data loaded once, the parent run
opened, each seed not yet finished trained as a tracked run, the finished ones read back."""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

import pandas as pd

from mnist_reg import process
from mnist_reg.config.params import flat_params, with_values
from mnist_reg.config.preflight import check_stores
from mnist_reg.config.redaction import safe_yaml
from mnist_reg.config.schema import Config
from mnist_reg.config.stores import tracking_uri
from mnist_reg.repeats.outcome import RepeatOutcome
from mnist_reg.repeats.plan import RepeatPlan, plan_repeats, repeat_key
from mnist_reg.search.dispatch import backend
from mnist_reg.tracking import tags as T

if TYPE_CHECKING:
    from mnist_reg.data.sources import RawDataset
    from mnist_reg.data.splits import Splits
    from mnist_reg.tracking.repeat_runs import RepeatTracker
    from mnist_reg.training.progress import SweepProgress
    from mnist_reg.training.step import TrialSetup

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
    # heavy imports only once the plan stands
    from mnist_reg.data.sources import load_raw
    from mnist_reg.data.splits import make_splits
    from mnist_reg.tracking.repeat_runs import RepeatTracker

    raw = load_raw(cfg.data.name, cfg.data.cache_dir, cfg.data.download_timeout)
    splits = make_splits(raw, cfg.data)
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
        failed = train_seeds(repeat_cfg, plan, done, (raw, splits), tracker, tags)
        rows = tracker.repeat_results(parent_run_id, key)
    return RepeatOutcome(plan, pd.DataFrame(rows), failed)


def train_seeds(
    repeat_cfg: Config,
    plan: RepeatPlan,
    done: set[int],
    data: tuple[RawDataset, Splits],
    tracker: RepeatTracker,
    tags: dict[str, str],
) -> int:
    """Train each planned seed not in ``done`` on the ``(raw, splits)`` data (each seed its
    own split where ``repeat.vary_split``); returns how many failed (each is recorded FAILED
    in MLflow, and the next seed goes on)."""
    from mnist_reg.data.splits import make_splits
    from mnist_reg.training.progress import SweepProgress
    from mnist_reg.training.step import Workbench, tracked_training

    raw, splits = data
    todo = [seed for seed in plan.seeds if seed not in done]
    _announce(plan, repeat_cfg, len(todo), len(splits.y_train))
    progress = SweepProgress(len(todo), 0, repeat_cfg.train.epochs, unit="repeat")
    failed = 0
    for seed in todo:
        run_cfg = copy.deepcopy(repeat_cfg)
        run_cfg.train.seed = seed
        if repeat_cfg.repeat.vary_split:
            run_cfg.data.split_seed = seed
            splits = make_splits(raw, run_cfg.data)
        try:
            setup = repeat_setup(seed, run_cfg, tracker, tags)
            tracked = tracked_training(setup, Workbench(splits, tracker, progress))
        except Exception as error:  # recorded FAILED in MLflow; the next seed goes on
            failed += 1
            log.error("repeat with seed %d failed: %s", seed, error)
            continue
        _finished(progress, seed, tracked.result.kept_val_accuracy, tracked.test.test_accuracy)
    return failed


def repeat_setup(
    seed: int, run_cfg: Config, tracker: RepeatTracker, tags: dict[str, str]
) -> TrialSetup:
    """One seed of the repeats as a tracked training: its own run, the configuration as
    planned."""
    from mnist_reg.training.step import TrialSetup

    return TrialSetup(
        number=seed,
        tags=tags,
        open_run=lambda run_tags: tracker.repeat_run(seed, run_tags),
        configure=lambda run_id: run_cfg,
    )


def _announce(plan: RepeatPlan, cfg: Config, todo: int, train_images: int) -> None:
    log.info(
        "repeating %s: seeds %s%s; %d already finished, training %d on %d images",
        plan.described,
        ", ".join(map(str, plan.seeds)),
        " (each also its validation split)" if cfg.repeat.vary_split else "",
        len(plan.seeds) - todo,
        todo,
        train_images,
    )


def _finished(progress: SweepProgress, seed: int, val_accuracy: float, test: float) -> None:
    progress.finished += 1
    log.info("repeat seed %d: val_accuracy %.4f, test_accuracy %.4f", seed, val_accuracy, test)
