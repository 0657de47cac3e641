"""The comparison logic on run tables shaped like ``mlflow.search_runs``' (the end-to-end
test in test_repeat_compare.py checks it against what real sweeps put in MLflow)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from scipy import stats as scipy_stats

from mnist_reg.analysis.comparison import compare_runs
from mnist_reg.analysis.stats import holm
from mnist_reg.config.schema import CompareConfig

BASE = [0.9890, 0.9894, 0.9885, 0.9901, 0.9889]
DROPOUT = [0.9912, 0.9905, 0.9921, 0.9899, 0.9910]
L2 = [0.9893, 0.9887, 0.9899, 0.9890, 0.9891]


def run(study: str, technique: str, kind: str, **fields: Any) -> dict[str, Any]:
    row = {
        "run_id": fields.pop("run_id", f"{study}-{kind}-{len(fields)}-{id(fields)}"),
        "status": fields.pop("status", "FINISHED"),
        "start_time": pd.Timestamp(fields.pop("day", "2026-11-20"), tz="UTC"),
        "tags.run_type": kind,
        "tags.study_name": study,
        "tags.technique": technique,
        "params.data.name": "mnist",
    }
    row.update(fields)
    return row


def repeats(study: str, technique: str, accuracies: list[float], images: int, key: str = "k"):
    return [
        run(
            study,
            technique,
            "repeat",
            **{
                "tags.repeat_seed": str(1000 + i),
                "tags.repeat_key": key,
                "metrics.test_accuracy": acc,
                "metrics.kept_val_accuracy": acc + 0.001,
                "metrics.train_images": images,
                "metrics.epochs_trained": 5,
            },
        )
        for i, acc in enumerate(accuracies)
    ]


def trial(study: str, technique: str, number: int, val: float, test: float, state="COMPLETE"):
    return run(
        study,
        technique,
        "trial",
        **{
            "tags.trial_number": str(number),
            "tags.trial_state": state,
            "metrics.kept_val_accuracy": val,
            "metrics.test_accuracy": test,
            "metrics.epochs_trained": 5 if state == "COMPLETE" else 2,
            "metrics.train_images": 55000,
        },
    )


@pytest.fixture
def runs() -> pd.DataFrame:
    rows = [
        run("mnist-dropout", "dropout", "sweep", **{"tags.best.technique.dropout.rate": "0.25"}),
        trial("mnist-dropout", "dropout", 0, 0.9880, 0.9870),
        trial("mnist-dropout", "dropout", 1, 0.9910, 0.9890),  # the best by validation
        trial("mnist-dropout", "dropout", 2, 0.9700, 0.9950, state="PRUNED"),
        run("mnist-dropout", "dropout", "trial", status="FAILED", **{"tags.trial_number": "3"}),
        *repeats("mnist-dropout", "dropout", DROPOUT, 55000),
        *repeats("mnist-baseline", "baseline", BASE, 55000),
        *repeats("mnist-l2", "l2", L2, 55000),
        *repeats("small-baseline", "baseline", [0.95, 0.96, 0.955], 1000),
        *repeats("small-l2", "l2", [0.96, 0.965, 0.97], 1000),
    ]
    return pd.DataFrame(rows)


def by_study(table: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["study"]: row for _, row in table.iterrows()}


def test_search_summary_selects_by_validation_never_test(runs: pd.DataFrame) -> None:
    rows = by_study(compare_runs(runs, CompareConfig()).table)
    dropout = rows["mnist-dropout"]
    assert (dropout["trials_complete"], dropout["trials_pruned"], dropout["trials_failed"]) == (
        2,
        1,
        1,
    )
    assert dropout["best_trial"] == "1"  # not the pruned trial with the best test accuracy
    assert dropout["best_test_accuracy"] == 0.9890
    assert dropout["epochs_budget"] == 12  # 5 + 5 + 2 (pruned); the failed one logged none
    assert dropout["settings"] == "dropout.rate=0.25"


def test_each_technique_is_tested_against_the_baseline_on_the_same_data(
    runs: pd.DataFrame,
) -> None:
    rows = by_study(compare_runs(runs, CompareConfig()).table)
    assert rows["mnist-baseline"]["verdict"] == "baseline"
    assert rows["mnist-dropout"]["baseline"] == "mnist-baseline"
    assert rows["small-l2"]["baseline"] == "small-baseline"  # 1,000 images against 1,000
    p_values = {
        "mnist-dropout": scipy_stats.ttest_ind(DROPOUT, BASE, equal_var=False).pvalue,
        "mnist-l2": scipy_stats.ttest_ind(L2, BASE, equal_var=False).pvalue,
        "small-l2": scipy_stats.ttest_ind(
            [0.96, 0.965, 0.97], [0.95, 0.96, 0.955], equal_var=False
        ).pvalue,
    }
    adjusted = dict(zip(p_values, holm(list(p_values.values())), strict=True))
    for study, p in p_values.items():
        assert rows[study]["p_welch"] == pytest.approx(p)
        assert rows[study]["p_holm"] == pytest.approx(adjusted[study])
    assert rows["mnist-dropout"]["verdict"] == "better than baseline"
    assert rows["mnist-l2"]["verdict"].startswith("not distinguishable")
    assert rows["mnist-dropout"]["diff"] == pytest.approx(sum(DROPOUT) / 5 - sum(BASE) / 5)
    assert rows["mnist-dropout"]["mdd"] > 0


def test_a_named_baseline_is_labelled_baseline_not_untested(runs: pd.DataFrame) -> None:
    rows = by_study(compare_runs(runs, CompareConfig(baseline="mnist-baseline")).table)
    assert rows["mnist-baseline"]["verdict"] == "baseline"
    assert rows["mnist-dropout"]["baseline"] == "mnist-baseline"


def test_filters_by_study_pattern_and_date(runs: pd.DataFrame) -> None:
    only = compare_runs(runs, CompareConfig(studies=["small-*"])).table
    assert sorted(only["study"]) == ["small-baseline", "small-l2"]
    runs.loc[runs["tags.study_name"] == "mnist-l2", "start_time"] = pd.Timestamp(
        "2026-11-24", tz="UTC"
    )
    recent = compare_runs(runs, CompareConfig(since="2026-11-23")).table
    assert list(recent["study"]) == ["mnist-l2"]
    assert recent.iloc[0]["verdict"].startswith("no baseline with repeats on the same data")
    none = compare_runs(runs, CompareConfig(until="2026-11-01")).table
    assert none.empty


def test_only_the_latest_repeated_configuration_counts(runs: pd.DataFrame) -> None:
    older = pd.DataFrame(repeats("mnist-l2", "l2", [0.5, 0.6, 0.7], 55000, key="older"))
    older["start_time"] = pd.Timestamp("2026-11-01", tz="UTC")
    table = compare_runs(pd.concat([runs, older]), CompareConfig()).table
    row = by_study(table)["mnist-l2"]
    assert row["repeats"] == 5 and row["test_mean"] == pytest.approx(sum(L2) / 5)
    assert math.isfinite(row["test_ci_low"])


def test_an_empty_store_compares_to_an_empty_table() -> None:
    assert compare_runs(pd.DataFrame(), CompareConfig()).table.empty
    only_parents = pd.DataFrame([run("mnist-dropout", "dropout", "sweep")])
    assert compare_runs(only_parents, CompareConfig()).table.empty
