"""One lock per Optuna storage, held by a worker for the few steps workers must not interleave.

Several ``python -m mnist_reg.sweep`` processes may share a study. They must not both create
the stores' tables (MLflow's and Optuna's schema migrations race and crash), both create the
study's parent run, both start a trial when one slot is left (``sweep.n_trials`` would be
overshot), or both write the parent run's summary and move the registry's aliases as they end
(MLflow's upserts are not atomic). Each of those steps takes this lock, for milliseconds (the
summary: about a second); training never holds it.

The lock is the storage engine's own: an advisory ``flock`` on a file beside a SQLite
database (one machine, as SQLite itself), and a PostgreSQL session advisory lock
for ``postgresql://`` storages (any number of machines). Both are released by the operating
system or the server when a worker dies, so a ``kill -9`` never leaves it held.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mnist_reg.config.stores import sqlite_path
from mnist_reg.errors import WorkerBusyError

log = logging.getLogger(__name__)

_thread_lock = threading.RLock()  # the heartbeat thread never takes it; one worker's steps do


def lock_file(storage_url: str) -> Path | None:
    """The file beside a SQLite database whose ``flock`` stands for it, or None."""
    path = sqlite_path(storage_url)
    return None if path is None else path.with_name(path.name + ".lock")


class StorageLock:
    """A re-entrant, inter-process lock named after one storage URL."""

    def __init__(self, storage_url: str) -> None:
        self.url = storage_url
        self._depth = 0
        self._release: Any = None
        if not storage_url.startswith(("sqlite:", "postgresql")):
            log.warning(
                "no worker lock for %s: workers sharing this study may overshoot "
                "sweep.n_trials; use SQLite (one machine) or PostgreSQL",
                storage_url.split("://", 1)[0],
            )

    @contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock for the block; with ``timeout`` (seconds), raise ``TimeoutError``
        rather than wait longer for it (a worker cleaning up after an interrupt must not
        hang on it)."""
        with _thread_lock:
            if self._depth == 0:
                if self._release is not None:  # an interrupt struck before the block began
                    self._release()
                self._release = self._acquire(timeout)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()
                    self._release = None

    def _acquire(self, timeout: float | None) -> Any:
        if self.url.startswith("postgresql"):
            return _postgres_lock(self.url, timeout)
        path = lock_file(self.url)
        if path is None:
            return lambda: None
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
        try:
            if timeout is None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            else:
                _poll(lambda: _try_flock(handle), timeout)
        except BaseException:  # an interrupt while waiting, or the timeout: nothing held
            handle.close()
            raise

        def release() -> None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

        return release


def _try_flock(handle: Any) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _poll(attempt: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not attempt():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the worker lock was not free within {timeout:g} s")
        time.sleep(0.05)


def _postgres_lock(url: str, timeout: float | None) -> Any:
    import sqlalchemy

    key = zlib.crc32(b"mnist_reg worker lock")  # one lock per database
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    connection = engine.connect()
    try:
        if timeout is None:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        else:
            query = sqlalchemy.text("SELECT pg_try_advisory_lock(:key)")
            _poll(lambda: bool(connection.execute(query, {"key": key}).scalar()), timeout)
    except BaseException:
        # an interrupt may land after the server granted the lock: closing the session
        # releases it there, instead of leaving it to a connection nothing refers to
        connection.close()
        engine.dispose()
        raise

    def release() -> None:
        try:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        finally:
            connection.close()
            engine.dispose()

    return release


@contextmanager
def sole_worker(folder: Path, refusal: str) -> Iterator[None]:
    """Hold ``folder/.worker.lock`` for the block, or raise WorkerBusyError(refusal) at once."""

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".worker.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkerBusyError(refusal) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
