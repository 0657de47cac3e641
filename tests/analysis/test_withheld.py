"""Resampling views at too few seeds: withheld, and marked, wherever they would show; the
threshold is the one the coverage simulation found."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mnist_reg.analysis import tables, uncertainty
from mnist_reg.analysis.comparison import compare_runs
from mnist_reg.analysis.report import mlflow_rows
from mnist_reg.config.schema import CompareConfig
from tests.analysis.test_comparison import repeats
from tests.conftest import REPO


def table_of(seeds: int) -> pd.DataFrame:
    base = [0.9890, 0.9894, 0.9885, 0.9901, 0.9889, 0.9893, 0.9887, 0.9899][:seeds]
    ours = [0.9912, 0.9905, 0.9921, 0.9899, 0.9910, 0.9915, 0.9902, 0.9908][:seeds]
    runs = pd.DataFrame(
        repeats("mnist-baseline", "baseline", base, 55000)
        + repeats("mnist-dropout", "dropout", ours, 55000)
    )
    rng = np.random.default_rng(1)
    correct = {run: rng.random(500) < 0.99 for run in runs["run_id"]}
    return compare_runs(runs, CompareConfig(), lambda ids: {r: correct[r] for r in ids}).table


def test_two_seeds_an_arm_show_no_resampling_view_without_a_mark(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = table_of(2)
    section = "\n".join(tables.tests_section(table))
    row = next(line for line in section.splitlines() if line.startswith("| mnist-dropout"))
    # the bootstrap interval, P(improvement), the interval over seeds and test images
    assert row.count("withheld*") == 3
    assert "*withheld: fewer than 6 seeds in an arm" in section
    studies = "\n".join(tables.repeats_section(table))
    assert studies.count("withheld*") == 2 and "*withheld: fewer than 6" in studies
    ((_, _, metrics),) = [r for r in mlflow_rows(table) if r[0] == "mnist-dropout"]
    assert "p_improvement" not in metrics and "test_nested_low" not in metrics
    assert "diff" in metrics
    dropout = table.set_index("study").loc["mnist-dropout"]
    assert dropout["verdict"].startswith("not distinguishable")  # the t-based verdict stands

    from mnist_reg.analysis.comparison import Comparison

    tables.print_table(Comparison(table))
    printed = capsys.readouterr().out
    assert "withheld*" in printed and "*withheld: fewer than 6 seeds" in printed


def test_enough_seeds_show_them() -> None:
    table = table_of(uncertainty.MIN_RESAMPLING_SEEDS)
    section = "\n".join(tables.tests_section(table))
    assert "withheld" not in section
    ((_, _, metrics),) = [r for r in mlflow_rows(table) if r[0] == "mnist-dropout"]
    assert "p_improvement" in metrics


def test_the_threshold_is_the_coverage_simulations() -> None:
    text = (REPO / "experiments" / "bootstrap_coverage.md").read_text()
    found = re.search(
        r"\*\*Criterion \(coverage at least 0\.90 from there on\): (\d+) seeds", text
    )
    assert found is not None
    assert int(found[1]) == uncertainty.MIN_RESAMPLING_SEEDS
