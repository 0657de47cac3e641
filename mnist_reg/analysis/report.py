"""``compare``'s output: ``report.md``, ``comparison.csv``, the two figures, and the same
files logged to MLflow as a "comparison" run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnist_reg.analysis import plots, stats
from mnist_reg.analysis.comparison import Comparison, compare_runs
from mnist_reg.analysis.tables import repeats_section, search_section
from mnist_reg.config.redaction import mask_password
from mnist_reg.config.schema import CompareAppConfig
from mnist_reg.config.stores import tracking_uri
from mnist_reg.tracking import queries

METHOD = f"""\
## How to read this

- Selection is by validation accuracy (the kept weights' `kept_val_accuracy`); the test set
  is only reported, never used to choose a trial, a configuration or an epoch.
- Seed repeats retrain one configuration with seeds the search did not use; their test
  accuracy gives the mean and its 95% Student-t interval.
- Each technique is tested against the baseline trained on the same data with Welch's
  two-sided t-test (unequal variances); p-values are Holm-corrected across all the rows
  tested here. The effect is the difference in mean test accuracy, in percentage points,
  with its Welch 95% interval, and Hedges' g.
- "Detectable diff." is the difference a two-sided t-test at alpha {stats.ALPHA} would find
  with power {stats.POWER} at these seed counts and the observed pooled spread: "not
  distinguishable" rules out differences above it, not below.
- The search's cost is its trials and the epochs they trained (pruned ones included);
  compare techniques at similar budgets. "Expected best val." is the validation accuracy a
  search of 1, 5 or 10 of these complete trials finds on average (Dodge et al. 2019; the
  unbiased estimator of Tang et al. 2020): how much of a technique's edge is its budget.
"""


def write_markdown(
    comparison: Comparison, cfg: CompareAppConfig, folder: Path, command: str
) -> Path:
    table = comparison.table
    lines = [
        "# Regularization techniques compared",
        "",
        f"Made by `{command}` on {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC from "
        f"{comparison.runs_used} runs of experiment(s) {', '.join(experiments(cfg))} in "
        f"`{mask_password(tracking_uri(cfg.mlflow))}`.",
        "",
        cost_line(comparison.cost),
        "",
        "## Test accuracy over seed repeats",
        "",
        *repeats_section(table),
        "",
        "## The searches",
        "",
        *search_section(table),
        "",
        "![test accuracy per study](comparison.png)",
        "",
        "![learning curves](learning_curves.png)",
        "",
        METHOD,
    ]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path


def cost_line(cost: dict[str, float]) -> str:
    if not cost:
        return ""
    return (
        f"Cost: {cost['runs']:.0f} training runs, {cost['epochs']:.0f} epochs, "
        f"{cost['train_seconds'] / 60:.1f} min inside `fit` (summed), "
        f"{cost['wall_seconds'] / 60:.1f} min of wall clock from the first run's start to the "
        "last run's end."
    )


def experiments(cfg: CompareAppConfig) -> list[str]:
    return list(cfg.compare.experiments) or [cfg.mlflow.experiment]


def curves(comparison: Comparison, uri: str) -> dict[str, dict[str, list[float]]]:
    result = {}
    for study, run_ids in comparison.curve_runs.items():
        result[study] = {
            key: plots.mean_curve([queries.metric_history(uri, run_id, key) for run_id in run_ids])
            for key in ("val_accuracy", "accuracy")
        }
    return result


def run_compare(cfg: CompareAppConfig, command: str) -> Comparison:
    """Read the runs, compare, write everything into ``compare.output_dir`` and MLflow."""
    uri = tracking_uri(cfg.mlflow)
    runs = queries.load_runs(uri, experiments(cfg))
    comparison = compare_runs(runs, cfg.compare)
    if comparison.table.empty:
        return comparison
    folder = Path(cfg.compare.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    comparison.table.to_csv(folder / "comparison.csv", index=False)
    write_markdown(comparison, cfg, folder, command)
    plots.save(
        plots.test_accuracy(comparison.table, comparison.per_seed),
        str(folder / "comparison.png"),
    )
    plots.save(
        plots.learning_curves(curves(comparison, uri)),
        str(folder / "learning_curves.png"),
    )
    if cfg.compare.log_to_mlflow:
        tested = comparison.table.get("p_holm", pd.Series(dtype=float)).dropna()
        queries.log_comparison(
            uri,
            experiments(cfg)[0],
            folder,
            {"studies": ",".join(comparison.table["study"]), "command": command[:5000]},
            {"studies": len(comparison.table), "tested": len(tested)},
        )
    return comparison
