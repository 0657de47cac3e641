"""The store benchmark's simulated workers: a trial's store calls with no training, again and
again (``store_limit.py`` drives them and says what the calls are).

Variants, each a way to lighten the stores' load:

- ``base``: the calls a trial makes today;
- ``batched``: the same, but MLflow gets each epoch's metrics in one call at the trial's end
  instead of one call an epoch (fewer calls per epoch; the live curve is lost);
- ``grpc``: Optuna's calls go through one ``GrpcStorageProxy`` server in front of PostgreSQL
  (Optuna's gRPC storage proxy), instead of each worker's own database connections.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage_overhead import ARTIFACT_BYTES  # a trial's artifacts, as replayed there

EPOCHS = 5
VARIANTS = ("base", "batched", "grpc")
NAMES = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


@dataclass(frozen=True)
class Job:
    """One process's share: ``threads`` workers, and where the stores are."""

    threads: int
    storage: str  # the study's PostgreSQL database (and the worker lock's)
    uri: str  # the mlflow server
    parent: str  # the sweep's parent run
    seconds: float
    folder: str
    variant: str = "base"
    proxy_port: int | None = None  # the gRPC proxy, for the grpc variant


def one_trial(study: Any, client: Any, experiment: str, job: Job, files: Path) -> float:
    """The store calls of one trial, through ``client``'s REST calls; returns the seconds
    ``study.ask()`` took (the worker lock is held in it)."""
    from mlflow.entities import Metric, Param, RunTag

    asked = time.time()
    trial = study.ask()
    asked = time.time() - asked
    rate = trial.suggest_float("rate", 0.0, 0.6)
    trial.suggest_categorical("second", [True, False])
    trial.suggest_float("second_rate", 0.0, 0.6)
    run = client.create_run(
        experiment, tags={"run_type": "trial", "mlflow.parentRunId": job.parent}
    ).info.run_id
    client.log_batch(run, params=[Param(f"param_{i}", str(i)) for i in range(25)])
    held: list[Metric] = []
    for epoch in range(EPOCHS):
        now = int(time.time() * 1000)
        metrics = [Metric(n, rate, now, epoch) for n in NAMES]
        if job.variant == "batched":
            held += metrics
        else:
            client.log_batch(run, metrics=metrics)
        trial.report(0.98 + epoch / 1000, epoch)
        trial.should_prune()
    now = int(time.time() * 1000)
    final = [Metric(f"final_{i}", float(i), now, 0) for i in range(9)]
    client.log_batch(run, metrics=held + final)
    tags = {"trial_number": str(trial.number), "trial_state": "COMPLETE"}
    client.log_batch(run, tags=[RunTag(k, v) for k, v in tags.items()])
    for name in ARTIFACT_BYTES:
        client.log_artifact(run, str(files / name))
    for key in ("seed", "epochs_trained", "train_seconds", "test_accuracy", "a", "b"):
        trial.set_user_attr(key, 1.0)
    client.set_terminated(run)
    study.tell(trial, 0.985)
    return asked


def worker(job: Job, files: Path) -> dict[str, Any]:
    """One simulated worker: trials for ``job.seconds`` from when its clients are made; each
    one's (start, end, seconds in ask), and errors."""
    import mlflow
    import optuna

    from mnist_reg.search.locks import StorageLock
    from mnist_reg.search.optuna.workers import ClaimingStudy

    client = mlflow.MlflowClient(job.uri)
    experiment = client.get_experiment_by_name("bench").experiment_id  # type: ignore[union-attr]
    store: optuna.storages.BaseStorage
    if job.proxy_port is None:
        store = optuna.storages.RDBStorage(job.storage, heartbeat_interval=60, grace_period=180)
    else:
        store = optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=job.proxy_port)
    lock = StorageLock(job.storage)
    sampler, pruner = optuna.samplers.RandomSampler(), optuna.pruners.MedianPruner()
    study = ClaimingStudy("bench", store, sampler, pruner, lock, 10**9)
    times: list[tuple[float, float, float]] = []
    errors: collections.Counter[str] = collections.Counter()
    until = time.time() + job.seconds
    while time.time() < until:
        start = time.time()
        try:
            asked = one_trial(study, client, experiment, job, files)
        except Exception as error:  # counted: what a worker at this load would meet
            errors[f"{type(error).__name__}: {str(error).splitlines()[0][:80]}"] += 1
            time.sleep(1)  # as a worker would before trying again
            continue
        times.append((start, time.time(), asked))
    return {"times": times, "errors": errors}


def process_main(job: Job) -> list[dict[str, Any]]:
    """One process: ``job.threads`` workers as threads, each with its own stores' clients."""
    import optuna

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    files = Path(job.folder)
    for name, size in ARTIFACT_BYTES.items():
        (files / name).write_bytes(b"\0" * size)
    results: list[dict[str, Any]] = [{} for _ in range(job.threads)]

    def run(index: int) -> None:
        try:
            results[index] = worker(job, files)
        except Exception as error:  # a worker that could not even start
            failed = collections.Counter({f"start: {type(error).__name__}: {error}"[:120]: 1})
            results[index] = {"times": [], "errors": failed}

    pool = [threading.Thread(target=run, args=(i,)) for i in range(job.threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def serve_proxy(storage: str, port: int) -> None:
    """Optuna's gRPC storage proxy over ``storage`` (with Optuna's cache, as its docs ask),
    until killed: run in a process of its own."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    cached = optuna.storages.get_storage(
        optuna.storages.RDBStorage(storage, heartbeat_interval=60, grace_period=180)
    )
    optuna.storages.run_grpc_proxy_server(cached, host="127.0.0.1", port=port)
