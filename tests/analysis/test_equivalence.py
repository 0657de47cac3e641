"""Equivalence and planning against independent computations: the two one-sided tests as
two one-sided scipy t-tests, the margin reached against the tests at that margin, the
seeds to detect a difference against ``TTestIndPower``, and the closed-form power of the
two one-sided tests against a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.power import TTestIndPower

from mnist_reg.analysis import equivalence

A = [0.9912, 0.9905, 0.9921, 0.9899, 0.9910, 0.9908]
B = [0.9903, 0.9899, 0.9911, 0.9890, 0.9906]


@pytest.mark.parametrize("margin", [0.0005, 0.001, 0.002])
def test_tost_is_the_larger_of_two_one_sided_welch_tests(margin: float) -> None:
    a, b = np.array(A), np.array(B)
    above = scipy_stats.ttest_ind(a + margin, b, equal_var=False, alternative="greater")
    below = scipy_stats.ttest_ind(a - margin, b, equal_var=False, alternative="less")
    assert equivalence.tost_p(A, B, margin) == pytest.approx(max(above.pvalue, below.pvalue))


@pytest.mark.parametrize("family", [1, 3, 12])
def test_the_margin_reached_is_where_the_tests_reach_the_familys_level(family: int) -> None:
    reached = equivalence.reach(A, B, family)
    assert equivalence.tost_p(A, B, reached) == pytest.approx(0.05 / family, rel=1e-6)
    assert equivalence.tost_p(A, B, reached * 1.01) < 0.05 / family  # wider: shown
    assert equivalence.tost_p(A, B, reached * 0.99) > 0.05 / family  # narrower: not


@pytest.mark.parametrize(("sd", "difference"), [(0.001, 0.001), (0.001, 0.0015), (0.002, 0.001)])
def test_seeds_to_detect_are_ttestindpowers(sd: float, difference: float) -> None:
    alpha = 0.05 / 12
    expected = TTestIndPower().solve_power(
        effect_size=difference / sd, alpha=alpha, power=0.8, ratio=1.0
    )
    assert equivalence.seeds_for_difference(sd, difference, alpha) == math.ceil(expected)


def test_seeds_for_equivalence_have_the_power_by_simulation() -> None:
    sd, margin, alpha = 0.001, 0.001, 0.05 / 12
    n = equivalence.seeds_for_equivalence(sd, margin, alpha)
    assert equivalence.tost_power(n, sd, margin, alpha) >= 0.8
    assert equivalence.tost_power(n - 1, sd, margin, alpha) < 0.8
    rng = np.random.default_rng(3)
    studies = 4000
    a = rng.normal(0.99, sd, size=(studies, n))
    b = rng.normal(0.99, sd, size=(studies, n))  # no true difference
    diff = a.mean(1) - b.mean(1)
    se = np.sqrt(a.var(1, ddof=1) / n + b.var(1, ddof=1) / n)
    critical = scipy_stats.t.ppf(1 - alpha, 2 * n - 2)
    shown = ((diff + margin) / se > critical) & ((diff - margin) / se < -critical)
    assert shown.mean() == pytest.approx(equivalence.tost_power(n, sd, margin, alpha), abs=0.03)


def test_a_plan_out_of_reach_says_so() -> None:
    assert equivalence.seeds_for_equivalence(0.01, 0.00001, 0.05) == equivalence.MAX_SEEDS + 1
