"""Entry point: ``python -m mnist_reg.compare [compare.studies=[...]] [compare.KEY=VALUE ...]``.

Reads the sweeps' and repeats' runs from MLflow and writes the side-by-side comparison
(terminal table, report.md, comparison.csv, comparison.png, learning_curves.png) into
``compare.output_dir``, and logs it as a "comparison" run.
"""

from __future__ import annotations

import sys

import hydra
import pandas as pd
from omegaconf import DictConfig

from mnist_reg.cli import require_writable_output
from mnist_reg.config import config_dir


def check_dates(cfg: DictConfig) -> None:
    for key in ("since", "until"):
        value = cfg.compare[key]
        if value is None:
            continue
        try:
            pd.Timestamp(str(value))
        except ValueError:
            sys.exit(f"error: compare.{key}={value} is invalid; allowed: a date like 2026-11-26")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="compare")
def main(cfg: DictConfig) -> None:
    check_dates(cfg)
    from mnist_reg.report import print_table, run_compare
    from mnist_reg.tracking.queries import MissingExperimentError

    command = "python -m mnist_reg.compare " + " ".join(sys.argv[1:])
    try:
        comparison = run_compare(cfg, command.strip())
    except MissingExperimentError as error:
        sys.exit(f"error: {error}")
    if comparison.table.empty:
        sys.exit("error: no finished trial or repeat matches; check compare.studies and dates")
    print_table(comparison)
    print(f"\nwritten to {cfg.compare.output_dir}/: report.md, comparison.csv, *.png")


def run() -> None:
    """The console entry point: the output folder checked before Hydra writes to it."""
    require_writable_output()
    main()


if __name__ == "__main__":
    run()
