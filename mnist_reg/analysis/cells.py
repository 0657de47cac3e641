"""How the comparison's tables write a cell: accuracies in %, differences in signed points,
intervals in brackets, and an empty cell where a row has no value."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mnist_reg.analysis.uncertainty import MIN_RESAMPLING_SEEDS

WITHHELD = "withheld*"  # a resampling view at too few seeds; the table's note says why
WITHHELD_NOTE = (
    f"*withheld: fewer than {MIN_RESAMPLING_SEEDS} seeds in an arm, where a nominal 95% "
    "bootstrap interval covers the truth in under 90% of simulated studies "
    "(experiments/bootstrap_coverage.md); the verdict is Welch's t-test."
)


def get(row: pd.Series, key: str) -> Any:
    """The row's value under ``key``, or None where the table has no such column."""
    return row[key] if key in row.index else None


def pct(value: Any, digits: int = 2) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.{digits}f}"


def num(value: Any, digits: int = 3) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.{digits}g}"


def points(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):+.2f}"


def _with_interval(mean: Any, low: Any, high: Any, spec: str, unit: str = "") -> str:
    """``mean`` in % (format ``spec``) and, where it has one, its interval in brackets."""
    if mean is None or pd.isna(mean):
        return ""
    text = f"{100 * float(mean):{spec}}{unit}"
    if pd.notna(low):
        text += f" [{100 * float(low):{spec}}, {100 * float(high):{spec}}]"
    return text


def interval(mean: Any, low: Any, high: Any, signed: bool = False) -> str:
    return _with_interval(mean, low, high, "+.2f" if signed else ".2f")


def chance(mean: Any, low: Any, high: Any) -> str:
    return _with_interval(mean, low, high, ".0f", unit="%")


def pair(row: pd.Series, prefix: str) -> str:
    """The row's ``{prefix}_low`` and ``{prefix}_high`` as an interval in signed points."""
    low, high = get(row, f"{prefix}_low"), get(row, f"{prefix}_high")
    if low is None or pd.isna(low):
        return ""
    return f"[{points(low)}, {points(high)}]"


def resampled(row: pd.Series, seeds_key: str = "fewest_seeds") -> bool:
    """Whether the row has the seeds its resampling views need to be shown."""
    seeds = get(row, seeds_key)
    return seeds is None or pd.isna(seeds) or seeds >= MIN_RESAMPLING_SEEDS
