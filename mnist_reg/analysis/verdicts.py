"""Each study's verdict against its baseline: Welch's t-test of the seed repeats' test
accuracies, Holm-corrected across the rows, with intervals that agree with the corrected
test, the smallest difference the corrected test could have detected, and the other views of
the same difference (paired, bootstrap, probability of improvement, test-image noise).

A row's verdict is a frozen record computed from its inputs; the verdict columns are built
once from the rows' records and set beside the table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from mnist_reg.analysis import equivalence, stats, uncertainty
from mnist_reg.analysis.differences import (
    Bootstrap,
    Corrected,
    Difference,
    DifferenceOverImages,
    PairedTest,
    StudyOverImages,
    WelchTest,
    corrected,
    difference,
    holm_level,
    test_accuracies,
)
from mnist_reg.analysis.equivalence import Equivalence, Plan
from mnist_reg.analysis.stats import Interval

NOT_DISTINGUISHABLE = "not distinguishable from baseline"
TEST_SET_NOISE = "within test-image noise"


@dataclass(frozen=True)
class BaselineChoice:
    """Which study each row is tested against: ``explicit`` where one is named, else the
    baseline study with repeats on the same data (with ``same_epochs``, trained as long);
    and the equivalence margin and planned difference every row is judged by (fractions)."""

    explicit: str | None = None
    same_epochs: bool = False
    margin: float = equivalence.DEFAULT_MARGIN
    plan_difference: float | None = None  # None: the margin


def _baseline_candidates(row: pd.Series, table: pd.DataFrame, choice: BaselineChoice) -> list[str]:
    """The studies this row may be tested against: the named one, else every baseline
    study with repeats on the same data (and, with ``same_epochs``, trained as long)."""
    if choice.explicit:
        return [choice.explicit] if choice.explicit != row["study"] else []
    if row["technique"] == "baseline":
        return []
    candidates = table[
        (table["technique"] == "baseline")
        & (table["dataset"] == row["dataset"])
        & (table["train_images"] == row["train_images"])
        & (table["repeats"] >= 2)
    ]
    if choice.same_epochs:
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


@dataclass(frozen=True)
class Verdict:
    """One row's verdict and the numbers behind it. A part is None where the row has none:
    its cells stay empty, and its columns are left out of a table where no row has it."""

    verdict: str
    baseline: str | None = None  # the study it was tested against
    over_images: StudyOverImages | None = None
    difference: Difference | None = None
    corrected: Corrected | None = None
    difference_over_images: DifferenceOverImages | None = None
    equivalent: Equivalence | None = None
    plan: Plan | None = None

    def cells(self) -> dict[str, Any]:
        """The row's cells: its verdict and baseline, then each part it has, by column."""
        cells: dict[str, Any] = {"baseline": self.baseline, "verdict": self.verdict}
        views = self.difference.views() if self.difference else ()
        parts = (self.corrected, self.difference_over_images, self.equivalent, self.plan)
        for part in (self.over_images, *views, *parts):
            if part is not None:
                cells |= asdict(part)
        return cells


TEXT_COLUMNS = ("baseline", "verdict")
PARTS = (
    StudyOverImages,
    WelchTest,
    PairedTest,
    Bootstrap,
    Corrected,
    DifferenceOverImages,
    Equivalence,
    Plan,
)
COLUMNS = (*TEXT_COLUMNS, *(field.name for part in PARTS for field in fields(part)))


@dataclass(frozen=True)
class Tested:
    """A row tested against its baseline, before Holm's correction across the rows."""

    study: str
    baseline: str
    ours: list[float]  # the repeats' test accuracies
    theirs: list[float]
    over_images: StudyOverImages | None
    difference: Difference


def with_verdicts(
    table: pd.DataFrame,
    seeds: pd.DataFrame,
    correct: dict[str, np.ndarray],
    choice: BaselineChoice,
) -> pd.DataFrame:
    """``table`` with each row's verdict columns beside it: Welch's t-test of its repeats
    against its baseline's, Holm-corrected, and the other views of each difference."""
    by_study = {str(s): g for s, g in seeds.groupby("study")} if not seeds.empty else {}
    matrices = {s: m for s, g in by_study.items() if (m := study_correct(g, correct)) is not None}
    tests = [_test(row, table, by_study, matrices, choice) for _, row in table.iterrows()]
    tested = [test for test in tests if isinstance(test, Tested)]
    p_holm = iter(stats.holm([test.difference.welch.p_welch for test in tested]))  # in row order
    p_tost = [equivalence.tost_p(test.ours, test.theirs, choice.margin) for test in tested]
    p_tost_holm = iter(stats.holm(p_tost))
    rows = [
        _holm_verdict(test, (next(p_holm), next(p_tost_holm)), len(tested), matrices, choice)
        if isinstance(test, Tested)
        else test
        for test in tests
    ]
    return pd.concat([table, verdict_columns(rows, table.index)], axis=1)


def _test(
    row: pd.Series,
    table: pd.DataFrame,
    by_study: Mapping[str, pd.DataFrame],
    matrices: Mapping[str, np.ndarray],
    choice: BaselineChoice,
) -> Verdict | Tested:
    """The row's test against its one baseline, or its verdict where it has none."""
    candidates = _baseline_candidates(row, table, choice)
    baseline = candidates[0] if len(candidates) == 1 else None
    ours, theirs = by_study.get(row["study"]), by_study.get(baseline or "")
    over_images = _study_over_images(matrices.get(str(row["study"])))
    if row["study"] == choice.explicit or (row["technique"] == "baseline" and not choice.explicit):
        untested = "baseline"
    elif ours is None or len(ours) < 2:
        untested = "no seed repeats: the best trial's test accuracy alone"
    elif baseline is None or theirs is None or len(theirs) < 2:
        untested = _untested(candidates)
    else:
        a, b = test_accuracies(ours), test_accuracies(theirs)
        return Tested(str(row["study"]), baseline, a, b, over_images, difference(ours, theirs))
    return Verdict(untested, over_images=over_images)


def _study_over_images(matrix: np.ndarray | None) -> StudyOverImages | None:
    """The study's mean test accuracy with an interval over seeds and test images."""
    if matrix is None:
        return None
    (nested,) = uncertainty.nested_bootstrap(matrix)
    return StudyOverImages(nested.low, nested.high)


def _holm_verdict(
    test: Tested,
    p_holm: tuple[float, float],
    family: int,
    matrices: Mapping[str, np.ndarray],
    choice: BaselineChoice,
) -> Verdict:
    """Holm's verdicts on the difference and on equivalence (``p_holm``: both adjusted
    p-values), with the intervals and the detectable difference at the level Holm's first
    step tests (alpha / family): a difference that interval excludes, Holm finds."""
    holm = corrected(test.ours, test.theirs, p_holm[0], family)
    same = equivalence.equivalence(test.ours, test.theirs, p_holm[1], family, choice.margin)
    planned = choice.plan_difference or choice.margin
    nested, nested_at_level = None, None
    if test.study in matrices and test.baseline in matrices:
        plain, nested_at_level = uncertainty.nested_bootstrap(
            matrices[test.study],
            matrices[test.baseline],
            confidence=(1 - stats.ALPHA, 1 - holm_level(family)),
        )
        nested = DifferenceOverImages(plain.low, plain.high)
    return Verdict(
        verdict=_holm_text(test.difference.welch.diff, holm, nested_at_level, same),
        baseline=test.baseline,
        over_images=test.over_images,
        difference=test.difference,
        corrected=holm,
        difference_over_images=nested,
        equivalent=same,
        plan=equivalence.plan(test.ours, test.theirs, family, choice.margin, planned),
    )


def _holm_text(
    diff: float, holm: Corrected, nested_at_level: Interval | None, same: Equivalence
) -> str:
    """The verdict in words: a difference shown, equivalence within the margin shown, or
    neither, with what the seeds could reach; ``nested_at_level``: the difference's interval
    over seeds and test images at Holm's level, where both studies logged per-image results."""
    level = f"alpha {stats.ALPHA:g}/{holm.family}"
    margin = f"+-{100 * same.margin:.2f} points"
    if not holm.p_holm < stats.ALPHA:
        if same.p_tost_holm < stats.ALPHA:
            return f"equivalent to baseline within {margin} (two one-sided tests, Holm)"
        return (
            f"{NOT_DISTINGUISHABLE} ({100 * stats.POWER:.0f}% power at {level} only for a "
            f"true difference of {100 * holm.mdd:.2f} points or more); not shown equivalent "
            f"within {margin} (these seeds show it within +-{100 * same.equivalence_reach:.2f}"
            f" at {level})"
        )
    if nested_at_level is not None and nested_at_level.low <= 0 <= nested_at_level.high:
        # the seeds agree, but on these 10,000 images only: a new test set could reverse it
        direction = "above" if diff > 0 else "below"
        return f"{direction} baseline on this test set, {TEST_SET_NOISE}"
    shown = "better than baseline" if diff > 0 else "worse than baseline"
    return shown + (f", by less than {margin}" if same.p_tost_holm < stats.ALPHA else "")


def verdict_columns(rows: list[Verdict], index: pd.Index) -> pd.DataFrame:
    """The rows' verdict columns, built once from their records: the ``COLUMNS`` some row
    has, in that order; text as objects (None where none), numbers as floats (NaN where
    none)."""
    frame = pd.DataFrame([row.cells() for row in rows], index=index, dtype=object)
    frame = frame[[column for column in COLUMNS if column in frame]]
    numbers = [column for column in frame.columns if column not in TEXT_COLUMNS]
    return frame.astype(dict.fromkeys(numbers, float))
