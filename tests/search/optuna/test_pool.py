"""``sweep.workers=N``: one command, N worker processes on one study; exactly its trials, one
parent run, one summary, a killed worker replaced, Ctrl-C stopping them all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from mnist_reg.config.validation import config_errors
from tests.conftest import Compose, tiny_overrides
from tests.workers import FINISHED, check_shared_study

STARTED = re.compile(r"worker (\d+) started: pid (\d+)")
EPOCH = re.compile(r"\] - worker (\d+): trial \d+ \(\d+/\d+\) epoch (\d+)/")


def test_workers_need_the_optuna_backend(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=dropout", "sweep.workers=2", "sweep.backend=keras_tuner")
    assert config_errors(cfg) == [
        "sweep.workers=2 is invalid with sweep.backend=keras_tuner (its oracle lives in one "
        "process); allowed: 1 or auto (one), or several with optuna"
    ]
    assert config_errors(compose_cfg("+technique=dropout", "sweep.workers=auto")) == []
    assert (
        config_errors(
            compose_cfg("+technique=dropout", "sweep.workers=auto", "sweep.backend=keras_tuner")
        )
        == []
    )
    assert config_errors(compose_cfg("+technique=dropout", "sweep.workers=2")) == []
    assert config_errors(compose_cfg("+technique=dropout", "sweep.workers=0")) == [
        "sweep.workers=0 is invalid; allowed: int with 1 <= value <= 256, or auto"
    ]
    assert config_errors(compose_cfg("+technique=dropout", "repeat.workers=many")) == [
        "repeat.workers=many is invalid; allowed: int with 1 <= value <= 256, or auto"
    ]


def _command(tmp_path: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mnist_reg.sweep",
        "+technique=dropout",
        *tiny_overrides(tmp_path),
        "sweep.workers=2",
        "sweep.pruner=none",
        *overrides,
    ]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def _nothing_running(tmp_path: Path) -> None:
    study = optuna.load_study(
        study_name="mnist-dropout", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db"
    )
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("mnist-reg")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    assert runs and all(r.info.status != "RUNNING" for r in runs)


def _start(command: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # as in a terminal: a test run in the background of a script inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.usefixtures("mnist_available")
def test_two_workers_share_the_study_exactly_one_killed_mid_trial_replaced(
    tmp_path: Path,
) -> None:
    # trials of some seconds: the kill lands mid-trial
    slower = ("sweep.n_trials=4", "train.epochs=5", "data.train_size=2000")
    sweep = _start(_command(tmp_path, *slower), tmp_path)
    assert sweep.stdout is not None
    lines, pids = [], {}
    for line in sweep.stdout:
        lines.append(line)
        if found := STARTED.search(line):
            pids[int(found[1])] = int(found[2])
        if (found := EPOCH.search(line)) and found[1] == "1" and found[2] == "2":
            os.kill(pids[1], signal.SIGKILL)  # no clean-up at all
            break
    output, _ = sweep.communicate(timeout=900)
    output = "".join(lines) + output
    assert sweep.returncode == 0, output[-3000:]
    assert "worker 1 was killed (SIGKILL); a new worker takes its place" in output
    study = optuna.load_study(
        study_name="mnist-dropout", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db"
    )
    assert len(study.get_trials(states=FINISHED)) == 4  # exactly its trials
    # the killed worker's trial had trained an epoch: resumed from its checkpoint, not failed
    assert len(study.trials) == 4
    assert "waits to resume from its checkpoint" in output
    _nothing_running(tmp_path)
    # one study, one parent run, a run per trial, all finished; one summary, not two
    check_shared_study(
        f"sqlite:///{tmp_path}/mlruns/optuna.db",
        f"sqlite:///{tmp_path}/mlruns/mlflow.db",
        "mnist-dropout",
        4,
        "mnist-reg",
    )
    assert output.count("Study mnist-dropout: 4 trials") == 1
    assert {int(m[0]) for m in STARTED.findall(output)} == {0, 1}
    assert {int(m[0]) for m in EPOCH.findall(output)} == {0, 1}  # both trained, in one log
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("mnist-reg").experiment_id],  # type: ignore[union-attr]
        "tags.run_type = 'sweep'",
    )
    assert parent.data.tags["sweep.workers"] == "2"  # what the command was run with


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.usefixtures("mnist_available")
def test_ctrl_c_stops_every_worker_and_leaves_nothing_running(tmp_path: Path) -> None:
    sweep = _start(_command(tmp_path, "sweep.n_trials=6", "train.epochs=8"), tmp_path)
    assert sweep.stdout is not None
    lines, pids, training = [], {}, set()
    for line in sweep.stdout:
        lines.append(line)
        if found := STARTED.search(line):
            pids[int(found[1])] = int(found[2])
        if found := EPOCH.search(line):
            training.add(found[1])
        if len(training) == 2:  # both workers are in a trial
            sweep.send_signal(signal.SIGINT)  # what Ctrl-C sends the command
            break
    output, _ = sweep.communicate(timeout=300)
    output = "".join(lines) + output
    assert sweep.returncode != 0
    assert "interrupted" in output
    assert not any(_alive(pid) for pid in pids.values())
    _nothing_running(tmp_path)


@pytest.mark.slow
@pytest.mark.usefixtures("mnist_available")
@pytest.mark.parametrize(("interrupted", "status"), [(True, "KILLED"), (False, "FINISHED")])
def test_what_ended_workers_left_running_is_ended_by_the_command(
    compose_cfg: Compose, tmp_path: Path, interrupted: bool, status: str
) -> None:
    """Seen under Ctrl-C: one worker could not fail its own trial (the store was locked), so
    the other left the parent RUNNING for it, and the command ended with the trial failed but
    the parent RUNNING. Once all its workers have ended, the command ends both."""
    from mnist_reg.search.dispatch import run as run_sweep
    from mnist_reg.search.optuna import pool as sweep_pool
    from mnist_reg.search.optuna.workers import WORKER

    cfg = compose_cfg("+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1")
    parent_run_id = run_sweep(cfg).mlflow_parent_run_id
    assert parent_run_id is not None
    client = MlflowClient(cfg.mlflow.tracking_uri)
    client.update_run(parent_run_id, "RUNNING")  # left for the worker that failed
    study = optuna.load_study(study_name="mnist-dropout", storage=str(cfg.sweep.storage))
    orphan = study.ask()  # the trial that worker could not fail: its process is gone
    orphan.set_user_attr(WORKER, f"{socket.gethostname()}:{2**22 + 1}:")  # above pid_max

    cfg.sweep.study_name = "mnist-dropout"  # as the command's dispatch has named it
    sweep_pool.settle_after_workers(cfg, interrupted)
    study = optuna.load_study(study_name="mnist-dropout", storage=str(cfg.sweep.storage))
    assert study.trials[orphan.number].state == optuna.trial.TrialState.FAIL
    assert client.get_run(parent_run_id).info.status == status
