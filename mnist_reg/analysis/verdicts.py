"""Each study's verdict against its baseline: Welch's t-test of the seed repeats' test
accuracies, Holm-corrected across the rows, with intervals that agree with the corrected
test, the smallest difference the corrected test could have detected, and the other views of
the same difference (paired, bootstrap, probability of improvement, test-image noise)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mnist_reg.analysis import stats, uncertainty

NOT_DISTINGUISHABLE = "not distinguishable from baseline"
TEST_SET_NOISE = "within test-image noise"


def _baseline_candidates(
    row: pd.Series, table: pd.DataFrame, explicit: str | None, same_epochs: bool
) -> list[str]:
    """The studies this row may be tested against: the named one, else every baseline
    study with repeats on the same data (and, with ``same_epochs``, trained as long)."""
    if explicit:
        return [explicit] if explicit != row["study"] else []
    if row["technique"] == "baseline":
        return []
    candidates = table[
        (table["technique"] == "baseline")
        & (table["dataset"] == row["dataset"])
        & (table["train_images"] == row["train_images"])
        & (table["repeats"] >= 2)
    ]
    if same_epochs:
        candidates = candidates[candidates["train_epochs"] == row["train_epochs"]]
    return sorted(str(study) for study in candidates["study"])


def _untested(candidates: list[str]) -> str:
    if len(candidates) > 1:
        return (
            f"not tested: {len(candidates)} baselines on the same data ({', '.join(candidates)});"
            " name one with compare.baseline, or use compare.same_epochs=true"
        )
    return "no baseline with repeats on the same data to test against"


def study_correct(seeds: pd.DataFrame, correct: dict[str, np.ndarray]) -> np.ndarray | None:
    """The study's (runs, test images) right/wrong matrix, if every repeat logged one."""
    runs = seeds["run_id"].tolist()
    if not runs or any(run not in correct for run in runs):
        return None
    if len({len(correct[run]) for run in runs}) != 1:
        return None
    return np.stack([correct[run] for run in runs])


def add_test_set_intervals(
    table: pd.DataFrame, seeds: pd.DataFrame, correct: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each study's mean test accuracy with an interval over seeds and test images."""
    matrices = {}
    for index, row in table.iterrows():
        study_seeds = seeds[seeds["study"] == row["study"]] if not seeds.empty else seeds
        matrix = study_correct(study_seeds, correct) if not study_seeds.empty else None
        if matrix is None:
            continue
        matrices[str(row["study"])] = matrix
        (nested,) = uncertainty.nested_bootstrap(matrix)
        table.at[index, "test_nested_low"] = nested.low
        table.at[index, "test_nested_high"] = nested.high
    return matrices


def add_tests(
    table: pd.DataFrame,
    seeds: pd.DataFrame,
    correct: dict[str, np.ndarray],
    explicit_baseline: str | None,
    same_epochs: bool = False,
) -> None:
    """Welch's t-test of each study's repeats against its baseline's, Holm-corrected, and
    the other views of each difference."""
    for column in ("baseline", "verdict"):
        table[column] = None
    matrices = add_test_set_intervals(table, seeds, correct)
    by_study = {str(s): g for s, g in seeds.groupby("study")} if not seeds.empty else {}
    tested: list[tuple[int, str]] = []
    for index, row in table.iterrows():
        candidates = _baseline_candidates(row, table, explicit_baseline, same_epochs)
        baseline = candidates[0] if len(candidates) == 1 else None
        ours = by_study.get(row["study"], pd.DataFrame(columns=seeds.columns))
        theirs = by_study.get(baseline or "", pd.DataFrame(columns=seeds.columns))
        if row["study"] == explicit_baseline or (
            row["technique"] == "baseline" and not explicit_baseline
        ):
            table.at[index, "verdict"] = "baseline"
        elif len(ours) < 2:
            table.at[index, "verdict"] = "no seed repeats: the best trial's test accuracy alone"
        elif baseline is None or len(theirs) < 2:
            table.at[index, "verdict"] = _untested(candidates)
        if len(ours) < 2 or baseline is None or len(theirs) < 2:
            continue
        a, b = ours["test_accuracy"].tolist(), theirs["test_accuracy"].tolist()
        test = stats.welch(a, b)
        table.at[index, "baseline"] = baseline
        table.at[index, "diff"] = test.difference.mean
        table.at[index, "diff_ci_low"] = test.difference.low
        table.at[index, "diff_ci_high"] = test.difference.high
        table.at[index, "p_welch"] = test.p_value
        table.at[index, "hedges_g"] = test.hedges_g
        add_other_views(table, index, ours, theirs)  # type: ignore[arg-type]
        tested.append((index, baseline))  # type: ignore[arg-type]
    adjusted = stats.holm([float(table.at[i, "p_welch"]) for i, _ in tested])  # type: ignore[arg-type]
    family = len(tested)
    for (index, baseline), p_holm in zip(tested, adjusted, strict=True):
        add_verdict(table, index, p_holm, family, by_study, matrices, baseline)


def add_other_views(
    table: pd.DataFrame, index: int, ours: pd.DataFrame, theirs: pd.DataFrame
) -> None:
    """Paired where the studies share seeds; stratified bootstrap; P(improvement)."""
    a, b = ours["test_accuracy"].tolist(), theirs["test_accuracy"].tolist()
    pairs = uncertainty.paired(
        dict(zip(ours["seed"].astype(int), a, strict=True)),
        dict(zip(theirs["seed"].astype(int), b, strict=True)),
    )
    table.at[index, "pairs"] = pairs.pairs
    table.at[index, "paired_diff"] = pairs.difference.mean
    table.at[index, "paired_ci_low"] = pairs.difference.low
    table.at[index, "paired_ci_high"] = pairs.difference.high
    table.at[index, "p_paired"] = pairs.p_value
    boot = uncertainty.bootstrap_difference(a, b)
    table.at[index, "boot_ci_low"], table.at[index, "boot_ci_high"] = boot.low, boot.high
    improvement = uncertainty.probability_of_improvement(a, b)
    table.at[index, "p_improvement"] = improvement.mean
    table.at[index, "p_improvement_low"] = improvement.low
    table.at[index, "p_improvement_high"] = improvement.high


def add_verdict(
    table: pd.DataFrame,
    index: int,
    p_holm: float,
    family: int,
    by_study: dict[str, pd.DataFrame],
    matrices: dict[str, np.ndarray],
    baseline: str,
) -> None:
    """Holm's verdict, with the intervals and the detectable difference at the level its
    first step tests (alpha / family): a difference that interval excludes, Holm finds."""
    ours, theirs = by_study[str(table.at[index, "study"])], by_study[baseline]
    a, b = ours["test_accuracy"].tolist(), theirs["test_accuracy"].tolist()
    level = stats.ALPHA / family
    simultaneous = stats.welch(a, b, confidence=1 - level).difference
    mdd = stats.minimum_detectable_difference(len(a), len(b), stats.pooled_sd(a, b), level)
    table.at[index, "family"] = family
    table.at[index, "p_holm"] = p_holm
    table.at[index, "diff_sim_low"], table.at[index, "diff_sim_high"] = (
        simultaneous.low,
        simultaneous.high,
    )
    table.at[index, "mdd"] = mdd
    nested = [math.nan, math.nan]
    study = str(table.at[index, "study"])
    if study in matrices and baseline in matrices:
        plain, corrected = uncertainty.nested_bootstrap(
            matrices[study], matrices[baseline], confidence=(1 - stats.ALPHA, 1 - level)
        )
        table.at[index, "diff_nested_low"], table.at[index, "diff_nested_high"] = (
            plain.low,
            plain.high,
        )
        nested = [corrected.low, corrected.high]
    diff = float(table.at[index, "diff"])  # type: ignore[arg-type]
    if not p_holm < stats.ALPHA:
        table.at[index, "verdict"] = (
            f"{NOT_DISTINGUISHABLE} (a true difference under {100 * mdd:.2f} points would "
            f"likely go unseen at alpha {stats.ALPHA:g}/{family})"
        )
    elif nested[0] <= 0 <= nested[1]:
        # the seeds agree, but on these 10,000 images only: a new test set could reverse it
        direction = "above" if diff > 0 else "below"
        table.at[index, "verdict"] = f"{direction} baseline on this test set, {TEST_SET_NOISE}"
    else:
        table.at[index, "verdict"] = "better than baseline" if diff > 0 else "worse than baseline"
