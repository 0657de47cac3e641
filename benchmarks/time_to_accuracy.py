"""Headline (figure 6): how fast each search backend finds a good ``combined`` model when
trials train long, over several search seeds, side by side in one sitting.

    python benchmarks/time_to_accuracy.py --seeds 0 1 2

For each search seed, our Optuna search (``--ours``: the ``sweep=long`` preset, successive
halving with continuation) and Keras Tuner's Hyperband run ``+technique=combined`` on the
full training split (55,000 images, 5,000 held out), one after the other, each alone on
the machine, with the same budget of training epochs (``sweep.epoch_budget``) and the same
``--both`` overrides; which goes first alternates with the seed. Each (search, seed) is
written to ``benchmarks/results/time_to_accuracy/<search>-s<seed>.json`` as soon as it
ends, and a re-run skips those that exist (resumable across sittings; a search cut off
half-way is run again from scratch, since its clock would be wrong).

Decided before any run (estimator, success criterion):
- time to a validation accuracy: from the command's start to the MLflow timestamp of the
  first epoch, in any trial, whose ``val_accuracy`` reached it (``search_curves.reaches``);
  a search that never reaches it counts as infinitely slow;
- per backend, the median over seeds of the time to 99.3%; success: ours below Keras
  Tuner's;
- anytime curve: the best ``kept_val_accuracy`` of a complete trial against the epochs the
  search had trained (every epoch of every trial counts); success: ours at least Keras
  Tuner's, median over seeds, at every budget from 20 to the full budget;
- each search's selected model: its complete trial with the best validation accuracy, and
  that trial's test accuracy.
Writes ``benchmarks/results/time_to_accuracy_seeds.md`` and ``time_to_accuracy_anytime.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from mlflow.tracking import MlflowClient
from sweep_runs import REPO, tracking_uri, trial_runs

from mnist_reg.analysis.search_curves import best_at, reaches, study_curve
from mnist_reg.analysis.tables import markdown_table

RESULTS = Path(__file__).parent / "results"
THRESHOLDS = (0.990, 0.992, 0.993, 0.994)
OURS = ["sweep=long"]
KERAS_TUNER = ["sweep.backend=keras_tuner", "sweep.kt_algorithm=hyperband"]


def epoch_events(folder: Path) -> list[tuple[int, float]]:
    """Every trained epoch's (ms timestamp, val_accuracy), in time order."""
    runs = trial_runs(folder)
    client = MlflowClient(tracking_uri(folder))
    events = [
        (m.timestamp, m.value)
        for run_id in runs["run_id"]
        for m in client.get_metric_history(run_id, "val_accuracy")
    ]
    return sorted(events)


def reached_by(folder: Path, target: float) -> bool:
    try:
        return any(reaches(value, target) for _, value in epoch_events(folder))
    except Exception:  # nothing logged yet, or the store busy: ask again at the next poll
        return False


def run_search(folder: Path, overrides: list[str], limit: float, stop_at: float | None) -> float:
    """Run one sweep in ``folder``; returns its start (epoch seconds)."""
    if folder.exists():
        shutil.rmtree(folder)  # a search cut off earlier: its clock would be wrong
    (folder / "mlruns").mkdir(parents=True)
    # create the store first, so the polls below do not race the sweep's schema migrations
    MlflowClient(tracking_uri(folder)).search_experiments()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "mnist_reg.sweep", *overrides, "train.progress_bar=off"]
    started = time.time()
    with (folder / "sweep.log").open("w") as log:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=log)
        try:
            while process.poll() is None:
                time.sleep(20)
                done = stop_at is not None and reached_by(folder, stop_at)
                if done or time.time() - started > limit:
                    process.terminate()  # the CLI treats SIGTERM as Ctrl-C
                    process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return started


def record(folder: Path, started: float, search: str, seed: int, command: str) -> dict:
    events = epoch_events(folder)
    runs = trial_runs(folder)
    curve = study_curve(runs)
    complete = runs[runs["tags.trial_state"] == "COMPLETE"].sort_values(
        "metrics.kept_val_accuracy", ascending=False
    )
    best = complete.iloc[0]
    times = {}
    for target in THRESHOLDS:
        first = next((t for t, value in events if reaches(value, target)), None)
        times[f"{target:.3f}"] = None if first is None else first / 1000 - started
    return {
        "search": search,
        "seed": seed,
        "command": command,
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "wall_seconds": max(t for t, _ in events) / 1000 - started,
        "epochs": len(events),
        "seconds_to": times,
        "curve": [
            [int(e), float(v)]
            for e, v in zip(curve["epochs_spent"], curve["best_val_accuracy"], strict=True)
            if not math.isnan(v)
        ],
        "selected_val_accuracy": float(best["metrics.kept_val_accuracy"]),
        "selected_test_accuracy": float(best["metrics.test_accuracy"]),
        "trials": {
            state: int((runs["tags.trial_state"] == state).sum())
            for state in ("COMPLETE", "PRUNED", "FAIL", "INTERRUPTED")
        },
    }


def median_time(records: list[dict], target: str) -> float:
    return statistics.median(
        math.inf if r["seconds_to"][target] is None else r["seconds_to"][target] for r in records
    )


def best_within(record: dict, budget: int) -> float:
    import pandas as pd

    curve = pd.DataFrame(record["curve"], columns=["epochs_spent", "best_val_accuracy"])
    return best_at(curve, budget)


def report(records: dict[str, list[dict]], budget: int, command: str) -> list[str]:
    seconds = lambda v: "not reached" if v is None or math.isinf(v) else f"{v:.0f}"  # noqa: E731
    rows = [
        [
            r["search"],
            str(r["seed"]),
            *(seconds(r["seconds_to"][f"{t:.3f}"]) for t in THRESHOLDS),
            f"{100 * r['selected_val_accuracy']:.2f}",
            f"{100 * r['selected_test_accuracy']:.2f}",
            str(r["epochs"]),
            f"{r['wall_seconds']:.0f}",
        ]
        for search in records
        for r in records[search]
    ]
    for search, found in records.items():
        rows.append(
            [
                f"**{search}, median**",
                f"{len(found)} seeds",
                *(seconds(median_time(found, f"{t:.3f}")) for t in THRESHOLDS),
                f"{100 * statistics.median(r['selected_val_accuracy'] for r in found):.2f}",
                f"{100 * statistics.median(r['selected_test_accuracy'] for r in found):.2f}",
                "",
                "",
            ]
        )
    header = ["search", "seed", *(f"s to {100 * t:.1f}%" for t in THRESHOLDS)]
    header += ["selected val. %", "its test %", "epochs", "wall s"]
    budgets = list(range(20, budget + 1, 10))
    anytime = [
        [search]
        + [f"{100 * statistics.median(best_within(r, b) for r in found):.2f}" for b in budgets]
        for search, found in records.items()
    ]
    return [
        "# Time to accuracy over search seeds: ours against Keras Tuner Hyperband (measured)",
        "",
        f"`{command}`: `+technique=combined`, the full training split, each search alone on "
        "the machine, the two backends alternating per seed. Seconds from the command's "
        "start to the first epoch of any trial at the accuracy; the median counts a search "
        "that never reached it as infinitely slow. Per-run records (with the anytime "
        "curves): `benchmarks/results/time_to_accuracy/`.",
        "",
        *markdown_table(header, rows),
        "",
        "Best validation accuracy of a complete trial (%) by epochs spent, median over seeds:",
        "",
        *markdown_table(["search", *map(str, budgets)], anytime),
        "",
        "![anytime curves](time_to_accuracy_anytime.png)",
        "",
    ]


def plot(records: dict[str, list[dict]], budget: int, path: Path) -> None:
    grid = np.arange(1, budget + 1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    lowest = 100.0
    for search, found in records.items():
        # a search stopped at the target (--stop-at) keeps its last value, as in the table
        # (dropping it made the median of the other two seeds their mean)
        curves = np.array([[best_within(r, int(e)) for e in grid] for r in found])
        with warnings.catch_warnings():  # an epoch count no seed reached: NaN, not drawn
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(curves, axis=0)
            low, high = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
        line = ax.step(grid, 100 * median, where="post", label=f"{search} (median)")[0]
        lowest = min(lowest, float(np.nanmin(100 * low[grid >= min(20, budget)])))
        ax.fill_between(
            grid, 100 * low, 100 * high, step="post", alpha=0.2, color=line.get_color()
        )
    ax.set_xlabel("epochs spent by the search")
    ax.set_ylabel("best validation accuracy of a complete trial (%)")
    ax.set_ylim(bottom=lowest - 0.1)  # from the 20th epoch on, where the searches differ
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Anytime curves, median and range over search seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epoch-budget", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=20, help="most epochs a trial trains")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-minutes", type=float, default=70, help="a safety net")
    parser.add_argument("--stop-at", type=float, help="stop a search once it reaches this")
    parser.add_argument("--ours", nargs="*", default=OURS, help="our search's overrides")
    parser.add_argument("--both", nargs="*", default=[], help="overrides for both searches")
    parser.add_argument("--work", type=Path, default=REPO / "mlruns" / "time_to_accuracy")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report")
    args = parser.parse_args()
    common = [
        "+technique=combined",
        f"train.epochs={args.epochs}",
        f"train.batch_size={args.batch_size}",
        *args.both,
    ]
    budget = [f"sweep.epoch_budget={args.epoch_budget}", "sweep.n_trials=1000"]
    searches = {"ours": args.ours, "keras-tuner-hyperband": KERAS_TUNER}
    records_dir = args.results / "time_to_accuracy"
    records_dir.mkdir(parents=True, exist_ok=True)
    for seed in [] if args.report_only else args.seeds:
        order = list(searches) if seed % 2 == 0 else list(searches)[::-1]
        for search in order:
            path = records_dir / f"{search}-s{seed}.json"
            if path.exists():
                continue
            overrides = [*common, *searches[search], *budget, f"sweep.seed={seed}"]
            overrides.append("mlflow.log_model=false")
            folder = args.work / f"{search}-s{seed}"
            started = run_search(folder, overrides, args.max_minutes * 60, args.stop_at)
            command = " ".join(["python -m mnist_reg.sweep", *overrides])
            path.write_text(json.dumps(record(folder, started, search, seed, command), indent=1))
            print(f"{search} seed {seed}: {path.read_text()[:400]}", flush=True)
    records = {
        search: [json.loads(p.read_text()) for p in sorted(records_dir.glob(f"{search}-s*.json"))]
        for search in searches
    }
    records = {k: v for k, v in records.items() if v}
    if not records:
        return
    command = "python benchmarks/time_to_accuracy.py " + " ".join(sys.argv[1:])
    (args.results / "time_to_accuracy_seeds.md").write_text(
        "\n".join(report(records, args.epoch_budget, command.strip()))
    )
    plot(records, args.epoch_budget, args.results / "time_to_accuracy_anytime.png")


if __name__ == "__main__":
    main()
