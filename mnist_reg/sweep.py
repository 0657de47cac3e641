"""Entry point: ``python -m mnist_reg.sweep +technique=NAME [key=value ...]``.

Thin on purpose: Hydra composes and type-checks the configuration, :mod:`validation` checks
its ranges, and only then is TensorFlow imported and the sweep run by plain functions.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import hydra
from omegaconf import DictConfig, OmegaConf

from mnist_reg.config import available_techniques, config_dir
from mnist_reg.validation import ConfigError, validate


def check(cfg: DictConfig) -> None:
    """Exit with a one-line-per-problem message when ``cfg`` cannot be swept."""
    if OmegaConf.is_missing(cfg, "technique"):
        sys.exit(
            "error: no technique chosen; add +technique=NAME, NAME one of: "
            + ", ".join(available_techniques())
        )
    try:
        validate(cfg)
    except ConfigError as error:
        sys.exit(f"error: invalid configuration:\n{error}")


def interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """``kill`` cleans up like Ctrl-C: the trial ends FAIL, its MLflow runs KILLED."""
    raise KeyboardInterrupt(f"signal {signum}")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def main(cfg: DictConfig) -> None:
    check(cfg)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from mnist_reg.sweep_runner import print_outcome, run_sweep

    signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    try:
        outcome = run_sweep(cfg)
    except ConfigError as error:  # e.g. resuming a study under other settings
        sys.exit(f"error: {error}")
    except KeyboardInterrupt:
        sys.exit(
            "interrupted: the trial in progress is marked FAIL and its MLflow runs KILLED; "
            "run the same command again to resume"
        )
    print_outcome(outcome)
    if outcome.trials_run and outcome.best is None:
        sys.exit("error: no trial completed; see the FAIL reasons above")


if __name__ == "__main__":
    main()
