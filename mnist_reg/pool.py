"""Worker processes from one command, each with its share of the cores: what ``sweep.workers``
and ``repeat.workers`` run on.

A worker is a function of the caller's (:class:`Task`) run in a spawned process of its own,
with its CPU affinity set to its share of the cores and its log records shown by this
process, marked ``worker i:``. This process trains nothing: it starts the workers, replaces
a worker that a signal killed (``kill -9``, the out-of-memory killer), stops them all on
Ctrl-C or SIGTERM, and returns what failed.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from mnist_reg import preemption
from mnist_reg.cluster import unbound, usable_cores
from mnist_reg.config.schema import AUTO
from mnist_reg.errors import Preempted, UserError

log = logging.getLogger("mnist_reg")

FAILED_EXIT = 3  # a worker refused its work (a UserError) or failed with a bug
STOP_TIMEOUT = 120.0  # seconds a stopped worker gets to end its runs before it is killed
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


@dataclass(frozen=True)
class Place:
    """A worker's place in its pool: its index of ``count`` and its cores."""

    index: int
    count: int
    cores: list[int]


@dataclass(frozen=True)
class Task:
    """What each worker runs: ``target(*args, place)``, a module-level function (it is
    pickled by name into the spawned process) handed the worker's :class:`Place`;
    ``replace_limit``: how many killed workers are replaced in all before the pool gives up
    on replacing."""

    target: Callable[..., None]
    args: tuple[Any, ...]
    replace_limit: int


@dataclass
class Worker:
    index: int
    process: BaseProcess


@dataclass
class Pool:
    task: Task
    shares: list[list[int]]  # each worker's cores
    queue: Any  # multiprocessing's Queue of the workers' log records
    context: Any
    workers: list[Worker] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    replaced: int = 0
    preempted: int = 0  # workers that stopped at an epoch's end, as asked


def worker_count(setting: int | str, tasks: int) -> int:
    """How many workers ``setting`` (a number or ``auto``) means for ``tasks`` trials or seeds.

    ``auto``: one worker per usable core on a CPU-only machine (measured fastest on 2 cores,
    docs/speed.md), one on a machine with an NVIDIA GPU (its workers would share the one
    device). Never more workers than tasks, nor fewer than one."""
    if setting == AUTO:
        wanted = 1 if any(NVIDIA_GPUS.glob("*")) else len(usable_cores())
    else:
        wanted = int(setting)
    return max(1, min(wanted, tasks))


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


def run_workers(task: Task, count: int) -> list[str]:
    """Run ``task`` in ``count`` workers until each has ended; returns a line for each
    worker that failed (empty when all ended well). Ctrl-C or SIGTERM in this process stops
    every worker, and the KeyboardInterrupt goes on to the caller once they have ended."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    pool = Pool(task, core_shares(usable_cores(), count), context.Queue(), context)
    listener = logging.handlers.QueueListener(
        pool.queue, *logging.getLogger().handlers, respect_handler_level=True
    )
    listener.start()
    forward = preemption.forward_stop_signals(lambda: [w.process.pid for w in pool.workers])
    try:
        for index in range(count):
            _start(pool, index)
        try:
            _supervise(pool)
        except KeyboardInterrupt:
            _stop(pool)
            raise
    finally:
        listener.stop()
        preemption.restore(forward)
    if pool.preempted:
        raise Preempted(f"{pool.preempted} of {count} workers stopped at an epoch's end")
    return pool.failed


def _start(pool: Pool, index: int) -> None:
    replaces = sum(w.index == index for w in pool.workers)
    cores = pool.shares[index]
    place = Place(index, len(pool.shares), cores)
    worker = pool.context.Process(
        target=worker_main,
        args=(pool.task.target, pool.task.args, place, pool.queue),
        name=f"mnist-reg-worker-{index}",
    )
    worker.start()
    pool.workers.append(Worker(index, worker))
    log.info(
        "worker %d started: pid %d, cores %s%s",
        index,
        worker.pid,
        ",".join(map(str, cores)),
        f" (replacing a killed one, {replaces} so far)" if replaces else "",
    )


def _supervise(pool: Pool) -> None:
    """Wait for the workers; start a new one for each one a signal killed, note failures.

    Each ended worker is looked at once, whenever its end is seen: a worker's sentinel can
    be ready a moment before its exit code is, and a worker can end between two reads of
    its exit code, so the loop ends only once every worker's end has been looked at."""
    seen: set[int] = set()
    while True:
        for worker in list(pool.workers):
            code = worker.process.exitcode
            if code is None or id(worker) in seen:
                continue
            seen.add(id(worker))
            if code == preemption.EXIT_PREEMPTED:
                pool.preempted += 1
            elif (
                code < 0
                and pool.replaced < pool.task.replace_limit
                and not preemption.stop_asked()
            ):
                name = signal.Signals(-code).name
                log.warning(
                    "worker %d was killed (%s); a new worker takes its place", worker.index, name
                )
                pool.replaced += 1
                _start(pool, worker.index)
            elif code != 0:
                pool.failed.append(f"worker {worker.index} ended with exit code {code}")
        waiting = [w.process.sentinel for w in pool.workers if id(w) not in seen]
        if not waiting:
            return
        multiprocessing.connection.wait(waiting, timeout=1.0)


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


def worker_main(
    target: Callable[..., None], args: tuple[Any, ...], place: Place, queue: Any
) -> None:
    """One worker process: its cores, its log lines to the command, then ``target``."""
    os.setpgrp()  # Ctrl-C at the terminal goes to the command, which passes it on once
    if hasattr(os, "sched_setaffinity") and not unbound():
        os.sched_setaffinity(0, place.cores)
    _log_to(queue, place.index)
    # the command's one SIGINT stops a worker even where the command was started with SIGINT
    # ignored (in the background of a script), which a worker would otherwise inherit
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    preemption.stop_at_epoch_end_on_signal()
    try:
        target(*args, place)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Preempted as stopped:
        log.info("%s", stopped)
        raise SystemExit(preemption.EXIT_PREEMPTED) from None
    except UserError as error:
        log.error("refused: %s", error)
        raise SystemExit(FAILED_EXIT) from None
    except Exception:
        log.exception("failed")
        raise SystemExit(FAILED_EXIT) from None


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM ends a worker as Ctrl-C does: its runs end KILLED, its trial FAIL."""
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
