"""``repeat.workers``: seeds trained by several worker processes of one command, end to end
on tiny real-MNIST slices."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import tiny_overrides

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.usefixtures("mnist_available")]

STARTED = re.compile(r"worker (\d+) started: pid (\d+)")
EPOCH = re.compile(r"\] - worker (\d+): repeat (\d+) \(\d+/\d+\) epoch (\d+)/")
FINISHED_SEED = re.compile(r"\] - worker (\d+): repeat seed (\d+): val_accuracy")


def _command(tmp_path: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mnist_reg.repeat",
        "+technique=baseline",
        *tiny_overrides(tmp_path),
        "repeat.source=config",
        "repeat.workers=2",
        *overrides,
    ]


def _runs(tmp_path: Path) -> tuple[Any, list[Any]]:
    """The repeats' parent run and its seeds' runs."""
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("mnist-reg")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    (parent,) = [r for r in runs if r.data.tags.get("run_type") == "repeats"]
    seeds = [r for r in runs if r.data.tags.get("run_type") == "repeat"]
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in seeds)
    return parent, seeds


def test_two_workers_train_each_seed_once_one_killed_mid_seed_replaced(tmp_path: Path) -> None:
    # seeds of some seconds: the kill lands mid-seed
    slower = ("repeat.count=3", "train.epochs=5", "data.train_size=2000")
    command = subprocess.Popen(
        _command(tmp_path, *slower),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert command.stdout is not None
    lines, pids = [], {}
    for line in command.stdout:
        lines.append(line)
        if found := STARTED.search(line):
            pids[int(found[1])] = int(found[2])
        if (found := EPOCH.search(line)) and found[1] == "1" and found[3] == "2":
            os.kill(pids[1], signal.SIGKILL)  # no clean-up at all
            break
    output, _ = command.communicate(timeout=900)
    output = "".join(lines) + output
    assert command.returncode == 0, output[-3000:]
    assert "worker 1 was killed (SIGKILL); a new worker takes its place" in output
    parent, seeds = _runs(tmp_path)
    assert parent.info.status == "FINISHED"
    statuses = sorted((int(r.data.tags["repeat_seed"]), r.info.status) for r in seeds)
    assert statuses == [
        (1000, "FINISHED"),
        (1001, "FINISHED"),  # trained again by the new worker 1
        (1001, "KILLED"),  # the killed worker's run, ended by the command
        (1002, "FINISHED"),
    ]
    assert "training 3 on 2000 images in 2 workers" in output
    by_worker = {int(seed): int(worker) for worker, seed in FINISHED_SEED.findall(output)}
    assert by_worker == {1000: 0, 1001: 1, 1002: 0}  # dealt out by position, each once
    assert all("test_accuracy" in r.data.metrics for r in seeds if r.info.status == "FINISHED")
    assert output.count("test_accuracy over 3 seeds") == 1  # one table, printed once
    assert output.count("Repeats of") == 1

    again = subprocess.run(
        _command(tmp_path, *slower), cwd=tmp_path, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "3 already finished, training 0" in again.stdout + again.stderr
    assert "worker 0 started" not in again.stdout + again.stderr  # nothing to train
    assert len(_runs(tmp_path)[1]) == 4
