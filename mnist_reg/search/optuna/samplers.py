"""The study's sampler and pruner, from ``sweep.sampler`` and ``sweep.pruner``."""

from __future__ import annotations

import math

import optuna

from mnist_reg.config.schema import Config
from mnist_reg.search import space

SEED_STRIDE = 10_007  # sampler seeds of a study's successive openings lie this far apart


def make_sampler(
    cfg: Config, trials_so_far: int, openings: int = 0
) -> optuna.samplers.BaseSampler:
    if cfg.sweep.sampler == "grid":
        # The same seed every time: the grid's order depends on it, and a resumed study
        # must walk on through the same order.
        return optuna.samplers.GridSampler(space.grid(cfg), seed=cfg.sweep.seed)
    # Offset the seed by the trials already run, so a resumed study does not replay the
    # random start-up suggestions it already tried, and by the times the study was opened,
    # so workers starting together on a fresh study do not all suggest the same values.
    seed = cfg.sweep.seed + trials_so_far + SEED_STRIDE * openings
    if cfg.sweep.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: trials other workers are still training count as bad, so parallel
    # workers spread out instead of all sampling next to the same promising point
    # (Optuna 5's default, kept explicit).
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=cfg.sweep.n_startup_trials, constant_liar=True
    )


def make_pruner(cfg: Config) -> optuna.pruners.BasePruner:
    if cfg.sweep.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1,
            max_resource=cfg.train.epochs,
            reduction_factor=cfg.sweep.hyperband_factor,
        )
    if cfg.sweep.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=cfg.sweep.n_startup_trials, n_warmup_steps=cfg.sweep.n_warmup_epochs
        )
    return optuna.pruners.NopPruner()


def prunes(cfg: Config) -> bool:
    """Baseline trials are seed repeats measuring noise: pruning them would bias it. With
    ``sweep.strategy=promote`` the rungs decide how long a configuration trains."""
    searched = bool(cfg.technique.search_space)
    return cfg.sweep.pruner != "none" and searched and cfg.sweep.strategy == "prune"


def target_trials(cfg: Config) -> int:
    """``sweep.n_trials``, capped at the grid's size for the grid sampler."""
    if cfg.sweep.sampler != "grid":
        return int(cfg.sweep.n_trials)
    return min(int(cfg.sweep.n_trials), math.prod(len(v) for v in space.grid(cfg).values()))
