"""The training-budget study's runner end to end on tiny data: it tunes, repeats, picks and
registers the best model, writes its report from the committed files, and a re-run trains
nothing it already has."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.usefixtures("mnist_available")]

TINY = ["data.train_size=300", "data.val_size=200", "data.test_size=200", "train.batch_size=64"]


def study(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "experiments/budget/run.py",
        f"--folder={tmp_path / 'study'}",
        f"--store={tmp_path / 'store'}",
        "--techniques",
        "baseline",
        "dropout",
        "--budgets",
        "2",
        "--seeds",
        "2",
        *TINY,
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_study_runs_resumes_and_reports(tmp_path: Path) -> None:
    study(tmp_path)
    folder = tmp_path / "study"
    tuning = pd.read_csv(folder / "tuning.csv")
    assert sorted(tuning["study"]) == ["budget-baseline-e2", "budget-dropout-e2"]
    assert (tuning["epochs_spent"] <= 6).all()  # 3 x the cell's length
    assert "train.learning_rate" in str(
        tuning.set_index("study").at["budget-baseline-e2", "values"]
    )
    seeds = pd.read_csv(folder / "seeds.csv")
    per_study = seeds.groupby("study")["seed"].apply(sorted).to_dict()
    assert per_study == {
        "budget-baseline-e2": [1000, 1001, 1002, 1003],  # the longest baseline: headline seeds
        "budget-dropout-e2": [1000, 1001],
    }
    assert (seeds["split_seed"] == seeds["seed"]).all()  # each seed drew its own split
    assert (seeds["train_epochs"] == 2).all()
    best = pd.read_csv(folder / "best" / "seeds.csv")
    assert list(best["seed"]) == [2000, 2001, 2002, 2003]
    shared = seeds[seeds["seed"].isin([1000, 1001])]  # like for like: the seeds both cells have
    means = shared.groupby("study")["val_accuracy"].mean()
    assert best["study"].unique().tolist() == ["budget-best"]
    assert best["technique"].iloc[0] == str(means.idxmax()).split("-")[1]
    registered = json.loads((folder / "best" / "registered.json").read_text())
    assert registered["chosen_among"] == [2000, 2001, 2002, 2003]
    assert registered["val_accuracy"] == best["val_accuracy"].max()
    report = (folder / "report.md").read_text()
    assert "Each technique against the baseline (Holm-corrected over every row)" in report
    assert "| 2 | dropout | 2 |" in report
    best_section = report.split("## The best model")[1]
    assert f"{means.idxmax()} (" in best_section and "train.learning_rate=" in best_section
    assert f"`models:/mnist-cnn@budget-study-best` (version {registered['version']})" in report
    assert (folder / "budget.png").exists() and (folder / "comparison" / "report.md").exists()
    client = MlflowClient(f"sqlite:///{tmp_path / 'store'}/mlflow.db")
    version = client.get_model_version_by_alias("mnist-cnn", "budget-study-best")
    assert version.tags["seeds"] == "4"
    experiment = client.get_experiment_by_name("budget")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    trained = [r for r in runs if r.data.tags.get("run_type") in ("sweep", "trial", "repeat")]
    # the report's comparison, one row per cell, is where MLflow users look
    (comparison,) = [r for r in runs if r.data.tags.get("run_type") == "comparison"]
    rows = {r.info.run_name: r for r in runs if r.data.tags.get("run_type") == "compared_study"}
    table = pd.read_csv(folder / "comparison" / "comparison.csv").set_index("study")
    assert set(rows) == set(table.index) == {"budget-baseline-e2", "budget-dropout-e2"}
    for name, row in rows.items():
        assert row.data.tags["mlflow.parentRunId"] == comparison.info.run_id
        assert row.data.metrics["test_mean"] == pytest.approx(
            100 * table["test_mean"].astype(float).to_dict()[name], abs=1e-4
        )

    # a re-run whose last step never finished registers without training or querying first
    client.delete_registered_model("mnist-cnn")
    (folder / "best" / "registered.json").unlink()
    again = study(tmp_path)
    assert client.get_model_version_by_alias("mnist-cnn", "budget-study-best").tags["seeds"] == "4"
    assert (folder / "best" / "registered.json").exists()
    assert "+ -m mnist_reg." not in again.stdout  # no search, no repeat: all were recorded
    runs = client.search_runs([experiment.experiment_id])
    assert sum(r.data.tags.get("run_type") in ("sweep", "trial", "repeat") for r in runs) == len(
        trained
    )
