"""Running real sweeps for a benchmark, each in its own process and folder, and reading them
back from MLflow (shared by ``pruning.py`` and ``time_to_accuracy.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from mnist_reg.config.schema import Config

REPO = Path(__file__).resolve().parent.parent


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
