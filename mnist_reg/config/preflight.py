"""Checks of the stores a command will write to, before any study, run or training exists.

A sweep that would fail on its first write (an ``mlruns/`` that cannot be created or written,
a tracking server that does not answer) fails here instead, with one line naming the store,
and leaves nothing half-made behind.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from mnist_reg.config.redaction import mask_password
from mnist_reg.config.stores import TRACKING_SCHEMES, sqlite_path, url_problem
from mnist_reg.errors import ConfigError

SERVER_TIMEOUT = 10.0  # seconds for a tracking server's /health to answer


def check_writable_folder(folder: Path, what: str) -> None:
    """``folder`` can be created and a file written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as error:
        raise ConfigError(
            f"{what}: cannot write to {folder}/ ({error.strerror or error}); "
            "run from a writable directory or point it elsewhere"
        ) from None


def check_writable_sqlite(url: str, what: str) -> None:
    """The database's folder can be created and written, and an existing file written."""
    path = sqlite_path(url)
    if path is None:
        return
    check_writable_folder(path.parent, f"{what}={url}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{what}={url}: {path} is not writable")


def check_tracking_server(uri: str) -> None:
    """An http(s) tracking server answers its health check."""
    if not uri.startswith(("http://", "https://")):
        return
    shown = mask_password(uri)
    try:
        with urllib.request.urlopen(
            uri.rstrip("/") + "/health", timeout=SERVER_TIMEOUT
        ) as response:
            if response.status == 200:
                return
            reason = f"HTTP {response.status}"
    except (urllib.error.URLError, OSError) as error:
        reason = str(getattr(error, "reason", error))
    raise ConfigError(
        f"mlflow.tracking_uri={shown}: the tracking server does not answer ({reason}); "
        "start it or check the URL"
    )


def check_stores(optuna_storage: str | None, tracking: str) -> None:
    # the tracking URI may come from $MLFLOW_TRACKING_URI, which validation did not see
    problem = url_problem("mlflow.tracking_uri", tracking, TRACKING_SCHEMES)
    if problem is not None:
        raise ConfigError(problem)
    if optuna_storage is not None:
        check_writable_sqlite(optuna_storage, "sweep.storage")
    check_writable_sqlite(tracking, "mlflow.tracking_uri")
    check_tracking_server(tracking)
