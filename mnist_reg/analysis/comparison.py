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
from typing import Any

import numpy as np
import pandas as pd

from mnist_reg.analysis import stats
from mnist_reg.analysis.seeds import column, repeat_summary, seed_rows
from mnist_reg.analysis.verdicts import add_tests
from mnist_reg.config.schema import CompareConfig
from mnist_reg.tracking import tags as T

RUN_TYPES = (T.SWEEP, T.REPEATS, T.TRIAL, T.REPEAT)
EXPECTED_BEST_AT = (1, 5, 10)  # trials
QUIET_VALUES = {"0", "0.0", "False", "false", "None", "", "nan"}


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


def _settings(group: pd.DataFrame, runs: pd.DataFrame) -> str:
    """The searched parameters of the best trial (the sweep's ``best.*`` tags), or for a
    repeated fixed configuration its regularization settings that are switched on."""
    parents = group[column(group, f"tags.{T.RUN_TYPE}") == T.SWEEP]
    if not parents.empty:
        parent = parents.iloc[0]
        shown = {
            k.removeprefix("tags.best.").removeprefix("technique."): parent[k]
            for k in map(str, group.columns)
            if k.startswith("tags.best.") and pd.notna(parent[k])
        }
        if shown:
            return ", ".join(f"{k}={short_value(v)}" for k, v in sorted(shown.items()))
    if runs.empty:
        return ""
    first = runs.iloc[0]
    active = {
        k.removeprefix("params.technique."): first[k]
        for k in map(str, runs.columns)
        if k.startswith("params.technique.")
        and k not in ("params.technique.name", "params.technique.description")
        and str(first[k]) not in QUIET_VALUES
    }
    enabled = str(active.pop("early_stopping.enabled", "False")) == "True"
    if not enabled:
        active = {k: v for k, v in active.items() if not k.startswith("early_stopping.")}
    return ", ".join(f"{k}={short_value(v)}" for k, v in sorted(active.items())) or "none"


def short_value(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.3g}" if not number.is_integer() else str(int(number))


def _train_epochs(rows: pd.DataFrame) -> float:
    """The training length the study's runs were configured with (``train.epochs``)."""
    epochs = pd.to_numeric(column(rows, "params.train.epochs"), errors="coerce").dropna()
    return float(epochs.max()) if not epochs.empty else math.nan


def _train_images(rows: pd.DataFrame) -> float:
    images = pd.to_numeric(column(rows, "metrics.train_images"), errors="coerce").dropna()
    if not images.empty:
        return float(images.median())
    sizes = pd.to_numeric(column(rows, "params.data.train_size"), errors="coerce").dropna()
    return float(sizes.median()) if not sizes.empty else math.nan


def _latest_repeats(group: pd.DataFrame) -> pd.DataFrame:
    """Finished repeats of the study's most recently repeated configuration."""
    repeats = group[
        (column(group, f"tags.{T.RUN_TYPE}") == T.REPEAT)
        & (group["status"] == "FINISHED")
        & pd.to_numeric(column(group, "metrics.test_accuracy"), errors="coerce").notna()
    ]
    if repeats.empty:
        return repeats
    latest = repeats.sort_values("start_time").iloc[-1][f"tags.{T.REPEAT_KEY}"]
    return repeats[repeats[f"tags.{T.REPEAT_KEY}"] == latest].sort_values(f"tags.{T.REPEAT_SEED}")


def _independent_whole_trials(group: pd.DataFrame, state: pd.Series) -> bool:
    """Whether the search's trials are independent draws trained to the end (a random
    sampler, nothing pruned): the premise of the expected best of n trials. TPE's and
    Hyperband's trials depend on the earlier ones, and a pruned trial is cut short."""
    parent = group[column(group, f"tags.{T.RUN_TYPE}") == T.SWEEP]
    if parent.empty or (state == T.PRUNED).any():
        return False
    tags = parent.iloc[0]
    if tags.get("tags.sweep.backend") == "keras_tuner":
        return bool(tags.get("tags.sweep.kt_algorithm") == "random")
    return bool(tags.get("tags.sweep.sampler") == "random")


def summarize_study(name: str, group: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """A study's row (its search and its repeats) and its rows of ``seeds.csv``."""
    trials = group[column(group, f"tags.{T.RUN_TYPE}") == T.TRIAL]
    state = column(trials, f"tags.{T.TRIAL_STATE}")
    complete = trials[(trials["status"] == "FINISHED") & (state == T.COMPLETE)]
    repeats = _latest_repeats(group)
    technique = column(group, f"tags.{T.TECHNIQUE}").dropna()
    dataset = column(group, "params.data.name").dropna()
    row: dict[str, Any] = {
        "study": name,
        "technique": technique.iloc[0] if not technique.empty else "",
        "dataset": dataset.iloc[0] if not dataset.empty else "",
        "train_images": _train_images(repeats if not repeats.empty else trials),
        "train_epochs": _train_epochs(repeats if not repeats.empty else trials),
        "trials_complete": len(complete),
        "trials_pruned": int((state == T.PRUNED).sum()),
        "trials_failed": int(trials["status"].isin(["FAILED", "KILLED"]).sum()),
        "epochs_budget": float(
            pd.to_numeric(column(trials, "metrics.epochs_trained"), errors="coerce").sum()
        ),
        "settings": _settings(group, repeats if not repeats.empty else complete),
    }
    if not complete.empty:
        val = pd.to_numeric(complete["metrics.kept_val_accuracy"], errors="coerce")
        best = complete.iloc[int(np.nanargmax(val.to_numpy(dtype=float)))]
        row |= {
            "best_trial": best.get(f"tags.{T.TRIAL_NUMBER}"),
            "best_val_accuracy": best.get("metrics.kept_val_accuracy"),
            "best_test_accuracy": best.get("metrics.test_accuracy"),
            "best_gap": best.get("metrics.generalization_gap"),
            "best_epochs": best.get("metrics.epochs_trained"),
            "best_seconds": best.get("metrics.train_seconds"),
            "best_run_id": best["run_id"],
        }
        independent = _independent_whole_trials(group, state)
        for n in EXPECTED_BEST_AT:  # what a smaller random search would have found
            values = val.dropna().tolist() if independent else []
            row[f"expected_best_val_{n}"] = stats.expected_best(values, n)
    seeds = seed_rows(row, repeats)
    return row | repeat_summary(seeds), seeds


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
    return finish(comparison, compare.baseline, compare.same_epochs)


def compare_seeds(
    seeds: pd.DataFrame,
    correct: dict[str, np.ndarray],
    baseline: str | None,
    same_epochs: bool = False,
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
    return finish(Comparison(pd.DataFrame(rows), seeds, correct), baseline, same_epochs)


def finish(comparison: Comparison, baseline: str | None, same_epochs: bool = False) -> Comparison:
    """Order the rows (per data size and training length: baseline first, then by name) and
    test them."""
    table = comparison.table
    if table.empty:
        return comparison
    if "best_run_id" not in table:
        table["best_run_id"] = None
    order = table["technique"].ne("baseline")
    table = table.assign(_o=order).sort_values(["train_images", "train_epochs", "_o", "study"])
    comparison.table = table.drop(columns="_o").reset_index(drop=True)
    add_tests(comparison.table, comparison.seeds, comparison.correct, baseline, same_epochs)
    return comparison
