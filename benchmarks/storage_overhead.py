"""Time a trial spends on storage round trips, by store and number of concurrent workers.

    python benchmarks/storage_overhead.py --workers 1 2 4 8 --trials 10
    python benchmarks/storage_overhead.py --stores sqlite   # without PostgreSQL

Each worker is a process that replays, without training, the calls one 5-epoch trial makes
to its stores: Optuna (claim a slot under the worker lock and ask, three suggestions, five
report/should_prune pairs, six user attributes, tell) and MLflow (a nested run, 25 params,
four metrics per epoch, nine final metrics, tags, five artifacts totalling ~1.3 MB like a
trial's model, plots and config, end the run). The stores:

- ``sqlite``: ``sqlite:///`` files for both, as a single machine uses them;
- ``postgres``: Optuna on PostgreSQL and an ``mlflow server`` on 127.0.0.1 over PostgreSQL
  with served artifacts (needs ``bash .ci/postgres.sh``), as workers on many machines do.

Reports the median seconds per trial per worker and the trials per second all workers
together get through the stores, to ``benchmarks/results/storage_overhead.md``. A real trial
trains for a minute or more on a CPU; the ratio of the two is the storage's share.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).parent / "results" / "storage_overhead.md"
ARTIFACT_BYTES = {
    "config.yaml": 2_000,
    "model_summary.txt": 3_000,
    "learning_curves.png": 60_000,
    "confusion_matrix.png": 45_000,
    "model.keras": 1_150_000,
}


def replay_trials(
    storage: str, tracking_uri: str, trials: int, folder: str
) -> list[tuple[float, float]]:
    """One worker: ``trials`` replayed trials; (start, end) wall-clock times of each."""
    import logging

    import mlflow
    import optuna

    logging.getLogger("mlflow").setLevel(logging.WARNING)

    from mnist_reg.search.locks import StorageLock
    from mnist_reg.search.optuna.workers import ClaimingStudy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lock = StorageLock(storage)
    with lock.held():
        store = optuna.storages.RDBStorage(storage, heartbeat_interval=60, grace_period=180)
        optuna.create_study(study_name="bench", storage=store, load_if_exists=True)
        mlflow.set_tracking_uri(tracking_uri)
        client = mlflow.MlflowClient(tracking_uri)
        experiment = client.get_experiment_by_name("bench")
        if experiment is None:  # a server picks its own artifact store; files go beside us
            local = None if tracking_uri.startswith("http") else Path(folder).parent.as_uri()
            client.create_experiment("bench", artifact_location=local)
            experiment = client.get_experiment_by_name("bench")
        assert experiment is not None
    study = ClaimingStudy(
        "bench",
        store,
        optuna.samplers.RandomSampler(),
        optuna.pruners.MedianPruner(),
        lock,
        10**9,
    )
    files = Path(folder)
    for name, size in ARTIFACT_BYTES.items():
        (files / name).write_bytes(b"\0" * size)
    times = []
    for _ in range(trials):
        start = time.time()
        trial = study.ask()
        rate = trial.suggest_float("rate", 0.0, 0.6)
        trial.suggest_categorical("second", [True, False])
        trial.suggest_float("second_rate", 0.0, 0.6)
        with mlflow.start_run(experiment_id=experiment.experiment_id, tags={"run_type": "trial"}):
            mlflow.log_params({f"param_{i}": i for i in range(25)})
            for epoch in range(5):
                mlflow.log_metrics(
                    {"loss": rate, "accuracy": 0.9, "val_loss": 0.1, "val_accuracy": 0.98},
                    step=epoch,
                )
                trial.report(0.98 + epoch / 1000, epoch)
                trial.should_prune()
            mlflow.log_metrics({f"final_{i}": float(i) for i in range(9)})
            mlflow.set_tags({"trial_number": str(trial.number), "trial_state": "COMPLETE"})
            for name in ARTIFACT_BYTES:
                mlflow.log_artifact(str(files / name))
            for key in ("seed", "epochs_trained", "train_seconds", "test_accuracy", "a", "b"):
                trial.set_user_attr(key, 1.0)
        study.tell(trial, 0.985)
        times.append((start, time.time()))
    return times


def _worker(args: tuple[str, str, int, str]) -> list[tuple[float, float]]:
    return replay_trials(*args)


@contextmanager
def stores(kind: str, folder: Path) -> Iterator[tuple[str, str]]:
    if kind == "sqlite":
        yield f"sqlite:///{folder}/optuna.db", f"sqlite:///{folder}/mlflow.db"
        return
    from tests.servers import fresh_databases, mlflow_server

    with (
        fresh_databases("bench_optuna", "bench_mlflow") as (optuna_url, mlflow_url),
        mlflow_server(mlflow_url, folder, workers=4) as uri,
    ):
        yield optuna_url, uri


def measure(kind: str, workers: int, trials: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="mnist-reg-storage-") as tmp:
        folder = Path(tmp)
        with stores(kind, folder) as (storage, tracking_uri):
            jobs = []
            for i in range(workers):
                (folder / f"w{i}").mkdir()
                jobs.append((storage, tracking_uri, trials, str(folder / f"w{i}")))
            context = multiprocessing.get_context("spawn")
            with context.Pool(workers) as pool:
                results = pool.map(_worker, jobs)
    counted = [t for times in results for t in times[1:]]  # each worker's first warms up
    per_trial = [end - start for start, end in counted]
    # All workers together: the trials done while every worker was warm and still replaying.
    first = max(times[1][0] for times in results)
    last = min(times[-1][1] for times in results)
    inside = [t for t in counted if t[0] >= first and t[1] <= last]
    return {
        "median": statistics.median(per_trial),
        "p90": statistics.quantiles(per_trial, n=10)[-1],
        "throughput": len(inside) / (last - first) if inside else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--trials", type=int, default=10, help="replayed trials per worker")
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    rows = []
    for kind in args.stores:
        for workers in args.workers:
            result = measure(kind, workers, args.trials)
            rows.append((kind, workers, result))
            print(
                f"{kind:8s} {workers} workers: median {result['median']:.3f} s/trial, "
                f"p90 {result['p90']:.3f} s, {result['throughput']:.1f} trials/s in all",
                flush=True,
            )
    lines = [
        "# Storage round trips per trial",
        "",
        f"`python benchmarks/storage_overhead.py --workers {' '.join(map(str, args.workers))} "
        f"--trials {args.trials} --stores {' '.join(args.stores)}`",
        "",
        f"Machine: {platform.machine()}, {multiprocessing.cpu_count()} CPUs, "
        f"Python {platform.python_version()}. Each worker replays a 5-epoch trial's store "
        "calls without training (see the script's docstring); its first trial is not counted.",
        "",
        "| store | workers | median s/trial | p90 s/trial | trials/s, all workers |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, workers, result in rows:
        lines.append(
            f"| {kind} | {workers} | {result['median']:.3f} | {result['p90']:.3f} | "
            f"{result['throughput']:.1f} |"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
