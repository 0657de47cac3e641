"""The detectable differences of a report made before they were given at the corrected level.

    python experiments/corrected_power.py experiments/article/comparison.csv

The article, tuned and data-scarcity reports were made by a `compare` that printed the
minimum detectable difference at a plain alpha of 0.05, while their verdicts were
Holm-corrected over the family of rows tested. This recomputes it, from the report's own
`comparison.csv` (seed counts and standard deviations), at the level Holm's first step tests:
0.05 / m, m the number of rows tested. It also recomputes the plain one, which must equal the
printed `mdd` column: that checks the inputs were read as the report used them.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from mnist_reg.analysis.stats import ALPHA, minimum_detectable_difference
from mnist_reg.analysis.tables import markdown_table


def corrected(comparison: pd.DataFrame) -> pd.DataFrame:
    """One row per tested study: its detectable difference at ALPHA and at ALPHA / m, in
    points, and the report's printed one."""
    by_study = comparison.set_index("study")
    tested = comparison[comparison["p_holm"].notna()]
    family = len(tested)
    rows = []
    for row in tested.to_dict("records"):
        base = by_study.loc[row["baseline"]]
        n_a, n_b = int(base["repeats"]), int(row["repeats"])
        sd_a, sd_b = float(base["test_sd"]), float(row["test_sd"])
        pooled = math.sqrt(((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2))
        rows.append(
            {
                "study": row["study"],
                "against": row["baseline"],
                "printed": 100 * float(row["mdd"]),
                "plain": 100 * minimum_detectable_difference(n_a, n_b, pooled),
                "corrected": 100 * minimum_detectable_difference(n_a, n_b, pooled, ALPHA / family),
                "family": family,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("comparison", type=Path, help="a report's comparison.csv")
    table = corrected(pd.read_csv(parser.parse_args().comparison))
    family = int(table["family"].iloc[0]) if len(table) else 0
    lines = markdown_table(
        [
            "study",
            "against",
            "printed (points)",
            "at alpha 0.05",
            f"at alpha 0.05/{family}",
        ],
        [
            [str(r["study"]), str(r["against"])]
            + [f"{r[k]:.2f}" for k in ("printed", "plain", "corrected")]
            for r in table.to_dict("records")
        ],
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
