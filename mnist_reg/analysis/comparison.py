"""Side-by-side comparison of studies from the runs MLflow holds (pure pandas + statistics).

One row per study: its search (trials complete/pruned/failed, the epochs they cost, the
best trial by validation accuracy and that trial's test accuracy) and, where it has seed
repeats, the mean test accuracy with a 95% t interval and Welch's t-test against the
baseline trained on the same data, Holm-corrected across the rows, with the effect size and
the smallest difference the seeds could have detected.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mnist_reg.analysis.seed_files import column, repeat_summary
from mnist_reg.analysis.studies import short_value as short_value  # imported from here too
from mnist_reg.analysis.studies import summarize_study
from mnist_reg.analysis.verdicts import BaselineChoice, with_verdicts
from mnist_reg.config.schema import CompareConfig
from mnist_reg.tracking import tags as T

RUN_TYPES = (T.SWEEP, T.REPEATS, T.TRIAL, T.REPEAT)


CorrectLoader = Callable[[list[str]], dict[str, np.ndarray]]


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per study
    seeds: pd.DataFrame = field(default_factory=pd.DataFrame)  # seeds.csv: one row per repeat
    correct: dict[str, np.ndarray] = field(default_factory=dict)  # run: test images right
    curve_runs: dict[str, list[str]] = field(default_factory=dict)  # study: runs to plot
    runs_used: int = 0
    cost: dict[str, float] = field(default_factory=dict)  # what the selected runs took

    @property
    def per_seed(self) -> dict[str, list[float]]:
        """Each study's repeats' test accuracies."""
        if self.seeds.empty:
            return {}
        grouped = self.seeds.groupby("study")["test_accuracy"]
        return {str(study): values.astype(float).tolist() for study, values in grouped}


def select_runs(runs: pd.DataFrame, compare: CompareConfig) -> pd.DataFrame:
    """The runs of the studies asked for: by study name (globs), dataset and start date."""
    keep = (
        column(runs, f"tags.{T.RUN_TYPE}").isin(RUN_TYPES)
        & column(runs, f"tags.{T.STUDY_NAME}").notna()
    )
    if compare.studies:
        names = column(runs, f"tags.{T.STUDY_NAME}").fillna("")
        keep &= names.map(lambda n: any(fnmatch.fnmatchcase(n, p) for p in compare.studies))
    if compare.dataset:
        # parent runs carry the data parameters too (the study's fixed settings)
        keep &= column(runs, "params.data.name").fillna(compare.dataset) == compare.dataset
    started = pd.to_datetime(column(runs, "start_time"), utc=True)
    if compare.since:
        keep &= started >= pd.Timestamp(compare.since, tz="UTC")
    if compare.until:
        keep &= started < pd.Timestamp(compare.until, tz="UTC") + pd.Timedelta(days=1)
    return runs[keep]


def run_cost(runs: pd.DataFrame) -> dict[str, float]:
    """Training runs, epochs, summed training seconds and the wall clock they spanned."""
    trained = runs[column(runs, f"tags.{T.RUN_TYPE}").isin([T.TRIAL, T.REPEAT])]
    if trained.empty:
        return {}
    start = pd.to_datetime(trained["start_time"], utc=True).min()
    end = pd.to_datetime(column(trained, "end_time"), utc=True).max()
    return {
        "runs": float(len(trained)),
        "epochs": float(pd.to_numeric(column(trained, "metrics.epochs_trained")).sum()),
        "train_seconds": float(pd.to_numeric(column(trained, "metrics.train_seconds")).sum()),
        "wall_seconds": float((end - start).total_seconds()) if pd.notna(end) else math.nan,
    }


def compare_runs(
    runs: pd.DataFrame, compare: CompareConfig, load_correct: CorrectLoader | None = None
) -> Comparison:
    """Compare the selected studies; ``load_correct(run_ids)`` gives the repeats' per-image
    test results (for the interval over test images), where they were logged."""
    selected = select_runs(runs, compare)
    if selected.empty:
        return Comparison(pd.DataFrame())
    rows, seeds, curve_runs = [], [], {}
    for name, group in selected.groupby(f"tags.{T.STUDY_NAME}", sort=True):
        row, study_seeds = summarize_study(str(name), group)
        if row["trials_complete"] == 0 and row["repeats"] == 0:
            continue  # nothing finished to compare
        rows.append(row)
        seeds.append(study_seeds)
        curve_runs[str(name)] = (
            [row["best_run_id"]] if "best_run_id" in row else study_seeds["run_id"].tolist()
        )
    every_seed = pd.concat(seeds, ignore_index=True) if seeds else pd.DataFrame()
    correct = load_correct(every_seed["run_id"].tolist()) if load_correct and seeds else {}
    comparison = Comparison(
        pd.DataFrame(rows), every_seed, correct, curve_runs, len(selected), run_cost(selected)
    )
    return finish(comparison, choice_of(compare))


def choice_of(compare: CompareConfig) -> BaselineChoice:
    """What each row is tested against and judged by; the margins as fractions."""
    planned = compare.plan_difference
    return BaselineChoice(
        compare.baseline,
        compare.same_epochs,
        margin=compare.equivalence_margin / 100,
        plan_difference=None if planned is None else planned / 100,
    )


def compare_seeds(
    seeds: pd.DataFrame,
    correct: dict[str, np.ndarray],
    choice: BaselineChoice,
) -> Comparison:
    """The repeats' part of a comparison re-made from a ``seeds.csv`` (and its per-image
    test results) alone, without the runs: no searches, no curves."""
    rows = []
    for _study, group in seeds.groupby("study", sort=True):
        first = group.iloc[0]
        keys = ("study", "technique", "dataset", "train_images", "train_epochs")
        row = {key: first[key] for key in keys}
        row |= {"settings": "" if pd.isna(first["settings"]) else first["settings"]}
        row |= {"trials_complete": 0, "trials_pruned": 0, "trials_failed": 0}
        rows.append(row | {"epochs_budget": 0.0} | repeat_summary(group))
    return finish(Comparison(pd.DataFrame(rows), seeds, correct), choice)


def finish(comparison: Comparison, choice: BaselineChoice) -> Comparison:
    """Order the rows (per data size and training length: baseline first, then by name) and
    test them."""
    table = comparison.table
    if table.empty:
        return comparison
    if "best_run_id" not in table:
        table = table.assign(best_run_id=None)
    order = table["technique"].ne("baseline")
    table = table.assign(_o=order).sort_values(["train_images", "train_epochs", "_o", "study"])
    table = table.drop(columns="_o").reset_index(drop=True)
    comparison.table = with_verdicts(table, comparison.seeds, comparison.correct, choice)
    return comparison
