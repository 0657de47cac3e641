"""What ``compare`` logs to MLflow: one row per study, in percent and points."""

from __future__ import annotations

import pandas as pd
import pytest


def test_mlflow_rows_are_in_percent_and_points_and_keep_counts_whole() -> None:
    from mnist_reg.analysis.report import mlflow_rows

    table = pd.DataFrame(
        [
            {
                "study": "s",
                "technique": "l2",
                "verdict": "baseline",
                "test_mean": 0.990712,
                "diff": -0.0017,
                "p_holm": 0.0123456,
                "epochs_budget": 12345.0,
                "repeats": 5.0,
                "p_tost_holm": 0.0412345,
                "equivalence_reach": 0.00087654,
                "seeds_for_equivalence": 31.0,
            }
        ]
    )
    ((_, tags, metrics),) = mlflow_rows(table)
    assert metrics["test_mean"] == 99.0712 and metrics["diff"] == pytest.approx(-0.17)
    assert metrics["p_holm"] == 0.01235
    assert metrics["epochs_budget"] == 12345 and metrics["repeats"] == 5  # not 1.234e4
    assert tags["verdict"] == "baseline"
    # the equivalence test and the plan, as the report shows them
    assert metrics["p_tost_holm"] == 0.04123
    assert metrics["equivalence_reach"] == pytest.approx(0.0877)
    assert metrics["seeds_for_equivalence"] == 31
