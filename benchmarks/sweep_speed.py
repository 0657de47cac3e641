"""Figure 8: the user's wall clock. The README's sweep with the old defaults against the new
ones, whole commands, side by side.

    python benchmarks/sweep_speed.py           # resumable: runs what is missing
    python benchmarks/sweep_speed.py --report

Decided before any run (2026-12-06), not changed after:

- Command: ``python -m mnist_reg.sweep +technique=dropout`` (20 trials of 5 epochs on 55,000
  images, batch 32, Hyperband pruning) in an empty folder. ``old``: ``sweep.workers=1
  train.precision=float32``; ``new``: ``sweep.workers=auto train.precision=auto``. A step
  that ``auto`` resolves to the old value on this machine (bfloat16 without the CPU's
  instructions, several workers with a GPU) is reported as such.
- Runs: 3 an arm, in pairs, the order alternating (old first in pairs 0 and 2).
- Estimator: each run's wall seconds; per arm the median; the ratio new/old of the medians,
  and each pair's ratio.
- Success: the median ratio is at most 0.55, and the new arm's median best validation
  accuracy (the best trial's, chosen as the sweep chooses it) is no more than 0.10 points
  below the old arm's.

Each run's row goes to ``benchmarks/results/sweep_speed.csv`` as it ends (with the CPU it ran
on); a rerun runs only what is missing. A pair counts only if both runs are on one CPU.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

import pandas as pd
from sweep_runs import REPO, append_row, cpu, cpu_counts, has_row, timed_command

from mnist_reg.pool import worker_count
from mnist_reg.training import precision

RESULTS = REPO / "benchmarks" / "results"
PAIRS = 3
ARMS = {
    "old": ["sweep.workers=1", "train.precision=float32"],
    "new": ["sweep.workers=auto", "train.precision=auto"],
}
TARGET = 0.55
MARGIN = 0.0010
BEST = re.compile(r"Best trial (\d+): val_accuracy (0\.\d+), test_accuracy (0\.\d+)")


def measure(csv: Path) -> None:
    for pair in range(PAIRS):
        for arm in ("old", "new") if pair % 2 == 0 else ("new", "old"):
            if has_row(csv, pair=pair, arm=arm):
                continue
            line = [sys.executable, "-m", "mnist_reg.sweep", "+technique=dropout", *ARMS[arm]]
            timed = timed_command([*line, "train.progress_bar=off"])
            found = BEST.findall(timed.output)
            append_row(
                csv,
                {
                    "pair": pair,
                    "arm": arm,
                    "seconds": round(timed.seconds, 1),
                    "best_val_accuracy": float(found[-1][1]) if found else None,
                    "best_test_accuracy": float(found[-1][2]) if found else None,
                    "workers": 1 if arm == "old" else worker_count("auto", 20),
                    "precision": "float32" if arm == "old" else precision.resolve("auto"),
                    "cpu": cpu(),
                },
            )


def report(csv: Path, out: Path) -> list[str]:
    table = pd.read_csv(csv)
    same_cpu = table.groupby("pair")["cpu"].transform("nunique") == 1
    wide = table[same_cpu].pivot_table(index="pair", columns="arm", values="seconds").dropna()
    lines = [
        "# Figure 8: the README's sweep, old defaults against new",
        "",
        "`python benchmarks/sweep_speed.py`; plan and criteria in its docstring, fixed before "
        "the first run. CPUs: " + cpu_counts(table),
        "",
        "| arm | workers, precision | runs | median s | each run (s) | best val accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for arm in ARMS:
        rows = table[table["arm"] == arm]
        if rows.empty:
            continue
        lines.append(
            f"| {arm} | {rows['workers'].iloc[0]}, {rows['precision'].iloc[0]} | {len(rows)} | "
            f"{rows['seconds'].median():.0f} | {', '.join(f'{s:.0f}' for s in rows['seconds'])} "
            f"| {', '.join(f'{a:.4f}' for a in rows['best_val_accuracy'].dropna())} |"
        )
    if {"old", "new"} <= set(wide.columns) and len(wide):
        medians = {arm: table[table["arm"] == arm] for arm in ARMS}
        ratio = statistics.median(wide["new"]) / statistics.median(wide["old"])
        accuracy = {arm: rows["best_val_accuracy"].median() for arm, rows in medians.items()}
        meets = ratio <= TARGET and accuracy["new"] >= accuracy["old"] - MARGIN
        verdict = (
            ("met" if meets else "not met")
            if len(wide) == PAIRS
            else f"not decided yet ({len(wide)} of {PAIRS} pairs)"
        )
        lines += [
            "",
            f"Pairs on one CPU: {len(wide)} of {PAIRS}. new/old, ratio of the medians: "
            f"{ratio:.2f} (pairs: {', '.join(f'{r:.2f}' for r in wide['new'] / wide['old'])}); "
            f"median best validation accuracy old {100 * accuracy['old']:.2f}%, new "
            f"{100 * accuracy['new']:.2f}%. Target (ratio at most {TARGET}, accuracy no more "
            f"than 0.10 points lower, all {PAIRS} pairs): {verdict}.",
        ]
    lines += ["", "Every run: [sweep_speed.csv](sweep_speed.csv)."]
    out.write_text("\n".join(lines) + "\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report what is there, run none")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    csv = args.results / "sweep_speed.csv"
    if not args.report:
        measure(csv)
    print("\n".join(report(csv, args.results / "sweep_speed.md")))


if __name__ == "__main__":
    main()
