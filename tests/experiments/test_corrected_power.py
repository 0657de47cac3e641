"""experiments/corrected_power.py: old reports' detectable differences at the Holm level."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pandas as pd
import pytest
from statsmodels.stats.power import TTestIndPower

from tests.conftest import REPO


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "corrected_power", REPO / "experiments" / "corrected_power.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corrected_power"] = module
    spec.loader.exec_module(module)
    return module


def test_fixed_input_against_statsmodels_at_alpha_over_the_family() -> None:
    comparison = pd.DataFrame(
        {
            "study": ["base", "a", "b", "c"],
            "baseline": [None, "base", "base", "base"],
            "repeats": [5, 5, 4, 6],
            "test_sd": [0.001, 0.002, 0.0015, 0.001],
            "mdd": [None, 0.0, 0.0, 0.0],
            "p_holm": [None, 0.5, 0.04, None],  # c untested: the family is 2
        }
    )
    table = script().corrected(comparison).set_index("study")
    assert list(table.index) == ["a", "b"] and set(table["family"]) == {2}
    pooled = ((4 * 0.001**2 + 3 * 0.0015**2) / 7) ** 0.5
    d = TTestIndPower().solve_power(nobs1=5, alpha=0.025, power=0.8, ratio=4 / 5)
    assert table.at["b", "corrected"] == pytest.approx(100 * d * pooled, rel=1e-6)
    assert table.at["b", "plain"] < table.at["b", "corrected"]


def test_the_article_report_reads_back_as_printed_and_grows_at_its_holm_level() -> None:
    comparison = pd.read_csv(REPO / "experiments" / "article" / "comparison.csv")
    table = script().corrected(comparison).set_index("study")
    assert (table["plain"] - table["printed"]).abs().max() < 0.01  # the inputs as it used them
    assert table.at["article-dropout", "corrected"] == pytest.approx(0.25, abs=0.005)
