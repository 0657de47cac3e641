"""Which tracking store a command uses; importable without MLflow or TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

from mnist_reg.config import MlflowConfig

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"


def tracking_uri(cfg: MlflowConfig) -> str:
    return cfg.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def ensure_sqlite_parent(uri: str) -> None:
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
