"""What SLURM gave a job: its CPUs (which TensorFlow's threads and the workers follow) and a
way back into the queue for a job that stopped to resume (mnist_reg/cluster.py)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mnist_reg import cli, cluster, pool
from mnist_reg.errors import Preempted


@pytest.mark.parametrize(
    ("value", "cpus"), [(None, None), ("", None), ("3", 3), ("0", None), ("2(x3)", None)]
)
def test_the_cpus_a_slurm_job_was_given(
    monkeypatch: pytest.MonkeyPatch, value: str | None, cpus: int | None
) -> None:
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    if value is not None:
        monkeypatch.setenv("SLURM_CPUS_PER_TASK", value)
    assert cluster.allotted_cpus() == cpus


def test_a_job_not_bound_to_its_cpus_counts_only_those_and_pins_no_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    assert cluster.usable_cores() == list(range(8)) and not cluster.unbound()
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "2")
    assert cluster.usable_cores() == [0, 1] and cluster.unbound()
    assert pool.worker_count("auto", tasks=20) == 2 or any(pool.NVIDIA_GPUS.glob("*"))
    # bound (task/affinity, cgroups): the affinity already is the job's CPUs
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4, 5})
    assert cluster.usable_cores() == [4, 5] and not cluster.unbound()


@pytest.fixture(autouse=True)
def signal_handlers() -> Iterator[None]:
    """``run_guarded`` installs the command's handlers: this test process gets its own back."""
    numbers = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
    saved = {number: signal.getsignal(number) for number in numbers}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.fixture
def scontrol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``scontrol`` first on PATH that records its arguments."""
    calls = tmp_path / "calls"
    script = tmp_path / "scontrol"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_a_submitit_job_stopped_to_resume_requeues_itself(
    monkeypatch: pytest.MonkeyPatch, scontrol: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")

    def stopped() -> None:
        raise Preempted("1 trial stopped at an epoch's end")

    with pytest.raises(cli.Interrupted) as exit:
        cli.run_guarded(stopped)
    assert exit.value.code == 75
    assert scontrol.read_text().split() == ["requeue", "4242"]
    assert "put back in SLURM's queue" in capsys.readouterr().err


def test_outside_submitit_the_job_script_decides_and_nothing_is_requeued(
    monkeypatch: pytest.MonkeyPatch, scontrol: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain ``sbatch`` script requeues on exit 75 itself (examples/slurm/sweep.sbatch)."""
    monkeypatch.delenv("SUBMITIT_EXECUTOR", raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "4242")

    def stopped() -> None:
        raise Preempted("stopped")

    with pytest.raises(cli.Interrupted):
        cli.run_guarded(stopped)
    assert not scontrol.exists()
    assert "run the same command again" in capsys.readouterr().err


def test_a_requeue_slurm_refuses_is_logged_and_the_job_ends_as_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = tmp_path / "scontrol"
    script.write_text("#!/bin/sh\necho 'Job is not requeueable' >&2\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    assert cluster.requeue() is False
    assert "could not requeue SLURM job 7" in caplog.text


def test_tensorflows_threads_follow_the_cpus_a_slurm_job_was_given() -> None:
    show = (
        "from mnist_reg import process; process.prepare(); import tensorflow as tf; "
        "print(tf.config.threading.get_intra_op_parallelism_threads(), "
        "tf.config.threading.get_inter_op_parallelism_threads())"
    )
    environment = {**os.environ, "SLURM_CPUS_PER_TASK": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    shown = subprocess.run(
        [sys.executable, "-c", show], env=environment, capture_output=True, text=True, timeout=300
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.split() == ["1", "1"]
