"""The errors a user can act on: each is printed as one line and ends the command with a
non-zero exit, never with a traceback (``cli.run_guarded``). Anything else is a bug."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix or wait out; the message says what, in one line."""


class ConfigError(UserError, ValueError):
    """The configuration is invalid; the message lists every problem, one per line."""


class WorkerBusyError(UserError):
    """Another worker holds what this one needs (a Keras Tuner project)."""


class NothingToRepeatError(UserError):
    """``repeat`` found no study or trial to repeat, or would reuse a tuning seed."""


class Preempted(BaseException):
    """Training stopped between two epochs, as asked (a scheduler's preemption signal, or an
    interrupt once an epoch checkpoint exists); the trial resumes from its checkpoint when
    the command runs again. Not an ``Exception``: the trial has not failed."""
