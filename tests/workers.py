"""Several sweep workers on one study, and what they must leave behind (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow.tracking import MlflowClient

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def run_workers(
    count: int, overrides: list[str], cwd: Path, timeout: float = 900
) -> list[subprocess.CompletedProcess[str]]:
    """Start ``count`` sweep workers on the same command at once and wait for them all."""
    command = [sys.executable, "-m", "mnist_reg.sweep", *overrides]
    workers = [
        subprocess.Popen(
            [*command, f"hydra.run.dir={cwd}/hydra/worker-{i}"],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(count)
    ]
    done = []
    for worker in workers:
        output, _ = worker.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(worker.args, worker.returncode, output, ""))
    return done


def kill_mid_trial(command: list[str], cwd: Path) -> None:
    """Start ``command`` (a sweep of 8-epoch trials), ``kill -9`` it in its first trial's
    second epoch, and wait for it to be gone: what a lost machine leaves behind."""
    worker = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    for line in worker.stdout:
        if "epoch 2/8" in line:
            break
    worker.kill()  # SIGKILL: no cleanup at all
    worker.wait(timeout=30)


def check_shared_study(
    storage: str, tracking_uri: str, study_name: str, n_trials: int, experiment: str
) -> None:
    """Exactly ``n_trials`` distinct finished trials, one MLflow run each, one parent run,
    one experiment, nothing in MLflow's Default experiment."""
    study = optuna.load_study(study_name=study_name, storage=storage)
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    assert len(finished) == n_trials, [t.state.name for t in study.trials]
    assert len(study.trials) == n_trials  # no extra trial started, none failed
    assert len({t.number for t in finished}) == n_trials
    assert len({tuple(sorted(t.params.items())) for t in finished}) == n_trials

    client = MlflowClient(tracking_uri)
    experiments = {e.name: e.experiment_id for e in client.search_experiments()}
    assert set(experiments) <= {experiment, "Default"}
    if "Default" in experiments:
        assert not client.search_runs([experiments["Default"]])
    runs = client.search_runs([experiments[experiment]], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("run_type") == "sweep"]
    children = [r for r in runs if r.data.tags.get("run_type") == "trial"]
    assert len(parents) == 1 and len(parents) + len(children) == len(runs)
    assert len(children) == n_trials
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert {r.info.status for r in [*parents, *children]} == {"FINISHED"}
    trial_runs = {t.user_attrs["mlflow_run_id"] for t in finished}
    assert trial_runs == {r.info.run_id for r in children}
    numbers = sorted(int(r.data.tags["trial_number"]) for r in children)
    assert numbers == list(range(n_trials))


def check_lock_timeout(holder: Any, waiter: Any) -> None:
    """``waiter`` gives up after its timeout while ``holder`` holds the lock, and its attempt
    holds nothing once ``holder`` lets go (SQLite's flock and PostgreSQL's advisory lock)."""
    with holder.held(), pytest.raises(TimeoutError), waiter.held(timeout=0.3):
        pass
    with waiter.held(timeout=5):  # free again: the timed-out attempt kept nothing
        pass
    with holder.held(timeout=5):  # and the waiter released what it then held
        pass
