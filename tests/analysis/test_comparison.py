"""The comparison logic on run tables shaped like ``mlflow.search_runs``' (the end-to-end
test in test_repeat_compare.py checks it against what real sweeps put in MLflow)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.power import TTestIndPower

from mnist_reg.analysis import seed_files as seeds
from mnist_reg.analysis.comparison import compare_runs, compare_seeds
from mnist_reg.analysis.stats import holm, pooled_sd
from mnist_reg.analysis.verdicts import BaselineChoice
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
                "params.data.split_seed": "0",
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
    # L2 is within 0.02 points of the baseline with a small spread: equivalence is shown
    assert rows["mnist-l2"]["verdict"] == (
        "equivalent to baseline within +-0.10 points (two one-sided tests, Holm)"
    )
    assert rows["mnist-dropout"]["diff"] == pytest.approx(sum(DROPOUT) / 5 - sum(BASE) / 5)
    assert rows["mnist-dropout"]["mdd"] > 0


def test_an_undecided_verdict_states_the_power_it_had_not_what_went_unseen(
    runs: pd.DataFrame,
) -> None:
    rows = by_study(compare_runs(runs, CompareConfig(equivalence_margin=0.02)).table)
    l2 = rows["mnist-l2"]
    # the power is 80% at the detectable difference itself: nothing below it "goes unseen";
    # and a margin too narrow for these seeds is stated with the one they could show
    assert l2["verdict"] == (
        f"not distinguishable from baseline (80% power at alpha 0.05/3 only for a true "
        f"difference of {100 * l2['mdd']:.2f} points or more); not shown equivalent within "
        f"+-0.02 points (these seeds show it within +-{100 * l2['equivalence_reach']:.2f} at "
        "alpha 0.05/3)"
    )
    assert 0.0002 < l2["equivalence_reach"] < 0.001


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


def test_intervals_and_detectable_difference_are_at_the_corrected_level(
    runs: pd.DataFrame,
) -> None:
    rows = by_study(compare_runs(runs, CompareConfig()).table)
    dropout = rows["mnist-dropout"]
    assert dropout["family"] == 3  # dropout and l2 on 55,000 images, l2 on 1,000
    level = 0.05 / 3
    simultaneous = scipy_stats.ttest_ind(DROPOUT, BASE, equal_var=False).confidence_interval(
        1 - level
    )
    assert (dropout["diff_sim_low"], dropout["diff_sim_high"]) == pytest.approx(
        (simultaneous.low, simultaneous.high)
    )
    assert dropout["diff_sim_low"] < dropout["diff_ci_low"]  # wider than the plain interval
    sd = pooled_sd(DROPOUT, BASE)
    effect = TTestIndPower().solve_power(nobs1=5, alpha=level, power=0.8, ratio=1.0)
    assert dropout["mdd"] == pytest.approx(effect * sd)
    for row in rows.values():  # an interval that excludes 0 never sits beside "not ..."
        if pd.notna(row.get("diff_sim_low")) and row["diff_sim_low"] > 0:
            assert row["p_holm"] < 0.05


def test_shared_seeds_are_paired_and_bootstrap_views_are_reported(runs: pd.DataFrame) -> None:
    dropout = by_study(compare_runs(runs, CompareConfig()).table)["mnist-dropout"]
    assert dropout["pairs"] == 5  # both repeated seeds 1000 to 1004
    assert dropout["p_paired"] == pytest.approx(scipy_stats.ttest_rel(DROPOUT, BASE).pvalue)
    assert dropout["boot_ci_low"] < dropout["diff"] < dropout["boot_ci_high"]
    assert dropout["p_improvement"] == pytest.approx(
        scipy_stats.mannwhitneyu(DROPOUT, BASE).statistic / 25
    )


def test_seeds_csv_remakes_the_repeats_table(runs: pd.DataFrame, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    made = compare_runs(runs, CompareConfig())
    correct = {run: rng.random(500) < 0.99 for run in made.seeds["run_id"]}
    made = compare_runs(runs, CompareConfig(), lambda run_ids: {r: correct[r] for r in run_ids})
    seeds.write(tmp_path, made.seeds, made.correct)
    assert sorted(pd.read_csv(tmp_path / "seeds.csv").columns) == sorted(seeds.SEED_COLUMNS)
    frame, read_back = seeds.read(tmp_path / "seeds.csv")
    assert all(np.array_equal(read_back[r], correct[r]) for r in frame["run_id"])
    remade = by_study(compare_seeds(frame, read_back, BaselineChoice()).table)
    for study, row in by_study(made.table).items():
        if row["repeats"] == 0:
            assert study not in remade
            continue
        for key in ("test_mean", "test_ci_low", "p_welch", "p_holm", "mdd", "test_nested_low"):
            assert remade[study].get(key) == pytest.approx(row.get(key), nan_ok=True)
        assert remade[study]["verdict"] == row["verdict"]


def test_a_win_inside_test_image_noise_is_not_called_better(runs: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    made = compare_runs(runs, CompareConfig())
    # 1,000 test images: far too few for 0.2 points, though the seeds agree on it
    correct = {run: rng.random(1000) < 0.99 for run in made.seeds["run_id"]}
    table = compare_runs(runs, CompareConfig(), lambda ids: {r: correct[r] for r in ids}).table
    dropout = by_study(table)["mnist-dropout"]
    assert dropout["p_holm"] < 0.05
    assert dropout["diff_nested_low"] < 0 < dropout["diff_nested_high"]
    assert dropout["verdict"] == "above baseline on this test set, within test-image noise"


def test_same_epochs_tests_each_training_length_against_its_own_baseline() -> None:
    def at(epochs: int, study: str, technique: str, values: list[float]) -> pd.DataFrame:
        frame = pd.DataFrame(repeats(study, technique, values, 55000))
        return frame.assign(**{"params.train.epochs": str(epochs)})

    runs = pd.concat(
        [
            at(5, "base-e5", "baseline", BASE),
            at(30, "base-e30", "baseline", L2),
            at(5, "dropout-e5", "dropout", DROPOUT),
            at(30, "dropout-e30", "dropout", DROPOUT),
        ]
    )
    rows = by_study(compare_runs(runs, CompareConfig(same_epochs=True)).table)
    assert rows["dropout-e5"]["baseline"] == "base-e5"
    assert rows["dropout-e30"]["baseline"] == "base-e30"
    assert rows["dropout-e30"]["train_epochs"] == 30
    assert rows["dropout-e5"]["family"] == 2
    ambiguous = by_study(compare_runs(runs, CompareConfig()).table)  # two baselines: untested
    verdict = ambiguous["dropout-e5"]["verdict"]
    assert "2 baselines on the same data (base-e30, base-e5)" in verdict
    assert "compare.baseline" in verdict and "compare.same_epochs=true" in verdict
    assert ambiguous["dropout-e5"]["baseline"] is None  # no family: nothing was tested


def _search(sampler: str, pruned: bool, backend: str = "optuna") -> pd.DataFrame:
    tags = {"tags.sweep.backend": backend, "tags.sweep.sampler": sampler}
    tags |= {"tags.sweep.kt_algorithm": sampler, "tags.sweep.strategy": "prune"}
    vals = [0.980, 0.985, 0.990, 0.975]
    rows = [run("s", "dropout", "sweep", **tags)]
    rows += [trial("s", "dropout", i, v, v) for i, v in enumerate(vals)]
    if pruned:
        rows.append(trial("s", "dropout", 4, 0.97, 0.97, state="PRUNED"))
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("sampler", "pruned", "backend", "defined"),
    [
        ("random", False, "optuna", True),
        ("random", False, "keras_tuner", True),
        ("tpe", False, "optuna", False),  # each trial depends on the earlier ones
        ("random", True, "optuna", False),  # pruned trials are cut short, not drawn whole
        ("hyperband", False, "keras_tuner", False),
    ],
)
def test_expected_best_of_n_only_for_independent_whole_trials(
    sampler: str, pruned: bool, backend: str, defined: bool
) -> None:
    row = compare_runs(_search(sampler, pruned, backend), CompareConfig()).table.iloc[0]
    if defined:
        assert row["expected_best_val_1"] == pytest.approx(np.mean([0.980, 0.985, 0.990, 0.975]))
        assert math.isnan(row["expected_best_val_5"])  # more trials than the search ran
    else:
        assert all(math.isnan(row[f"expected_best_val_{n}"]) for n in (1, 5, 10))
