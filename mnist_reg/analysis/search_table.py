"""The report's section on each study's search: its trials, its cost and its best trial."""

from __future__ import annotations

import pandas as pd

from mnist_reg.analysis.cells import get, num, pct
from mnist_reg.analysis.studies import EXPECTED_BEST_AT
from mnist_reg.analysis.tables import markdown_table


def search_section(table: pd.DataFrame) -> list[str]:
    searched = table[
        table["trials_complete"] + table["trials_pruned"] + table["trials_failed"] > 0
    ]
    if searched.empty:
        return ["No sweep trials in this selection (repeats of fixed configurations only)."]
    rows = [
        [
            str(row["study"]),
            f"{row['trials_complete']}/{row['trials_pruned']}/{row['trials_failed']}",
            num(row["epochs_budget"], 6),
            str(get(row, "best_trial") or ""),
            pct(get(row, "best_val_accuracy")),
            pct(get(row, "best_test_accuracy")),
            pct(get(row, "best_gap")),
            num(get(row, "best_epochs")),
            num(get(row, "best_seconds"), 4),
            " / ".join(pct(get(row, f"expected_best_val_{n}")) or "-" for n in EXPECTED_BEST_AT),
            str(row["settings"]),
        ]
        for _, row in searched.iterrows()
    ]
    header = [
        "study",
        "trials complete/pruned/failed",
        "epochs spent",
        "best trial",
        "its val acc. %",
        "its test acc. %",
        "its gap (points)",
        "its epochs",
        "its seconds",
        "expected best val. % of " + "/".join(map(str, EXPECTED_BEST_AT)) + " random trials",
        "best settings",
    ]
    return markdown_table(header, rows)
