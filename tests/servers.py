"""Throwaway PostgreSQL databases and an ``mlflow server`` on 127.0.0.1, for the scale-out
tests and benchmarks. PostgreSQL itself comes from ``bash .ci/postgres.sh``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ADMIN_URL = "postgresql://mnist_reg:mnist_reg@127.0.0.1:5432/postgres"


class NoPostgres(RuntimeError):
    pass


def admin_url() -> str:
    return os.environ.get("MNIST_REG_POSTGRES", DEFAULT_ADMIN_URL)


@contextmanager
def fresh_databases(*prefixes: str) -> Iterator[list[str]]:
    """One new database per prefix, dropped afterwards; yields their URLs."""
    import psycopg

    admin = admin_url()
    try:
        connection = psycopg.connect(admin, autocommit=True)
    except psycopg.OperationalError as error:
        raise NoPostgres(
            f"no PostgreSQL at {admin} ({error}); start it with bash .ci/postgres.sh"
        ) from None
    suffix = uuid.uuid4().hex[:10]
    names = [f"{prefix}_{suffix}" for prefix in prefixes]
    try:
        for name in names:
            connection.execute(f"CREATE DATABASE {name}")
        base = admin.rsplit("/", 1)[0]
        yield [f"{base}/{name}" for name in names]
    finally:
        for name in names:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mlflow_server(backend_store: str, folder: Path, workers: int = 2) -> Iterator[str]:
    """``mlflow server`` over ``backend_store``, serving artifacts from ``folder``; yields
    its http:// URL once /health answers. Its log is ``folder/mlflow-server.log``."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "mlflow-server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "mlflow", "server"),
                *("--backend-store-uri", backend_store),
                *("--artifacts-destination", (folder / "served-artifacts").as_uri()),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            uri = f"http://127.0.0.1:{port}"
            _wait_for_health(uri, server, log_path)
            yield uri
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_for_health(uri: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"mlflow server did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)


@dataclass
class Stores:
    storage: str  # the study's PostgreSQL database
    tracking_uri: str  # http:// of the mlflow server
    root: Path

    def overrides(self, tiny: Iterable[str] = ()) -> list[str]:
        """The stores' settings, with ``tiny`` (the tests' small data) after them."""
        return [
            f"sweep.storage={self.storage}",
            f"mlflow.tracking_uri={self.tracking_uri}",
            f"sweep.kt_directory={self.root}/keras_tuner",
            *tiny,
            "sweep.n_startup_trials=1",
        ]
