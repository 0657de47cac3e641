"""Entry point: ``python -m mnist_reg.sweep +technique=NAME [key=value ...]``.

Thin on purpose: Hydra composes and type-checks the configuration, validation checks its
ranges, and only then is TensorFlow imported and the sweep run by plain functions.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from mnist_reg.cli import JobResult, check, console, run_guarded, run_job
from mnist_reg.config.schema import config_dir


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def main(cfg: DictConfig) -> JobResult | None:
    return run_job(sweep, cfg)  # with -m, each job its own study


def sweep(cfg: DictConfig) -> str:
    """Check, run and print one study; returns its one-line summary."""
    config = check(cfg)
    from mnist_reg.search import dispatch
    from mnist_reg.search.outcome import print_outcome

    outcome = run_guarded(lambda: dispatch.run(config))
    print_outcome(outcome)
    if outcome.failed_workers:
        sys.exit(f"error: {'; '.join(outcome.failed_workers)}; see its reasons above")
    if outcome.trials_run and outcome.best is None:
        sys.exit("error: no trial completed; see the FAIL reasons above")
    best = outcome.best
    found = "no complete trial" if best is None else f"best val_accuracy {best.val_accuracy:.4f}"
    return f"study {outcome.study_name}, {len(outcome.table)} trials, {found}"


run = console(main)  # the console script, mnist-reg-sweep

if __name__ == "__main__":
    run()
