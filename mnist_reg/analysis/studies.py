"""One study's row of the comparison, from the runs MLflow holds for it: its search (trials
complete/pruned/failed, the epochs they cost, the best trial by validation accuracy and that
trial's test accuracy, what a smaller random search would have found), the settings it
trained with, and its latest seed repeats (its rows of ``seeds.csv`` and their summary)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mnist_reg.analysis import stats
from mnist_reg.analysis.seed_files import column, repeat_summary, seed_rows
from mnist_reg.tracking import tags as T

EXPECTED_BEST_AT = (1, 5, 10)  # trials
QUIET_VALUES = {"0", "0.0", "False", "false", "None", "", "nan"}


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
