"""Stopping at the next epoch's end: a scheduler's warning signal (SLURM sends one some
minutes before it preempts a job or its time runs out) asks for it; training notices it
at the epoch's end, after that epoch's checkpoint is written (``training.resume``)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

# SIGUSR1: what `sbatch --signal=B:USR1@SECONDS` sends (docs/scale-out.md); SIGUSR2: what
# submitit has SLURM send before a job's time runs out (hydra/launcher=slurm)
STOP_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)
CHECKPOINT_STATE = "state.json"  # the file an epoch checkpoint is complete with
# the exit status of a command stopped this way: "try again" (BSD's EX_TEMPFAIL)
EXIT_PREEMPTED = 75
_stop = threading.Event()


def ask_to_stop(signum: int | None = None, frame: FrameType | None = None) -> None:
    """Stop at the end of the epoch being trained (a signal handler, or called directly)."""
    _stop.set()


def stop_asked() -> bool:
    return _stop.is_set()


def clear_stop() -> None:
    _stop.clear()


def stop_at_epoch_end_on_signal() -> None:
    """Make STOP_SIGNALS ask for a stop at the next epoch's end (main thread only)."""
    for number in STOP_SIGNALS:
        signal.signal(number, ask_to_stop)


def forward_stop_signals(pids: Callable[[], list[int | None]]) -> dict[int, Any]:
    """A stop signal to this process (a pool's, which trains nothing) asks for a stop and
    goes on to each process of ``pids()`` that is alive; returns the handlers it replaced."""

    def forward(signum: int, frame: FrameType | None) -> None:
        ask_to_stop()
        for pid in pids():
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)

    return {number: signal.signal(number, forward) for number in STOP_SIGNALS}


def restore(handlers: dict[int, Any]) -> None:
    for number, handler in handlers.items():
        signal.signal(number, handler)
