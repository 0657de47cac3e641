"""Entry point: ``python -m mnist_reg.repeat +technique=NAME [repeat.count=5] [key=value ...]``.

Retrains the best trial of the study ``sweep`` made for the same technique and data (or, with
``repeat.source=config``, the composed configuration) with ``repeat.count`` fresh seeds, each
an MLflow run under the study's parent run. ``compare`` reads them for its intervals.
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
    from mnist_reg.repeat_runner import print_outcome, run_repeats

    outcome = run_guarded(lambda: run_repeats(cfg))
    print_outcome(outcome)
    if outcome.failed:
        sys.exit(f"error: {outcome.failed} repeat(s) failed; see the reasons above")


def run() -> None:
    """The console entry point: the output folder checked before Hydra writes to it."""
    require_writable_output()
    main()


if __name__ == "__main__":
    run()
