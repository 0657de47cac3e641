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

from mnist_reg.cli import console
from mnist_reg.config.schema import CompareAppConfig, config_dir


def check_dates(cfg: CompareAppConfig) -> None:
    """Refuse dates that are not dates, and margins that are not in (0, 100] points."""
    for key in ("equivalence_margin", "plan_difference"):
        margin = getattr(cfg.compare, key)
        if margin is not None and not 0 < margin <= 100:
            sys.exit(
                f"error: compare.{key}={margin} is invalid; allowed: points, 0 < value <= 100"
            )
    for key in ("since", "until"):
        value = getattr(cfg.compare, key)
        if value is None:
            continue
        try:
            pd.Timestamp(str(value))
        except ValueError:
            sys.exit(f"error: compare.{key}={value} is invalid; allowed: a date like 2026-11-26")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="compare")
def main(dict_cfg: DictConfig) -> None:
    cfg: CompareAppConfig = dict_cfg  # type: ignore[assignment]
    check_dates(cfg)
    from mnist_reg.analysis.report import run_compare
    from mnist_reg.analysis.tables import print_table
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


run = console(main)  # the console script, mnist-reg-compare

if __name__ == "__main__":
    run()
