"""The budget study's cost: a search resumed in a later sitting is not charged the gap."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from mnist_reg.analysis import seed_files, uncertainty
from tests.conftest import REPO

BUDGET = REPO / "experiments" / "budget"


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


def test_a_best_model_with_seeds_still_missing_is_reported_as_unfinished(
    runner: ModuleType, tmp_path: Path
) -> None:
    report = importlib.import_module("report")
    seeds = pd.DataFrame(
        {"study": ["a", "a", "b", "b"], "seed": [1, 2, 1, 2], "val_accuracy": [0.9, 0.9, 1, 1]}
    )
    tuning = pd.DataFrame({"values": ['{"train.learning_rate": "0.001"}']}, index=["b"])
    (tmp_path / "best").mkdir()
    best = pd.DataFrame({"seed": [2000, 2001, 2002], "test_accuracy": [0.9925, 0.9931, 0.994]})
    best.to_csv(tmp_path / "best" / "seeds.csv", index=False)
    text = "\n".join(report.best_model_lines(tmp_path, tuning, seeds, planned=10))
    assert "3 of its 10 fresh seeds so far" in text and "99.25, 99.31, 99.40" in text
    assert "Not registered" not in text and "t-test" not in text  # no verdict from part
    best.iloc[:2].to_csv(tmp_path / "best" / "seeds.csv", index=False)
    text = "\n".join(report.best_model_lines(tmp_path, tuning, seeds, planned=2))
    assert "retrained with 2 fresh seeds" in text and "t-test" in text
    assert "Not registered: the seeds' models are not in the store" in text


def test_the_best_models_interval_also_covers_the_test_images(
    runner: ModuleType, tmp_path: Path
) -> None:
    report = importlib.import_module("report")
    seeds = pd.DataFrame({"study": ["b", "b"], "seed": [1, 2], "val_accuracy": [1, 1]})
    tuning = pd.DataFrame({"values": ["{}"]}, index=["b"])
    rng = np.random.default_rng(0)
    correct = {f"r{i}": rng.random(2_000) < 0.99 for i in range(4)}
    best = pd.DataFrame(
        {
            "seed": [2000, 2001, 2002, 2003],
            "run_id": list(correct),
            "test_accuracy": [float(c.mean()) for c in correct.values()],
        }
    )
    (tmp_path / "best").mkdir()
    best.to_csv(tmp_path / "best" / "seeds.csv", index=False)
    without = "\n".join(report.best_model_lines(tmp_path, tuning, seeds, planned=4))
    seed_files.write(tmp_path / "best", best, correct)
    text = "\n".join(report.best_model_lines(tmp_path, tuning, seeds, planned=4))
    (nested,) = uncertainty.nested_bootstrap(np.stack(list(correct.values())))
    assert f"[{100 * nested.low:.2f}, {100 * nested.high:.2f}]" in text
    assert "test images" in text and "test images" not in without
    assert nested.high - nested.low > 0.005  # 2,000 images: wider than the seeds' spread
