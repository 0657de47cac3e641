"""``sweep.workers=N``: N worker processes on one study from one command.

Each worker is the one-process sweep (:mod:`.runner`) in a process of its own with its share
of the cores (:mod:`mnist_reg.pool`: affinity, TensorFlow's thread pools, one log, a killed
worker replaced, Ctrl-C passed on once), so N trials train at once; the claims under the
worker lock keep the study at exactly ``sweep.n_trials``. Once every worker has ended, a
trial one of them left RUNNING is failed and the study is summarized once.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from omegaconf import OmegaConf

from mnist_reg import pool, process
from mnist_reg.config.schema import Config
from mnist_reg.search.outcome import SweepOutcome


def run(cfg: Config) -> SweepOutcome:
    """Run the study of ``cfg`` with ``sweep.workers`` worker processes until it has its
    trials; a killed worker is replaced, Ctrl-C or SIGTERM stops them all."""
    count = pool.worker_count(cfg.sweep.workers, cfg.sweep.n_trials)
    cfg = copy.deepcopy(cfg)
    cfg.sweep.workers = count  # the parent run records how many ran, auto resolved
    before = _trial_count(cfg)
    task = pool.Task(sweep_worker, (OmegaConf.to_yaml(cfg, resolve=True),), cfg.sweep.n_trials)
    try:
        failed = pool.run_workers(task, count)
    except BaseException:
        settle_after_workers(cfg, interrupted=True)
        raise
    settle_after_workers(cfg, interrupted=False)
    return _outcome(cfg, failed, before)


def sweep_worker(config_yaml: str, place: pool.Place) -> None:
    """One worker: the one-process sweep on its cores, its siblings alive beside it."""
    composed = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.create(config_yaml))
    cfg = cast(Config, composed)  # the schema's own structure, as Hydra composed it
    process.prepare(threads=len(place.cores))
    from mnist_reg.search.optuna import runner

    runner.run(cfg, pooled=True)


def _stored_study(cfg: Config) -> Any:
    """The study as the workers have left it (an ``optuna.Study``), or None before any
    worker made it."""
    import optuna

    from mnist_reg.config.stores import storage_url

    try:
        return optuna.load_study(
            study_name=str(cfg.sweep.study_name), storage=storage_url(cfg.sweep)
        )
    except KeyError:
        return None


def settle_after_workers(cfg: Config, interrupted: bool) -> None:
    """Every worker has ended: a trial one of them left RUNNING (stopped between claiming it
    and training it, killed at the very end, or unable to write its end to a locked store) is
    failed and its MLflow run ended; then, if no trial of the study trains anywhere, a parent
    run they left RUNNING for one another is ended, KILLED after Ctrl-C or SIGTERM."""
    from mnist_reg.config.stores import storage_url
    from mnist_reg.search.locks import StorageLock
    from mnist_reg.search.optuna.parent import finish_abandoned_parent
    from mnist_reg.search.optuna.study import fail_trials_of_gone_workers

    study = _stored_study(cfg)
    if study is not None:
        fail_trials_of_gone_workers(cfg, study)
        status = "KILLED" if interrupted else "FINISHED"
        finish_abandoned_parent(study, StorageLock(storage_url(cfg.sweep)), cfg, status)


def _trial_count(cfg: Config) -> int:
    study = _stored_study(cfg)
    return 0 if study is None else len(study.trials)


def _outcome(cfg: Config, failed: list[str], before: int) -> SweepOutcome:
    """The study as the workers left it, summarized once; a failed worker ends the command
    with an error once the summary is printed."""
    from mnist_reg.search.optuna.study import best_trial, trials_table

    study = _stored_study(cfg)
    parent = study.user_attrs.get("mlflow_parent_run_id")
    name, trials = str(cfg.sweep.study_name), len(study.trials) - before
    outcome = SweepOutcome(name, trials, trials_table(study), best_trial(study), parent)
    outcome.failed_workers = failed
    return outcome
