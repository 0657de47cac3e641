"""Scale out: Optuna's RDB storage on PostgreSQL and an MLflow tracking server over PostgreSQL.

Run by ``nox -s scale_out`` after ``bash .ci/postgres.sh`` (Debian's PostgreSQL on
127.0.0.1); ``$MNIST_REG_POSTGRES`` names a role that may create databases. Each test gets
two fresh databases (the study's and the tracking server's) and its own ``mlflow server``.
"""

from __future__ import annotations

import subprocess
import sys
import time

import optuna
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import TINY
from tests.servers import NoPostgres, Stores, fresh_databases
from tests.workers import check_shared_study, kill_mid_trial, run_workers

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


def test_two_workers_share_one_study_on_postgresql_and_a_tracking_server(
    stores: Stores,
) -> None:
    overrides = ["+technique=dropout", *stores.overrides(TINY), "sweep.n_trials=5"]
    for done in run_workers(2, overrides, stores.root):
        assert done.returncode == 0, done.stdout[-3000:]
        # MLflow prints two links per run ended through a server, one pair a trial: not here
        assert "View run" not in done.stdout and "View experiment" not in done.stdout
    check_shared_study(stores.storage, stores.tracking_uri, "mnist-dropout", 5, "mnist-reg")
    # The password never lands in MLflow: the parent run's storage tag is masked.
    client = MlflowClient(stores.tracking_uri)
    parent = client.search_runs(
        [client.get_experiment_by_name("mnist-reg").experiment_id],  # type: ignore[union-attr]
        filter_string="tags.run_type = 'sweep'",
    )[0]
    assert "mnist_reg:mnist_reg@" not in str(parent.data.tags) + str(parent.data.params)
    assert "sweep.storage" in parent.data.tags and "***" in parent.data.tags["sweep.storage"]
    # Artifacts went through the server, not to a path the workers chose.
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "sweep_config.yaml" in artifacts
    assert any((stores.root / "served-artifacts").rglob("sweep_config.yaml"))


def test_killed_workers_trial_resumes_by_the_heartbeat_on_postgresql(stores: Stores) -> None:
    command = [
        sys.executable,
        "-m",
        "mnist_reg.sweep",
        "+technique=baseline",
        *stores.overrides(TINY),
        "sweep.heartbeat_interval=1",
        "sweep.grace_period=2",
        "train.epochs=8",
    ]
    kill_mid_trial(command, stores.root)
    time.sleep(3)  # past the grace period

    resumed = subprocess.run(command, cwd=stores.root, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    study = optuna.load_study(study_name="mnist-baseline", storage=stores.storage)
    # it had trained an epoch: its stale heartbeat puts it back to resume, not to FAIL
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    client = MlflowClient(stores.tracking_uri)
    experiment = client.get_experiment_by_name("mnist-reg")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if r.data.tags.get("run_type") == "trial"]
    killed = next(r for r in children if r.data.tags["trial_number"] == "0")
    assert killed.info.status == "FINISHED"
    assert killed.data.metrics["epochs_trained"] == 8
    assert sorted(r.info.status for r in children) == ["FINISHED", "FINISHED"]


def test_the_worker_lock_times_out_on_postgresql() -> None:
    from mnist_reg.search.locks import StorageLock
    from tests.workers import check_lock_timeout

    try:
        with fresh_databases("optuna") as (url,):
            check_lock_timeout(StorageLock(url), StorageLock(url))
    except NoPostgres as error:
        pytest.fail(str(error))
