"""The one place a tracking URI is handed to MLflow.

The URI is resolved once, from the configuration (``config.stores.tracking_uri``), and
passed down; MLflow's fluent API (``mlflow.start_run`` and the ``log_*`` functions, which
keep the active run and its nesting) reads it from here. MLflow also exports it as
``$MLFLOW_TRACKING_URI`` for child processes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from mnist_reg.config.stores import ensure_sqlite_parent

DEFAULT_ARTIFACT_DIR = Path("mlruns/artifacts")


# What MLflow logs at INFO when it creates or upgrades a store's tables: the user's screen
# on a first run is for what the command has to say (warnings and errors still show).
QUIET_LOGGERS = ("mlflow.store.db.utils", "alembic.runtime.migration")


def connect(uri: str) -> MlflowClient:
    """Point MLflow's fluent API at ``uri`` and return a client of the same store."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    ensure_sqlite_parent(uri)
    mlflow.set_tracking_uri(uri)
    return MlflowClient(uri)


def experiment_id(
    client: MlflowClient, uri: str, name: str, artifact_location: str | None = None
) -> str:
    """The experiment ``name``'s ID, created if new: with a local store its artifacts go to
    ``artifact_location`` or ``mlruns/artifacts`` (a tracking server picks its own)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = artifact_location
    if location is None and uri.startswith(("sqlite:", "file:", "/", "./")):
        location = DEFAULT_ARTIFACT_DIR.resolve().as_uri()
    return client.create_experiment(name, location)
