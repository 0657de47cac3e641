"""Which stores a command uses (Optuna's storage, MLflow's tracking store), resolved here
once from the configuration, and the one parser of SQLite URLs."""

from __future__ import annotations

import os
from pathlib import Path

from mnist_reg.config.schema import (
    DEFAULT_STORAGE,
    DEFAULT_TRACKING_URI,
    MlflowConfig,
    SweepConfig,
)

SQLITE_PREFIX = "sqlite:///"


def tracking_uri(cfg: MlflowConfig) -> str:
    """``mlflow.tracking_uri``, else ``$MLFLOW_TRACKING_URI`` (MLflow's own convention), else
    the SQLite store under ``mlruns/``."""
    return cfg.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def storage_url(cfg: SweepConfig) -> str:
    """Optuna's storage: ``sweep.storage``, else the SQLite database under ``mlruns/``."""
    return cfg.storage or DEFAULT_STORAGE


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, or None for any other URL."""
    if url.startswith(SQLITE_PREFIX):
        return Path(url.removeprefix(SQLITE_PREFIX))
    return None


def ensure_sqlite_parent(url: str) -> None:
    """Create the folder of a SQLite database, so the driver can create the file."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
