"""The views of a difference beyond Welch's test (docs/methods.md says why): the paired test
where two studies share seeds, the stratified bootstrap interval and the probability of
improvement (as rliable reports them), and an interval that also covers the sampling of the
test images, by a bootstrap over test images nested with the seeds.

Accuracies go in as fractions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mnist_reg.analysis.stats import ALPHA, Interval

RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # a report is re-made with the same intervals
# Below this many seeds in an arm, the resampling views are withheld: a nominal 95%
# percentile bootstrap interval covers the true difference in under 90% of simulated
# studies there (experiments/bootstrap_coverage.md).
MIN_RESAMPLING_SEEDS = 6


@dataclass(frozen=True)
class Paired:
    pairs: int  # seeds both studies trained
    difference: Interval  # mean of the per-seed differences, paired t interval
    p_value: float


def paired(a: Mapping[int, float], b: Mapping[int, float]) -> Paired:
    """Paired t-test over the seeds both studies share (``seed: accuracy``)."""
    shared = sorted(set(a) & set(b))
    x = np.array([a[s] for s in shared], dtype=float)
    y = np.array([b[s] for s in shared], dtype=float)
    if len(shared) < 2:
        mean = float((x - y).mean()) if shared else math.nan
        return Paired(len(shared), Interval(mean, math.nan, math.nan), math.nan)
    test = stats.ttest_rel(x, y)
    ci = test.confidence_interval(1 - ALPHA)
    mean = float((x - y).mean())
    return Paired(len(shared), Interval(mean, float(ci.low), float(ci.high)), float(test.pvalue))


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(x, axis=axis) - np.mean(y, axis=axis))


def _improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(a run of x beats a run of y), ties counting one half, over all pairs of runs."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    wins = x[..., :, None] > y[..., None, :]
    ties = x[..., :, None] == y[..., None, :]
    return np.asarray((wins + 0.5 * ties).mean(axis=(-2, -1)))


def _bootstrap(
    statistic: Callable[..., np.ndarray], a: Sequence[float], b: Sequence[float]
) -> Interval:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    point = float(statistic(x, y))
    if len(x) < 2 or len(y) < 2:
        return Interval(point, math.nan, math.nan)
    # Each study's seeds are resampled on their own (stratified); percentile intervals, as
    # rliable reports them (BCa misbehaves on five values with ties).
    result = stats.bootstrap(
        (x, y),
        statistic,
        n_resamples=RESAMPLES,
        confidence_level=1 - ALPHA,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    ci = result.confidence_interval
    return Interval(point, float(ci.low), float(ci.high))


def bootstrap_difference(a: Sequence[float], b: Sequence[float]) -> Interval:
    """Difference in mean accuracy with a stratified bootstrap percentile interval."""
    return _bootstrap(_mean_difference, a, b)


def probability_of_improvement(a: Sequence[float], b: Sequence[float]) -> Interval:
    """P(a seed of ``a`` scores above a seed of ``b``) (the Mann-Whitney U statistic over
    the number of pairs), with a stratified bootstrap percentile interval."""
    return _bootstrap(_improvement, a, b)


def nested_bootstrap(
    correct: np.ndarray,
    baseline: np.ndarray | None = None,
    confidence: Sequence[float] = (1 - ALPHA,),
    resamples: int = 2_000,
) -> list[Interval]:
    """Mean test accuracy (or, with ``baseline``, the difference from it) with percentile
    intervals, one per ``confidence``, that cover both the seeds and the sampling of the test
    images.

    ``correct`` (and ``baseline``) are (runs, test images) arrays of 0/1: whether each run
    classified each test image right; both studies were tested on the same images. Each
    resample draws the test images with replacement (the same draw for both studies, as they
    share the test set) and, within each study, its runs with replacement.
    """
    studies = [np.asarray(correct, dtype=np.float64)]
    if baseline is not None:
        studies.append(np.asarray(baseline, dtype=np.float64))
    means = [float(np.mean(study, dtype=np.float64)) for study in studies]
    point = means[0] - (means[1] if len(means) > 1 else 0.0)
    images = studies[0].shape[1]
    if any(s.shape[1] != images for s in studies) or any(len(s) < 2 for s in studies):
        return [Interval(point, math.nan, math.nan) for _ in confidence]
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    values = np.empty(resamples)
    for start in range(0, resamples, 250):
        count = min(250, resamples - start)
        draws = rng.integers(0, images, size=(count, images))
        cells = (np.arange(count)[:, None] * images + draws).ravel()
        weights = np.bincount(cells, minlength=count * images).reshape(count, images)
        # each image's share of the draw; float64 throughout, so every CPU's BLAS agrees
        weights = weights / images
        means = []
        for study in studies:
            accuracy = weights @ study.T  # (count, runs): each run's accuracy on the draw
            runs = rng.integers(0, len(study), size=(count, len(study)))
            means.append(np.take_along_axis(accuracy, runs, axis=1).mean(axis=1))
        values[start : start + count] = means[0] - (means[1] if len(means) > 1 else 0.0)
    intervals = []
    for level in confidence:
        low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
        intervals.append(Interval(point, float(low), float(high)))
    return intervals
