"""What a cluster's scheduler gave this process: its CPUs, and a way back into the queue.

SLURM tells a job how many CPUs it was given (``SLURM_CPUS_PER_TASK``) but, without a CPU
binding plugin, does not restrict the process to them: TensorFlow would start a thread per
core of the whole node. A job started by submitit (``hydra/launcher=slurm``) that stops
to resume later puts itself back in the queue, as submitit's own handler would."""

from __future__ import annotations

import logging
import os
import subprocess

log = logging.getLogger("mnist_reg")


def allotted_cpus() -> int | None:
    """The CPUs SLURM gave this job's task, or None outside a SLURM job that asked for some."""
    value = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def usable_cores() -> list[int]:
    """The cores this process may run on (its CPU affinity where the system tells it), as
    many as a SLURM job was given where SLURM did not bind it to them (``unbound``)."""
    cores = _affinity()
    return cores[: allotted_cpus() or len(cores)]


def unbound() -> bool:
    """A SLURM job given fewer CPUs than it may run on: which of the node's cores are its
    own is not known, so its workers are not pinned (their threads still follow the count)."""
    allotted = allotted_cpus()
    return allotted is not None and allotted < len(_affinity())


def _affinity() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def in_submitit_slurm_job() -> bool:
    return os.environ.get("SUBMITIT_EXECUTOR") == "slurm" and "SLURM_JOB_ID" in os.environ


def requeue() -> bool:
    """Put this SLURM job back in the queue (``scontrol requeue``): it starts again from the
    beginning, where the sweep resumes its stopped trial. Returns whether SLURM took it."""
    job = os.environ["SLURM_JOB_ID"]
    try:
        subprocess.run(["scontrol", "requeue", job], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        log.error(f"could not requeue SLURM job {job}: {error}")
        return False
    log.warning(f"SLURM job {job} requeued: it resumes its stopped trial when it starts again")
    return True
