"""Sweeps on a real SLURM cluster through ``hydra/launcher=slurm``: workers of one study as a
job array, a multirun over techniques as one job each with a job that died reported, and a
job warned before its time limit that requeues itself and resumes its trial's epochs.

Run by ``nox -s scale_out`` after ``bash .ci/slurm.sh`` (a one-node cluster with accounting)
and ``bash .ci/postgres.sh``; the jobs run this interpreter on this machine, 1 CPU each."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import TINY, tiny_overrides
from tests.servers import Stores
from tests.workers import check_shared_study

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


@pytest.fixture(scope="module", autouse=True)
def slurm() -> None:
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.fail("no SLURM here: run `bash .ci/slurm.sh` (as root) first")
    if not {"idle", "mixed"} & set(states.stdout.split()):
        pytest.fail(f"SLURM has no idle node: {states.stdout} {states.stderr}")


def on_slurm(root: Path, *args: str) -> subprocess.Popen[str]:
    """``sweep -m`` through ``hydra/launcher=slurm``: each job 1 CPU, its files under root."""
    command = [
        sys.executable,
        "-m",
        "mnist_reg.sweep",
        "-m",
        "hydra/launcher=slurm",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=3",
        "hydra.launcher.timeout_min=20",
        f"hydra.launcher.name=mnist-reg-{uuid.uuid4().hex[:8]}",
        f"hydra.sweep.dir={root}/multirun",
        *args,
    ]
    return subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(command: subprocess.Popen[str], timeout: float = 900) -> tuple[int, str]:
    output, _ = command.communicate(timeout=timeout)
    return command.returncode, output


def submitted_jobs(
    command: subprocess.Popen[str], root: Path, count: int, timeout: float = 120
) -> list[str]:
    """The ids of the multirun's jobs (``<array>_<index>``), once submitit made their folders."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert command.poll() is None, finish(command)[1][-3000:]
        folders = sorted(
            p.name
            for p in (root / "multirun" / ".submitit").glob("*")
            if p.is_dir() and re.fullmatch(r"\d+(_\d+)?", p.name)  # not submitit's pickles
        )
        tasks = [name for name in folders if "_" in name] or folders  # not the array's own
        if len(tasks) >= count:
            return tasks
        time.sleep(0.5)
    raise AssertionError(f"{count} jobs not submitted in {timeout} s")


def test_three_jobs_of_an_array_share_one_study_on_postgresql(stores: Stores) -> None:
    overrides = stores.overrides(TINY)
    code, output = finish(
        on_slurm(
            stores.root,
            "+technique=dropout",
            "sweep.worker=range(3)",
            *overrides,
            "sweep.n_trials=5",
        )
    )
    assert code == 0, output[-3000:]
    assert "multirun: 3 of 3 jobs succeeded" in output
    for worker in range(3):
        assert f"job {worker} (sweep.worker={worker}): study mnist-dropout" in output
    check_shared_study(stores.storage, stores.tracking_uri, "mnist-dropout", 5, "mnist-reg")
    folders = (stores.root / "multirun" / ".submitit").glob("*")
    jobs = [p.name for p in folders if p.is_dir() and re.fullmatch(r"\d+_\d+", p.name)]
    assert len(jobs) == 3 and len({job.split("_")[0] for job in jobs}) == 1  # one array


def test_a_multirun_over_techniques_runs_a_job_each_and_reports_one_that_died(
    tmp_path: Path,
) -> None:
    command = on_slurm(
        tmp_path, "+technique=baseline,l2,dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1"
    )
    jobs = submitted_jobs(command, tmp_path, 3)
    cancelled = jobs[0]
    deadline = time.monotonic() + 120
    while "RUNNING" not in job_state(cancelled):  # cancelled mid-run, as a user or the OOM killer
        assert time.monotonic() < deadline, job_state(cancelled)
        time.sleep(0.5)
    subprocess.run(["scancel", cancelled], check=True)
    code, output = finish(command)
    assert code != 0, output[-3000:]
    assert "multirun: 2 of 3 jobs succeeded" in output
    assert f"job 0 (+technique=baseline): died: job {cancelled} ended CANCELLED" in output
    assert "job 1 (+technique=l2): study mnist-l2, 1 trials" in output
    assert "job 2 (+technique=dropout): study mnist-dropout, 1 trials" in output
    assert "error: 1 of 3 jobs were refused or failed" in output


def job_state(job: str) -> str:
    shown = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True)
    return shown.stdout.strip()


def test_a_job_warned_before_its_time_limit_requeues_and_resumes_its_trial(
    tmp_path: Path,
) -> None:
    checkpoints = tmp_path / "mlruns" / "checkpoints"
    command = on_slurm(
        tmp_path,
        "+technique=baseline",
        *tiny_overrides(tmp_path),
        "sweep.n_trials=1",
        "data.train_size=3000",
        "train.epochs=6",
    )
    (job,) = submitted_jobs(command, tmp_path, 1)
    state = checkpoints / "mnist-baseline" / "trial-0000.resume" / "state.json"
    deadline = time.monotonic() + 300
    while not state.exists():  # an epoch is checkpointed: the trial has something to resume
        assert time.monotonic() < deadline and command.poll() is None, finish(command)[1]
        time.sleep(0.2)
    # what submitit asks SLURM to send `signal_delay_s` before the job's time runs out
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    code, output = finish(command)
    assert code == 0, output[-3000:]
    assert "multirun: 1 of 1 jobs succeeded" in output
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True)
    assert "Restarts=1" in shown.stdout, shown.stdout
    logs = "".join(
        p.read_text() for p in (tmp_path / "multirun" / ".submitit" / job).glob("*_log.*")
    )
    assert f"SLURM job {job} requeued" in logs, logs[-3000:]

    study = optuna.load_study(
        study_name="mnist-baseline", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db"
    )
    (trial,) = study.trials
    assert trial.number == 0 and trial.state == optuna.trial.TrialState.COMPLETE
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    run = client.get_run(trial.user_attrs["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy")]
    assert steps == list(range(6))  # every epoch once, the stopped one not trained twice
    assert not state.parent.exists()  # the checkpoint is gone with the finished trial
