"""Does a re-run of an experiment script reproduce its committed numbers?

    python experiments/reproduce.py COMMITTED/comparison.csv RERUN/comparison.csv \
        --output COMMITTED/reproduction.md --command "how the re-run was made"

Decided before looking at any re-run: a study is reproduced when the re-run's mean test
accuracy lies inside the committed report's 95% t interval for that study (the runs are not
bit-for-bit deterministic, so equal numbers are not expected). The script is reproduced when
every study both reports holds is; a study that one of them lacks is listed, not judged. The
verdicts of both are shown beside it: they can differ only through their Holm families.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from mnist_reg.analysis.tables import markdown_table


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def check(committed: pd.DataFrame, rerun: pd.DataFrame) -> tuple[list[list[str]], int, int]:
    """One row per study of the committed report, and how many of the shared ones are inside."""
    again_of = {str(row["study"]): row for row in rerun.to_dict("records")}
    rows, inside, shared = [], 0, 0
    for row in committed.to_dict("records"):
        study = str(row["study"])
        interval = f"{_pct(row['test_mean'])} [{_pct(row['test_ci_low'])}, "
        interval += f"{_pct(row['test_ci_high'])}]"
        if study not in again_of:
            rows.append([study, interval, "", "", "not re-run", str(row["verdict"]), ""])
            continue
        again = again_of[study]
        ok = bool(row["test_ci_low"] <= again["test_mean"] <= row["test_ci_high"])
        inside, shared = inside + ok, shared + 1
        rows.append(
            [
                study,
                interval,
                _pct(again["test_mean"]),
                f"{100 * (again['test_mean'] - row['test_mean']):+.2f}",
                "yes" if ok else "**no**",
                str(row["verdict"]),
                str(again["verdict"]),
            ]
        )
    return rows, inside, shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("committed", type=Path)
    parser.add_argument("rerun", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--command", default="", help="how the re-run was made")
    parser.add_argument("--note", default="", help="what the check does and does not show")
    args = parser.parse_args()
    rows, inside, shared = check(pd.read_csv(args.committed), pd.read_csv(args.rerun))
    header = [
        "study",
        "committed test acc. % [95% t CI]",
        "re-run %",
        "re-run minus committed (points)",
        "inside?",
        "committed verdict",
        "re-run verdict",
    ]
    verdict = "reproduced" if inside == shared and shared else "not reproduced"
    lines = [
        "# Reproduction check",
        "",
        f"Re-run: {args.command}" if args.command else "",
        "",
        "Criterion (decided before the re-run): each study's re-run mean test accuracy inside the "
        "committed 95% t interval. Made by `python experiments/reproduce.py`.",
        "",
        f"**{verdict}**: {inside} of {shared} re-run studies inside their committed interval.",
        "",
        args.note,
        "",
        *markdown_table(header, rows),
        "",
    ]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
