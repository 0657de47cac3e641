"""Hydra's multirun over techniques (``-m +technique=a,b,c``): each job its own study in one
process; a refused job is reported and the others still run; the exit code says whether all
succeeded, and the end prints one line per job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from tests.conftest import tiny_overrides

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.usefixtures("mnist_available")]


def sweep_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mnist_reg.sweep", *args, "sweep.n_trials=1"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)


def test_a_refused_job_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    tiny = [o for o in tiny_overrides(tmp_path) if not o.startswith("train.epochs=")]
    first = sweep_cli("+technique=dropout", *tiny, "train.epochs=2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]

    result = sweep_cli(
        "-m", "+technique=baseline,dropout,l2", *tiny, "train.epochs=1", cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "multirun: 2 of 3 jobs succeeded" in result.stdout
    lines = [
        line.strip() for line in result.stdout.splitlines() if line.strip().startswith("job ")
    ]
    assert len(lines) == 3
    assert lines[0].startswith("job 0 (+technique=baseline") and "study mnist-baseline" in lines[0]
    assert lines[1].startswith("job 1 (+technique=dropout")
    assert "refused: study mnist-dropout was run with other settings: train.epochs=1" in lines[1]
    assert lines[2].startswith("job 2 (+technique=l2") and "study mnist-l2" in lines[2]
    assert "error: 1 of 3 jobs were refused or failed" in result.stderr

    storage = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    for name, trials in (("mnist-baseline", 1), ("mnist-l2", 1), ("mnist-dropout", 1)):
        study = optuna.load_study(study_name=name, storage=storage)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(complete) == trials, name
    assert "malloc arenas not capped" not in output  # the memory settings applied once
