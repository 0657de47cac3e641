"""Running real sweeps for a benchmark, each in its own process and folder, and reading them
back from MLflow or from their log lines (shared by ``pruning.py``, ``time_to_accuracy.py``,
``command_speed.py``, ``throughput.py`` and ``sweep_speed.py``)."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from mnist_reg.config.schema import Config
from mnist_reg.training import precision

REPO = Path(__file__).resolve().parent.parent
# a sweep's log line that starts a trial or ends an epoch, with its time of day; the worker
# that wrote it where there are several
STAMP = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\].*? - (?:worker (\d+): )?"
    r"(?:trial|repeat) \d+ (?:started|\(\d+/\d+\) epoch (\d+)/\d+)"
)


@dataclass(frozen=True)
class Timed:
    """One whole command: its wall seconds, what it printed, when it started and ended."""

    seconds: float
    output: str
    started: datetime
    ended: datetime


def timed_command(line: list[str], source: Path = REPO) -> Timed:
    """Run ``line`` in an empty folder of its own, importing ``mnist_reg`` from ``source``
    (this checkout, or another commit's worktree); a failure raises with its output."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    env.pop("MLFLOW_TRACKING_URI", None)
    with tempfile.TemporaryDirectory(prefix="bench-command-") as folder:
        started, start = datetime.now(), time.perf_counter()
        done = subprocess.run(line, cwd=folder, env=env, capture_output=True, text=True)
        seconds, ended = time.perf_counter() - start, datetime.now()
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(line)} failed ({done.returncode}):\n{output[-3000:]}")
    return Timed(seconds, output, started, ended)


def epoch_stamps(output: str) -> dict[str, list[datetime]]:
    """Each worker's trial starts and epoch ends, in order (one worker: key ``""``)."""
    stamps: dict[str, list[datetime]] = {}
    for text in output.splitlines():
        if found := STAMP.search(text):
            when = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f")
            stamps.setdefault(found[2] or "", []).append(when)
    return stamps


def epoch_seconds(stamps: list[datetime]) -> list[float]:
    """Seconds between successive stamps: each epoch's (a trial's first from its start)."""
    return [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]


def worktree(ref: str) -> Path:
    """``ref`` checked out beside the repository (made once, reused)."""
    path = Path(tempfile.gettempdir()) / f"mnist-reg-{ref}"
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref], check=True
        )
    return path


def rotated(arms: tuple[str, ...], round_index: int) -> list[str]:
    """The arms of round ``round_index``: rotated by one each round, reversed every other, so
    a drift in the host's load hits every arm."""
    shift = round_index % len(arms)
    order = list(arms[shift:] + arms[:shift])
    return order[::-1] if round_index % 2 else order


def cpu() -> str:
    """The CPU's model name and its bfloat16 flags (as ``lscpu`` shows them)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if "model name" in line]
    bf16 = sorted(flag for flag in precision.cpu_flags() if "bf16" in flag)
    return f"{names[0] if names else 'unknown'}, bf16 flags: {', '.join(bf16) or 'none'}"


def cpu_counts(table: pd.DataFrame, unit: str = "runs") -> str:
    """``<cpu> (<n> runs); ...``: the CPUs a results table's rows came from."""
    counts = table["cpu"].value_counts().items()
    return "; ".join(f"{name} ({count} {unit})" for name, count in counts)


def append_row(csv: Path, row: dict[str, object]) -> None:
    """One finished run's row, appended at once: a rerun resumes after it. Every row of a
    file has the file's columns, in its order (a row with others is refused)."""
    print(row, flush=True)
    if csv.exists():
        columns = list(pd.read_csv(csv, nrows=0).columns)
        if sorted(columns) != sorted(row):
            raise ValueError(f"{csv} has columns {columns}; this row has {list(row)}")
        row = {column: row[column] for column in columns}
    pd.DataFrame([row]).to_csv(csv, mode="a", header=not csv.exists(), index=False)


def has_row(csv: Path, **key: object) -> bool:
    if not csv.exists():
        return False
    table = pd.read_csv(csv)
    return bool(table[list(key)].eq(pd.Series(key)).all(axis=1).any())


def run_sweep(folder: Path, overrides: list[str], log: Path) -> float:
    """``python -m mnist_reg.sweep OVERRIDES`` with ``folder`` as its working directory (so
    its ``mlruns/`` is the folder's own); returns the wall seconds of the whole command."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    with log.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "mnist_reg.sweep", *overrides, "train.progress_bar=off"],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.perf_counter() - start


def tracking_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"


def trial_runs(folder: Path) -> pd.DataFrame:
    """The sweep's trial runs (one row per trial, ``mlflow.search_runs`` columns)."""
    from mnist_reg.tracking.queries import load_runs

    runs = load_runs(tracking_uri(folder), ["mnist-reg"])
    if "tags.run_type" not in runs:  # no runs at all
        return runs.iloc[0:0]
    return runs[runs["tags.run_type"] == "trial"]


def compose_config(overrides: list[str]) -> Config:
    """The sweep's configuration for ``overrides``, composed as the CLI composes it."""
    from hydra import compose, initialize_config_dir

    from mnist_reg.config.schema import as_config, config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return as_config(compose("config", overrides=overrides))
