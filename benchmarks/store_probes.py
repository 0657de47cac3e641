"""What the store benchmark (``store_limit.py``) reads off the stores while it runs: their
CPU seconds, PostgreSQL's open connections and its limit; and Optuna's gRPC proxy for the
grpc variant."""

from __future__ import annotations

import multiprocessing
from contextlib import contextmanager
from typing import Any

import proc_cpu

CONNECTIONS = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"


@contextmanager
def proxy(storage: str, variant: str) -> Any:
    """For the grpc variant, Optuna's gRPC proxy over ``storage`` in a process of its own:
    yields (port, pid); else (None, None)."""
    if variant != "grpc":
        yield None, None
        return
    import optuna
    from store_worker import serve_proxy

    from tests.servers import free_port

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve_proxy, args=(storage, port))
    server.start()
    try:
        optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=port).wait_server_ready(60)
        yield port, server.pid
    finally:
        server.terminate()
        server.join(30)


def stores_cpu(uri: str, proxy_pid: int | None) -> dict[str, float]:
    """CPU seconds so far of PostgreSQL, the mlflow server at ``uri`` and the proxy."""
    port = int(uri.rsplit(":", 1)[1])
    return {
        "database": proc_cpu.tree_seconds(proc_cpu.postgres),
        "tracking server": proc_cpu.tree_seconds(proc_cpu.listening_on(port)),
        "gRPC proxy": proc_cpu.tree_seconds(proc_cpu.process(proxy_pid)) if proxy_pid else 0.0,
    }


@contextmanager
def peak_connections() -> Any:
    """Samples, once a second while the block runs, of PostgreSQL's open connections (its
    own admin connection left out); yields the list they are added to."""
    import threading

    import psycopg

    from tests.servers import admin_url

    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(admin_url(), autocommit=True) as connection:
            while not stop.wait(1.0):
                count = connection.execute(CONNECTIONS).fetchone()
                samples.append(int(count[0]) - 1)  # type: ignore[index]

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def max_connections() -> str:
    """PostgreSQL's connection limit, which the workers' connections count against."""
    import psycopg

    from tests.servers import admin_url

    with psycopg.connect(admin_url()) as connection:
        return str(connection.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
