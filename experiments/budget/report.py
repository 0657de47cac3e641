"""The training-budget study's report, from its committed files alone (``seeds.csv``,
``test_correct.csv``, ``tuning.csv``, ``best/seeds.csv``): ``report.md``, the accuracy and
gap against training length per technique (``budget.png``), and the full statistics of
``python -m mnist_reg.compare`` in ``comparison/``.

    python experiments/budget/report.py                        # files only
    python experiments/budget/report.py --store mlruns/budget  # and the comparison in MLflow
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import NullLocator
from scipy import stats as scipy_stats

from mnist_reg.analysis import seed_files, uncertainty
from mnist_reg.analysis.cells import WITHHELD, WITHHELD_NOTE
from mnist_reg.analysis.comparison import compare_seeds, short_value
from mnist_reg.analysis.stats import accuracy_interval
from mnist_reg.analysis.tables import markdown_table
from mnist_reg.analysis.uncertainty import MIN_RESAMPLING_SEEDS as MIN_SEEDS
from mnist_reg.analysis.verdicts import BaselineChoice, study_correct

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TARGET = 0.995  # what small CNNs of this size are reported at
REGISTERED = "registered.json"  # in best/: which seed's model the alias points at
# A repeat's time outside `fit` (process start, data, test pass, logging), measured from the
# study's MLflow store: README.md, "Cost estimate".
REPEAT_OVERHEAD_S = 21.0


@dataclass(frozen=True)
class Design:
    """Which study a report is of: its name (config group, MLflow experiment, the prefix of
    its studies) and its title. The training-budget study by default; the decisive study
    (``experiments/decisive/``) runs and reports with the same code."""

    name: str = "budget"
    title: str = "Where regularization pays: the training-budget study"
    margin: float = 0.10  # points: compare.equivalence_margin for every row
    # the seeds an arm the design decides at; a row with fewer (or against a baseline with
    # fewer) is shown with its statistics, its verdict marked interim. None: no such plan
    planned_seeds: int | None = None
    made_by: str = "python experiments/budget/report.py"  # the report alone
    resumed_by: str = "python experiments/budget/run.py"  # trains what is missing


def interim(table: pd.DataFrame, planned_seeds: int | None) -> pd.DataFrame:
    """``table`` with the verdict of each row short of the planned seeds (or compared with
    a baseline that is) marked as no decision: a look before the planned sample is not a
    test the design made, so its verdicts decide nothing (first_better ignores them too)."""
    if planned_seeds is None:
        return table
    marked = table.copy()
    baseline = marked[marked["technique"] == "baseline"].set_index("train_epochs")["repeats"]
    for index, row in marked[marked["technique"] != "baseline"].iterrows():
        fewest = min(int(row["repeats"]), int(baseline.get(row["train_epochs"], row["repeats"])))
        if fewest < planned_seeds:
            marked.at[index, "verdict"] = (
                f"interim, {fewest} of {planned_seeds} seeds (not a decision; so far: "
                f"{row['verdict']})"
            )
    return marked


def best_alias(name: str) -> str:
    """The registry alias of a study's best model: ``budget-study-best`` for the budget."""
    return f"{name}-study-best"


def _pct(value: Any) -> str:
    return "" if pd.isna(value) else f"{100 * value:.2f}"


def _ci(mean: Any, low: Any, high: Any, signed: bool = False) -> str:
    if pd.isna(mean):
        return ""
    sign = "+" if signed else ""
    text = f"{100 * mean:{sign}.2f}"
    return text + (f" [{100 * low:{sign}.2f}, {100 * high:{sign}.2f}]" if pd.notna(low) else "")


def first_better(table: pd.DataFrame) -> dict[str, str]:
    """Per technique, the shortest training length at which it is better than baseline."""
    result = {}
    for technique, rows in table[table["technique"] != "baseline"].groupby("technique"):
        better = rows[rows["verdict"] == "better than baseline"]["train_epochs"]
        tested = ", ".join(str(int(e)) for e in sorted(rows["train_epochs"]))
        none = f"none (tested at {tested} epochs)"
        result[str(technique)] = f"{int(better.min())} epochs" if not better.empty else none
    return result


def headline(table: pd.DataFrame, first: dict[str, str]) -> str:
    """Per technique, the first length at which it beats the baseline; with one training
    length, each technique's decision against the baseline (its verdict)."""
    if table["train_epochs"].nunique() > 1:
        return (
            "**First training length at which each technique beats the same-length baseline "
            "(Holm-corrected over every cell tested, and outside test-image noise):** "
            + "; ".join(f"{t}: {e}" for t, e in sorted(first.items()))
        )
    rows = table[table["technique"] != "baseline"].sort_values("technique")
    return "**Each technique against the baseline (Holm-corrected over every row):** " + (
        "; ".join(f"{row['technique']}: {row['verdict']}" for _, row in rows.iterrows())
    )


def best_cell_name(seeds: pd.DataFrame) -> str:
    """The cell with the highest mean validation accuracy over the seeds every cell has (the
    27-epoch baseline has more: comparing like with like, each seed also drawing the same
    validation split for every cell)."""
    cells = seeds.groupby("study")["seed"].apply(set)
    shared = set.intersection(*cells.tolist())
    common = seeds[seeds["seed"].isin(shared)]
    return str(common.groupby("study")["val_accuracy"].mean().idxmax())


def figure(table: pd.DataFrame, folder: Path, name: str = "budget") -> None:
    fig, (acc, gap) = plt.subplots(1, 2, figsize=(11, 4.5))
    for offset, (technique, rows) in enumerate(table.groupby("technique", sort=True)):
        rows = rows.sort_values("train_epochs")
        x = rows["train_epochs"] * (1 + 0.02 * (offset - 2))  # side by side, not on top
        mean = 100 * rows["test_mean"]
        error = [mean - 100 * rows["test_ci_low"], 100 * rows["test_ci_high"] - mean]
        acc.errorbar(x, mean, yerr=error, marker="o", capsize=4, label=technique)
        gap.plot(x, 100 * rows["gap_mean"], marker="o", label=technique)
    for ax in (acc, gap):
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())  # no 2.9 x 10^0 when one length is in
        ax.set_xticks(sorted(table["train_epochs"].unique()))
        ax.set_xticklabels([str(int(e)) for e in sorted(table["train_epochs"].unique())])
        ax.set_xlabel("training length (epochs, batch 128)")
        ax.grid(alpha=0.3)
    acc.set_ylabel("test accuracy (%), mean and 95% t interval")
    gap.set_ylabel("train minus validation accuracy (points)")
    acc.set_title("Tuned at each length, retrained with fresh seeds")
    gap.set_title("Overfitting gap (clean training accuracy)")
    acc.legend()
    fig.tight_layout()
    fig.savefig(folder / f"{name}.png", dpi=120)
    plt.close(fig)


def _search(tuned: pd.Series) -> str:
    """Minutes / epochs spent / the epochs the chosen trial had trained."""
    found = tuned.get("best_trial_epochs")
    at = "" if found is None or pd.isna(found) else f" / {int(found)}"
    return f"{tuned['wall_seconds'] / 60:.0f} / {int(tuned['epochs_spent'])}{at}"


def cell_rows(table: pd.DataFrame, tuning: pd.DataFrame) -> list[list[str]]:
    rows = []
    for _, row in table.sort_values(["train_epochs", "technique"]).iterrows():
        tuned = tuning.loc[row["study"]] if row["study"] in tuning.index else None
        minutes = (row["seconds_mean"] * row["repeats"]) / 60
        rows.append(
            [
                str(int(row["train_epochs"])),
                str(row["technique"]),
                str(int(row["repeats"])),
                _ci(row["test_mean"], row["test_ci_low"], row["test_ci_high"]),
                _ci(row["test_mean"], row.get("test_nested_low"), row.get("test_nested_high"))
                if row["repeats"] >= MIN_SEEDS
                else WITHHELD,
                _ci(row.get("diff"), row.get("diff_sim_low"), row.get("diff_sim_high"), True),
                "" if pd.isna(row.get("p_holm")) else f"{row['p_holm']:.3g}",
                _pct(row["gap_mean"]),
                _pct(tuned["best_val_accuracy"]) if tuned is not None else "",
                _search(tuned) if tuned is not None else "",
                f"{minutes:.0f}",
                str(row["verdict"]),
            ]
        )
    return rows


def cost_line(table: pd.DataFrame, tuning: pd.DataFrame, best: pd.DataFrame | None) -> str:
    """What the cells in ``table`` (and the best model's retraining) cost."""
    searched = tuning[tuning.index.isin(table["study"])]
    search = searched["wall_seconds"].sum() / 60
    runs = int(table["repeats"].sum()) + (0 if best is None else len(best))
    fit = (table["seconds_mean"] * table["repeats"]).sum() + (
        0 if best is None else best["seconds"].sum()
    )
    outside = runs * REPEAT_OVERHEAD_S
    total = search + (fit + outside) / 60
    return (
        f"Cost{' (the cells and the best model)' if best is not None else ' of these cells'}: "
        f"{search:.0f} min of search (wall clock, from each search's first trial's start to "
        "its last one's end, less any pause between sittings) and "
        f"{runs} repeats: {fit / 60:.0f} min inside `fit` and about {outside / 60:.0f} min "
        f"outside it ({REPEAT_OVERHEAD_S:.0f} s each: start, data, test set, logging). About "
        f"{total:.0f} min of the 2-core machine, {2 * total:.0f} CPU-minutes with both cores "
        "busy. Cells that shared the machine with other jobs took longer than they would "
        "alone ([README.md](README.md#sittings))."
    )


def best_model_lines(
    folder: Path, tuning: pd.DataFrame, seeds: pd.DataFrame, planned: int = 10
) -> list[str]:
    """The best cell's retraining with ``planned`` fresh seeds: its mean and interval
    against TARGET and its registration, or, while seeds are missing, those in so far."""
    path = folder / "best" / seed_files.SEEDS_CSV
    if not path.exists():
        return [f"The best cell's {planned}-seed retraining has not run yet."]
    frame = pd.read_csv(path, dtype={"run_id": str})
    cell = best_cell_name(seeds)
    if len(frame) < planned:
        accuracies = ", ".join(_pct(a) for a in frame["test_accuracy"])
        return [
            f"The best cell, {cell}, retrained with {len(frame)} of its {planned} fresh seeds "
            f"so far (the study is still running): test accuracies {accuracies}%. Its mean, "
            f"interval against {100 * TARGET:.1f}% and registration follow when all are in."
        ]
    ci = accuracy_interval(frame["test_accuracy"].tolist())
    test = scipy_stats.ttest_1samp(frame["test_accuracy"], TARGET)
    values = json.loads(str(tuning.at[cell, "values"])) if cell in tuning.index else {}
    shown = ", ".join(
        f"{k.removeprefix('technique.')}={short_value(v)}" for k, v in values.items()
    )
    correct = seed_files.read_correct(path.parent, frame["run_id"]) if "run_id" in frame else {}
    matrix = study_correct(frame, correct) if correct else None
    nested = ""
    if matrix is not None:
        (images,) = uncertainty.nested_bootstrap(matrix)
        nested = (
            f" The 95% interval over the seeds and the test images (a bootstrap over the "
            f"{matrix.shape[1]:,} test images nested with the seeds) is "
            f"[{_pct(images.low)}, {_pct(images.high)}]: the seeds' interval speaks of this "
            f"test set, the one published accuracies are measured on; the wider one of "
            f"digits like them."
        )
    lines = [
        f"The cell with the best mean validation accuracy over the seeds every cell has, "
        f"{cell} ({shown or 'its defaults'}), retrained with {len(frame)} fresh seeds "
        f"({frame['seed'].min()} to {frame['seed'].max()}): mean test accuracy "
        f"**{_ci(ci.mean, ci.low, ci.high)}%** (95% t interval over the seeds), against "
        f"{100 * TARGET:.1f}%: one-sample t-test p = {test.pvalue:.3g}.{nested}",
        "",
    ]
    registered = folder / "best" / REGISTERED
    if not registered.exists():
        return [*lines, "Not registered: the seeds' models are not in the store run.py used."]
    record = json.loads(registered.read_text())
    among = record["chosen_among"]
    return [
        *lines,
        f"Registered as `{record['model']}` (version {record['version']}): seed "
        f"{record['seed']}, the best validation accuracy ({_pct(record['val_accuracy'])}%; "
        f"test {_pct(record['test_accuracy'])}%) among "
        + (
            f"all {len(among)} seeds"
            if len(among) == len(frame)
            else f"seeds {among}, the ones whose models were in the store (of {len(frame)})"
        )
        + f"; the version's tags hold the {len(frame)} seeds' mean and interval.",
    ]


def _in_repo(path: Path) -> Path:
    """``path`` as compare (run from the repository) and its report show it: relative where
    it can be, so a committed report names no machine's folders."""
    path = path.resolve()
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def logged(tracking: str, name: str = "budget") -> list[str]:
    """compare's overrides that log the comparison into the study's store."""
    return [
        f"mlflow.tracking_uri={tracking}",
        f"mlflow.experiment={name}",
        "compare.log_to_mlflow=true",
    ]


def write_report(
    folder: Path = HERE,
    tracking: str | None = None,
    planned: int = 15,
    planned_best: int = 10,
    design: Design = Design(),
) -> None:
    """The report from ``folder``'s files (of the ``planned`` cells and the best cell's
    ``planned_best`` seeds, those finished so far);
    with ``tracking`` (a store's URI), the comparison is also logged there, one nested run
    per cell, for MLflow's table and chart view."""
    frame, correct = seed_files.read(folder / seed_files.SEEDS_CSV)
    choice = BaselineChoice(same_epochs=True, margin=design.margin / 100)
    comparison = compare_seeds(frame, correct, choice)
    table = interim(comparison.table, design.planned_seeds)
    tuning = pd.read_csv(folder / "tuning.csv").set_index("study")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mnist_reg.compare",
            f"compare.seeds_csv={_in_repo(folder / seed_files.SEEDS_CSV)}",
            "compare.same_epochs=true",
            f"compare.equivalence_margin={design.margin}",
            f"compare.output_dir={_in_repo(folder / 'comparison')}",
            *(logged(tracking, design.name) if tracking else []),
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    figure(table, folder, design.name)
    best_path = folder / "best" / seed_files.SEEDS_CSV
    best = pd.read_csv(best_path) if best_path.exists() else None
    header = [
        "epochs",
        "technique",
        "seeds",
        "test acc. % [95% t CI]",
        "[95% CI, seeds + test images]",
        "vs same-length baseline (points) [simultaneous 95% CI]",
        "p Holm",
        "gap (points)",
        "tuning's best val. %",
        "search: min / epochs / chosen trial's epochs",
        "repeats min (in fit)",
        "verdict",
    ]
    first = first_better(table)
    lines = [
        f"# {design.title}",
        "",
        f"Made by `{design.made_by}` from `seeds.csv` and `tuning.csv` "
        f"({len(frame)} repeats): {len(table)} of the study's {planned} cells"
        + (
            f" (the study is still running; `{design.resumed_by}` adds the rest)"
            if len(table) < planned
            else ""
        )
        + ". The statistics in full: [comparison/report.md]"
        "(comparison/report.md). How the study was designed: [README.md](README.md).",
        "",
        *(
            [
                f"**Interim:** the design decides at {design.planned_seeds} seeds an arm. "
                "Rows with fewer, here and in comparison/report.md, show their statistics "
                "so far; their verdicts are not decisions.",
                "",
            ]
            if table["verdict"].astype(str).str.startswith("interim").any()
            else []
        ),
        headline(table, first),
        "",
        *markdown_table(header, cell_rows(table, tuning)),
        "",
        *(
            [WITHHELD_NOTE, ""]
            if (table["repeats"] < uncertainty.MIN_RESAMPLING_SEEDS).any()
            else []
        ),
        cost_line(table, tuning, best),
        "",
        f"![accuracy and gap against training length]({design.name}.png)",
        "",
        "## The best model",
        "",
        *best_model_lines(folder, tuning, frame, planned_best),
        "",
    ]
    (folder / "report.md").write_text("\n".join(lines))
    print(f"written {folder / 'report.md'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store", help="also log the comparison to this MLflow store, e.g. mlruns/budget"
    )
    args = parser.parse_args()
    store = Path(args.store).resolve() if args.store else None  # compare runs from the root
    write_report(HERE, f"sqlite:///{store}/mlflow.db" if store else None)


if __name__ == "__main__":
    main()
