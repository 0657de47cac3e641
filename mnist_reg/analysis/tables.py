"""The comparison's tables: the two markdown sections of ``report.md`` and the table printed
in the terminal."""

from __future__ import annotations

import pandas as pd

from mnist_reg.analysis.cells import (
    WITHHELD,
    WITHHELD_NOTE,
    chance,
    get,
    interval,
    num,
    pair,
    pct,
    points,
    resampled,
)
from mnist_reg.analysis.comparison import Comparison


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def _varied(row: pd.Series) -> str:
    """The sources of randomness the study's interval covers."""
    sources = ["seed"]
    if (get(row, "split_seeds") or 0) > 1:
        sources.append("split")
    if pd.notna(get(row, "test_nested_low")):
        sources.append("test images")
    return " + ".join(sources)


def repeats_section(table: pd.DataFrame) -> list[str]:
    rows = []
    for _, row in table[table["repeats"] > 0].iterrows():
        rows.append(
            [
                str(row["study"]),
                str(row["technique"]),
                num(row["train_images"], 6),
                f"{int(row['repeats'])}",
                interval(row["test_mean"], row["test_ci_low"], row["test_ci_high"]),
                interval(
                    row["test_mean"], get(row, "test_nested_low"), get(row, "test_nested_high")
                )
                if resampled(row, "repeats") or pd.isna(get(row, "test_nested_low"))
                else WITHHELD,
                pct(get(row, "test_sd"), 3),
                _varied(row),
                pct(get(row, "gap_mean")),
                num(row["epochs_mean"]),
                num(row["seconds_mean"], 4),
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
    few = any(
        not resampled(row, "repeats") and pd.notna(get(row, "test_nested_low"))
        for _, row in table[table["repeats"] > 0].iterrows()
    )
    return [*markdown_table(header, rows), *(["", WITHHELD_NOTE] if few else [])]


def tested_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows tested against a baseline: those with a Holm-corrected p-value."""
    return table[table["p_holm"].notna()] if "p_holm" in table else table.iloc[0:0]


def tests_section(table: pd.DataFrame) -> list[str]:
    """Each tested row against its baseline: every view of the difference, in points."""
    tested = tested_rows(table)
    if tested.empty:
        return ["No study was tested against a baseline (each needs 2 or more repeats)."]
    rows = [_test_cells(row) for _, row in tested.iterrows()]
    table_lines = markdown_table(_tests_header(family=int(tested["family"].iloc[0])), rows)
    note = [] if all(resampled(row) for _, row in tested.iterrows()) else ["", WITHHELD_NOTE]
    return [*table_lines, *note]


def _test_cells(row: pd.Series) -> list[str]:
    diff = get(row, "diff")
    shown = resampled(row)
    paired = interval(
        get(row, "paired_diff"), get(row, "paired_ci_low"), get(row, "paired_ci_high"), True
    )
    return [
        str(row["study"]),
        str(row["baseline"]),
        interval(diff, get(row, "diff_ci_low"), get(row, "diff_ci_high"), True),
        interval(diff, get(row, "diff_sim_low"), get(row, "diff_sim_high"), True),
        num(get(row, "p_welch")),
        num(get(row, "p_holm")),
        pct(get(row, "mdd")),
        num(get(row, "hedges_g"), 2),
        paired + f" ({num(get(row, 'pairs'))} pairs, p {num(get(row, 'p_paired'))})",
        interval(diff, get(row, "boot_ci_low"), get(row, "boot_ci_high"), True)
        if shown
        else WITHHELD,
        chance(
            get(row, "p_improvement"),
            get(row, "p_improvement_low"),
            get(row, "p_improvement_high"),
        )
        if shown
        else WITHHELD,
        interval(diff, get(row, "diff_nested_low"), get(row, "diff_nested_high"), True)
        if shown or pd.isna(get(row, "diff_nested_low"))
        else WITHHELD,
        f"{num(get(row, 'p_tost_holm'))} (within +-{pct(get(row, 'equivalence_reach'))})",
        str(row["verdict"]),
    ]


def _tests_header(family: int) -> list[str]:
    return [
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
        f"p TOST, Holm (margin shown within at alpha 0.05/{family})",
        "verdict",
    ]


def plan_section(table: pd.DataFrame) -> list[str]:
    """Each tested row's seeds as a pilot: the seeds an arm a decision would need."""
    tested = tested_rows(table)
    if tested.empty or "seeds_to_detect" not in tested:
        return []
    family = int(tested["family"].iloc[0])
    rows = [
        [
            str(row["study"]),
            f"{_seeds(get(row, 'repeats'))} / {pct(get(row, 'pilot_sd'), 3)}",
            f"{_seeds(get(row, 'seeds_to_detect'))} (+-{pct(get(row, 'plan_difference'))})",
            f"{_seeds(get(row, 'seeds_for_equivalence'))} (+-{pct(get(row, 'margin'))})",
        ]
        for _, row in tested.iterrows()
    ]
    header = [
        "study",
        "its seeds / SD pooled with its baseline's (points)",
        f"seeds an arm to find a difference of (points), alpha 0.05/{family}, power 0.8",
        f"seeds an arm to show equivalence within (points), alpha 0.05/{family}, power 0.8",
    ]
    return markdown_table(header, rows)


def _seeds(count: float | None) -> str:
    if count is None or pd.isna(count):
        return ""
    return "over 10,000" if count > 10_000 else f"{int(count):,}"


TEST_INTERVAL = ("test_mean", "test_ci_low", "test_ci_high")
PRINTED = ("study", "train_images", "trials_complete", "best_val_accuracy", "best_test_accuracy")
PRINTED_IN_PERCENT = ("best_val_accuracy", "best_test_accuracy", *TEST_INTERVAL)


def print_table(comparison: Comparison) -> None:
    """The studies, then each tested row's views of its difference from the baseline."""
    table = comparison.table
    options = ("display.max_columns", None, "display.width", 250, "display.max_colwidth", 70)
    with pd.option_context(*options):
        print(_studies_view(table).to_string(index=False))
        tested = tested_rows(table)
        if tested.empty:
            return
        family = int(tested["family"].iloc[0])
        views = _differences_view(tested, family)
        print("\nagainst the baseline (points):")
        print(views.to_string(index=False))
    print(
        "\naccuracies in %, differences in points; p_holm: Welch, Holm-corrected over the "
        f"{family} rows tested; a/{family}: at the level of Holm's first step"
    )
    if not all(resampled(row) for _, row in tested.iterrows()):
        print(WITHHELD_NOTE)


def _studies_view(table: pd.DataFrame) -> pd.DataFrame:
    """The studies as printed: their search, their repeats and verdict, accuracies in %."""
    columns = [c for c in (*PRINTED, "repeats", *TEST_INTERVAL, "verdict") if c in table]
    shown = table[columns]
    return shown.assign(**{c: shown[c].map(pct) for c in PRINTED_IN_PERCENT if c in shown})


def _differences_view(tested: pd.DataFrame, family: int) -> pd.DataFrame:
    """Each tested row's views of its difference from its baseline, in points."""
    rows = [row for _, row in tested.iterrows()]
    shown = [resampled(row) for row in rows]

    def unless_few(values: list[str]) -> list[str]:
        return [value if ok else WITHHELD for value, ok in zip(values, shown, strict=True)]

    return pd.DataFrame(
        {
            "study": tested["study"],
            "diff": tested["diff"].map(points),
            "welch 95%": [pair(r, "diff_ci") for r in rows],
            f"simult. (a/{family})": [pair(r, "diff_sim") for r in rows],
            "p_holm": tested["p_holm"].map(lambda v: f"{v:.3g}"),
            f"detectable (a/{family})": tested["mdd"].map(pct),
            "paired 95%": [pair(r, "paired_ci") for r in rows],
            "bootstrap 95%": unless_few([pair(r, "boot_ci") for r in rows]),
            "P(improve)": unless_few([f"{100 * r['p_improvement']:.0f}%" for r in rows]),
            "seeds+images 95%": [
                pair(r, "diff_nested") if ok or not pair(r, "diff_nested") else WITHHELD
                for r, ok in zip(rows, shown, strict=True)
            ],
            "p TOST (Holm)": tested["p_tost_holm"].map(lambda v: f"{v:.3g}"),
            f"equiv. within (a/{family})": tested["equivalence_reach"].map(pct),
        }
    )
