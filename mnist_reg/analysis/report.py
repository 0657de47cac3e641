"""``compare``'s output: ``report.md``, ``comparison.csv``, the two figures, and the same
files logged to MLflow as a "comparison" run."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from mnist_reg.analysis import plots, seed_files, stats, uncertainty
from mnist_reg.analysis.cells import resampled
from mnist_reg.analysis.comparison import Comparison, choice_of, compare_runs, compare_seeds
from mnist_reg.analysis.search_table import search_section
from mnist_reg.analysis.tables import plan_section, repeats_section, tests_section
from mnist_reg.config.redaction import mask_password
from mnist_reg.config.schema import CompareAppConfig
from mnist_reg.config.stores import tracking_uri
from mnist_reg.tracking import queries
from mnist_reg.tracking import tags as T

METHOD = f"""\
## How to read this

- Selection is by validation accuracy (the kept weights' `kept_val_accuracy`); the test set
  is only reported, never used to choose a trial, a configuration or an epoch.
- Seed repeats retrain one configuration with seeds the search did not use; their test
  accuracy gives the mean and its 95% Student-t interval (cut at 100%). "Varied" names the
  sources of randomness the intervals cover: the seed (initialization, data order,
  augmentation draws), the validation split where the repeats drew their own
  (`repeat.vary_split=true`), and the test images where the repeats logged their test
  predictions (a bootstrap over test images nested with the seeds,
  {uncertainty.RESAMPLES // 5} resamples).
- Each technique is tested against the baseline trained on the same data with Welch's
  two-sided t-test (unequal variances); p-values are Holm-corrected across all the rows
  tested here (the family). The effect is the difference in mean test accuracy, in points,
  with its plain Welch 95% interval and its simultaneous interval at alpha {stats.ALPHA}/m,
  the level of Holm's first step: a difference the simultaneous interval excludes, Holm finds.
- "Detectable diff." is the difference a two-sided t-test at alpha {stats.ALPHA}/m would find
  with power {stats.POWER} at these seed counts and the observed pooled spread. Power rules
  nothing out: the test finds a true difference of half that size far less often, and
  which differences the data exclude is what the simultaneous interval says.
- Equivalence: two one-sided Welch t-tests (statsmodels' `ttost_ind`) that the difference
  lies within +-margin (`compare.equivalence_margin`, in points), their p-values
  Holm-corrected over the same family. A row not shown different is "equivalent within
  +-margin" where that corrected p is under {stats.ALPHA}, and otherwise states the margin
  its seeds could show at alpha {stats.ALPHA}/m: the farther end of Welch's
  1 - 2 x {stats.ALPHA}/m interval. Like the Welch verdict, it is over seeds, on this test set.
- Other views of the same difference: the paired t interval over the seeds both studies
  trained, a stratified bootstrap percentile interval ({uncertainty.RESAMPLES} resamples of
  each study's seeds), the probability that a seed of the technique beats a seed of the
  baseline (ties half), and the interval over seeds and test images. A Holm verdict whose
  test-image interval (at alpha {stats.ALPHA}/m) includes 0 reads "on this test set, within
  test-image noise": a new test set could reverse it.
- The search's cost is its trials and the epochs they trained (pruned ones included);
  compare techniques at similar budgets. "Expected best val." is the validation accuracy a
  random search of 1, 5 or 10 of these trials finds on average (Dodge et al. 2019; the
  unbiased estimator of Tang et al. 2020): how much of a technique's edge is its budget. It
  needs independent trials trained in full, so it is blank for TPE, Bayesian and Hyperband
  searches and for searches that pruned a trial.
- Every repeat's numbers are in `seeds.csv` (and its per-image test results in
  `test_correct.csv`); `python -m mnist_reg.compare compare.seeds_csv=seeds.csv` re-makes
  the repeats' tables from them.
"""


def write_markdown(
    comparison: Comparison, cfg: CompareAppConfig, folder: Path, command: str
) -> Path:
    table = comparison.table
    source = (
        f"the {len(comparison.seeds)} repeats in `{cfg.compare.seeds_csv}`"
        if cfg.compare.seeds_csv
        else f"{comparison.runs_used} runs of experiment(s) {', '.join(experiments(cfg))} in "
        f"`{mask_password(tracking_uri(cfg.mlflow))}`"
    )
    curves = ["![learning curves](learning_curves.png)", ""] if comparison.curve_runs else []
    lines = [
        "# Regularization techniques compared",
        "",
        f"Made by `{command}` on {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC from {source}.",
        "",
        cost_line(comparison.cost),
        "",
        "## Test accuracy over seed repeats",
        "",
        *repeats_section(table),
        "",
        "## Against the baseline",
        "",
        *tests_section(table),
        "",
        *_plan(table),
        "## The searches",
        "",
        *search_section(table),
        "",
        "![test accuracy per study](comparison.png)",
        "",
        *curves,
        METHOD,
    ]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path


def _plan(table: pd.DataFrame) -> list[str]:
    """The plan view, where rows were tested: these seeds as a pilot for a decisive study."""
    rows = plan_section(table)
    if not rows:
        return []
    return ["## Seeds for a decision", "", PLAN_NOTE, "", *rows, ""]


PLAN_NOTE = (
    "Each tested row's seeds as a pilot: with their pooled spread, the seeds an arm (equal "
    "arms) that a study testing the same family would need, at the level of Holm's first "
    "step, to find the planned difference with a Welch-type t-test (`TTestIndPower`), and "
    "to show a true difference of 0 within the margin by two one-sided tests (their power "
    "in closed form, Student's t). A pilot's spread is itself uncertain (a 95% interval "
    "for the SD of 5 seeds spans 0.6 to 2.9 times the estimate): plan with seeds to spare."
)


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


ROW_METRICS = (
    "repeats",
    "test_mean",
    "test_ci_low",
    "test_ci_high",
    "test_nested_low",
    "test_nested_high",
    "test_sd",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "diff_sim_low",
    "diff_sim_high",
    "p_welch",
    "p_holm",
    "mdd",
    "p_tost",
    "p_tost_holm",
    "equivalence_reach",
    "seeds_to_detect",
    "seeds_for_equivalence",
    "p_improvement",
    "best_val_accuracy",
    "best_test_accuracy",
    "epochs_budget",
)
# Shown in MLflow as the report shows them: accuracies in %, differences in points
IN_PERCENT = {key for key in ROW_METRICS if key.startswith(("test_", "diff", "best_"))} | {
    "mdd",
    "equivalence_reach",
}


RESAMPLED = {"p_improvement"}  # of ROW_METRICS, the resampling view of a difference


def _for_mlflow(key: str, value: float) -> float:
    """A row's value as MLflow shows it: in % or points to 4 decimals, p to 4 digits, counts
    as they are."""
    if key in IN_PERCENT:
        return round(100 * value, 4)
    return float(f"{value:.4g}") if key.startswith("p_") else value


def mlflow_rows(table: pd.DataFrame) -> list[tuple[str, dict[str, str], dict[str, float]]]:
    """Each study's row as (run name, tags, metrics) for MLflow's table and chart view."""
    rows = []
    for _, row in table.iterrows():
        tags = {T.STUDY_NAME: str(row["study"]), T.TECHNIQUE: str(row["technique"])}
        tags[T.VERDICT] = str(row["verdict"] or "")
        if row.get("baseline"):
            tags[T.BASELINE] = str(row["baseline"])
        # resampling views at too few seeds are not shown there: MLflow has no footnote
        withheld = set() if resampled(row) else RESAMPLED
        withheld |= set() if resampled(row, "repeats") else {"test_nested_low", "test_nested_high"}
        metrics = {
            key: _for_mlflow(key, float(row[key]))
            for key in ROW_METRICS
            if key in row and pd.notna(row[key]) and key not in withheld
        }
        rows.append((str(row["study"]), tags, metrics))
    return rows


def load(cfg: CompareAppConfig) -> tuple[Comparison, str]:
    """The comparison: from MLflow's runs, or re-made from a ``seeds.csv``."""
    uri = tracking_uri(cfg.mlflow)
    if cfg.compare.seeds_csv:
        frame, correct = seed_files.read(Path(cfg.compare.seeds_csv))
        return compare_seeds(frame, correct, choice_of(cfg.compare)), uri
    runs = queries.load_runs(uri, experiments(cfg))
    loader = functools.partial(queries.test_correct, uri)
    return compare_runs(runs, cfg.compare, loader), uri


def run_compare(cfg: CompareAppConfig, command: str) -> Comparison:
    """Read the runs, compare, write everything into ``compare.output_dir`` and MLflow."""
    comparison, uri = load(cfg)
    if comparison.table.empty:
        return comparison
    folder = Path(cfg.compare.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    comparison.table.to_csv(folder / "comparison.csv", index=False)
    seed_files.write(folder, comparison.seeds, comparison.correct)
    write_markdown(comparison, cfg, folder, command)
    plots.save(
        plots.test_accuracy(comparison.table, comparison.per_seed),
        str(folder / "comparison.png"),
    )
    if comparison.curve_runs:
        plots.save(
            plots.learning_curves(curves(comparison, uri)),
            str(folder / "learning_curves.png"),
        )
    log = cfg.compare.log_to_mlflow
    if log or (log is None and not cfg.compare.seeds_csv):
        tested = comparison.table.get("p_holm", pd.Series(dtype=float)).dropna()
        queries.log_comparison(
            uri,
            experiments(cfg)[0],
            folder,
            {"studies": ",".join(comparison.table["study"]), "command": command[:5000]},
            {"studies": len(comparison.table), "tested": len(tested)},
            mlflow_rows(comparison.table),
        )
    return comparison
