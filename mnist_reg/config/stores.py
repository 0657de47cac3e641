"""Which stores a command uses (Optuna's storage, MLflow's tracking store), resolved here
once from the configuration, and the one parser of SQLite URLs."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from mnist_reg.config.schema import (
    DEFAULT_STORAGE,
    DEFAULT_TRACKING_URI,
    MlflowConfig,
    SweepConfig,
)

SQLITE_PREFIX = "sqlite:///"
# The schemes each store takes (a database URL may name its driver: postgresql+psycopg://)
STORAGE_SCHEMES = ("sqlite", "postgresql", "mysql")
TRACKING_SCHEMES = ("sqlite", "postgresql", "mysql", "http", "https", "databricks")
EXTRAS = {"postgresql": "postgres"}  # the package extra that brings a scheme's driver


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


def url_problem(key: str, url: str, schemes: tuple[str, ...]) -> str | None:
    """Why ``url`` cannot serve as ``key`` (an unknown scheme, a database driver that is not
    installed), in one line without its password; None when it can."""
    from mnist_reg.config.redaction import mask_password

    shown = mask_password(url)
    scheme = "databricks" if url == "databricks" else urlsplit(url).scheme  # MLflow's form
    dialect = scheme.split("+", 1)[0]
    if dialect not in schemes:
        allowed = ", ".join(f"{s}://..." for s in schemes)
        return f"{key}={shown} is invalid; allowed: a URL starting with {allowed}"
    if dialect in ("sqlite", "http", "https", "databricks"):
        return None  # no driver to install (sqlite3 comes with Python)
    try:
        from sqlalchemy.engine import make_url

        make_url(url).get_dialect().import_dbapi()
    except Exception as error:
        extra = EXTRAS.get(dialect)
        hint = f"python -m pip install 'mnist-reg[{extra}]'" if extra else "install its driver"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"{key}={shown}: no {scheme} driver ({reason}); {hint}"
    return None
