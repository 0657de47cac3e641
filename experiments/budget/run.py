"""The training-budget study: where regularization starts to pay, and by how much.

    python experiments/budget/run.py        # trains what is missing, then writes the report
    python experiments/budget/report.py     # the report alone, from the committed files

Each cell (technique, training length) is tuned at its own length with the same search
budget for every technique, then retrained with fresh seeds. Each cell's tuning is appended
to ``tuning.csv`` and each seed's result to ``seeds.csv`` (and ``test_correct.csv``) as soon
as it ends, so the study resumes from the committed files on any machine: a re-run trains
only the missing cells and seeds. (A search cut off half-way restarts on a fresh machine; on
the same machine Optuna resumes it from ``mlruns/budget/``.)

Decided before any run (README.md says why):
- cells: TECHNIQUES x BUDGETS epochs, batch 128, the full training split (55,000 images,
  5,000 held out for validation), each technique's space in ``experiments/budget/*.yaml``
  with the learning rate (the baseline's only parameter);
- tuning: ``sweep=long`` (successive halving with continuation, TPE, sampler seed 0), an
  epoch budget of TUNING_FACTOR x the cell's training length, the same for every technique;
- repeats: the tuned configuration retrained with SEEDS (HEADLINE_SEEDS for the longest
  baseline), each seed also drawing its validation split (``repeat.vary_split``);
- estimator: each cell's mean test accuracy with its 95% t interval and the interval over
  seeds and test images; each technique against the same-length baseline with Welch's test,
  Holm-corrected over all the cells tested (``compare.same_epochs=true``);
- headline: the first training length at which each technique is "better than baseline"
  after Holm's correction (none, if none is);
- the best model: the cell with the highest mean validation accuracy over its repeats,
  retrained with BEST_SEEDS; its mean test accuracy and 95% t interval against 99.5%.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from report import REGISTERED, Design, best_alias, best_cell_name, write_report

from mnist_reg.analysis import seed_files
from mnist_reg.analysis.comparison import compare_runs
from mnist_reg.analysis.stats import accuracy_interval
from mnist_reg.config.schema import CompareConfig
from mnist_reg.preemption import EXIT_PREEMPTED, forward_stop_signals, restore
from mnist_reg.tracking import queries, store
from mnist_reg.tracking.registry import model_name, register_best, set_alias

HERE = Path(__file__).parent
REPO = HERE.parent.parent
TECHNIQUES = ("baseline", "dropout", "l2", "augmentation", "combined")
BUDGETS = (3, 9, 27)  # epochs
TUNING_FACTOR = 3  # a cell's search trains at most this many times its length, in epochs
PAUSE = 60.0  # seconds without a trial running that count as the search stopped, not slow
SEEDS = tuple(range(1000, 1005))
HEADLINE_SEEDS = tuple(range(1000, 1010))
BEST_SEEDS = tuple(range(2000, 2010))
DATA = [
    "data.name=mnist",
    "data.train_size=null",
    "data.val_size=5000",
    "data.test_size=null",
    "data.split_seed=0",
    "train.batch_size=128",
    "train.deterministic=false",
]
Cell = tuple[str, int, dict[str, str]]  # technique, epochs, tuned values


@dataclass
class Plan:
    """What to run and where; the defaults are the study, a test shrinks them."""

    folder: Path = HERE
    store: str = str(REPO / "mlruns" / "budget")
    techniques: tuple[str, ...] = TECHNIQUES
    budgets: tuple[int, ...] = BUDGETS
    seeds: tuple[int, ...] = SEEDS
    headline_seeds: tuple[int, ...] = HEADLINE_SEEDS
    best_seeds: tuple[int, ...] = BEST_SEEDS
    overrides: list[str] = field(default_factory=lambda: list(DATA))
    round_robin: bool = False  # seeds arm by arm, each seed for every cell before the next
    # which study: its name (config group in experiments/, MLflow experiment, study prefix)
    design: Design = field(default_factory=Design)

    @property
    def name(self) -> str:
        return self.design.name

    @property
    def tracking(self) -> str:
        return f"sqlite:///{self.store}/mlflow.db"

    def common(self) -> list[str]:
        return [
            "-cd",
            str(HERE.parent),
            f"mlflow.experiment={self.name}",
            f"mlflow.tracking_uri={self.tracking}",
            f"sweep.storage=sqlite:///{self.store}/optuna.db",
            "train.progress_bar=off",
            *self.overrides,
        ]

    def seeds_for(self, technique: str, epochs: int) -> tuple[int, ...]:
        longest_baseline = (technique, epochs) == ("baseline", max(self.budgets))
        return self.headline_seeds if longest_baseline else self.seeds


def study(technique: str, epochs: int, name: str = "budget") -> str:
    return f"{name}-{technique}-e{epochs}"


def run(plan: Plan, module: str, *overrides: str) -> None:
    command = [sys.executable, "-m", f"mnist_reg.{module}", *plan.common(), *overrides]
    print("+", " ".join(command[1:]), flush=True)
    call(command)


def call(command: list[str]) -> None:
    """Run one of the study's commands. A stop signal to the study (SIGUSR1) goes on to it,
    and a command stopped that way (exit 75: its trial waits to resume) stops the study with
    that status and says so, rather than as a failure."""
    child = subprocess.Popen(command, cwd=REPO)
    handlers = forward_stop_signals(lambda: [child.pid])
    try:
        status = child.wait()
    finally:
        restore(handlers)
    if status == EXIT_PREEMPTED:
        print("The study stopped at an epoch's end; run it again to resume.", flush=True)
        raise SystemExit(EXIT_PREEMPTED)
    if status:
        raise subprocess.CalledProcessError(status, command)


def search_wall_seconds(starts: pd.Series, ends: pd.Series, pause: float = PAUSE) -> float:
    """A search's wall clock: from its first trial's start to its last one's end, less any
    time over ``pause`` seconds in which no trial ran (a search stopped in one sitting and
    resumed in the next)."""
    total, until = 0.0, None
    for start, end in sorted(zip(pd.to_datetime(starts), pd.to_datetime(ends), strict=True)):
        if until is None or (start - until).total_seconds() > pause:
            total += (end - start).total_seconds()  # a new stretch of the search
        elif end > until:
            total += (end - until).total_seconds()
        until = end if until is None else max(until, end)
    return total


def best_trial_epochs(ours: pd.DataFrame, parent: pd.Series) -> float:
    """The epochs the chosen trial had trained (a successive-halving search chooses among
    all its rungs, so a cell's configuration can have been found at a shorter length)."""
    best = ours[ours["run_id"] == parent.get("tags.best_trial_run_id")]
    if best.empty:
        return float("nan")
    initial = pd.to_numeric(best.get("metrics.initial_epoch", pd.Series([0.0]))).fillna(0).iloc[0]
    return float(initial + pd.to_numeric(best["metrics.epochs_trained"]).iloc[0])


def tune(plan: Plan, technique: str, epochs: int) -> dict[str, str]:
    """The cell's tuned values: from tuning.csv, else by running its search."""
    path = plan.folder / "tuning.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["study"])
    name = study(technique, epochs, plan.name)
    if name in set(done["study"]):
        return dict(json.loads(str(done.set_index("study").loc[name, "values"])))
    run(
        plan,
        "sweep",
        f"+{plan.name}={technique}",
        f"train.epochs={epochs}",
        "sweep=long",
        f"sweep.epoch_budget={TUNING_FACTOR * epochs}",
        f"sweep.min_epochs={max(1, epochs // 9)}",  # rungs 1-3, 1-3-9, 3-9-27
        f"sweep.study_name={name}",
        "sweep.seed=0",
        "train.seed=0",
        "mlflow.log_model=false",
    )
    runs = queries.load_runs(plan.tracking, [plan.name])
    ours = runs[runs["tags.study_name"] == name]
    parent = ours[ours["tags.run_type"] == "sweep"].iloc[0]
    values = {
        key.removeprefix("tags.best."): str(parent[key])
        for key in ours.columns
        if key.startswith("tags.best.") and pd.notna(parent[key])
    }
    row = compare_runs(ours, CompareConfig()).table.iloc[0]
    trials = ours[ours["tags.run_type"] == "trial"]
    record = {
        "study": name,
        "technique": technique,
        "train_epochs": epochs,
        "values": json.dumps(values, sort_keys=True),
        "best_val_accuracy": row["best_val_accuracy"],
        "trials_complete": row["trials_complete"],
        "trials_pruned": row["trials_pruned"],
        "epochs_spent": row["epochs_budget"],
        "train_seconds": pd.to_numeric(trials["metrics.train_seconds"]).sum(),
        "wall_seconds": search_wall_seconds(trials["start_time"], trials["end_time"]),
        "best_trial_epochs": best_trial_epochs(ours, parent),
    }
    frame = pd.concat([done, pd.DataFrame([record])], ignore_index=True)
    frame.to_csv(path, index=False)
    return values


def repeat(plan: Plan, cell: Cell, seed: int, folder: Path, name: str) -> None:
    """Train one seed of a cell and append its row to ``folder``'s seeds.csv."""
    technique, epochs, values = cell
    run(
        plan,
        "repeat",
        f"+{plan.name}={technique}",
        f"train.epochs={epochs}",
        "repeat.source=config",
        "repeat.count=1",
        f"repeat.first_seed={seed}",
        "repeat.vary_split=true",
        f"sweep.study_name={name}",
        f"mlflow.log_model={str(name == f'{plan.name}-best').lower()}",
        *(f"{path}={value}" for path, value in values.items()),
    )
    runs = queries.load_runs(plan.tracking, [plan.name])
    made = compare_runs(
        runs, CompareConfig(studies=[name]), lambda ids: queries.test_correct(plan.tracking, ids)
    )
    append(folder, made.seeds[made.seeds["seed"] == seed], made.correct)


def append(folder: Path, new: pd.DataFrame, correct: dict[str, np.ndarray]) -> None:
    path = folder / seed_files.SEEDS_CSV
    if path.exists():
        old, old_correct = seed_files.read(path)
        new = pd.concat([old, new], ignore_index=True)
        correct = {**old_correct, **correct}
    folder.mkdir(parents=True, exist_ok=True)
    seed_files.write(folder, new.drop_duplicates(["study", "seed"], keep="last"), correct)


def done_seeds(folder: Path, name: str) -> set[int]:
    path = folder / seed_files.SEEDS_CSV
    if not path.exists():
        return set()
    frame = pd.read_csv(path)
    return set(frame.loc[frame["study"] == name, "seed"].astype(int))


def best_cell(plan: Plan) -> Cell:
    """The cell with the highest mean validation accuracy over the seeds every cell has, and
    its values."""
    name = best_cell_name(pd.read_csv(plan.folder / seed_files.SEEDS_CSV))
    tuning = pd.read_csv(plan.folder / "tuning.csv").set_index("study")
    technique, epochs = (
        str(tuning.at[name, "technique"]),
        int(float(str(tuning.at[name, "train_epochs"]))),
    )
    return technique, epochs, json.loads(str(tuning.at[name, "values"]))


def register_best_model(plan: Plan) -> None:
    """The best cell's seed with the highest validation accuracy among those whose models are
    in this store, registered as ``mnist-cnn@BEST_ALIAS`` with the seeds' mean and interval
    as version tags; what was registered goes to ``best/registered.json`` for the report."""
    frame = pd.read_csv(plan.folder / "best" / seed_files.SEEDS_CSV, dtype={"run_id": str})
    client = store.connect(plan.tracking)  # mlflow.register_model uses the fluent API's store
    local = [row for row in frame.itertuples() if _has_model(client, str(row.run_id))]
    if not local:
        print("the best cell's models are not in this store: nothing registered")
        return
    chosen = max(local, key=lambda row: float(row.val_accuracy))  # type: ignore[arg-type]
    run_id, val = str(chosen.run_id), float(chosen.val_accuracy)  # type: ignore[arg-type]
    version = register_best(client, run_id, "mnist", f"{plan.name}-best", val)
    assert version is not None
    ci = accuracy_interval(frame["test_accuracy"].tolist())
    tags = {"seeds": len(frame), "seeds_test_mean": ci.mean, "seeds_test_ci_low": ci.low}
    for key, value in {**tags, "seeds_test_ci_high": ci.high}.items():
        client.set_model_version_tag(model_name("mnist"), version.version, key, str(value))
    alias = best_alias(plan.name)
    set_alias(client, model_name("mnist"), alias, version.version)
    model = f"models:/{model_name('mnist')}@{alias}"
    record = {
        "model": model,
        "version": int(version.version),
        "seed": int(chosen.seed),  # type: ignore[arg-type]
        "run_id": run_id,
        "val_accuracy": val,
        "test_accuracy": float(chosen.test_accuracy),  # type: ignore[arg-type]
        "chosen_among": sorted(int(row.seed) for row in local),  # type: ignore[arg-type]
    }
    (plan.folder / "best" / REGISTERED).write_text(json.dumps(record, indent=2) + "\n")
    print(f"registered {model} (version {version.version})")


def _has_model(client: MlflowClient, run_id: str) -> bool:
    try:
        return "model_uri" in client.get_run(run_id).data.tags
    except Exception:  # a run of another machine's store
        return False


def run_study(plan: Plan) -> None:
    """Tune each cell and train its seeds (cell by cell, or with ``round_robin`` a seed of
    every cell before the next seed), then the best cell's seeds; register; report."""
    plan.folder.mkdir(parents=True, exist_ok=True)
    cells: list[Cell] = []
    for epochs in plan.budgets:  # the short cells first: a partial study is already useful
        for technique in plan.techniques:
            cells.append((technique, epochs, tune(plan, technique, epochs)))
            for seed in plan.seeds_for(technique, epochs) if not plan.round_robin else ():
                train_seed(plan, cells[-1], seed)
    every = sorted({seed for c in cells for seed in plan.seeds_for(c[0], c[1])})
    for seed in every if plan.round_robin else ():
        for cell in cells:
            if seed in plan.seeds_for(cell[0], cell[1]):
                train_seed(plan, cell, seed)
    best = best_cell(plan)
    best_name = f"{plan.name}-best"
    for seed in plan.best_seeds:
        if seed not in done_seeds(plan.folder / "best", best_name):
            repeat(plan, best, seed, plan.folder / "best", best_name)
    register_best_model(plan)
    write_report(plan.folder, plan.tracking, len(cells), len(plan.best_seeds), plan.design)


def train_seed(plan: Plan, cell: Cell, seed: int) -> None:
    """One seed of a cell, unless it is in the cell's seeds.csv already."""
    name = study(cell[0], cell[1], plan.name)
    if seed not in done_seeds(plan.folder, name):
        repeat(plan, cell, seed, plan.folder, name)


def merged(defaults: list[str], extra: list[str]) -> list[str]:
    """``defaults`` with the keys ``extra`` sets replaced (Hydra refuses a key twice)."""
    keys = {override.split("=", 1)[0] for override in extra}
    return [o for o in defaults if o.split("=", 1)[0] not in keys] + list(extra)


def parse(argv: list[str] | None = None) -> Plan:
    """The plan from the command line; paths relative to the current directory, the
    default store under the repository whatever the current directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=HERE, help="where the results go")
    parser.add_argument(
        "--store", type=Path, default=REPO / "mlruns" / "budget", help="the MLflow/Optuna store"
    )
    parser.add_argument("--techniques", nargs="+", default=list(TECHNIQUES))
    parser.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS))
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="repeats per cell")
    parser.add_argument("overrides", nargs="*", help="extra overrides (a smoke test's tiny data)")
    args = parser.parse_args(argv)
    return Plan(
        folder=args.folder.resolve(),
        store=str(args.store.resolve()),  # the searches run from the repository's root
        techniques=tuple(args.techniques),
        budgets=tuple(args.budgets),
        seeds=SEEDS[: args.seeds],
        headline_seeds=HEADLINE_SEEDS[: 2 * args.seeds],
        best_seeds=BEST_SEEDS[: 2 * args.seeds],
        overrides=merged(DATA, args.overrides),
    )


def main() -> None:
    run_study(parse())


if __name__ == "__main__":
    main()
