"""The comparison's tables: the two markdown sections of ``report.md`` and the table printed
in the terminal."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mnist_reg.analysis.comparison import EXPECTED_BEST_AT, Comparison


def _pct(value: Any, digits: int = 2) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.{digits}f}"


def _num(value: Any, digits: int = 3) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.{digits}g}"


def _interval(mean: Any, low: Any, high: Any, signed: bool = False) -> str:
    if mean is None or pd.isna(mean):
        return ""
    sign = "+" if signed else ""
    text = f"{100 * float(mean):{sign}.2f}"
    if pd.notna(low):
        text += f" [{100 * float(low):{sign}.2f}, {100 * float(high):{sign}.2f}]"
    return text


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def _get(row: pd.Series, key: str) -> Any:
    return row[key] if key in row.index else None


def repeats_section(table: pd.DataFrame) -> list[str]:
    rows = []
    for _, row in table[table["repeats"] > 0].iterrows():
        rows.append(
            [
                str(row["study"]),
                str(row["technique"]),
                _num(row["train_images"], 6),
                f"{int(row['repeats'])}",
                _interval(row["test_mean"], row["test_ci_low"], row["test_ci_high"]),
                _pct(_get(row, "test_sd"), 3),
                _interval(
                    _get(row, "diff"), _get(row, "diff_ci_low"), _get(row, "diff_ci_high"), True
                ),
                _num(_get(row, "p_welch")),
                _num(_get(row, "p_holm")),
                _num(_get(row, "hedges_g"), 2),
                _pct(_get(row, "mdd")),
                _num(row["epochs_mean"]),
                _num(row["seconds_mean"], 4),
                str(row["verdict"]),
            ]
        )
    if not rows:
        return ["No study has seed repeats yet: run `python -m mnist_reg.repeat` for each."]
    header = [
        "study",
        "technique",
        "train images",
        "seeds",
        "test acc. % mean [95% CI]",
        "SD (points)",
        "vs baseline (points) [95% CI]",
        "p Welch",
        "p Holm",
        "Hedges g",
        "detectable diff. (points)",
        "epochs",
        "s / run",
        "verdict",
    ]
    return markdown_table(header, rows)


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
            _num(row["epochs_budget"], 6),
            str(_get(row, "best_trial") or ""),
            _pct(_get(row, "best_val_accuracy")),
            _pct(_get(row, "best_test_accuracy")),
            _pct(_get(row, "best_gap")),
            _num(_get(row, "best_epochs")),
            _num(_get(row, "best_seconds"), 4),
            " / ".join(_pct(_get(row, f"expected_best_val_{n}")) or "-" for n in EXPECTED_BEST_AT),
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
        "expected best val. % of " + "/".join(map(str, EXPECTED_BEST_AT)) + " trials",
        "best settings",
    ]
    return markdown_table(header, rows)


def print_table(comparison: Comparison) -> None:
    table = comparison.table
    columns = [
        c
        for c in (
            "study",
            "train_images",
            "trials_complete",
            "best_val_accuracy",
            "best_test_accuracy",
            "repeats",
            "test_mean",
            "test_ci_low",
            "test_ci_high",
            "diff",
            "p_holm",
            "verdict",
        )
        if c in table
    ]
    shown = table[columns].copy()
    for column in (
        "best_val_accuracy",
        "best_test_accuracy",
        "test_mean",
        "test_ci_low",
        "test_ci_high",
        "diff",
    ):
        if column in shown:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{100 * v:.2f}")
    with pd.option_context(
        "display.max_columns", None, "display.width", 250, "display.max_colwidth", 60
    ):
        print(shown.to_string(index=False))
    print("\naccuracies in %, diff in points against the baseline; p_holm: Welch, Holm-corrected")
