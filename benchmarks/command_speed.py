"""The whole sweep command, as a user runs it, against the tutorial's script and against the
same command at an earlier commit: does a release make the product slower, and where?

    python benchmarks/command_speed.py                 # resumable: runs what is missing
    python benchmarks/command_speed.py --report        # the report from what is there

Decided before any run (2026-12-06), not changed after:

- Arms: ``head`` (this checkout) and ``ref`` (``--ref``, default 2d98f14, checked out as a
  git worktree and run with the same Python environment) each run ``python -m
  mnist_reg.sweep +technique=baseline sweep.n_trials=1`` in an empty folder: one trial of
  the tutorial's settings (5 epochs, batch 32, float32, one process) on 55,000 training
  images, 5,000 validating each epoch, tracked in a new ``mlruns/``. ``article`` runs the
  tutorial's script (``article.py``) as the reference.
- Rounds: ``--rounds`` (default 4); each runs every arm once, the order rotated by one each
  round and reversed every other round, so a drift in the host's load hits every arm.
- Estimator: the wall seconds of the whole command (imports, data, training, tracking,
  summary). Per arm its median; ``head`` against ``ref`` and ``article``: the median of the
  per-round ratios.
- Criterion: ``head`` is no slower than ``ref`` if the median round ratio head/ref is at most
  1.03 (the run-to-run spread of one trial measured in ``trial_overhead.md``).
- Stalls: an epoch that took more than 1.5 times its run's median epoch (from the log
  lines' timestamps; the tutorial's from Keras's per-epoch seconds), and the seconds from
  the last epoch to the command's end (testing, logging the model, the summary).

Each run's row goes to ``benchmarks/results/command_speed.csv`` as it finishes (with the CPU
it ran on); a rerun runs only the missing (round, arm) pairs, on any CPU, and the report
counts the rounds whose arms all ran on one CPU.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd
from sweep_runs import (
    REPO,
    Timed,
    append_row,
    cpu,
    cpu_counts,
    epoch_seconds,
    epoch_stamps,
    has_row,
    rotated,
    timed_command,
    worktree,
)

RESULTS = REPO / "benchmarks" / "results"
ARMS = ("ref", "head", "article")
NO_SLOWER = 1.03
STALL = 1.5
SWEEP = ["-m", "mnist_reg.sweep", "+technique=baseline", "sweep.n_trials=1"]
KERAS_EPOCH = re.compile(r" - (\d+)s - ")


def command(arm: str) -> list[str]:
    if arm == "article":
        return [sys.executable, str(REPO / "benchmarks" / "article.py")]
    return [sys.executable, *SWEEP, "train.progress_bar=off"]


def test_accuracy(output: str) -> float | None:
    """The test accuracy the command printed last (both print ``test_accuracy 0.9xxx``)."""
    found = re.findall(r"test_accuracy (0\.\d+)", output)
    return float(found[-1]) if found else None


def measure(rounds: int, ref: str, csv: Path, logs: Path) -> None:
    """Run each (round, arm) not yet in ``csv``; a row is appended as each run ends."""
    sources = {"ref": worktree(ref), "head": REPO, "article": REPO}
    logs.mkdir(parents=True, exist_ok=True)
    for index in range(rounds):
        for arm in rotated(ARMS, index):
            if has_row(csv, round=index, arm=arm):
                continue
            timed = timed_command(command(arm), sources[arm])
            (logs / f"round{index}-{arm}.log").write_text(timed.output)
            row = {
                "round": index,
                "arm": arm,
                "ref": ref if arm == "ref" else ("HEAD" if arm == "head" else "article.py"),
                "seconds": round(timed.seconds, 1),
                **phases(arm, timed),
                "test_accuracy": test_accuracy(timed.output),
                "cpu": cpu(),
            }
            append_row(csv, row)


def phases(arm: str, timed: Timed) -> dict[str, object]:
    """Each epoch's seconds; the seconds before the trial started (imports, data, stores)
    and after its last epoch (test, model, summary), where the log lines tell (the
    tutorial's carry no time of day)."""
    if arm == "article":
        epochs = [float(s) for s in KERAS_EPOCH.findall(timed.output)]
        return {
            "before_trial": None,
            "epochs": " ".join(f"{s:.1f}" for s in epochs),
            "after_trial": None,
        }
    stamps = epoch_stamps(timed.output).get("", [])
    if len(stamps) < 2:
        return {"before_trial": None, "epochs": "", "after_trial": None}
    return {
        "before_trial": round((stamps[0] - timed.started).total_seconds(), 1),
        "epochs": " ".join(f"{s:.1f}" for s in epoch_seconds(stamps)),
        "after_trial": round((timed.ended - stamps[-1]).total_seconds(), 1),
    }


def stalls(epochs: str) -> int:
    values = [float(v) for v in str(epochs).split()] if isinstance(epochs, str) else []
    if len(values) < 2:
        return 0
    typical = statistics.median(values)
    return sum(v > STALL * typical for v in values)


def _median(values: pd.Series) -> str:
    present = values.dropna()
    return f"{present.median():.1f}" if len(present) else "-"


def report(csv: Path, out: Path) -> list[str]:
    table = pd.read_csv(csv)
    one_cpu = table.groupby("round")["cpu"].transform("nunique") == 1
    wide = table[one_cpu].pivot_table(index="round", columns="arm", values="seconds").dropna()
    lines = [
        "# The whole sweep command against the tutorial's script and an earlier commit",
        "",
        "`python benchmarks/command_speed.py`; plan, estimator and criterion in its docstring, "
        "fixed before the first run. CPUs: " + cpu_counts(table) + ".",
        "",
        "| arm | runs | median s | each run (s) | median s before the trial, after it | "
        "stalled epochs | test accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm in ARMS:
        rows = table[table["arm"] == arm]
        if rows.empty:
            continue
        lines.append(
            f"| {arm} ({rows['ref'].iloc[0]}) | {len(rows)} | {rows['seconds'].median():.1f} | "
            f"{', '.join(f'{s:.0f}' for s in rows['seconds'])} | "
            f"{_median(rows['before_trial'])}, {_median(rows['after_trial'])} | "
            f"{sum(stalls(e) for e in rows['epochs'])} | "
            f"{', '.join(f'{a:.4f}' for a in rows['test_accuracy'].dropna())} |"
        )
    lines.append("")
    if set(ARMS) <= set(wide.columns) and len(wide):
        by_ref = wide["head"] / wide["ref"]
        by_article = wide["head"] / wide["article"]
        verdict = "no slower" if by_ref.median() <= NO_SLOWER else "**slower**"
        lines += [
            f"Rounds with every arm on one CPU: {len(wide)}. head/ref: median round ratio "
            f"{by_ref.median():.3f} ({', '.join(f'{r:.3f}' for r in by_ref)}): {verdict} "
            f"(criterion: at most {NO_SLOWER}). head/article: {by_article.median():.3f} "
            f"({', '.join(f'{r:.3f}' for r in by_article)}).",
            "",
        ]
    lines.append("Every run, with each epoch's seconds: [command_speed.csv](command_speed.csv).")
    out.write_text("\n".join(lines) + "\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--ref", default="2d98f14")
    parser.add_argument("--report", action="store_true", help="report what is there, run none")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    csv = args.results / "command_speed.csv"
    if not args.report:
        measure(args.rounds, args.ref, csv, Path(tempfile.gettempdir()) / "command-speed-logs")
    print("\n".join(report(csv, args.results / "command_speed.md")))


if __name__ == "__main__":
    main()
