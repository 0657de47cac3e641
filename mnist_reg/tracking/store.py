"""The one place a tracking URI is handed to MLflow.

The URI is resolved once, from the configuration (``config.stores.tracking_uri``), and
passed down; MLflow's fluent API (``mlflow.start_run`` and the ``log_*`` functions, which
keep the active run and its nesting) reads it from here. MLflow also exports it as
``$MLFLOW_TRACKING_URI`` for child processes.
"""

from __future__ import annotations

import mlflow
from mlflow.tracking import MlflowClient

from mnist_reg.config.stores import ensure_sqlite_parent


def connect(uri: str) -> MlflowClient:
    """Point MLflow's fluent API at ``uri`` and return a client of the same store."""
    ensure_sqlite_parent(uri)
    mlflow.set_tracking_uri(uri)
    return MlflowClient(uri)
