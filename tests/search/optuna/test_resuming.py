"""A trial that can resume (it has an epoch checkpoint) goes back to WAITING, and the next
``ask`` of any worker hands out the same trial number: after its own worker put it back,
after a kill -9 seen on this host, and after its heartbeat went stale (another host)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from mnist_reg.config.schema import Config
from mnist_reg.preemption import CHECKPOINT_STATE, EXIT_PREEMPTED
from mnist_reg.search.locks import StorageLock
from mnist_reg.search.optuna import resuming
from mnist_reg.search.optuna.study import fail_trials_of_gone_workers, open_study
from mnist_reg.search.optuna.workers import WORKER, own_running_trials
from tests.conftest import Compose, compose_config, tiny_overrides

WAITING, RUNNING, FAIL = (
    optuna.trial.TrialState.WAITING,
    optuna.trial.TrialState.RUNNING,
    optuna.trial.TrialState.FAIL,
)
GONE = f"{socket.gethostname()}:{2**22 + 1}:"  # a pid above pid_max: a process that is gone


def checkpointed(cfg: Config, number: int) -> None:
    folder = resuming.folder(cfg, number)
    folder.mkdir(parents=True)
    (folder / CHECKPOINT_STATE).write_text("{}")


def study_of(cfg: Config) -> optuna.Study:
    return open_study(cfg, StorageLock(str(cfg.sweep.storage)))


@pytest.fixture
def cfg(compose_cfg: Compose, tmp_path: Path) -> Config:
    return compose_cfg("+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=3")


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask() outside optimize
def test_a_trial_put_back_is_the_next_trial_asked_for(cfg: Config) -> None:
    study = study_of(cfg)
    first = study.ask()
    first.suggest_float("x", 0, 1)
    assert [t.number for t in own_running_trials(study)] == [0]
    assert resuming.put_back(study, study.trials[0])
    assert [t.state for t in study.trials] == [WAITING]
    again = study.ask()
    assert again.number == 0 and again.params == first.params  # its values, not new ones
    assert study.ask().number == 1


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
def test_a_gone_workers_trial_resumes_if_it_has_a_checkpoint_and_fails_if_not(
    cfg: Config,
) -> None:
    study = study_of(cfg)
    for _ in range(2):
        study.ask().set_user_attr(WORKER, GONE)
    checkpointed(cfg, 1)
    assert fail_trials_of_gone_workers(cfg, study) == 2
    assert [t.state for t in study.trials] == [FAIL, WAITING]
    assert study.ask().number == 1


def test_a_stale_trial_with_a_checkpoint_waits_instead_of_failing(cfg: Config) -> None:
    cfg.sweep.heartbeat_interval, cfg.sweep.grace_period = 1, 1
    study = study_of(cfg)
    storage = getattr(study._storage, "_backend", study._storage)  # Optuna's cache wraps it
    assert isinstance(storage, resuming.ResumingStorage)
    for _ in range(2):
        trial = study.ask()
        trial.set_user_attr(WORKER, f"elsewhere:{os.getpid()}:")  # another host: heartbeat only
        storage.record_heartbeat(trial._trial_id)
    checkpointed(cfg, 0)
    time.sleep(2.5)  # past the grace period
    optuna.storages.fail_stale_trials(study)  # what Optuna runs before each ask
    assert [t.state for t in study.trials] == [WAITING, FAIL]


def metric_steps(client: MlflowClient, run_id: str, key: str = "val_accuracy") -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.usefixtures("mnist_available")
def test_a_preempted_trial_resumes_in_its_number_and_its_mlflow_run(tmp_path: Path) -> None:
    """SIGUSR1 (a scheduler's warning) as trial 1 ends its second epoch: the command ends
    the epoch under way, exits 75 and leaves the trial WAITING; the same command resumes it
    at the next epoch in the same MLflow run, whose curves hold each epoch once."""
    command = [
        sys.executable,
        "-m",
        "mnist_reg.sweep",
        "+technique=baseline",
        *tiny_overrides(tmp_path),
        "train.epochs=4",
    ]
    worker = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert worker.stdout is not None
    before = []
    for line in worker.stdout:
        before.append(line)
        if "trial 1 (2/2) epoch 2/4" in line:
            break
    worker.send_signal(signal.SIGUSR1)
    output = "".join(before) + worker.communicate(timeout=120)[0]
    assert worker.returncode == EXIT_PREEMPTED, output[-3000:]
    assert "run the same command again" in output and "Traceback" not in output
    storage = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    study = optuna.load_study(study_name="mnist-baseline", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "WAITING"]
    run_id = study.trials[1].user_attrs["mlflow_run_id"]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    stopped = client.get_run(run_id)
    assert stopped.info.status == "KILLED" and stopped.data.tags["trial_state"] == "PREEMPTED"
    # the epoch under way was finished: the 2nd, or the 3rd if the signal came after the
    # 2nd's checkpoint (its progress line is printed a moment before)
    stopped_at = len(metric_steps(client, run_id))
    assert stopped_at in (2, 3) and metric_steps(client, run_id) == list(range(stopped_at))

    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    study = optuna.load_study(study_name="mnist-baseline", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.trials[1].user_attrs["mlflow_run_id"] == run_id
    done = client.get_run(run_id)
    assert done.info.status == "FINISHED" and done.data.tags["trial_state"] == "COMPLETE"
    assert metric_steps(client, run_id) == [0, 1, 2, 3]  # each epoch once
    assert done.data.metrics["epochs_trained"] == 4
    assert study.trials[1].user_attrs["epochs_trained"] == 4
    runs = client.search_runs([done.info.experiment_id])
    assert sorted(str(r.data.tags.get("run_type")) for r in runs) == ["sweep", "trial", "trial"]
    assert all(r.info.status == "FINISHED" for r in runs)
    assert not resuming.folder(
        compose_config("+technique=baseline", *tiny_overrides(tmp_path)), 1
    ).exists()  # a finished trial's checkpoint is gone
