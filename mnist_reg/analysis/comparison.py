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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mnist_reg.analysis import stats
from mnist_reg.analysis.verdicts import add_tests
from mnist_reg.config.schema import CompareConfig
from mnist_reg.tracking import tags as T

RUN_TYPES = (T.SWEEP, T.REPEATS, T.TRIAL, T.REPEAT)
EXPECTED_BEST_AT = (1, 5, 10)  # trials
QUIET_VALUES = {"0", "0.0", "False", "false", "None", "", "nan"}


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per study
    per_seed: dict[str, list[float]] = field(default_factory=dict)  # study: test accuracies
    curve_runs: dict[str, list[str]] = field(default_factory=dict)  # study: runs to plot
    runs_used: int = 0
    cost: dict[str, float] = field(default_factory=dict)  # what the selected runs took


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def select_runs(runs: pd.DataFrame, compare: CompareConfig) -> pd.DataFrame:
    """The runs of the studies asked for: by study name (globs), dataset and start date."""
    keep = (
        _column(runs, f"tags.{T.RUN_TYPE}").isin(RUN_TYPES)
        & _column(runs, f"tags.{T.STUDY_NAME}").notna()
    )
    if compare.studies:
        names = _column(runs, f"tags.{T.STUDY_NAME}").fillna("")
        keep &= names.map(lambda n: any(fnmatch.fnmatchcase(n, p) for p in compare.studies))
    if compare.dataset:
        # parent runs carry the data parameters too (the study's fixed settings)
        keep &= _column(runs, "params.data.name").fillna(compare.dataset) == compare.dataset
    started = pd.to_datetime(_column(runs, "start_time"), utc=True)
    if compare.since:
        keep &= started >= pd.Timestamp(compare.since, tz="UTC")
    if compare.until:
        keep &= started < pd.Timestamp(compare.until, tz="UTC") + pd.Timedelta(days=1)
    return runs[keep]


def _settings(group: pd.DataFrame, runs: pd.DataFrame) -> str:
    """The searched parameters of the best trial (the sweep's ``best.*`` tags), or for a
    repeated fixed configuration its regularization settings that are switched on."""
    parents = group[_column(group, f"tags.{T.RUN_TYPE}") == T.SWEEP]
    if not parents.empty:
        parent = parents.iloc[0]
        shown = {
            k.removeprefix("tags.best.").removeprefix("technique."): parent[k]
            for k in map(str, group.columns)
            if k.startswith("tags.best.") and pd.notna(parent[k])
        }
        if shown:
            return ", ".join(f"{k}={_short(v)}" for k, v in sorted(shown.items()))
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
    return ", ".join(f"{k}={_short(v)}" for k, v in sorted(active.items())) or "none"


def _short(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.3g}" if not number.is_integer() else str(int(number))


def _train_images(rows: pd.DataFrame) -> float:
    images = pd.to_numeric(_column(rows, "metrics.train_images"), errors="coerce").dropna()
    if not images.empty:
        return float(images.median())
    sizes = pd.to_numeric(_column(rows, "params.data.train_size"), errors="coerce").dropna()
    return float(sizes.median()) if not sizes.empty else math.nan


def _latest_repeats(group: pd.DataFrame) -> pd.DataFrame:
    """Finished repeats of the study's most recently repeated configuration."""
    repeats = group[
        (_column(group, f"tags.{T.RUN_TYPE}") == T.REPEAT)
        & (group["status"] == "FINISHED")
        & pd.to_numeric(_column(group, "metrics.test_accuracy"), errors="coerce").notna()
    ]
    if repeats.empty:
        return repeats
    latest = repeats.sort_values("start_time").iloc[-1][f"tags.{T.REPEAT_KEY}"]
    return repeats[repeats[f"tags.{T.REPEAT_KEY}"] == latest].sort_values(f"tags.{T.REPEAT_SEED}")


def summarize_study(name: str, group: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    trials = group[_column(group, f"tags.{T.RUN_TYPE}") == T.TRIAL]
    state = _column(trials, f"tags.{T.TRIAL_STATE}")
    complete = trials[(trials["status"] == "FINISHED") & (state == T.COMPLETE)]
    repeats = _latest_repeats(group)
    technique = _column(group, f"tags.{T.TECHNIQUE}").dropna()
    dataset = _column(group, "params.data.name").dropna()
    row: dict[str, Any] = {
        "study": name,
        "technique": technique.iloc[0] if not technique.empty else "",
        "dataset": dataset.iloc[0] if not dataset.empty else "",
        "train_images": _train_images(repeats if not repeats.empty else trials),
        "trials_complete": len(complete),
        "trials_pruned": int((state == T.PRUNED).sum()),
        "trials_failed": int(trials["status"].isin(["FAILED", "KILLED"]).sum()),
        "epochs_budget": float(
            pd.to_numeric(_column(trials, "metrics.epochs_trained"), errors="coerce").sum()
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
        for n in EXPECTED_BEST_AT:  # what a smaller search would have found, on average
            row[f"expected_best_val_{n}"] = stats.expected_best(val.dropna().tolist(), n)
    test = repeats["metrics.test_accuracy"].astype(float).tolist() if not repeats.empty else []
    row["repeats"] = len(test)
    if test:
        ci = stats.t_interval(test)
        row |= {
            "seeds": " ".join(str(s) for s in repeats[f"tags.{T.REPEAT_SEED}"]),
            "test_mean": ci.mean,
            "test_ci_low": ci.low,
            "test_ci_high": ci.high,
            "test_sd": float(pd.Series(test).std(ddof=1)) if len(test) > 1 else math.nan,
            "val_mean": float(repeats["metrics.kept_val_accuracy"].astype(float).mean()),
            "gap_mean": float(
                pd.to_numeric(_column(repeats, "metrics.generalization_gap")).mean()
            ),
            "epochs_mean": float(pd.to_numeric(_column(repeats, "metrics.epochs_trained")).mean()),
            "seconds_mean": float(pd.to_numeric(_column(repeats, "metrics.train_seconds")).mean()),
        }
    return row, repeats


def run_cost(runs: pd.DataFrame) -> dict[str, float]:
    """Training runs, epochs, summed training seconds and the wall clock they spanned."""
    trained = runs[_column(runs, f"tags.{T.RUN_TYPE}").isin([T.TRIAL, T.REPEAT])]
    if trained.empty:
        return {}
    start = pd.to_datetime(trained["start_time"], utc=True).min()
    end = pd.to_datetime(_column(trained, "end_time"), utc=True).max()
    return {
        "runs": float(len(trained)),
        "epochs": float(pd.to_numeric(_column(trained, "metrics.epochs_trained")).sum()),
        "train_seconds": float(pd.to_numeric(_column(trained, "metrics.train_seconds")).sum()),
        "wall_seconds": float((end - start).total_seconds()) if pd.notna(end) else math.nan,
    }


def compare_runs(runs: pd.DataFrame, compare: CompareConfig) -> Comparison:
    selected = select_runs(runs, compare)
    if selected.empty:
        return Comparison(pd.DataFrame())
    rows, per_seed, curve_runs = [], {}, {}
    for name, group in selected.groupby(f"tags.{T.STUDY_NAME}", sort=True):
        row, repeats = summarize_study(str(name), group)
        if row["trials_complete"] == 0 and row["repeats"] == 0:
            continue  # nothing finished to compare
        rows.append(row)
        per_seed[str(name)] = repeats["metrics.test_accuracy"].astype(float).tolist()
        curve_runs[str(name)] = (
            [row["best_run_id"]] if "best_run_id" in row else repeats["run_id"].tolist()
        )
    table = pd.DataFrame(rows)
    comparison = Comparison(table, per_seed, curve_runs, len(selected), run_cost(selected))
    if not table.empty:
        if "best_run_id" not in table:
            table["best_run_id"] = None
        order = table["technique"].ne("baseline")  # per data size: baseline first, then by name
        comparison.table = (
            table.assign(_o=order).sort_values(["train_images", "_o", "study"]).drop(columns="_o")
        )
        comparison.table = comparison.table.reset_index(drop=True)
        add_tests(comparison.table, per_seed, compare.baseline)
    return comparison
