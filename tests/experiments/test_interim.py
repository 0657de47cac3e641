"""A study's report before its planned seeds are in: statistics shown, no verdict decides."""

from __future__ import annotations

from types import ModuleType

import pandas as pd


def table(baseline_seeds: int, dropout_seeds: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "technique": ["baseline", "dropout", "l2"],
            "train_epochs": [27, 27, 27],
            "repeats": [baseline_seeds, dropout_seeds, 16],
            "verdict": ["baseline", "better than baseline", "equivalent to baseline"],
        }
    )


def test_a_row_short_of_its_seeds_decides_nothing(report: ModuleType) -> None:
    marked = report.interim(table(16, 9), planned_seeds=16)
    assert list(marked["verdict"]) == [
        "baseline",
        "interim, 9 of 16 seeds (not a decision; so far: better than baseline)",
        "equivalent to baseline",
    ]
    assert report.first_better(marked) == {
        "dropout": "none (tested at 27 epochs)",
        "l2": ("none (tested at 27 epochs)"),
    }


def test_a_short_baseline_makes_every_row_interim(report: ModuleType) -> None:
    marked = report.interim(table(12, 16), planned_seeds=16)
    assert [v.split(" (")[0] for v in marked["verdict"]] == [
        "baseline",
        "interim, 12 of 16 seeds",
        "interim, 12 of 16 seeds",
    ]


def test_without_a_plan_or_at_the_planned_seeds_verdicts_stand(report: ModuleType) -> None:
    assert report.interim(table(5, 5), planned_seeds=None).equals(table(5, 5))
    assert report.interim(table(16, 16), planned_seeds=16).equals(table(16, 16))
