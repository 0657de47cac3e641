"""Each study's verdict against its baseline: Welch's t-test of the seed repeats'
test accuracies, Holm-corrected across the rows, with the effect size and the smallest
difference the seeds could have detected."""

from __future__ import annotations

import pandas as pd

from mnist_reg.analysis import stats


def _baseline_for(row: pd.Series, table: pd.DataFrame, explicit: str | None) -> str | None:
    if explicit:
        return explicit if explicit != row["study"] else None
    candidates = table[
        (table["technique"] == "baseline")
        & (table["dataset"] == row["dataset"])
        & (table["train_images"] == row["train_images"])
        & (table["repeats"] >= 2)
    ]
    if row["technique"] == "baseline" or len(candidates) != 1:
        return None
    return str(candidates.iloc[0]["study"])


def add_tests(
    table: pd.DataFrame, per_seed: dict[str, list[float]], explicit_baseline: str | None
) -> None:
    """Welch's t-test of each study's repeats against its baseline's, Holm-corrected."""
    for column in ("baseline", "verdict"):
        table[column] = None
    tested: list[int] = []
    for index, row in table.iterrows():
        baseline = _baseline_for(row, table, explicit_baseline)
        ours = per_seed.get(row["study"], [])
        theirs = per_seed.get(baseline or "", [])
        if row["study"] == explicit_baseline or (
            row["technique"] == "baseline" and not explicit_baseline
        ):
            table.at[index, "verdict"] = "baseline"
        elif len(ours) < 2:
            table.at[index, "verdict"] = "no seed repeats: the best trial's test accuracy alone"
        elif baseline is None or len(theirs) < 2:
            table.at[index, "verdict"] = (
                "no baseline with repeats on the same data to test against"
            )
        if len(ours) < 2 or baseline is None or len(theirs) < 2:
            continue
        test = stats.welch(ours, theirs)
        table.at[index, "baseline"] = baseline
        table.at[index, "diff"] = test.difference.mean
        table.at[index, "diff_ci_low"] = test.difference.low
        table.at[index, "diff_ci_high"] = test.difference.high
        table.at[index, "p_welch"] = test.p_value
        table.at[index, "hedges_g"] = test.hedges_g
        table.at[index, "mdd"] = stats.minimum_detectable_difference(
            len(ours), len(theirs), stats.pooled_sd(ours, theirs)
        )
        tested.append(index)  # type: ignore[arg-type]
    adjusted = stats.holm([float(table.at[i, "p_welch"]) for i in tested])  # type: ignore[arg-type]
    for index, p_holm in zip(tested, adjusted, strict=True):
        table.at[index, "p_holm"] = p_holm
        diff = float(table.at[index, "diff"])  # type: ignore[arg-type]
        mdd = float(table.at[index, "mdd"])  # type: ignore[arg-type]
        if p_holm < stats.ALPHA:
            table.at[index, "verdict"] = (
                "better than baseline" if diff > 0 else "worse than baseline"
            )
        else:
            table.at[index, "verdict"] = (
                f"not distinguishable from baseline (a true difference under "
                f"{100 * mdd:.2f} points would likely go unseen)"
            )
