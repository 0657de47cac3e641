"""Entry point: ``python -m mnist_reg.repeat +technique=NAME [repeat.count=5] [key=value ...]``.

Retrains the best trial of the study ``sweep`` made for the same technique and data (or, with
``repeat.source=config``, the composed configuration) with ``repeat.count`` fresh seeds, each
an MLflow run under the study's parent run. ``compare`` reads them for its intervals.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from mnist_reg.cli import JobResult, check, console, run_guarded, run_job
from mnist_reg.config.schema import config_dir


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def main(cfg: DictConfig) -> JobResult | None:
    return run_job(repeat, cfg)  # with -m, each job its own repeats


def repeat(cfg: DictConfig) -> str:
    """Check, run and print one configuration's repeats; returns a one-line summary."""
    config = check(cfg)
    from mnist_reg.repeats.outcome import print_outcome
    from mnist_reg.repeats.runner import run_repeats

    outcome = run_guarded(lambda: run_repeats(config))
    print_outcome(outcome)
    if outcome.failed:
        sys.exit(f"error: {outcome.failed} repeat(s) failed; see the reasons above")
    return f"study {outcome.plan.study_name}, {len(outcome.table)} finished repeats"


run = console(main)  # the console script, mnist-reg-repeat

if __name__ == "__main__":
    run()
