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


def _chance(mean: Any, low: Any, high: Any) -> str:
    if mean is None or pd.isna(mean):
        return ""
    text = f"{100 * float(mean):.0f}%"
    if pd.notna(low):
        text += f" [{100 * float(low):.0f}, {100 * float(high):.0f}]"
    return text


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def _get(row: pd.Series, key: str) -> Any:
    return row[key] if key in row.index else None


def _varied(row: pd.Series) -> str:
    """The sources of randomness the study's interval covers."""
    sources = ["seed"]
    if (_get(row, "split_seeds") or 0) > 1:
        sources.append("split")
    if pd.notna(_get(row, "test_nested_low")):
        sources.append("test images")
    return " + ".join(sources)


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
                _interval(
                    row["test_mean"], _get(row, "test_nested_low"), _get(row, "test_nested_high")
                ),
                _pct(_get(row, "test_sd"), 3),
                _varied(row),
                _pct(_get(row, "gap_mean")),
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
        "test acc. % mean [95% t CI]",
        "[95% CI, seeds and test images]",
        "SD (points)",
        "varied",
        "gap (points)",
        "epochs",
        "s / run",
        "verdict",
    ]
    return markdown_table(header, rows)


def tests_section(table: pd.DataFrame) -> list[str]:
    """Each tested row against its baseline: every view of the difference, in points."""
    tested = table[table["p_holm"].notna()] if "p_holm" in table else table.iloc[0:0]
    if tested.empty:
        return ["No study was tested against a baseline (each needs 2 or more repeats)."]
    rows = []
    for _, row in tested.iterrows():
        diff = _get(row, "diff")
        rows.append(
            [
                str(row["study"]),
                str(row["baseline"]),
                _interval(diff, _get(row, "diff_ci_low"), _get(row, "diff_ci_high"), True),
                _interval(diff, _get(row, "diff_sim_low"), _get(row, "diff_sim_high"), True),
                _num(_get(row, "p_welch")),
                _num(_get(row, "p_holm")),
                _pct(_get(row, "mdd")),
                _num(_get(row, "hedges_g"), 2),
                _interval(
                    _get(row, "paired_diff"),
                    _get(row, "paired_ci_low"),
                    _get(row, "paired_ci_high"),
                    True,
                )
                + f" ({_num(_get(row, 'pairs'))} pairs, p {_num(_get(row, 'p_paired'))})",
                _interval(diff, _get(row, "boot_ci_low"), _get(row, "boot_ci_high"), True),
                _chance(
                    _get(row, "p_improvement"),
                    _get(row, "p_improvement_low"),
                    _get(row, "p_improvement_high"),
                ),
                _interval(diff, _get(row, "diff_nested_low"), _get(row, "diff_nested_high"), True),
                str(row["verdict"]),
            ]
        )
    family = int(tested["family"].iloc[0])
    header = [
        "study",
        "against",
        "diff. (points) [95% Welch CI]",
        f"[simultaneous 95% CI: alpha 0.05/{family}]",
        "p Welch",
        "p Holm",
        f"detectable diff. at alpha 0.05/{family} (points)",
        "Hedges g",
        "paired diff. [95% CI]",
        "[95% stratified bootstrap CI]",
        "P(improvement) [95% bootstrap CI]",
        "[95% CI, seeds and test images]",
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
        "expected best val. % of " + "/".join(map(str, EXPECTED_BEST_AT)) + " random trials",
        "best settings",
    ]
    return markdown_table(header, rows)


def _points(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):+.2f}"


def print_table(comparison: Comparison) -> None:
    """The studies, then each tested row's views of its difference from the baseline."""
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
            "verdict",
        )
        if c in table
    ]
    shown = table[columns].copy()
    percent = (
        "best_val_accuracy",
        "best_test_accuracy",
        "test_mean",
        "test_ci_low",
        "test_ci_high",
    )
    for column in percent:
        if column in shown:
            shown[column] = shown[column].map(_pct)
    options = ("display.max_columns", None, "display.width", 250, "display.max_colwidth", 70)
    with pd.option_context(*options):
        print(shown.to_string(index=False))
        tested = table[table["p_holm"].notna()] if "p_holm" in table else table.iloc[0:0]
        if tested.empty:
            return
        family = int(tested["family"].iloc[0])
        views = pd.DataFrame(
            {
                "study": tested["study"],
                "diff": tested["diff"].map(_points),
                "welch 95%": [_pair(r, "diff_ci") for _, r in tested.iterrows()],
                f"simult. (a/{family})": [_pair(r, "diff_sim") for _, r in tested.iterrows()],
                "p_holm": tested["p_holm"].map(lambda v: f"{v:.3g}"),
                f"detectable (a/{family})": tested["mdd"].map(_pct),
                "paired 95%": [_pair(r, "paired_ci") for _, r in tested.iterrows()],
                "bootstrap 95%": [_pair(r, "boot_ci") for _, r in tested.iterrows()],
                "P(improve)": tested["p_improvement"].map(lambda v: f"{100 * v:.0f}%"),
                "seeds+images 95%": [_pair(r, "diff_nested") for _, r in tested.iterrows()],
            }
        )
        print("\nagainst the baseline (points):")
        print(views.to_string(index=False))
    print(
        "\naccuracies in %, differences in points; p_holm: Welch, Holm-corrected over the "
        f"{family} rows tested; a/{family}: at the level of Holm's first step"
    )


def _pair(row: pd.Series, prefix: str) -> str:
    low, high = _get(row, f"{prefix}_low"), _get(row, f"{prefix}_high")
    if low is None or pd.isna(low):
        return ""
    return f"[{_points(low)}, {_points(high)}]"
