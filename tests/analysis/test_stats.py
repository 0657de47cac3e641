"""The comparison's statistics against their textbook definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mnist_reg.analysis import stats

A = [0.9912, 0.9905, 0.9921, 0.9899, 0.9910]
B = [0.9890, 0.9894, 0.9885, 0.9901, 0.9889]


def test_t_interval_is_the_student_interval() -> None:
    ci = stats.t_interval(A)
    half = scipy_stats.t.ppf(0.975, 4) * np.std(A, ddof=1) / math.sqrt(5)
    assert ci.mean == pytest.approx(np.mean(A))
    assert (ci.low, ci.high) == pytest.approx((np.mean(A) - half, np.mean(A) + half))


def test_an_accuracys_interval_stops_at_100_percent() -> None:
    """Two seeds far apart: Student's interval runs past 1; an accuracy cannot, and cutting
    the interval at the bounds leaves its coverage as it was."""
    ci = stats.accuracy_interval([0.9075, 0.9996])
    student = stats.t_interval([0.9075, 0.9996])
    assert student.high > 1 and ci.high == 1.0
    assert (ci.mean, ci.low) == (student.mean, student.low)
    assert stats.accuracy_interval(A) == stats.t_interval(A)


def test_one_value_has_no_interval() -> None:
    ci = stats.t_interval([0.99])
    assert ci.mean == 0.99 and math.isnan(ci.low) and math.isnan(ci.high)


def test_welch_matches_scipy_and_its_interval_contains_the_difference() -> None:
    result = stats.welch(A, B)
    expected = scipy_stats.ttest_ind(A, B, equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.difference.mean == pytest.approx(np.mean(A) - np.mean(B))
    assert result.difference.low < result.difference.mean < result.difference.high
    assert result.p_value < 0.05 and result.difference.low > 0  # A is clearly higher
    assert result.hedges_g > 1
    assert stats.welch(B, A).hedges_g == pytest.approx(-result.hedges_g)


def test_holm_adjusts_in_step_down_order_and_keeps_nan() -> None:
    # sorted p: 0.01 (x3), 0.03 (x2), 0.04 (x1): 0.03, max(0.03, 0.06), max(0.06, 0.04)
    adjusted = stats.holm([0.04, 0.01, math.nan, 0.03])
    assert adjusted[0] == pytest.approx(0.06)
    assert adjusted[1] == pytest.approx(0.03)
    assert math.isnan(adjusted[2])
    assert adjusted[3] == pytest.approx(0.06)


def test_detectable_difference_shrinks_with_more_seeds_and_scales_with_spread() -> None:
    five = stats.minimum_detectable_difference(5, 5, 0.0005)
    twenty = stats.minimum_detectable_difference(20, 20, 0.0005)
    assert 0.0007 < five < 0.0012  # about 1.9 SD at n=5, alpha 0.05, power 0.8
    assert twenty < five / 1.8
    assert stats.minimum_detectable_difference(5, 5, 0.001) == pytest.approx(2 * five)
    assert math.isnan(stats.minimum_detectable_difference(1, 5, 0.0005))


def test_expected_best_matches_brute_force_over_all_subsets() -> None:
    from itertools import combinations

    values = [0.97, 0.985, 0.99, 0.95, 0.991]
    for n in range(1, 6):
        subsets = list(combinations(values, n))
        brute = sum(max(s) for s in subsets) / len(subsets)
        assert stats.expected_best(values, n) == pytest.approx(brute)
    assert stats.expected_best(values, 1) == pytest.approx(np.mean(values))
    assert stats.expected_best(values, 5) == max(values)
    assert math.isnan(stats.expected_best(values, 6))


def test_detectable_difference_at_the_holm_first_step_is_statsmodels_at_alpha_over_m() -> None:
    from statsmodels.stats.power import TTestIndPower

    effect = TTestIndPower().solve_power(nobs1=5, alpha=0.05 / 4, power=0.8, ratio=1.0)
    corrected = stats.minimum_detectable_difference(5, 5, 0.0007, alpha=0.05 / 4)
    assert corrected == pytest.approx(effect * 0.0007)
    assert corrected > stats.minimum_detectable_difference(5, 5, 0.0007) * 1.2
