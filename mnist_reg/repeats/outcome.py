"""What a set of repeats ends with: the table of finished repeats, printed with the t
interval of their test accuracy."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mnist_reg.analysis.stats import accuracy_interval
from mnist_reg.repeats.plan import RepeatPlan


@dataclass
class RepeatOutcome:
    plan: RepeatPlan
    table: pd.DataFrame  # one row per finished repeat with these settings
    failed: int  # repeats of this invocation that failed


def print_outcome(outcome: RepeatOutcome) -> None:
    print(f"\nRepeats of {outcome.plan.described}:")
    for path, value in outcome.plan.values.items():
        print(f"  {path} = {value}")
    table = outcome.table
    if table.empty:
        print("No repeat finished.")
        return
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ci = accuracy_interval(table["test_accuracy"].tolist())
    print(
        f"\ntest_accuracy over {len(table)} seeds: mean {ci.mean:.4f}, "
        f"95% t interval [{ci.low:.4f}, {ci.high:.4f}]"
    )
