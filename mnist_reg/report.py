"""``compare``'s output: the terminal table, ``report.md``, ``comparison.csv``, the two
figures, and the same files logged to MLflow as a "comparison" run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig

from mnist_reg import comparison_plots, stats
from mnist_reg.comparison import EXPECTED_BEST_AT, Comparison, compare_runs
from mnist_reg.tracking import queries
from mnist_reg.tracking.uri import tracking_uri
from mnist_reg.urls import mask_password


def _pct(value: Any, digits: int = 2) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.{digits}f}"


def _num(value: Any, digits: int = 3) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.{digits}g}"


def _interval(mean: Any, low: Any, high: Any, signed: bool = False) -> str:
    if mean is None or pd.isna(mean):
        return ""
    sign = "+" if signed else ""
    text = f"{100 * float(mean):{sign}.2f}"
    if pd.notna(low):
        text += f" [{100 * float(low):{sign}.2f}, {100 * float(high):{sign}.2f}]"
    return text


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def _get(row: pd.Series, key: str) -> Any:
    return row[key] if key in row.index else None


def repeats_section(table: pd.DataFrame) -> list[str]:
    rows = []
    for _, row in table[table["repeats"] > 0].iterrows():
        rows.append(
            [
                str(row["study"]),
                str(row["technique"]),
                _num(row["train_images"], 6),
                f"{int(row['repeats'])}",
                _interval(row["test_mean"], row["test_ci_low"], row["test_ci_high"]),
                _pct(_get(row, "test_sd"), 3),
                _interval(
                    _get(row, "diff"), _get(row, "diff_ci_low"), _get(row, "diff_ci_high"), True
                ),
                _num(_get(row, "p_welch")),
                _num(_get(row, "p_holm")),
                _num(_get(row, "hedges_g"), 2),
                _pct(_get(row, "mdd")),
                _num(row["epochs_mean"]),
                _num(row["seconds_mean"], 4),
                str(row["verdict"]),
            ]
        )
    if not rows:
        return ["No study has seed repeats yet: run `python -m mnist_reg.repeat` for each."]
    header = [
        "study",
        "technique",
        "train images",
        "seeds",
        "test acc. % mean [95% CI]",
        "SD (points)",
        "vs baseline (points) [95% CI]",
        "p Welch",
        "p Holm",
        "Hedges g",
        "detectable diff. (points)",
        "epochs",
        "s / run",
        "verdict",
    ]
    return markdown_table(header, rows)


def search_section(table: pd.DataFrame) -> list[str]:
    searched = table[
        table["trials_complete"] + table["trials_pruned"] + table["trials_failed"] > 0
    ]
    if searched.empty:
        return ["No sweep trials in this selection (repeats of fixed configurations only)."]
    rows = [
        [
            str(row["study"]),
            f"{row['trials_complete']}/{row['trials_pruned']}/{row['trials_failed']}",
            _num(row["epochs_budget"], 6),
            str(_get(row, "best_trial") or ""),
            _pct(_get(row, "best_val_accuracy")),
            _pct(_get(row, "best_test_accuracy")),
            _pct(_get(row, "best_gap")),
            _num(_get(row, "best_epochs")),
            _num(_get(row, "best_seconds"), 4),
            " / ".join(_pct(_get(row, f"expected_best_val_{n}")) or "-" for n in EXPECTED_BEST_AT),
            str(row["settings"]),
        ]
        for _, row in searched.iterrows()
    ]
    header = [
        "study",
        "trials complete/pruned/failed",
        "epochs spent",
        "best trial",
        "its val acc. %",
        "its test acc. %",
        "its gap (points)",
        "its epochs",
        "its seconds",
        "expected best val. % of " + "/".join(map(str, EXPECTED_BEST_AT)) + " trials",
        "best settings",
    ]
    return markdown_table(header, rows)


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


def write_markdown(comparison: Comparison, cfg: DictConfig, folder: Path, command: str) -> Path:
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


def experiments(cfg: DictConfig) -> list[str]:
    return list(cfg.compare.experiments) or [cfg.mlflow.experiment]


def curves(comparison: Comparison, uri: str) -> dict[str, dict[str, list[float]]]:
    result = {}
    for study, run_ids in comparison.curve_runs.items():
        result[study] = {
            key: comparison_plots.mean_curve(
                [queries.metric_history(uri, run_id, key) for run_id in run_ids]
            )
            for key in ("val_accuracy", "accuracy")
        }
    return result


def run_compare(cfg: DictConfig, command: str) -> Comparison:
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
    comparison_plots.save(
        comparison_plots.test_accuracy(comparison.table, comparison.per_seed),
        str(folder / "comparison.png"),
    )
    comparison_plots.save(
        comparison_plots.learning_curves(curves(comparison, uri)),
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


def print_table(comparison: Comparison) -> None:
    table = comparison.table
    columns = [
        c
        for c in (
            "study",
            "train_images",
            "trials_complete",
            "best_val_accuracy",
            "best_test_accuracy",
            "repeats",
            "test_mean",
            "test_ci_low",
            "test_ci_high",
            "diff",
            "p_holm",
            "verdict",
        )
        if c in table
    ]
    shown = table[columns].copy()
    for column in (
        "best_val_accuracy",
        "best_test_accuracy",
        "test_mean",
        "test_ci_low",
        "test_ci_high",
        "diff",
    ):
        if column in shown:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{100 * v:.2f}")
    with pd.option_context(
        "display.max_columns", None, "display.width", 250, "display.max_colwidth", 60
    ):
        print(shown.to_string(index=False))
    print("\naccuracies in %, diff in points against the baseline; p_holm: Welch, Holm-corrected")
