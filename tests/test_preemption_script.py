"""The SLURM batch script of docs/scale-out.md passes the scheduler's warning (SIGUSR1) on
to the sweep and requeues the job when the sweep stopped to resume (exit 75), with a
stand-in ``python`` and ``scontrol`` (no SLURM here)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mnist_reg.preemption import EXIT_PREEMPTED
from tests.conftest import REPO

SCRIPT = REPO / "examples" / "slurm" / "sweep.sbatch"
# a sweep that trains until SIGUSR1, then stops as preempted (or ends at once with "done")
PYTHON = f"""#!/bin/bash
[ -e "$STUBS/done" ] && exit 0
trap 'exit {EXIT_PREEMPTED}' USR1
touch "$STUBS/started"
while true; do sleep 0.1; done
"""
SCONTROL = '#!/bin/bash\necho "$@" >> "$STUBS/requeued"\n'


def test_the_documented_script_is_the_tested_one() -> None:
    assert SCRIPT.read_text() in (REPO / "docs" / "scale-out.md").read_text()


def run_script(stubs: Path, warn: bool) -> int:
    for name, text in (("python", PYTHON), ("scontrol", SCONTROL)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "STUBS": str(stubs)}
    job = subprocess.Popen(["bash", str(SCRIPT)], env={**env, "SLURM_JOB_ID": "42"})
    if warn:
        deadline = time.monotonic() + 30
        while not (stubs / "started").exists():
            assert time.monotonic() < deadline and job.poll() is None
            time.sleep(0.05)
        time.sleep(0.2)  # the script is in its wait
        job.send_signal(signal.SIGUSR1)  # what --signal=B:USR1@300 sends the batch shell
    return job.wait(timeout=30)


@pytest.mark.parametrize("warn", [True, False])
def test_the_warning_reaches_the_sweep_and_a_stop_to_resume_requeues(
    tmp_path: Path, warn: bool
) -> None:
    if not warn:
        (tmp_path / "done").touch()
    status = run_script(tmp_path, warn)
    log = tmp_path / "requeued"
    requeued = log.read_text() if log.exists() else ""
    if warn:
        assert status == EXIT_PREEMPTED and requeued == "requeue 42\n"
    else:
        assert status == 0 and requeued == ""
