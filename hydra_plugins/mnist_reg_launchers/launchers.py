"""Hydra's submitit launchers (``hydra/launcher=slurm`` or ``local``, conf/hydra/launcher/)
with a multirun's end that reports every job.

Hydra's own submitit launchers run each job in a process of its own (on SLURM, on another
machine), so the multirun's end sees nothing of what the jobs came to, and a job that died
without a result (cancelled, out of memory, its node lost) ends the whole command with a
traceback before the other jobs are waited for. These subclasses wait for every job, hand
each job's result to the command's callbacks (``cli.JobsSummary`` prints one line a job and
exits non-zero if any failed), and turn a job that died into a failed line saying how.

Needs the ``cluster`` extra (``pip install 'mnist-reg[cluster]'``); without it this module
defines nothing, so Hydra's scan of its plugins, at every command's start, stays quiet."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from omegaconf import OmegaConf

from mnist_reg.cli import JobResult

try:
    from hydra_plugins.hydra_submitit_launcher import submitit_launcher
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
except ImportError:  # the cluster extra is not installed
    submitit_launcher = None

log = logging.getLogger("mnist_reg")


def job_return(
    job: Any,
    overrides: list[str],
    gone: Callable[[Any], bool] = lambda job: False,
    poll: float = 30,
) -> JobReturn:
    """The job's own return, or, for a job that ended without one, a failed result that
    says how it ended (the scheduler's state and the first line of submitit's error);
    ``gone(job)``, asked every ``poll`` seconds: whether the job vanished unrun."""
    from submitit.core.utils import UncompletedJobError

    try:
        while not job.done():
            if gone(job):
                return failed(overrides, f"died: job {job.job_id} left SLURM's queue unrun")
            time.sleep(poll)
        return job.results()[0]
    except UncompletedJobError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        how = lines[-1].strip() if lines else type(error).__name__
        return failed(
            overrides, f"died: job {job.job_id} ended {job.state} without a result ({how})"
        )


def gone_unrun(job: Any) -> bool:
    """A SLURM job neither queued nor running nor done: an array's job cancelled while it
    waited leaves no record in SLURM's accounting, and submitit would wait for it forever."""
    if job.state not in ("PENDING", "UNKNOWN"):
        return False
    queued = subprocess.run(["squeue", "-h", "-j", job.job_id], capture_output=True, text=True)
    if queued.returncode == 0 and queued.stdout.strip():
        return False
    return not job.done(force_check=True)  # not finished a moment ago either


def failed(overrides: list[str], summary: str) -> JobReturn:
    returned = JobReturn(overrides=overrides, status=JobStatus.COMPLETED)
    returned.return_value = JobResult(False, summary)
    return returned


if submitit_launcher is not None:

    class _WaitsForEveryJob(submitit_launcher.BaseSubmititLauncher):
        _gone: Callable[[Any], bool] = staticmethod(lambda job: False)

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
            """Submit the jobs as one array, as Hydra's launcher does; then wait for each,
            reporting it to the callbacks as it would have been reported had it run here."""
            assert self.config is not None and self.hydra_context is not None
            executor = self._executor()
            sweep_dir = Path(str(self.config.hydra.sweep.dir))
            sweep_dir.mkdir(parents=True, exist_ok=True)
            if "mode" in self.config.hydra.sweep:
                os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
            log.info(f"Submitit '{self._EXECUTOR}' sweep output dir : {sweep_dir}")
            arguments = []
            for number, overrides in enumerate(job_overrides, start=initial_job_idx):
                log.info(f"\t#{number} : {' '.join(filter_overrides(overrides))}")
                state = Singleton.get_state()
                arguments.append(
                    (list(overrides), "hydra.sweep.dir", number, f"job_{number}", state)
                )
            jobs = executor.map_array(self, *zip(*arguments, strict=True))
            returns = []
            for job, overrides in zip(jobs, job_overrides, strict=True):
                returned = job_return(job, list(overrides), self._gone)
                self.hydra_context.callbacks.on_job_end(config=self.config, job_return=returned)
                returns.append(returned)
            return returns

        def _executor(self) -> Any:
            """submitit's executor with this launcher's settings (Hydra's launcher's steps)."""
            import submitit

            folder_keys = {"submitit_folder", "max_num_timeout"}
            executor = submitit.AutoExecutor(
                cluster=self._EXECUTOR,
                folder=self.params["submitit_folder"],
                **{
                    f"{self._EXECUTOR}_max_num_timeout": value
                    for key, value in self.params.items()
                    if key == "max_num_timeout"
                },
            )
            shared = set(OmegaConf.structured(BaseQueueConf).keys())
            executor.update_parameters(
                **{
                    key if key in shared else f"{self._EXECUTOR}_{key}": value
                    for key, value in self.params.items()
                    if key not in folder_keys
                }
            )
            return executor

    class SlurmLauncher(_WaitsForEveryJob):
        _EXECUTOR = "slurm"
        _gone = staticmethod(gone_unrun)

    class LocalLauncher(_WaitsForEveryJob):
        _EXECUTOR = "local"
