"""``sweep.workers=N``: N worker processes on one study from one command.

Each worker is the one-process sweep (:mod:`.runner`) in a process of its own, with its
share of the cores (its CPU affinity and TensorFlow's thread pools), so N trials train at
once; the claims under the worker lock keep the study at exactly ``sweep.n_trials``. This
process trains nothing: it starts the workers, shows their lines as one log, replaces a
worker that was killed (``kill -9``, the out-of-memory killer), stops them all on Ctrl-C or
SIGTERM, and prints one summary at the end.

Workers run in process groups of their own, so a Ctrl-C at the terminal reaches this
process only and each worker gets exactly one SIGINT from it: a second would cut the first
one's clean-up short.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import multiprocessing.connection
import os
import signal
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any, cast

from omegaconf import OmegaConf

from mnist_reg import process
from mnist_reg.config.schema import Config
from mnist_reg.errors import UserError
from mnist_reg.search.outcome import SweepOutcome

log = logging.getLogger("mnist_reg")

FAILED_EXIT = 3  # a worker refused the study (a UserError) or failed with a bug
STOP_TIMEOUT = 120.0  # seconds a stopped worker gets to end its runs before it is killed


@dataclass
class Worker:
    index: int
    process: BaseProcess
    replaces: int = 0  # how many killed workers of this index came before it


@dataclass
class Pool:
    """The workers of one command and what became of them."""

    cfg: Config
    count: int
    queue: Any  # multiprocessing's Queue of the workers' log records
    workers: list[Worker] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    replaced: int = 0


def core_shares(cores: list[int], count: int) -> list[list[int]]:
    """``cores`` dealt out to ``count`` workers as evenly as they go (each at least one)."""
    if count >= len(cores):
        return [[cores[i % len(cores)]] for i in range(count)]
    size, extra = divmod(len(cores), count)
    shares, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        shares.append(cores[start:end])
        start = end
    return shares


def run(cfg: Config) -> SweepOutcome:
    """Run the study of ``cfg`` with ``sweep.workers`` worker processes until it has its
    trials; a killed worker is replaced, Ctrl-C or SIGTERM stops them all."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    pool = Pool(cfg, cfg.sweep.workers, context.Queue())
    before = _trial_count(cfg)
    listener = logging.handlers.QueueListener(
        pool.queue, *logging.getLogger().handlers, respect_handler_level=True
    )
    listener.start()
    try:
        shares = core_shares(sorted(_usable_cores()), pool.count)
        config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
        for index, cores in enumerate(shares):
            _start(pool, context, config_yaml, index, cores)
        try:
            _supervise(pool, context, config_yaml, shares)
        except KeyboardInterrupt:
            _stop(pool)
            raise
        finally:
            _fail_gone_workers_trials(cfg)
    finally:
        listener.stop()
    return _outcome(cfg, pool, before)


def _usable_cores() -> set[int]:
    if hasattr(os, "sched_getaffinity"):
        return os.sched_getaffinity(0)
    return set(range(os.cpu_count() or 1))


def _start(pool: Pool, context: Any, config_yaml: str, index: int, cores: list[int]) -> None:
    replaces = sum(w.index == index for w in pool.workers)
    worker = context.Process(
        target=worker_main,
        args=(config_yaml, index, cores, pool.queue),
        name=f"mnist-reg-worker-{index}",
    )
    worker.start()
    pool.workers.append(Worker(index, worker, replaces))
    log.info(
        "worker %d started: pid %d, cores %s%s",
        index,
        worker.pid,
        ",".join(map(str, cores)),
        f" (replacing a killed one, {replaces} so far)" if replaces else "",
    )


def _supervise(pool: Pool, context: Any, config_yaml: str, shares: list[list[int]]) -> None:
    """Wait for the workers; start a new one for each one a signal killed, note failures.

    Each ended worker is looked at once, whenever its end is seen: a worker's sentinel can
    be ready a moment before its exit code is."""
    seen: set[int] = set()
    while True:
        for worker in list(pool.workers):
            code = worker.process.exitcode
            if code is None or id(worker) in seen:
                continue
            seen.add(id(worker))
            if code < 0 and pool.replaced < pool.cfg.sweep.n_trials:
                name = signal.Signals(-code).name
                log.warning(
                    "worker %d was killed (%s); a new worker takes its place", worker.index, name
                )
                pool.replaced += 1
                _start(pool, context, config_yaml, worker.index, shares[worker.index])
            elif code != 0:
                pool.failed.append(f"worker {worker.index} ended with exit code {code}")
        alive = [w.process.sentinel for w in pool.workers if w.process.exitcode is None]
        if not alive:
            return
        multiprocessing.connection.wait(alive, timeout=1.0)


def _stop(pool: Pool) -> None:
    """Ctrl-C or SIGTERM: one SIGINT to each worker, then wait for them to end their runs
    (killed after ``STOP_TIMEOUT``)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: let them finish
    try:
        alive = [w.process for w in pool.workers if w.process.exitcode is None]
        for worker in alive:
            if worker.pid is not None:
                os.kill(worker.pid, signal.SIGINT)
        for worker in alive:
            worker.join(STOP_TIMEOUT)
            if worker.exitcode is None:
                worker.kill()
                worker.join()
    finally:
        signal.signal(signal.SIGINT, previous)


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


def _fail_gone_workers_trials(cfg: Config) -> None:
    """Every worker has ended: a trial one of them left RUNNING (stopped between claiming it
    and training it, or killed at the very end) is failed and its MLflow run ended."""
    from mnist_reg.search.optuna.study import fail_trials_of_gone_workers

    study = _stored_study(cfg)
    if study is not None:
        fail_trials_of_gone_workers(cfg, study)


def _trial_count(cfg: Config) -> int:
    study = _stored_study(cfg)
    return 0 if study is None else len(study.trials)


def _outcome(cfg: Config, pool: Pool, before: int) -> SweepOutcome:
    """The study as the workers left it, summarized once; a failed worker ends the command
    with an error once the summary is printed."""
    from mnist_reg.search.optuna.study import best_trial, trials_table

    study = _stored_study(cfg)
    parent = study.user_attrs.get("mlflow_parent_run_id")
    name, trials = str(cfg.sweep.study_name), len(study.trials) - before
    outcome = SweepOutcome(name, trials, trials_table(study), best_trial(study), parent)
    outcome.failed_workers = list(pool.failed)
    return outcome


def worker_main(config_yaml: str, index: int, cores: list[int], queue: Any) -> None:
    """One worker process: its cores, its log lines to the command, the one-process sweep."""
    os.setpgrp()  # Ctrl-C at the terminal goes to the command, which passes it on once
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    _log_to(queue, index)
    composed = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.create(config_yaml))
    cfg = cast(Config, composed)  # the schema's own structure, as Hydra composed it
    # the command's one SIGINT stops a worker even where the command was started with SIGINT
    # ignored (in the background of a script), which a worker would otherwise inherit
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        process.prepare(threads=len(cores))
        from mnist_reg.search.optuna import runner

        runner.run(cfg, pooled=True)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except UserError as error:
        log.error("refused: %s", error)
        raise SystemExit(FAILED_EXIT) from None
    except Exception:
        log.exception("failed")
        raise SystemExit(FAILED_EXIT) from None


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM ends a worker as Ctrl-C does: its trial FAIL, its MLflow runs KILLED."""
    raise KeyboardInterrupt(f"signal {signum}")


def _log_to(queue: Any, index: int) -> None:
    """Every log record of this worker goes to the command's handlers, marked with it."""
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(queue)]
    root.setLevel(logging.INFO)
    marker = f"worker {index}: "

    def mark(record: logging.LogRecord) -> bool:
        record.msg = marker + str(record.msg)
        return True

    root.handlers[0].addFilter(mark)
