"""What every command line entry point shares: the configuration check that runs before
TensorFlow is imported, one-line errors, Ctrl-C / SIGTERM that clean up and exit, and
Hydra's multirun (``-m``), where a refused or failed job is reported and the others run."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from mnist_reg import cluster, preemption
from mnist_reg.config.schema import Config, as_config, available_techniques
from mnist_reg.config.usage import register as register_usage
from mnist_reg.config.validation import validate
from mnist_reg.errors import ConfigError, Preempted, UserError

T = TypeVar("T")
log = logging.getLogger("mnist_reg")


class Interrupted(SystemExit):
    """Ctrl-C or SIGTERM: ends the command, every job of a multirun included."""


register_usage()  # --help's header, resolved by the command's name

INFO_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i"}


def require_writable_output(folder: str = "mlruns") -> None:
    """Hydra writes its log folder under ``mlruns/`` before our code runs, and fails with a
    traceback when it cannot: check first and say it in one line."""
    if INFO_FLAGS & set(sys.argv[1:]):
        return
    from pathlib import Path

    from mnist_reg.config.preflight import check_writable_folder

    try:
        check_writable_folder(Path(folder) / "hydra", "the output folder")
    except ConfigError as error:
        sys.exit(f"error: {error}")


def quiet_libraries() -> None:
    """Defaults that keep libraries' chatter off the user's screen (a user's own setting
    wins): TensorFlow's C++ INFO and WARNING lines, MLflow's artifact progress bars (a bar
    per 2 kB download in compare) and the two links MLflow prints for every run ended
    through a tracking server (a pair a trial). What still prints, and why: docs/sweeps.md."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def console(main: Callable[[], None]) -> Callable[[], None]:
    """An entry point's console script: the output folder checked, then Hydra's ``main``."""

    def run() -> None:
        quiet_libraries()
        require_writable_output()
        main()

    return run


def check(cfg: DictConfig) -> Config:
    """``cfg`` as the typed schema; exit with a one-line-per-problem message when it cannot
    be run."""
    if OmegaConf.is_missing(cfg, "technique"):
        sys.exit(
            "error: no technique chosen; add +technique=NAME, NAME one of: "
            + ", ".join(available_techniques())
        )
    config = as_config(cfg)
    try:
        validate(config)
    except ConfigError as error:
        sys.exit(f"error: invalid configuration:\n{error}")
    return config


def interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """``kill`` cleans up like Ctrl-C: the run in progress ends FAIL, its MLflow runs KILLED."""
    raise KeyboardInterrupt(f"signal {signum}")


def run_guarded(work: Callable[[], T]) -> T:
    """Run ``work`` with TensorFlow quiet, SIGTERM treated as Ctrl-C, user errors (a
    study that cannot be resumed, nothing to repeat) as one line and a non-zero exit, and a
    native crash (TensorFlow's C++) printing each thread's Python stack, not nothing."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    if not faulthandler.is_enabled():  # python -X faulthandler, or pytest, may have it on
        with contextlib.suppress(Exception):  # a stderr with no file behind it (a notebook)
            faulthandler.enable()
    signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    preemption.stop_at_epoch_end_on_signal()
    try:
        return work()
    except UserError as error:
        sys.exit(f"error: {error}")
    except Preempted as stopped:
        again = "run the same command again"
        if cluster.in_submitit_slurm_job() and cluster.requeue():
            again = "this job was put back in SLURM's queue"
        print(
            f"{stopped}. A trial stopped after an epoch waits to resume from its "
            f"checkpoint: {again}",
            file=sys.stderr,
        )
        raise Interrupted(preemption.EXIT_PREEMPTED) from None
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted: the runs in progress are KILLED in MLflow, and a trial stopped "
            "after an epoch waits to resume from its checkpoint (one stopped in its first "
            "epoch is marked FAIL); run the same command again to resume"
        ) from None


@dataclass(frozen=True)
class JobResult:
    """What one job of a multirun came to, in one line."""

    ok: bool
    summary: str


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_job(work: Callable[[DictConfig], str], cfg: DictConfig) -> JobResult | None:
    """``work(cfg)`` as one Hydra job. In a multirun (``-m``) a refusal or a failure (which
    would end a single run with a non-zero exit) is printed and returned, so that the other
    jobs still run; Ctrl-C ends them all."""
    if not in_multirun():
        work(cfg)
        return None
    try:
        return JobResult(True, work(cfg))
    except Interrupted:
        raise
    except SystemExit as error:  # a refusal: its message is the one line a single run prints
        if error.code in (None, 0):
            return JobResult(True, "done")
        message = str(error.code).removeprefix("error: ")
        print(f"error: {message}", file=sys.stderr)
        return JobResult(False, "refused: " + message.replace("\n", " "))
    except Exception as error:  # a bug: its traceback goes to the log, the others run on
        log.exception("the job failed")
        return JobResult(False, f"failed: {type(error).__name__}: {error}")


class JobsSummary(Callback):
    """Hydra callback (conf/config.yaml): after a multirun, one line per job naming what set
    it apart from the others, and a non-zero exit when any job was refused or failed."""

    def __init__(self) -> None:
        self.jobs: list[tuple[list[str], JobResult]] = []

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        # (called in the job's process by Hydra's own launcher, and in the command's by
        # hydra_plugins.mnist_reg_launchers' when the job ran elsewhere; printed only after
        # a multirun)
        result = job_return._return_value  # read without re-raising a failed job's error
        if not isinstance(result, JobResult):
            result = JobResult(False, f"failed: {result}")
        self.jobs.append((list(job_return.overrides or []), result))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        failed = sum(not result.ok for _, result in self.jobs)
        print(f"\nmultirun: {len(self.jobs) - failed} of {len(self.jobs)} jobs succeeded")
        shared = set.intersection(*(set(o) for o, _ in self.jobs)) if len(self.jobs) > 1 else ()
        for number, (overrides, result) in enumerate(self.jobs):
            own = " ".join(o for o in overrides if o not in shared) or "no overrides"
            print(f"  job {number} ({own}): {result.summary}")
        if failed:
            sys.exit(f"error: {failed} of {len(self.jobs)} jobs were refused or failed")
