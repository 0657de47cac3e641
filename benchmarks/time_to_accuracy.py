"""Headline: wall time until a sweep first reaches a validation accuracy, against Keras Tuner.

    python benchmarks/time_to_accuracy.py --target 0.993 --epoch-budget 150 --epochs 20

Runs ``+technique=combined`` on the full training split (55,000 images, 5,000 held out)
twice, one after the other, with the same budget of training epochs
(``sweep.epoch_budget``): our Optuna search with the settings ``--ours`` gives (the ones the
other benchmarks found best) and Keras Tuner's Hyperband with its defaults. The clock starts
when the command starts; the time to the target is the MLflow timestamp of the first epoch
whose ``val_accuracy`` reached it, in any trial (pruned ones too: the epoch was trained and
its weights existed). A search stops once it has reached the target (it is interrupted
like Ctrl-C), or at ``--max-minutes`` (a safety net: the defaults' 150 epochs take about 40
minutes on 2 cores, so both searches normally spend their whole budget). Writes
``benchmarks/results/time_to_accuracy.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow.tracking import MlflowClient
from sweep_runs import REPO, tracking_uri, trial_runs

from mnist_reg.analysis.search_curves import reaches
from mnist_reg.analysis.tables import markdown_table

RESULTS = Path(__file__).parent / "results" / "time_to_accuracy.md"
OURS = ["sweep.sampler=tpe", "sweep.pruner=hyperband"]  # the last headline run's settings
KERAS_TUNER = ["sweep.backend=keras_tuner", "sweep.kt_algorithm=hyperband"]


def first_reach(folder: Path, target: float) -> tuple[float | None, float, int, int | None]:
    """(ms timestamp of the first epoch at or above ``target`` or None, the best validation
    accuracy of any epoch so far, epochs logged so far, epochs logged by that first one)."""
    first, best, epochs = None, float("-inf"), 0
    try:
        runs = trial_runs(folder)
        client = MlflowClient(tracking_uri(folder))
        histories = [client.get_metric_history(r, "val_accuracy") for r in runs["run_id"]]
    except Exception:  # nothing logged yet, or the store busy: ask again at the next poll
        return None, float("nan"), 0, None
    for history in histories:
        for metric in history:
            epochs += 1
            if math.isfinite(metric.value):
                best = max(best, metric.value)
            if reaches(metric.value, target) and (first is None or metric.timestamp < first):
                first = metric.timestamp
    by_then = None
    if first is not None:
        by_then = sum(m.timestamp <= first for history in histories for m in history)
    return first, best if epochs else float("nan"), epochs, by_then


def search(name: str, folder: Path, overrides: list[str], target: float, limit: float) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "mnist_reg.sweep", *overrides, "train.progress_bar=off"]
    # The polls below read the tracking store while the sweep writes it: create it first, so
    # that they do not race the sweep through MLflow's schema migrations.
    (folder / "mlruns").mkdir(exist_ok=True)
    MlflowClient(tracking_uri(folder)).search_experiments()
    started = time.time()
    with (folder / "sweep.log").open("w") as log:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=log)
        try:
            while process.poll() is None:
                time.sleep(20)
                reached = first_reach(folder, target)[0]
                if reached is not None or time.time() - started > limit:
                    # the CLI treats SIGTERM as Ctrl-C: the running trial is recorded as
                    # failed and the runs are closed (SIGINT may be ignored in a background
                    # job)
                    process.terminate()
                    process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    reached, best, epochs, by_then = first_reach(folder, target)
    return {
        "search": name,
        "seconds": None if reached is None else reached / 1000 - started,
        "best": best,
        "epochs": epochs,
        "by_then": by_then,
        "wall": time.time() - started,
        "command": " ".join(["python -m mnist_reg.sweep", *overrides]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.993)
    parser.add_argument("--epoch-budget", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=20, help="most epochs a trial trains")
    parser.add_argument("--max-minutes", type=float, default=60)
    parser.add_argument("--ours", nargs="*", default=OURS, help="our search's overrides")
    parser.add_argument(
        "--both", nargs="*", default=[], help="overrides for both searches (a search space)"
    )
    parser.add_argument("--keep", type=Path, help="keep each search's mlruns/ under this folder")
    parser.add_argument("--train-size", type=int, help="a training subset (to try the script)")
    parser.add_argument("--batch-size", type=int, default=128, help="both searches' batch size")
    parser.add_argument("--seed", type=int, default=0, help="both searches' sweep.seed")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="time-to-accuracy-"))
    subset = [] if args.train_size is None else [f"data.train_size={args.train_size}"]
    common = [
        *subset,
        "+technique=combined",
        f"train.epochs={args.epochs}",
        f"train.batch_size={args.batch_size}",
        f"sweep.epoch_budget={args.epoch_budget}",
        f"sweep.seed={args.seed}",
        "sweep.n_trials=1000",
        "mlflow.log_model=false",
        *args.both,
    ]
    rows = [
        search(name, root / name, [*common, *extra], args.target, args.max_minutes * 60)
        for name, extra in (("ours", args.ours), ("keras-tuner-hyperband", KERAS_TUNER))
    ]
    lines = [
        f"# Time to {args.target:.1%} validation accuracy: ours against Keras Tuner Hyperband "
        "(measured)",
        "",
        f"`python benchmarks/time_to_accuracy.py --target {args.target} --epoch-budget "
        f"{args.epoch_budget} --epochs {args.epochs} --batch-size {args.batch_size} "
        f"--seed {args.seed} --max-minutes {args.max_minutes:g} --ours {' '.join(args.ours)}"
        f"{' --both ' + ' '.join(args.both) if args.both else ''}` "
        f"on {platform.node()} "
        f"({os.cpu_count()} CPUs): `+technique=combined`, the full training split, "
        f"batch {args.batch_size}, at most {args.epochs} epochs a trial and "
        f"{args.epoch_budget} epochs a search, search seed {args.seed}, the "
        "searches one after the other. A search stops when it first reaches the target or at "
        f"{args.max_minutes:g} minutes.",
        "",
    ]
    table = [
        [
            r["search"],
            "not reached" if r["seconds"] is None else f"{r['seconds']:.0f} s",
            f"{r['best'] * 100:.2f}",
            "-" if r["by_then"] is None else str(r["by_then"]),
            str(r["epochs"]),
            f"{r['wall']:.0f}",
            f"`{r['command']}`",
        ]
        for r in rows
    ]
    header = ["search", "time to target", "best val. accuracy seen %", "epochs by then"]
    header.append("epochs trained")
    lines += markdown_table([*header, "wall s", "command"], table)
    lines.append("")
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
