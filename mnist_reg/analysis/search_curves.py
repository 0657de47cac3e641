"""Anytime curves of searches: the best validation accuracy reached against epochs spent.

Searches compared at one budget of training epochs must count what each really trained: a
pruned trial's epochs, an early-stopped trial's, a Hyperband trial that continued another's
weights (only its new epochs). Input is the trial runs as ``mlflow.search_runs`` returns them
(``tags.study_name``, ``tags.trial_state``, ``metrics.epochs_trained``,
``metrics.kept_val_accuracy``, ``metrics.test_accuracy``, ``start_time``, ``end_time``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mnist_reg.tracking import tags as T

SEED_SUFFIX = re.compile(r"-s\d+$")
# Keras logs accuracies as float32, whose spacing near 1 is 6e-8: 4,965 of 5,000 images
# (99.3%) reads 0.99299997. A millionth is far below one image of any validation split.
FLOAT32_SLACK = 1e-6
STATE = f"tags.{T.TRIAL_STATE}"


def reaches(accuracy: float, target: float) -> bool:
    """Whether a logged accuracy is at or above ``target`` (NaN never is)."""
    return accuracy >= target - FLOAT32_SLACK


def method_of(study: str) -> str:
    """``backends-optuna-random-s2`` -> ``backends-optuna-random``."""
    return SEED_SUFFIX.sub("", study)


def study_curve(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per trial of one study, in start order: epochs spent when it ended, and the
    best validation accuracy of a complete trial so far (pruned and failed ones add epochs
    but no result; a search keeps only complete trials' models)."""
    ordered = trials.sort_values("start_time")
    epochs = ordered["metrics.epochs_trained"].fillna(0).astype(int)
    complete = ordered[STATE] == T.COMPLETE
    value = ordered["metrics.kept_val_accuracy"].where(complete)
    best = value.cummax()
    best_test = ordered["metrics.test_accuracy"].where(value == best).ffill()
    return pd.DataFrame(
        {
            "epochs_spent": epochs.cumsum().to_numpy(),
            "state": ordered[STATE].to_numpy(),
            "val_accuracy": value.to_numpy(),
            "best_val_accuracy": best.to_numpy(),
            "best_test_accuracy": best_test.to_numpy(),
        }
    )


def best_at(curve: pd.DataFrame, epochs: int) -> float:
    """The best validation accuracy among trials that ended within ``epochs`` epochs."""
    within = curve[curve["epochs_spent"] <= epochs]["best_val_accuracy"].dropna()
    return float(within.iloc[-1]) if len(within) else float("nan")


def summarize(runs: pd.DataFrame, budget: int, checkpoints: list[int]) -> pd.DataFrame:
    """One row per study: the best within ``budget`` (and at each checkpoint), its test
    accuracy, trials by state, epochs and wall time, and the method it belongs to."""
    trials = runs[runs[f"tags.{T.RUN_TYPE}"] == T.TRIAL]
    rows = []
    for study, group in trials.groupby(f"tags.{T.STUDY_NAME}"):
        curve = study_curve(group)
        within = curve[curve["epochs_spent"] <= budget]
        last = within.iloc[-1] if len(within) else None
        states = within["state"].value_counts()
        wall = (group["end_time"].max() - group["start_time"].min()).total_seconds()
        rows.append(
            {
                "method": method_of(str(study)),
                "study": study,
                "best_val_accuracy": best_at(curve, budget),
                "its_test_accuracy": float(last["best_test_accuracy"])
                if last is not None
                else float("nan"),
                **{f"best_at_{c}": best_at(curve, c) for c in checkpoints},
                "trials": len(within),
                "complete": int(states.get(T.COMPLETE, 0)),
                "pruned": int(states.get(T.PRUNED, 0)),
                "failed": int(states.get(T.FAIL, 0)),
                "epochs_within_budget": int(within["epochs_spent"].max()) if len(within) else 0,
                "epochs_spent": int(curve["epochs_spent"].max()),
                "fit_seconds": float(group["metrics.train_seconds"].sum()),
                "wall_seconds": wall,
            }
        )
    return pd.DataFrame(rows).sort_values(["method", "study"]).reset_index(drop=True)


def by_method(studies: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over a method's search seeds."""
    numeric = studies.drop(columns=["study"])
    grouped = numeric.groupby("method")
    table = grouped.mean()
    table["best_val_sd"] = grouped["best_val_accuracy"].std(ddof=1)
    table["seeds"] = grouped.size()
    return table.sort_values("best_val_accuracy", ascending=False)


def step_curve(curve: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """The best-so-far value at each epoch count of ``grid`` (NaN before the first result)."""
    return np.array([best_at(curve, int(e)) for e in grid])
