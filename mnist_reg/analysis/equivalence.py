"""Equivalence and planning: whether a technique is shown to be within a margin of its
baseline (two one-sided Welch t-tests, Lakens 2017, by statsmodels' ``ttost_ind``), the
smallest margin its seeds could show that within, and how many seeds an arm a decision
would need, from pilot seeds (docs/methods.md, "Equivalence and planning").

Accuracies and margins are fractions here (0.001 is 0.1 points), as in the rest of the
analysis; the report prints points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.weightstats import ttost_ind

from mnist_reg.analysis import stats

DEFAULT_MARGIN = 0.001  # compare.equivalence_margin: 0.10 points
MAX_SEEDS = 10_000  # a plan that needs more is reported as out of reach


@dataclass(frozen=True)
class Equivalence:
    """A row's equivalence test against ``margin``: the TOST p-value, Holm-corrected over
    the same family as the difference test, and the smallest margin within which these
    seeds show equivalence at the level of Holm's first step (alpha / family)."""

    margin: float
    p_tost: float
    p_tost_holm: float
    equivalence_reach: float


def tost_p(a: Sequence[float], b: Sequence[float], margin: float) -> float:
    """The larger of the two one-sided Welch p-values that mean(a) - mean(b) lies above
    -margin and below +margin (statsmodels' ``ttost_ind`` with unequal variances)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return math.nan
    p_value, _, _ = ttost_ind(x, y, -margin, margin, usevar="unequal")
    return float(p_value)


def reach(a: Sequence[float], b: Sequence[float], family: int) -> float:
    """The smallest margin that the two one-sided tests at alpha / family would show the
    difference within: the farther end of Welch's 1 - 2 alpha / family interval."""
    level = stats.ALPHA / family
    interval = stats.welch(a, b, confidence=1 - 2 * level).difference
    return max(abs(interval.low), abs(interval.high))


def equivalence(
    a: Sequence[float], b: Sequence[float], p_tost_holm: float, family: int, margin: float
) -> Equivalence:
    return Equivalence(margin, tost_p(a, b, margin), p_tost_holm, reach(a, b, family))


def seeds_for_difference(sd: float, difference: float, alpha: float) -> int:
    """Seeds an arm (equal arms) for a two-sided t-test at ``alpha`` to find a true
    ``difference`` with power stats.POWER, at spread ``sd``: ``TTestIndPower``, the pooled
    (Student) test's power, which Welch's matches at equal arms and spreads."""
    if not (sd > 0 and difference > 0):
        return 2
    needed = TTestIndPower().solve_power(
        effect_size=difference / sd, alpha=alpha, power=stats.POWER, ratio=1.0
    )
    return max(2, math.ceil(float(needed)))


def tost_power(n: int, sd: float, margin: float, alpha: float) -> float:
    """The power of the two one-sided tests at ``alpha`` with ``n`` seeds an arm when the
    true difference is 0: 2 F(margin / se - t_crit) - 1 with Student's t of 2n - 2 degrees
    of freedom (the usual closed form, e.g. Chow, Shao & Wang 2008, ch. 3)."""
    dof = 2 * n - 2
    se = sd * math.sqrt(2 / n)
    critical = scipy_stats.t.ppf(1 - alpha, dof)
    return max(0.0, 2 * float(scipy_stats.t.cdf(margin / se - critical, dof)) - 1)


def seeds_for_equivalence(sd: float, margin: float, alpha: float) -> int:
    """The fewest seeds an arm with which the two one-sided tests at ``alpha`` show a true
    difference of 0 within ``margin`` with power stats.POWER; MAX_SEEDS + 1 if more."""
    if not sd > 0:
        return 2
    for n in range(2, MAX_SEEDS + 1):
        if tost_power(n, sd, margin, alpha) >= stats.POWER:
            return n
    return MAX_SEEDS + 1


@dataclass(frozen=True)
class Plan:
    """From a row's seeds as a pilot: their pooled spread, and the seeds an arm that a
    study at the family's level (alpha / family) would need to find a true difference of
    ``plan_difference`` with power stats.POWER, and to show a true difference of 0 within
    the margin with that power."""

    pilot_sd: float
    plan_difference: float
    seeds_to_detect: int
    seeds_for_equivalence: int


def plan(
    a: Sequence[float], b: Sequence[float], family: int, margin: float, difference: float
) -> Plan:
    sd = stats.pooled_sd(a, b)
    level = stats.ALPHA / family
    return Plan(
        sd,
        difference,
        seeds_for_difference(sd, difference, level),
        seeds_for_equivalence(sd, margin, level),
    )
