"""Races between workers on one tracking store: a parent run another worker ended, a dataset
row or a model alias another process inserted first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Compose, tiny_overrides

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


def test_a_worker_starting_a_trial_marks_a_parent_ended_by_another_running_again(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    from mnist_reg.config.stores import tracking_uri
    from mnist_reg.tracking.runs import Tracker

    mlflow_cfg = compose_cfg(*tiny_overrides(tmp_path)).mlflow
    tracker = Tracker(tracking_uri(mlflow_cfg), mlflow_cfg)
    with tracker.sweep_run("study", "dropout", None, {}, {}, "") as parent_run_id:
        tracker.client.set_terminated(parent_run_id)  # another worker's end, between trials
        with tracker.trial_run(0, {}):
            assert tracker.client.get_run(parent_run_id).info.status == "RUNNING"
    assert tracker.client.get_run(parent_run_id).info.status == "FINISHED"


def test_a_dataset_row_another_worker_just_inserted_is_not_a_failed_trial(
    compose_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers' first trials log the same dataset at once; MLflow's get-or-create is
    not atomic, and the loser's insert fails. Seen with 2 workers on a fresh store."""
    import mlflow
    import numpy as np
    from mlflow.exceptions import MlflowException

    from mnist_reg.config.stores import tracking_uri
    from mnist_reg.tracking.runs import Tracker

    cfg = compose_cfg("+technique=dropout", *tiny_overrides(tmp_path))
    tracker = Tracker(tracking_uri(cfg.mlflow), cfg.mlflow)
    images, labels = np.zeros((4, 28, 28, 1), np.float32), np.arange(4, dtype=np.int32)
    splits = [(context, images, labels) for context in ("training", "validation", "test")]
    real_log_input = mlflow.log_input
    raced: list[str] = []

    def loses_the_race_once(dataset: object, context: str | None = None, **kw: object) -> None:
        if context not in raced:
            raced.append(str(context))
            raise MlflowException(
                "(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, "
                "datasets.name, datasets.digest"
            )
        real_log_input(dataset, context=context, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(mlflow, "log_input", loses_the_race_once)
    with mlflow.start_run(experiment_id=tracker.experiment_id) as run:
        tracker.log_datasets(splits, "mnist")
    inputs = mlflow.MlflowClient(tracker.uri).get_run(run.info.run_id).inputs
    assert inputs is not None
    assert sorted(d.dataset.name for d in inputs.dataset_inputs) == [
        "mnist-test",
        "mnist-training",
        "mnist-validation",
    ]
    assert raced == ["training", "validation", "test"]


def test_an_alias_another_process_just_created_is_moved_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process outside the worker lock (a Keras Tuner sweep beside an Optuna one) can set
    the ``champion`` alias between MLflow's lookup and its insert."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from mnist_reg.tracking import registry

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    client.create_registered_model("mnist-cnn")
    for _ in range(2):
        client.create_model_version("mnist-cnn", f"{tmp_path.as_uri()}/model")
    real_set = MlflowClient.set_registered_model_alias
    raced: list[str] = []

    def loses_the_race_once(self: MlflowClient, name: str, alias: str, version: str) -> None:
        if not raced:
            raced.append(alias)
            real_set(self, name, alias, "1")  # the other process's insert lands first
            raise MlflowException(
                "(sqlite3.IntegrityError) UNIQUE constraint failed: "
                "registered_model_aliases.workspace, registered_model_aliases.name, "
                "registered_model_aliases.alias"
            )
        real_set(self, name, alias, version)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", loses_the_race_once)
    registry.set_alias(client, "mnist-cnn", registry.CHAMPION, "2")
    assert raced == [registry.CHAMPION]
    assert str(client.get_model_version_by_alias("mnist-cnn", registry.CHAMPION).version) == "2"
