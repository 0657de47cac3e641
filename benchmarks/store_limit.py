"""How many workers one PostgreSQL and one ``mlflow server`` can feed before the stores, not
training, set the pace.

    python benchmarks/store_limit.py                      # 1, 4, 16, 64, 256 workers
    python benchmarks/store_limit.py --workers 1 4 --seconds 20

Each simulated worker replays, without training, the store calls of one trial, again and
again for ``--seconds``: Optuna (claim a slot under the worker lock and ask, three
suggestions, five report/should_prune pairs, six user attributes, tell) and MLflow (a nested
run, 25 params, five metrics per epoch for five epochs, nine final metrics, tags, five
artifacts totalling ~1.3 MB, end the run): the pattern of ``storage_overhead.py``, with the
per-epoch learning rate a trial now logs. Each worker has its own Optuna storage (its own
database connections) and its own MLflow client, as a worker process has. Workers are threads
spread over ``--processes`` processes: 256 interpreters with Optuna and MLflow loaded would
not fit in this machine's memory. A call that fails is counted as an error with its kind,
and the worker goes on with its next trial.

Each level gets fresh databases and a fresh ``mlflow server`` (4 workers) over PostgreSQL
(``bash .ci/postgres.sh``), all on this machine, which also runs the simulated workers.

Decided before the first run:
- estimator: trials completed per second by all workers together, over the window in which
  every worker had finished its first (warm-up) trial and none had stopped; the per-trial
  seconds at the 50th, 90th and 99th percentiles; errors per level by kind;
- the stores' limit: the highest trials per second of any level;
- the bottleneck: the number of real workers whose trials the stores can keep up with,
  limit x a real trial's seconds (``--trial-seconds``: the tutorial's trial, 5 epochs of
  55,000 images, about 150 s on 2 cores, benchmarks/results/command_speed.md).
Results: ``benchmarks/results/store_limit.md``.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from storage_overhead import ARTIFACT_BYTES  # a trial's artifacts, as replayed there

RESULTS = Path(__file__).parent / "results" / "store_limit.md"
EPOCHS = 5


def one_trial(study: Any, client: Any, experiment: str, parent: str, files: Path) -> None:
    """The store calls of one trial (see the docstring), through ``client``'s REST calls."""
    from mlflow.entities import Metric, Param, RunTag

    trial = study.ask()
    rate = trial.suggest_float("rate", 0.0, 0.6)
    trial.suggest_categorical("second", [True, False])
    trial.suggest_float("second_rate", 0.0, 0.6)
    run = client.create_run(
        experiment, tags={"run_type": "trial", "mlflow.parentRunId": parent}
    ).info.run_id
    client.log_batch(run, params=[Param(f"param_{i}", str(i)) for i in range(25)])
    for epoch in range(EPOCHS):
        now = int(time.time() * 1000)
        names = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
        client.log_batch(run, metrics=[Metric(n, rate, now, epoch) for n in names])
        trial.report(0.98 + epoch / 1000, epoch)
        trial.should_prune()
    now = int(time.time() * 1000)
    client.log_batch(run, metrics=[Metric(f"final_{i}", float(i), now, 0) for i in range(9)])
    tags = {"trial_number": str(trial.number), "trial_state": "COMPLETE"}
    client.log_batch(run, tags=[RunTag(k, v) for k, v in tags.items()])
    for name in ARTIFACT_BYTES:
        client.log_artifact(run, str(files / name))
    for key in ("seed", "epochs_trained", "train_seconds", "test_accuracy", "a", "b"):
        trial.set_user_attr(key, 1.0)
    client.set_terminated(run)
    study.tell(trial, 0.985)


def worker(storage: str, uri: str, parent: str, seconds: float, folder: Path) -> dict[str, Any]:
    """One simulated worker: trials for ``seconds`` from when its clients are made; each
    one's (start, end), and errors."""
    import mlflow
    import optuna

    from mnist_reg.search.locks import StorageLock
    from mnist_reg.search.optuna.workers import ClaimingStudy

    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("bench").experiment_id  # type: ignore[union-attr]
    store = optuna.storages.RDBStorage(storage, heartbeat_interval=60, grace_period=180)
    lock = StorageLock(storage)
    sampler, pruner = optuna.samplers.RandomSampler(), optuna.pruners.MedianPruner()
    study = ClaimingStudy("bench", store, sampler, pruner, lock, 10**9)
    times: list[tuple[float, float]] = []
    errors: collections.Counter[str] = collections.Counter()
    until = time.time() + seconds
    while time.time() < until:
        start = time.time()
        try:
            one_trial(study, client, experiment, parent, folder)
        except Exception as error:  # counted: what a worker at this load would meet
            errors[f"{type(error).__name__}: {str(error).splitlines()[0][:80]}"] += 1
            time.sleep(1)  # as a worker would before trying again
            continue
        times.append((start, time.time()))
    return {"times": times, "errors": errors}


def process_main(args: tuple[int, str, str, str, float, str]) -> list[dict[str, Any]]:
    """One process: ``threads`` workers as threads, each with its own stores' clients."""
    import logging

    import optuna

    threads, storage, uri, parent, seconds, folder = args
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    files = Path(folder)
    for name, size in ARTIFACT_BYTES.items():
        (files / name).write_bytes(b"\0" * size)
    results: list[dict[str, Any]] = [{} for _ in range(threads)]

    def run(index: int) -> None:
        try:
            results[index] = worker(storage, uri, parent, seconds, files)
        except Exception as error:  # a worker that could not even start
            failed = collections.Counter({f"start: {type(error).__name__}: {error}"[:120]: 1})
            results[index] = {"times": [], "errors": failed}

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def prepare(storage: str, uri: str) -> str:
    """The study and the experiment with its parent run, made once before the workers."""
    import mlflow
    import optuna

    optuna.create_study(study_name="bench", storage=storage, load_if_exists=True)
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("bench")
    return str(client.create_run(experiment, tags={"run_type": "sweep"}).info.run_id)


def measure(workers: int, processes: int, seconds: float) -> dict[str, Any]:
    from tests.servers import fresh_databases, mlflow_server

    with (
        tempfile.TemporaryDirectory(prefix="mnist-reg-store-limit-") as tmp,
        fresh_databases("limit_optuna", "limit_mlflow") as (optuna_url, mlflow_url),
        mlflow_server(mlflow_url, Path(tmp), workers=4) as uri,
    ):
        parent = prepare(optuna_url, uri)
        count = min(processes, workers)
        shares = [workers // count + (i < workers % count) for i in range(count)]
        jobs = []
        for i, threads in enumerate(shares):
            (Path(tmp) / f"p{i}").mkdir()
            jobs.append((threads, optuna_url, uri, parent, seconds, str(Path(tmp) / f"p{i}")))
        with multiprocessing.get_context("spawn").Pool(count) as pool:
            results = [r for rs in pool.map(process_main, jobs) for r in rs]
    return summarize(results)


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    errors: collections.Counter[str] = collections.Counter()
    for result in results:
        errors.update(result["errors"])
    counted = [t for r in results for t in r["times"][1:]]  # each worker's first warms up
    warm = [r["times"] for r in results if len(r["times"]) >= 2]
    summary: dict[str, Any] = {"errors": errors, "trials": len(counted), "idle": len(results)}
    summary["idle"] = sum(len(r["times"]) < 2 for r in results)  # never past its warm-up
    if not counted or not warm:
        return {
            **summary,
            "p50": float("nan"),
            "p90": float("nan"),
            "p99": float("nan"),
            "throughput": float("nan"),
        }
    per_trial = sorted(end - start for start, end in counted)
    first = max(times[1][0] for times in warm)
    last = min(times[-1][1] for times in warm)
    inside = [t for t in counted if t[0] >= first and t[1] <= last]
    centiles = statistics.quantiles(per_trial, n=100) if len(per_trial) > 1 else per_trial * 99
    return {
        **summary,
        "p50": statistics.median(per_trial),
        "p90": centiles[89],
        "p99": centiles[98],
        "throughput": len(inside) / (last - first) if last > first and inside else float("nan"),
    }


def write(rows: list[tuple[int, dict[str, Any]]], args: argparse.Namespace) -> None:
    limit = max(
        (r["throughput"] for _, r in rows if r["throughput"] == r["throughput"]), default=0
    )
    lines = [
        "# How many workers one PostgreSQL and one mlflow server feed",
        "",
        f"`python benchmarks/store_limit.py --workers {' '.join(map(str, args.workers))} "
        f"--seconds {args.seconds:g} --processes {args.processes}`; the plan, estimator and "
        "projection are in the script's docstring, fixed before the first run.",
        "",
        f"Machine: {platform.machine()}, {multiprocessing.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; PostgreSQL, the mlflow server (4 workers) and the "
        "simulated workers all on it.",
        "",
        "| workers | trials/s, all workers | s/trial p50 | p90 | p99 | trials | "
        "workers never past warm-up | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for workers, r in rows:
        errors = "; ".join(f"{n} x {kind}" for kind, n in r["errors"].most_common(3)) or "none"
        lines.append(
            f"| {workers} | {r['throughput']:.2f} | {r['p50']:.2f} | {r['p90']:.2f} | "
            f"{r['p99']:.2f} | {r['trials']} | {r['idle']} | {errors} |"
        )
    lines += [
        "",
        f"Limit: {limit:.2f} trials/s. With a real trial of {args.trial_seconds:g} s, the stores "
        f"keep up with about {limit * args.trial_seconds:.0f} workers training at once.",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16, 64, 256])
    parser.add_argument("--seconds", type=float, default=60, help="each level's duration")
    parser.add_argument("--processes", type=int, default=8, help="the workers' processes")
    parser.add_argument("--trial-seconds", type=float, default=150, help="a real trial's")
    args = parser.parse_args()
    rows = []
    for workers in args.workers:
        result = measure(workers, args.processes, args.seconds)
        rows.append((workers, result))
        print(
            f"{workers} workers: {result['throughput']:.2f} trials/s, p50 {result['p50']:.2f} s, "
            f"p99 {result['p99']:.2f} s, {sum(result['errors'].values())} errors",
            flush=True,
        )
    write(rows, args)


if __name__ == "__main__":
    main()
