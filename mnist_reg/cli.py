"""What every command line entry point shares: the configuration check that runs before
TensorFlow is imported, one-line errors, and Ctrl-C / SIGTERM that clean up and exit."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from omegaconf import DictConfig, OmegaConf

from mnist_reg.config.schema import Config, as_config, available_techniques
from mnist_reg.config.validation import validate
from mnist_reg.errors import ConfigError, UserError

T = TypeVar("T")


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


def console(main: Callable[[], None]) -> Callable[[], None]:
    """An entry point's console script: the output folder checked, then Hydra's ``main``."""

    def run() -> None:
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
    try:
        return work()
    except UserError as error:
        sys.exit(f"error: {error}")
    except KeyboardInterrupt:
        sys.exit(
            "interrupted: the run in progress is marked FAIL and its MLflow runs KILLED; "
            "run the same command again to resume"
        )
