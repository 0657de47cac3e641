"""The budget study's cost: a search resumed in a later sitting is not charged the gap."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

BUDGET = Path(__file__).parent.parent / "experiments" / "budget"


@pytest.fixture(scope="module")
def runner() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BUDGET))
    try:
        yield importlib.import_module("run")
    finally:
        sys.path.remove(str(BUDGET))


def times(*minutes: float) -> pd.Series:
    return pd.Series(pd.Timestamp("2026-12-05 20:00", tz="UTC") + pd.to_timedelta(minutes, "min"))


def test_a_search_in_one_go_costs_first_start_to_last_end(runner: ModuleType) -> None:
    starts, ends = times(0, 5.1, 10.2), times(5, 10, 15)  # a few seconds between trials
    assert runner.search_wall_seconds(starts, ends) == pytest.approx(15 * 60)


def test_a_pause_between_sittings_is_not_charged(runner: ModuleType) -> None:
    # trial 2 was cut off at 22 min; the search resumed 30 minutes later, trials in any order
    starts, ends = times(52, 0, 10), times(60, 10, 22)
    assert runner.search_wall_seconds(starts, ends) == pytest.approx((22 + 8) * 60)


def test_paths_are_taken_from_where_the_command_runs(
    runner: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the searches run from the repository's root, so the
    plan = runner.parse(["--store", "store", "--folder", "out"])  # parent must agree
    assert plan.store == str(tmp_path / "store") and plan.folder == tmp_path / "out"
    assert runner.parse([]).store == str(BUDGET.parent.parent / "mlruns" / "budget")
    assert plan.tracking == f"sqlite:///{tmp_path}/store/mlflow.db"
