"""The multirun's end with Hydra's submitit launchers (hydra_plugins/mnist_reg_launchers/):
every job reported, one that died without a result included, in lines that name what set
each job apart. The launchers on SLURM itself: tests/test_slurm.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from submitit.core.utils import UncompletedJobError

from hydra_plugins.mnist_reg_launchers import launchers
from mnist_reg.cli import JobResult, JobsSummary

CONFIG = OmegaConf.create()


class DeadJob:
    job_id = "12_1"
    state = "CANCELLED"

    def done(self, force_check: bool = False) -> bool:
        return True

    def results(self) -> list[Any]:
        raise UncompletedJobError(
            "Job 12_1 (task: 0) with path /x/12_1_0_result.pkl\n"
            "has not produced any output (state: CANCELLED by 0)\n"
        )


class WaitingJob:
    """A job submitit still counts as waiting (its last accounting state: PENDING)."""

    job_id = "12_2"
    state = "PENDING"

    def __init__(self) -> None:
        self.forced = 0

    def done(self, force_check: bool = False) -> bool:
        self.forced += force_check
        return False


class FinishedJob:
    def __init__(self, returned: JobReturn) -> None:
        self.returned = returned

    def done(self, force_check: bool = False) -> bool:
        return True

    def results(self) -> list[JobReturn]:
        return [self.returned]


def finished(overrides: list[str], result: JobResult) -> JobReturn:
    returned = JobReturn(overrides=overrides, status=JobStatus.COMPLETED)
    returned.return_value = result
    return returned


def test_a_job_that_died_without_a_result_is_a_failed_job_saying_how() -> None:
    returned = launchers.job_return(DeadJob(), ["+technique=l2"])
    assert returned.status == JobStatus.COMPLETED  # so Hydra's sweeper does not raise on it
    assert returned.overrides == ["+technique=l2"]
    result = returned.return_value
    assert isinstance(result, JobResult) and not result.ok
    assert result.summary.startswith("died: job 12_1 ended CANCELLED without a result")
    assert "state: CANCELLED by 0" in result.summary


def test_a_job_that_ended_hands_back_its_own_return() -> None:
    own = finished(["+technique=l2"], JobResult(True, "study mnist-l2, 2 trials"))
    assert launchers.job_return(FinishedJob(own), ["+technique=l2"]) is own


def test_the_summary_names_what_set_each_job_apart_and_fails_if_any_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = JobsSummary()
    shared = ["sweep.storage=postgresql://db/optuna", "train.epochs=27"]
    summary.on_job_end(CONFIG, finished([*shared, "sweep.worker=0"], JobResult(True, "2 trials")))
    summary.on_job_end(CONFIG, launchers.job_return(DeadJob(), [*shared, "sweep.worker=1"]))
    with pytest.raises(SystemExit) as exit:
        summary.on_multirun_end(CONFIG)
    assert exit.value.code == "error: 1 of 2 jobs were refused or failed"
    out = capsys.readouterr().out
    assert "multirun: 1 of 2 jobs succeeded" in out
    assert "  job 0 (sweep.worker=0): 2 trials" in out
    assert "  job 1 (sweep.worker=1): died: job 12_1 ended CANCELLED" in out
    assert "postgresql" not in out


def test_one_job_alone_is_named_by_all_its_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    summary = JobsSummary()
    summary.on_job_end(CONFIG, finished(["+technique=l2"], JobResult(True, "done")))
    summary.on_multirun_end(CONFIG)
    assert "  job 0 (+technique=l2): done" in capsys.readouterr().out


def test_an_array_job_cancelled_while_it_waited_is_reported_not_waited_for_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SLURM's accounting keeps no record of it, so submitit would wait for it forever."""
    squeue = tmp_path / "squeue"
    squeue.write_text(
        "#!/bin/sh\necho 'slurm_load_jobs error: Invalid job id specified' >&2\nexit 1\n"
    )
    squeue.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    job = WaitingJob()
    returned = launchers.job_return(job, ["sweep.worker=2"], launchers.gone_unrun, poll=0)
    assert returned.return_value == JobResult(False, "died: job 12_2 left SLURM's queue unrun")
    assert job.forced == 1  # asked SLURM's accounting once more before saying so


def test_a_job_still_in_the_queue_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    squeue = tmp_path / "squeue"
    squeue.write_text("#!/bin/sh\necho 12_2\n")
    squeue.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert not launchers.gone_unrun(WaitingJob())
