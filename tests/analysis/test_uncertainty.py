"""The other views of a difference against independent computations: scipy's paired test
and Mann-Whitney U, resampling written out here with numpy, and the variance of a mean."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mnist_reg.analysis import uncertainty

A = [0.9912, 0.9905, 0.9921, 0.9899, 0.9910]
B = [0.9890, 0.9894, 0.9885, 0.9901, 0.9889]


def test_paired_uses_only_the_shared_seeds_and_matches_scipy() -> None:
    a = {1000: 0.991, 1001: 0.990, 1002: 0.992, 1003: 0.989, 7: 0.5}
    b = {1000: 0.989, 1001: 0.9895, 1002: 0.990, 1003: 0.9885, 8: 0.1}
    result = uncertainty.paired(a, b)
    x, y = [0.991, 0.990, 0.992, 0.989], [0.989, 0.9895, 0.990, 0.9885]
    expected = scipy_stats.ttest_rel(x, y)
    differences = np.subtract(x, y)
    half = scipy_stats.t.ppf(0.975, 3) * differences.std(ddof=1) / 2
    assert result.pairs == 4
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.difference.mean == pytest.approx(differences.mean())
    assert (result.difference.low, result.difference.high) == pytest.approx(
        (differences.mean() - half, differences.mean() + half)
    )
    assert math.isnan(uncertainty.paired({1: 0.9}, {2: 0.8}).p_value)


def test_probability_of_improvement_is_mann_whitney_u_over_the_pairs() -> None:
    a, b = [0.99, 0.98, 0.97, 0.97], [0.97, 0.96, 0.99]
    wins = sum((x > y) + 0.5 * (x == y) for x in a for y in b) / (len(a) * len(b))
    result = uncertainty.probability_of_improvement(a, b)
    assert result.mean == pytest.approx(wins)
    assert result.mean == pytest.approx(scipy_stats.mannwhitneyu(a, b).statistic / 12)
    assert 0 <= result.low <= result.mean <= result.high <= 1
    clear = uncertainty.probability_of_improvement(A, B)
    assert clear.mean == pytest.approx(0.96)  # 0.9899 against 0.9901 is the only loss


def test_stratified_bootstrap_matches_resampling_each_study_on_its_own() -> None:
    result = uncertainty.bootstrap_difference(A, B)
    rng = np.random.default_rng(12345)
    x, y = np.array(A), np.array(B)
    draws = [rng.choice(x, len(x)).mean() - rng.choice(y, len(y)).mean() for _ in range(20_000)]
    low, high = np.quantile(draws, [0.025, 0.975])
    assert result.mean == pytest.approx(x.mean() - y.mean())
    assert result.low == pytest.approx(low, abs=1e-4)
    assert result.high == pytest.approx(high, abs=1e-4)
    assert math.isnan(uncertainty.bootstrap_difference([0.99], B).low)


def _runs(rng: np.random.Generator, accuracies: list[float], images: int) -> np.ndarray:
    return np.stack([rng.random(images) < accuracy for accuracy in accuracies])


def test_nested_bootstrap_without_seed_noise_is_the_bootstrap_over_images() -> None:
    rng = np.random.default_rng(1)
    one = rng.random(2000) < 0.97
    runs = np.stack([one] * 4)  # four seeds that agree on every image
    (nested,) = uncertainty.nested_bootstrap(runs)
    over_images = scipy_stats.bootstrap(
        (one.astype(float),), np.mean, method="percentile", rng=np.random.default_rng(2)
    ).confidence_interval
    assert nested.mean == pytest.approx(one.mean())
    assert nested.low == pytest.approx(over_images.low, abs=1.5e-3)
    assert nested.high == pytest.approx(over_images.high, abs=1.5e-3)


def test_nested_interval_covers_seed_and_image_noise_and_shares_the_images() -> None:
    rng = np.random.default_rng(3)
    accuracies = [0.95, 0.96, 0.97, 0.955, 0.965, 0.96]
    runs = _runs(rng, accuracies, 4000)
    (nested,) = uncertainty.nested_bootstrap(runs, resamples=4000)
    # a mean over seeds of runs that are independent on each image: each run's accuracy
    # varies by its seed's level and by the images; the bootstrap SE should match both
    per_run = runs.mean(axis=1)
    expected_se = per_run.std(ddof=1) / math.sqrt(len(per_run))
    assert (nested.high - nested.low) / (2 * 1.96) == pytest.approx(expected_se, rel=0.3)
    # two studies tested on the same images: the images both get right or both get wrong
    # cancel in the difference, as in a paired bootstrap over images
    first = rng.random(3000) < 0.97
    second = first.copy()
    second[:60] = ~second[:60]  # the two disagree on 60 images
    (difference,) = uncertainty.nested_bootstrap(np.stack([first] * 3), np.stack([second] * 3))
    paired = scipy_stats.bootstrap(
        (first.astype(float) - second,),
        np.mean,
        method="percentile",
        rng=np.random.default_rng(4),
    ).confidence_interval
    assert difference.mean == pytest.approx(first.mean() - second.mean())
    assert difference.low == pytest.approx(paired.low, abs=1e-3)
    assert difference.high == pytest.approx(paired.high, abs=1e-3)
    # two levels for one draw: the wider level gives the wider interval
    plain, corrected = uncertainty.nested_bootstrap(
        runs, _runs(rng, accuracies, 4000), (0.95, 0.99)
    )
    assert corrected.low <= plain.low < plain.high <= corrected.high


def test_nested_bootstrap_is_exact_in_double_precision() -> None:
    """Its intervals are the same on every machine: float32 sums differ between CPUs' BLAS
    kernels in the last bits, which moved a committed report's interval by 0.01 points when
    it was re-made on another CPU."""
    rng = np.random.default_rng(7)
    study = (rng.random((3, 50)) < 0.9).astype(np.int8)
    baseline = (rng.random((4, 50)) < 0.85).astype(np.int8)
    (found,) = uncertainty.nested_bootstrap(study, baseline, resamples=250)
    draw = np.random.default_rng(uncertainty.BOOTSTRAP_SEED)
    images = draw.integers(0, 50, size=(250, 50))
    values = np.zeros(250)
    for sign, runs in ((1, study), (-1, baseline)):
        picked = draw.integers(0, len(runs), size=(250, len(runs)))
        for k in range(250):  # each resample: its images, then its runs, plain means
            values[k] += sign * np.mean([runs[r, images[k]].mean() for r in picked[k]])
    low, high = np.quantile(values, [0.025, 0.975])
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-12)
