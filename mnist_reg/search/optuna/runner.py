"""The Optuna backend's sweep: open the study, load the data once, run the missing trials,
summarize. Several workers may share a study (``search.locks``, ``workers``)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import optuna
import pandas as pd

from mnist_reg.config.schema import Config
from mnist_reg.config.stores import storage_url
from mnist_reg.errors import Preempted
from mnist_reg.search.locks import StorageLock
from mnist_reg.search.optuna import promotion, resuming
from mnist_reg.search.optuna.figures import study_figures
from mnist_reg.search.optuna.parent import finish_abandoned_parent, open_parent_run
from mnist_reg.search.optuna.samplers import prunes, target_trials
from mnist_reg.search.optuna.study import (
    EpochBudget,
    best_trial,
    epochs_spent,
    finished_count,
    open_study,
    trials_table,
)
from mnist_reg.search.optuna.workers import RUNNING, NoTrialLeft, own_running_trials
from mnist_reg.search.outcome import BestTrial, SweepOutcome, summarize_interrupted, write_summary
from mnist_reg.tracking.runs import Tracker

log = logging.getLogger("mnist_reg")

INTERRUPTED_LOCK_TIMEOUT = 10.0  # seconds an interrupted worker waits for the lock to summarize


@dataclass(frozen=True)
class TrialPlan:
    """How many trials the study has finished, aims at, and runs now (0: nothing to train)."""

    already: int
    target: int
    missing: int
    budget: EpochBudget


def run(cfg: Config, pooled: bool = False) -> SweepOutcome:
    """Run the study of ``cfg`` up to ``sweep.n_trials`` finished trials; ``pooled``: as one
    of the workers ``sweep.workers`` starts (:mod:`.pool`), whose siblings are alive."""
    _route_optuna_logs()
    lock = StorageLock(storage_url(cfg.sweep))
    study = open_study(cfg, lock)
    plan = plan_trials(cfg, study)
    if plan.missing <= 0:
        finish_abandoned_parent(study, lock, cfg)
        name = str(cfg.sweep.study_name)
        return SweepOutcome(name, 0, trials_table(study), best_trial(study), None)
    return train_missing(cfg, study, lock, plan, pooled)


def plan_trials(cfg: Config, study: optuna.Study) -> TrialPlan:
    """What is missing: the target (``sweep.n_trials``, or the grid's size) less the finished
    trials, or nothing once the epoch budget is spent."""
    name = str(cfg.sweep.study_name)
    already = finished_count(study)
    target = target_trials(cfg)
    if target < cfg.sweep.n_trials:
        log.info("the grid has %d points: the study stops there", target)
    missing = target - already
    budget = EpochBudget(cfg.sweep.epoch_budget)
    if budget.spent(study):
        log.info("study %s has spent its budget of %d epochs", name, cfg.sweep.epoch_budget)
        missing = 0
    if missing <= 0:
        log.info(
            "study %s already has %d finished trials (of %d): nothing to train",
            name,
            already,
            target,
        )
    return TrialPlan(already, target, missing, budget)


def train_missing(
    cfg: Config, study: optuna.Study, lock: StorageLock, plan: TrialPlan, pooled: bool = False
) -> SweepOutcome:
    """Load the data once, open the parent run, run the missing trials, summarize."""
    # Heavy imports only once there is training to do.
    from mnist_reg.data.splits import load_splits
    from mnist_reg.search.optuna.objective import make_objective
    from mnist_reg.training.progress import SweepProgress
    from mnist_reg.training.step import Workbench

    splits = load_splits(cfg.data)
    _announce(cfg, plan, len(splits.y_train), len(splits.y_val), len(splits.y_test))
    budget = plan.budget
    budget_left = budget.budget - epochs_spent(study) if budget.budget is not None else None
    progress = SweepProgress(
        plan.target,
        plan.already,
        cfg.train.epochs,
        epochs_left=budget_left,
        workers=int(cfg.sweep.workers) if pooled else 1,
    )

    def trial_ended(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        progress.trial_ended(trial.number, trial.state.name, trial.value, finished_count(study))

    before = len(study.trials)
    with contextlib.ExitStack() as stack:
        tracker, parent_run_id = open_parent_run(stack, cfg, study, lock)
        objective = make_objective(cfg, Workbench(splits, tracker, progress), prunes(cfg))
        try:
            with contextlib.suppress(NoTrialLeft):  # the other workers hold the last slots
                study.optimize(
                    objective,
                    n_trials=plan.missing,  # at most this many attempts, failed ones included
                    catch=(Exception,),  # a failing trial is recorded FAIL; the sweep goes on
                    callbacks=[trial_ended, budget],
                )
        except (KeyboardInterrupt, Preempted):
            # Ctrl-C, SIGTERM or a preemption signal: what finished before is summarized
            # and registered all the same (a resumed sweep rewrites the summary)
            _put_back_resumable(cfg, study)
            summarize_interrupted(
                lambda: summarize(study, lock, tracker, parent_run_id, cfg, interrupted=True)
            )
            raise
        if not pooled:  # a pool's other workers are alive, not killed
            _say_who_holds_the_rest(study, plan.target, cfg.sweep.grace_period, budget)
        table, best = summarize(study, lock, tracker, parent_run_id, cfg)
    name = str(cfg.sweep.study_name)
    return SweepOutcome(name, len(study.trials) - before, table, best, parent_run_id)


def _put_back_resumable(cfg: Config, study: optuna.Study) -> None:
    """This worker's trials that have an epoch checkpoint wait to resume (WAITING)."""
    for trial in own_running_trials(study):  # no other worker changes those
        if resuming.resumable(cfg, trial.number):
            resuming.put_back(study, trial)


def _announce(cfg: Config, plan: TrialPlan, train: int, val: int, test: int) -> None:
    log.info(
        "study %s: %d of %d trials finished, running %d; train %d, validation %d, test %d images",
        cfg.sweep.study_name,
        plan.already,
        plan.target,
        plan.missing,
        train,
        val,
        test,
    )
    if cfg.sweep.strategy == "promote":
        log.info("successive halving: rungs of %s epochs", promotion.rungs(cfg))
    elif not prunes(cfg) and cfg.sweep.pruner != "none":
        log.info("no search space: trials are seed repeats and are never pruned")


def _route_optuna_logs() -> None:
    """Optuna's own lines ("Trial 3 finished ...") go through the handlers Hydra configured,
    so they land in the sweep's log file too; an interrupted trial's traceback does not."""
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    _quiet_interrupt_tracebacks(logging.getLogger("optuna.study._optimize"))


def summarize(
    study: optuna.Study,
    lock: StorageLock,
    tracker: Tracker,
    parent_run_id: str,
    cfg: Config,
    interrupted: bool = False,
) -> tuple[pd.DataFrame, BestTrial | None]:
    """The parent run's closing summary and the best trial registered, from the study as it
    is now: ``(table, best)``. After an interrupt, without Optuna's figures (a resumed sweep
    draws them) and waiting for the lock at most ``INTERRUPTED_LOCK_TIMEOUT`` seconds: a
    supervisor's grace period is short."""
    figures = {} if interrupted else {f"optuna/{k}": v for k, v in study_figures(study).items()}
    # One worker at a time writes the parent run's summary: MLflow's tag, latest-metric and
    # alias upserts are not atomic, and a worker holding an older best must not overwrite a
    # newer one.
    with lock.held(INTERRUPTED_LOCK_TIMEOUT if interrupted else None):
        table, best = trials_table(study), best_trial(study)
        write_summary(tracker, parent_run_id, cfg, table, best, figures)
    return table, best


def _no_interrupt_traceback(record: logging.LogRecord) -> bool:
    """Optuna logs an interrupted trial's KeyboardInterrupt with its whole traceback; keep
    its one line ("Trial 3 failed ...") and drop the traceback of a Ctrl-C."""
    kind = record.exc_info[0] if record.exc_info else None
    if kind is not None and issubclass(kind, KeyboardInterrupt):
        record.exc_info, record.exc_text = None, None
    return True


def _quiet_interrupt_tracebacks(logger: logging.Logger) -> None:
    if _no_interrupt_traceback not in logger.filters:
        logger.addFilter(_no_interrupt_traceback)


def _say_who_holds_the_rest(
    study: optuna.Study, target: int, grace_period: int, budget: EpochBudget
) -> None:
    """A worker that stops short of the target says why: other workers hold the slots."""
    finished = finished_count(study)
    running = len(study.get_trials(deepcopy=False, states=(RUNNING,)))
    if finished >= target or running == 0 or budget.spent(study):
        return
    log.info(
        "study %s: %d of %d trials finished, %d still RUNNING in other workers. "
        "A worker killed less than sweep.grace_period=%d s ago holds its trial until then: "
        "run the same command again after that to replace it",
        study.study_name,
        finished,
        target,
        running,
        grace_period,
    )
