"""A study's own figure, for either backend: what the search found against what it spent."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def search_history(table: pd.DataFrame, title: str) -> Figure:
    """Each complete trial's validation accuracy against the epochs the search had spent
    when it ended (pruned and failed trials count too), and the best so far."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ordered = table.sort_values("trial")
    spent = ordered["epochs"].fillna(0).cumsum()
    complete = ordered["state"] == "COMPLETE"
    values = ordered["val_accuracy"].where(complete)
    ax.plot(spent[complete], values[complete], "o", alpha=0.6, label="complete trial")
    ax.step(spent, values.cummax(), where="post", label="best so far")
    ax.set_xlabel("epochs spent by the search")
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return fig
