"""The seeds of a set of repeats trained one after another in this process, each as a
tracked run under the repeats' parent run (the active run)."""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

from mnist_reg.config.schema import Config
from mnist_reg.repeats.plan import RepeatPlan

if TYPE_CHECKING:
    from mnist_reg.tracking.repeat_runs import RepeatTracker
    from mnist_reg.training.progress import SweepProgress
    from mnist_reg.training.step import TrialSetup

log = logging.getLogger("mnist_reg")


def train_seeds(
    repeat_cfg: Config,
    plan: RepeatPlan,
    tracker: RepeatTracker,
    tags: dict[str, str],
) -> int:
    """Train each seed of ``plan``, the data loaded once (each seed its own split where
    ``repeat.vary_split``); returns how many failed (each is recorded FAILED in MLflow, and
    the next seed goes on)."""
    from mnist_reg.data.sources import load_raw
    from mnist_reg.data.splits import make_splits
    from mnist_reg.training.progress import SweepProgress
    from mnist_reg.training.step import Workbench, tracked_training

    if not plan.seeds:
        return 0
    data = repeat_cfg.data
    raw = load_raw(data.name, data.cache_dir, data.download_timeout)
    splits = make_splits(raw, data)
    progress = SweepProgress(len(plan.seeds), 0, repeat_cfg.train.epochs, unit="repeat")
    failed = 0
    for seed in plan.seeds:
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


def _finished(progress: SweepProgress, seed: int, val_accuracy: float, test: float) -> None:
    progress.finished += 1
    log.info("repeat seed %d: val_accuracy %.4f, test_accuracy %.4f", seed, val_accuracy, test)
