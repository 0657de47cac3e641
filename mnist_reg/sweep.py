"""Entry point: ``python -m mnist_reg.sweep +technique=NAME [key=value ...]``.

Thin on purpose: Hydra composes and type-checks the configuration, :mod:`validation` checks
its ranges, and only then is TensorFlow imported and the sweep run by plain functions.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from mnist_reg.cli import check, require_writable_output, run_guarded
from mnist_reg.config import config_dir


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def main(cfg: DictConfig) -> None:
    check(cfg)
    from mnist_reg.sweep_runner import print_outcome, run_sweep

    outcome = run_guarded(lambda: run_sweep(cfg))
    print_outcome(outcome)
    if outcome.trials_run and outcome.best is None:
        sys.exit("error: no trial completed; see the FAIL reasons above")


def run() -> None:
    """The console entry point: the output folder checked before Hydra writes to it."""
    require_writable_output()
    main()


if __name__ == "__main__":
    run()
