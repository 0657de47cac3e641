"""How many workers one PostgreSQL and one ``mlflow server`` can feed before the stores, not
training, set the pace.

    python benchmarks/store_limit.py                      # 1, 4, 16, 64, 256 workers
    python benchmarks/store_limit.py --workers 1 4 --seconds 20

Each simulated worker replays, without training, the store calls of one trial, again and
again for ``--seconds``: Optuna (claim a slot under the worker lock and ask, three
suggestions, five report/should_prune pairs, six user attributes, tell) and MLflow (a nested
run, 25 params, five metrics per epoch for five epochs, nine final metrics, tags, five
artifacts totalling ~1.3 MB, end the run): the pattern of ``storage_overhead.py``, with the
per-epoch learning rate a trial now logs (``store_worker.py``). Each worker has its own
Optuna storage (its own database connections) and its own MLflow client, as a worker process
has. Workers are threads spread over ``--processes`` processes: 256 interpreters with Optuna
and MLflow loaded would not fit in this machine's memory. A call that fails is counted as an
error with its kind, and the worker goes on with its next trial.

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

Amended on 2026-12-07, after two short checks (1, 2 and 4 workers for 10 to 20 s) and before
the planned run; the estimator and the limit above are unchanged:
- the CPU seconds a trial costs each part (PostgreSQL with its backends, the mlflow server
  with its workers, the gRPC proxy, the simulated workers), from ``/proc`` over the level;
  on this machine everything shares 2 cores, so the limit measured is the machine's. The
  projection for a store host of its own: its cores / the stores' CPU seconds a trial, an
  upper bound that holds only while CPU, not the worker lock or the disk, limits;
- the seconds ``ask`` takes (the worker lock is held inside it), p50 and p99: where the
  lock, which admits one ask at a time across all workers, sets the pace, ask's time grows
  with the workers while the stores' CPU a trial does not;
- variants, each measured at every level: ``base`` (today's calls), ``batched`` (each
  epoch's MLflow metrics in one call at the trial's end), ``grpc`` (Optuna through its gRPC
  storage proxy); MLflow's run links are not printed (as in the commands since e0be357).
Results: ``benchmarks/results/store_limit.md``.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_probes import max_connections, peak_connections, proxy, stores_cpu
from store_worker import VARIANTS, Job, process_main

from mnist_reg.cli import quiet_libraries

RESULTS = Path(__file__).parent / "results" / "store_limit.md"


def prepare(storage: str, uri: str) -> str:
    """The study and the experiment with its parent run, made once before the workers."""
    import mlflow
    import optuna

    optuna.create_study(study_name="bench", storage=storage, load_if_exists=True)
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("bench")
    return str(client.create_run(experiment, tags={"run_type": "sweep"}).info.run_id)


def measure(workers: int, processes: int, seconds: float, variant: str) -> dict[str, Any]:
    from tests.servers import fresh_databases, mlflow_server

    with (
        tempfile.TemporaryDirectory(prefix="mnist-reg-store-limit-") as tmp,
        fresh_databases("limit_optuna", "limit_mlflow") as (optuna_url, mlflow_url),
        mlflow_server(mlflow_url, Path(tmp), workers=4) as uri,
        proxy(optuna_url, variant) as (port, proxy_pid),
    ):
        parent = prepare(optuna_url, uri)
        count = min(processes, workers)
        shares = [workers // count + (i < workers % count) for i in range(count)]
        jobs = []
        for i, threads in enumerate(shares):
            (Path(tmp) / f"p{i}").mkdir()
            folder = str(Path(tmp) / f"p{i}")
            jobs.append(Job(threads, optuna_url, uri, parent, seconds, folder, variant, port))
        time.sleep(5)  # the server's start-up work (its job consumer) done before counting
        before = stores_cpu(uri, proxy_pid)
        clients = resource.getrusage(resource.RUSAGE_CHILDREN)
        with (
            peak_connections() as peak,
            multiprocessing.get_context("spawn").Pool(count) as pool,
        ):
            results = [r for rs in pool.map(process_main, jobs) for r in rs]
        time.sleep(1)  # the workers' database connections closed, their backends reaped
        after = stores_cpu(uri, proxy_pid)
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = summarize(results)
    trials = sum(len(r["times"]) for r in results) or float("nan")
    cpu = {name: (after[name] - before[name]) / trials for name in before}
    used = done.ru_utime + done.ru_stime - clients.ru_utime - clients.ru_stime
    cpu["workers"] = used / trials
    return {**summary, "cpu": cpu, "connections": max(peak, default=0)}


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    errors: collections.Counter[str] = collections.Counter()
    for result in results:
        errors.update(result["errors"])
    counted = [t for r in results for t in r["times"][1:]]  # each worker's first warms up
    warm = [r["times"] for r in results if len(r["times"]) >= 2]
    idle = sum(len(r["times"]) < 2 for r in results)  # never past its warm-up
    summary: dict[str, Any] = {"errors": errors, "trials": len(counted), "idle": idle}
    nan = float("nan")
    if not counted or not warm:
        return {
            **summary,
            "p50": nan,
            "p90": nan,
            "p99": nan,
            "ask50": nan,
            "ask99": nan,
            "throughput": nan,
        }
    per_trial = sorted(end - start for start, end, _ in counted)
    asks = sorted(ask for _, _, ask in counted)
    first = max(times[1][0] for times in warm)
    last = min(times[-1][1] for times in warm)
    inside = [t for t in counted if t[0] >= first and t[1] <= last]
    return {
        **summary,
        "p50": statistics.median(per_trial),
        "p90": centile(per_trial, 90),
        "p99": centile(per_trial, 99),
        "ask50": statistics.median(asks),
        "ask99": centile(asks, 99),
        "throughput": len(inside) / (last - first) if last > first and inside else nan,
    }


def centile(values: list[float], which: int) -> float:
    return statistics.quantiles(values, n=100)[which - 1] if len(values) > 1 else values[0]


def write(rows: list[tuple[str, int, dict[str, Any]]], args: argparse.Namespace) -> None:
    lines = [
        "# How many workers one PostgreSQL and one mlflow server feed",
        "",
        f"`python benchmarks/store_limit.py --workers {' '.join(map(str, args.workers))} "
        f"--seconds {args.seconds:g} --processes {args.processes} --variants "
        f"{' '.join(args.variants)}`; the plan, estimator and projection are in the script's "
        "docstring.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; PostgreSQL, the mlflow server (4 workers) and the "
        f"simulated workers all on it. PostgreSQL's max_connections: {max_connections()}.",
        "",
        "| variant | workers | trials/s | s/trial p50 | p90 | p99 | ask p50 | ask p99 | "
        "CPU s/trial: database | tracking server | gRPC proxy | workers | "
        "database connections, peak | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for variant, workers, r in rows:
        errors = "; ".join(f"{n} x {kind}" for kind, n in r["errors"].most_common(3)) or "none"
        if r["idle"]:
            errors += f" ({r['idle']} workers never past their first trial)"
        cpu = " | ".join(f"{r['cpu'][k]:.3f}" for k in CPU_PARTS)
        lines.append(
            f"| {variant} | {workers} | {r['throughput']:.2f} | {r['p50']:.2f} | "
            f"{r['p90']:.2f} | {r['p99']:.2f} | {r['ask50']:.3f} | {r['ask99']:.3f} | {cpu} | "
            f"{r['connections']} | {errors} |"
        )
    lines += ["", *projection(rows, args.trial_seconds)]
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")


CPU_PARTS = ("database", "tracking server", "gRPC proxy", "workers")


def projection(rows: list[tuple[str, int, dict[str, Any]]], trial_seconds: float) -> list[str]:
    """Per variant: the limit here, and what a dedicated store host would sustain."""
    lines = []
    for variant in dict.fromkeys(v for v, _, _ in rows):
        mine = [r for v, _, r in rows if v == variant and r["throughput"] == r["throughput"]]
        if not mine:
            continue
        best = max(mine, key=lambda r: r["throughput"])
        store = sum(best["cpu"][k] for k in CPU_PARTS[:3])
        lines.append(
            f"- {variant}: limit here {best['throughput']:.2f} trials/s, so about "
            f"{best['throughput'] * trial_seconds:.0f} real workers of {trial_seconds:g} s "
            f"trials; the stores used {store:.3f} CPU s a trial at that level, so a store "
            f"host of its own with 8 cores would sustain at most {8 / store:.0f} trials/s "
            f"(about {8 / store * trial_seconds:.0f} workers) if CPU were all that limits it."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16, 64, 256])
    parser.add_argument("--seconds", type=float, default=60, help="each level's duration")
    parser.add_argument("--processes", type=int, default=8, help="the workers' processes")
    parser.add_argument("--trial-seconds", type=float, default=150, help="a real trial's")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=RESULTS, help="the report's file")
    args = parser.parse_args()
    quiet_libraries()  # as the commands do: no MLflow links printed per run, among others
    rows = []
    for variant in args.variants:
        for workers in args.workers:
            result = measure(workers, args.processes, args.seconds, variant)
            rows.append((variant, workers, result))
            print(
                f"{variant}, {workers} workers: {result['throughput']:.2f} trials/s, "
                f"p50 {result['p50']:.2f} s, {sum(result['errors'].values())} errors, "
                f"CPU s/trial {result['cpu']}",
                flush=True,
            )
            write(rows, args)


if __name__ == "__main__":
    main()
