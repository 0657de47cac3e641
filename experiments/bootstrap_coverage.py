"""How many seeds an arm the resampling views of a difference need before they can be shown:
the coverage of compare's stratified percentile bootstrap interval, by simulation.

    python experiments/bootstrap_coverage.py   # writes experiments/bootstrap_coverage.md

Decided before the first run (2026-12-07), not changed after:

- Model: each arm's seeds are normal with the same spread (the SD does not matter: the
  percentile interval scales with it), equal arms of n = 2 to 15 seeds, no true difference.
- Interval: ``mnist_reg.analysis.uncertainty.bootstrap_difference``, the one compare reports
  (10,000 resamples of each arm, percentile, nominal 95%), each simulated study with its own
  data and the function's fixed resampling seed, as compare runs it.
- Estimator: the fraction of STUDIES simulated studies whose interval holds the true
  difference (0), per n, with its binomial 95% interval; the same for Welch's t interval as
  a reference (its coverage is 95% by construction when the spreads are equal).
- Criterion: the resampling views are shown from the smallest n at which the bootstrap's
  coverage is at least 0.90 and stays so for every larger n simulated; below it compare
  withholds them (``analysis.uncertainty.MIN_RESAMPLING_SEEDS``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from mnist_reg.analysis import stats, uncertainty

SEEDS = range(2, 16)
STUDIES = 1000
THRESHOLD = 0.90
OUT = Path(__file__).with_suffix(".md")


def coverage(n: int, rng: np.random.Generator) -> tuple[float, float]:
    """The bootstrap's and Welch's coverage of the true difference at n seeds an arm."""
    boot = welch = 0
    for _ in range(STUDIES):
        a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
        interval = uncertainty.bootstrap_difference(a.tolist(), b.tolist())
        boot += interval.low <= 0 <= interval.high
        reference = stats.welch(a.tolist(), b.tolist()).difference
        welch += reference.low <= 0 <= reference.high
    return boot / STUDIES, welch / STUDIES


def binomial(p: float) -> str:
    low, high = scipy_stats.binomtest(round(p * STUDIES), STUDIES).proportion_ci()
    return f"{p:.3f} [{low:.3f}, {high:.3f}]"


def main() -> None:
    rng = np.random.default_rng(20261207)
    rows = [(n, *coverage(n, rng)) for n in SEEDS]
    enough = [n for n, boot, _ in rows if all(b >= THRESHOLD for m, b, _ in rows if m >= n)]
    first = min(enough) if enough else math.inf
    lines = [
        "# Coverage of the stratified bootstrap interval at few seeds",
        "",
        "`python experiments/bootstrap_coverage.py`: plan, estimator and criterion in its "
        f"docstring. {STUDIES} simulated studies per seed count, normal seeds, equal arms, "
        "no true difference; each interval as `compare` computes it.",
        "",
        "| seeds an arm | bootstrap 95% interval: coverage [95% CI] | Welch 95% interval |",
        "|---|---|---|",
        *(f"| {n} | {binomial(boot)} | {binomial(welch)} |" for n, boot, welch in rows),
        "",
        f"**Criterion (coverage at least {THRESHOLD:.2f} from there on): {first} seeds an "
        "arm.** Below that, `compare` withholds the bootstrap interval, the probability of "
        "improvement and the interval over seeds and test images (docs/methods.md).",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
