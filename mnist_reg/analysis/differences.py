"""The numbers behind a verdict: a study's difference in test accuracy from its baseline's,
every way the report shows it. Each record is a part of a row of the comparison table: its
fields are the table's columns, in their order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from mnist_reg.analysis import stats, uncertainty


@dataclass(frozen=True)
class WelchTest:
    """Welch's t-test of the seeds' test accuracies: the difference in means (ours minus
    theirs, as fractions) with its 95% interval, and the effect size."""

    diff: float
    diff_ci_low: float
    diff_ci_high: float
    p_welch: float
    hedges_g: float


@dataclass(frozen=True)
class PairedTest:
    """The paired t-test over the seeds both studies trained."""

    pairs: int
    paired_diff: float
    paired_ci_low: float
    paired_ci_high: float
    p_paired: float


@dataclass(frozen=True)
class Bootstrap:
    """Stratified bootstrap 95% intervals of the difference in means and of P(a seed of ours
    beats a seed of theirs), ties counting one half."""

    boot_ci_low: float
    boot_ci_high: float
    p_improvement: float
    p_improvement_low: float
    p_improvement_high: float
    fewest_seeds: int  # the smaller arm's seeds: below MIN_RESAMPLING_SEEDS, not shown


@dataclass(frozen=True)
class Difference:
    """Every view of a study's difference from its baseline, before Holm's correction."""

    welch: WelchTest
    paired: PairedTest
    bootstrap: Bootstrap

    def views(self) -> tuple[WelchTest, PairedTest, Bootstrap]:
        return self.welch, self.paired, self.bootstrap


def test_accuracies(repeats: pd.DataFrame) -> list[float]:
    """A study's repeats' test accuracies, in the order of its rows of ``seeds.csv``."""
    return repeats["test_accuracy"].tolist()


def difference(ours: pd.DataFrame, theirs: pd.DataFrame) -> Difference:
    """Every view of the difference between two studies' repeats (rows of ``seeds.csv``)."""
    a, b = test_accuracies(ours), test_accuracies(theirs)
    welch = stats.welch(a, b)
    pairs = uncertainty.paired(
        dict(zip(ours["seed"].astype(int), a, strict=True)),
        dict(zip(theirs["seed"].astype(int), b, strict=True)),
    )
    boot = uncertainty.bootstrap_difference(a, b)
    improvement = uncertainty.probability_of_improvement(a, b)
    mean, paired = welch.difference, pairs.difference
    return Difference(
        WelchTest(mean.mean, mean.low, mean.high, welch.p_value, welch.hedges_g),
        PairedTest(pairs.pairs, paired.mean, paired.low, paired.high, pairs.p_value),
        Bootstrap(
            boot.low,
            boot.high,
            improvement.mean,
            improvement.low,
            improvement.high,
            min(len(a), len(b)),
        ),
    )


@dataclass(frozen=True)
class Corrected:
    """Holm's side of a difference: its family, its adjusted p-value, and the interval and the
    detectable difference at the level Holm's first step tests (alpha / family), so that a
    difference the interval excludes, Holm finds."""

    family: int  # the rows tested together
    p_holm: float
    diff_sim_low: float  # Welch's interval at confidence 1 - alpha / family
    diff_sim_high: float
    mdd: float  # the smallest true difference found with stats.POWER at that level


def holm_level(family: int) -> float:
    """The level Holm's first step tests a family of ``family`` tests at."""
    return stats.ALPHA / family


def corrected(a: Sequence[float], b: Sequence[float], p_holm: float, family: int) -> Corrected:
    """The Holm-corrected view of the difference between test accuracies ``a`` and ``b``."""
    simultaneous = stats.welch(a, b, confidence=1 - holm_level(family)).difference
    sd = stats.pooled_sd(a, b)
    mdd = stats.minimum_detectable_difference(len(a), len(b), sd, holm_level(family))
    return Corrected(family, p_holm, simultaneous.low, simultaneous.high, mdd)


@dataclass(frozen=True)
class StudyOverImages:
    """A study's mean test accuracy with a 95% interval over its seeds and the test images."""

    test_nested_low: float
    test_nested_high: float


@dataclass(frozen=True)
class DifferenceOverImages:
    """The difference with a 95% interval over both studies' seeds and the test images."""

    diff_nested_low: float
    diff_nested_high: float
