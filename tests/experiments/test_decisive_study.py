"""The decisive study: each arm's space composes and validates (every arm, the baseline
included, searches the learning rate and its schedule), and its runner (the budget study's,
shared) end to end on tiny data trains seeds round-robin, reports a decision per row, logs
the comparison to MLflow, registers its best model, and a re-run trains nothing it already
has."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from mnist_reg.config.validation import config_errors
from tests.conftest import REPO, Compose

ARMS = ["baseline", "dropout", "l2", "weight_decay", "label_smoothing", "augmentation", "combined"]
SEARCH_PATH = f"hydra.searchpath=[file://{REPO / 'experiments'}]"
SCHEDULES = {"train.learning_rate", "train.lr_schedule", "train.warmup_epochs"}


@pytest.mark.parametrize("arm", ARMS)
def test_every_arm_searches_its_technique_and_the_schedule(compose_cfg: Compose, arm: str) -> None:
    cfg = compose_cfg(SEARCH_PATH, f"+decisive={arm}")
    assert config_errors(cfg) == []
    assert cfg.technique.name == arm
    assert not cfg.technique.early_stopping.enabled  # one training length for every arm
    paths = {spec.path for spec in cfg.technique.search_space.values()}
    assert paths >= SCHEDULES
    alone = compose_cfg(f"+technique={arm}").technique.search_space
    # the project's combined also stops early; here every arm trains the one length
    own = {spec.path for spec in alone.values() if "early_stopping" not in spec.path}
    assert own <= paths


def test_combined_holds_every_regularizer_and_the_mild_augmentation(compose_cfg: Compose) -> None:
    space = compose_cfg(SEARCH_PATH, "+decisive=combined").technique.search_space
    paths = {spec.path for spec in space.values()}
    for key in ("l2.weight", "dropout.rate", "weight_decay.coefficient", "label_smoothing.amount"):
        assert f"technique.{key}" in paths
    assert space["rotation_degrees"].high == 15.0 and space["shear"].high == 0.15
    assert not any(path.startswith("technique.early_stopping") for path in paths)


TRAINED = ("sweep", "trial", "repeat")  # run types that trained
TINY = ["data.train_size=300", "data.val_size=200", "data.test_size=200", "train.batch_size=64"]


def study(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "experiments/decisive/decisive.py",
        f"--folder={tmp_path / 'study'}",
        f"--store={tmp_path / 'store'}",
        "--arms",
        "baseline",
        "label_smoothing",
        "--epochs=2",
        "--seeds=2",
        "--best-seeds=2",
        *TINY,
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.usefixtures("mnist_available")
def test_the_study_runs_round_robin_decides_each_row_and_resumes(tmp_path: Path) -> None:
    study(tmp_path)
    folder = tmp_path / "study"
    tuning = pd.read_csv(folder / "tuning.csv")
    assert list(tuning["study"]) == ["decisive-baseline-e2", "decisive-label_smoothing-e2"]
    assert (tuning["epochs_spent"] <= 6).all()  # 3 x the length, the same for both
    assert all("train.lr_schedule" in values for values in tuning["values"])
    seeds = pd.read_csv(folder / "seeds.csv")
    # round-robin: each seed for every arm before the next seed
    assert list(zip(seeds["seed"], seeds["technique"], strict=True)) == [
        (1000, "baseline"),
        (1000, "label_smoothing"),
        (1001, "baseline"),
        (1001, "label_smoothing"),
    ]
    report = (folder / "report.md").read_text()
    assert report.startswith("# A decisive answer")
    assert "**Each technique against the baseline (Holm-corrected over every row):** " in report
    table = pd.read_csv(folder / "comparison" / "comparison.csv").set_index("study")
    row = table.loc["decisive-label_smoothing-e2"]
    assert row["margin"] == pytest.approx(0.001)  # the study's +-0.10 points
    assert f"label_smoothing: {row['verdict']}" in report
    assert (folder / "decisive.png").exists()
    registered = json.loads((folder / "best" / "registered.json").read_text())
    assert registered["model"] == "models:/mnist-cnn@decisive-study-best"
    best = pd.read_csv(folder / "best" / "seeds.csv")
    assert list(best["seed"]) == registered["chosen_among"] == [2000, 2001]
    assert registered["val_accuracy"] == best["val_accuracy"].max()
    means = seeds.groupby("study")["val_accuracy"].mean()  # the best arm: by validation
    assert best["technique"].unique().tolist() == [str(means.idxmax()).split("-")[1]]
    client = MlflowClient(f"sqlite:///{tmp_path / 'store'}/mlflow.db")
    assert (
        client.get_model_version_by_alias("mnist-cnn", "decisive-study-best").tags["seeds"] == "2"
    )
    experiment = client.get_experiment_by_name("decisive")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    trained = sum(r.data.tags.get("run_type") in TRAINED for r in runs)
    # the report's comparison, one nested run per row, is where MLflow users look
    (comparison,) = [r for r in runs if r.data.tags.get("run_type") == "comparison"]
    rows = {r.info.run_name: r for r in runs if r.data.tags.get("run_type") == "compared_study"}
    assert set(rows) == set(table.index)
    for name, run in rows.items():
        assert run.data.tags["mlflow.parentRunId"] == comparison.info.run_id
        assert run.data.metrics["test_mean"] == pytest.approx(
            100 * float(str(table.at[name, "test_mean"])), abs=1e-4
        )

    # a re-run whose last step never finished registers without training anything again
    client.delete_registered_model("mnist-cnn")
    (folder / "best" / "registered.json").unlink()
    again = study(tmp_path)
    assert "+ -m mnist_reg." not in again.stdout  # every search and seed was recorded
    assert (
        client.get_model_version_by_alias("mnist-cnn", "decisive-study-best").tags["seeds"] == "2"
    )
    assert (folder / "best" / "registered.json").exists()
    again_runs = client.search_runs([experiment.experiment_id])
    assert sum(r.data.tags.get("run_type") in TRAINED for r in again_runs) == trained
