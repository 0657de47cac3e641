"""The statistics a comparison reports (docs/methods.md says why): intervals, Welch's t-test
with Holm's correction, the effect size with its interval, and the smallest difference
the seeds can see.

Accuracies go in as fractions; the comparison prints them as percentages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float


def t_interval(values: Sequence[float], confidence: float = 1 - ALPHA) -> Interval:
    """Mean and Student-t confidence interval; a single value has no interval (nan)."""
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if len(data) < 2:
        return Interval(mean, math.nan, math.nan)
    half = stats.t.ppf((1 + confidence) / 2, len(data) - 1) * stats.sem(data)
    return Interval(mean, float(mean - half), float(mean + half))


def accuracy_interval(values: Sequence[float], confidence: float = 1 - ALPHA) -> Interval:
    """:func:`t_interval` of accuracies, cut at 0 and 1: the true mean lies in [0, 1], so
    the cut interval holds it whenever the uncut one does (the same coverage), and a few
    far-apart seeds no longer show an accuracy above 100%."""
    ci = t_interval(values, confidence)
    if math.isnan(ci.low):
        return ci
    return Interval(ci.mean, max(ci.low, 0.0), min(ci.high, 1.0))


@dataclass(frozen=True)
class Welch:
    difference: Interval  # mean(a) - mean(b) with the Welch-Satterthwaite interval
    p_value: float
    hedges_g: float  # standardized effect size, small-sample corrected


def welch(a: Sequence[float], b: Sequence[float], confidence: float = 1 - ALPHA) -> Welch:
    """Welch's t-test of mean(a) against mean(b) (unequal variances, two-sided)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return Welch(Interval(difference, math.nan, math.nan), math.nan, math.nan)
    test = stats.ttest_ind(x, y, equal_var=False)
    ci = test.confidence_interval(confidence)
    pooled = pooled_sd(x, y)
    correction = 1 - 3 / (4 * (len(x) + len(y)) - 9)
    g = difference / pooled * correction if pooled > 0 else math.nan
    return Welch(Interval(difference, float(ci.low), float(ci.high)), float(test.pvalue), g)


def pooled_sd(a: ArrayLike, b: ArrayLike) -> float:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    dof = len(x) + len(y) - 2
    if dof <= 0:
        return math.nan
    return float(math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / dof))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels' default method is not Holm: it is asked for)."""
    finite = [i for i, p in enumerate(p_values) if math.isfinite(p)]
    adjusted = [math.nan] * len(p_values)
    if finite:
        corrected = multipletests([p_values[i] for i in finite], alpha=ALPHA, method="holm")[1]
        for i, p in zip(finite, corrected, strict=True):
            adjusted[i] = float(p)
    return adjusted


def minimum_detectable_difference(n_a: int, n_b: int, sd: float, alpha: float = ALPHA) -> float:
    """The difference in means a two-sided t-test at ``alpha`` detects with POWER, given the
    seed counts and the observed spread: what "no significant difference" can rule out.
    Pass the level the verdict is tested at (after Holm's correction of m tests, its first
    step tests at ALPHA / m)."""
    if n_a < 2 or n_b < 2 or not math.isfinite(sd):
        return math.nan
    d = TTestIndPower().solve_power(
        effect_size=None, nobs1=n_a, alpha=alpha, power=POWER, ratio=n_b / n_a
    )
    return float(d) * sd


def expected_best(values: Sequence[float], n: int) -> float:
    """Expected best of ``n`` trials drawn without replacement from a search's ``values``:
    what a search of that budget would have found (Dodge et al. 2019, "Show Your Work"; the
    unbiased estimator of Tang et al. 2020)."""
    ordered = sorted(values)
    total = len(ordered)
    if not 1 <= n <= total:
        return math.nan
    weights = [math.comb(i - 1, n - 1) for i in range(1, total + 1)]
    return float(sum(w * v for w, v in zip(weights, ordered, strict=True)) / math.comb(total, n))
