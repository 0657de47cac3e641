"""The comparison's figures: test accuracy per study with its interval and every seed as a
point, and the learning curves of each study's best trial (or its repeats' mean)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def test_accuracy(table: pd.DataFrame, per_seed: dict[str, list[float]]) -> Figure:
    """Per study: each seed's test accuracy (dots), mean and 95% t interval (bar); a study
    without repeats shows its best trial's test accuracy as a hollow diamond."""
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(table) + 2), 4.8))
    rng = np.random.default_rng(0)
    baseline = table[table["verdict"] == "baseline"]
    if len(baseline) == 1 and pd.notna(baseline.iloc[0].get("test_ci_low")):
        base = baseline.iloc[0]
        ax.axhspan(100 * base["test_ci_low"], 100 * base["test_ci_high"], color="0.9", zorder=0)
    for x, row in enumerate(table.to_dict("records")):
        seeds = per_seed.get(str(row["study"]), [])
        if seeds:
            jitter = rng.uniform(-0.12, 0.12, len(seeds))
            ax.plot(x + jitter, 100 * np.asarray(seeds), "o", color="tab:blue", alpha=0.5)
            mean = 100 * float(np.mean(seeds))
            low, high = row.get("test_ci_low", np.nan), row.get("test_ci_high", np.nan)
            if pd.notna(low):
                error = [[mean - 100 * low], [100 * high - mean]]
                ax.errorbar(x + 0.25, mean, yerr=error, fmt="s", color="black", capsize=5)
            else:
                ax.plot(x + 0.25, mean, "s", color="black")
        elif pd.notna(row.get("best_test_accuracy", np.nan)):
            value = 100 * float(row["best_test_accuracy"])
            ax.plot(x, value, "D", mfc="none", color="tab:red", label="best trial only")
    ax.set_xticks(range(len(table)))
    ax.set_xticklabels(table["study"], rotation=20, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Test accuracy: seeds (dots), mean and 95% t interval (black)")
    ax.grid(axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys())
    fig.tight_layout()
    return fig


def learning_curves(curves: dict[str, dict[str, list[float]]]) -> Figure:
    """Validation accuracy per epoch, and training minus validation accuracy per epoch.

    Keras's training accuracy is a running mean over the epoch with dropout and augmentation
    switched on, so the gap here is that of the regularized training, as fit reported it.
    """
    fig, (val_ax, gap_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    for study, curve in curves.items():
        val = np.asarray(curve.get("val_accuracy", []), dtype=float)
        train = np.asarray(curve.get("accuracy", []), dtype=float)
        if val.size == 0:
            continue
        epochs = np.arange(1, val.size + 1)
        val_ax.plot(epochs, 100 * val, "o-", label=study)
        n = min(val.size, train.size)
        gap_ax.plot(epochs[:n], 100 * (train[:n] - val[:n]), "o-", label=study)
    val_ax.set_title("validation accuracy per epoch (best trial, or mean of repeats)")
    val_ax.set_ylabel("validation accuracy (%)")
    gap_ax.set_title("train (as fit saw it) minus validation accuracy")
    gap_ax.set_ylabel("points")
    gap_ax.axhline(0, color="0.5", linewidth=0.8)
    for ax in (val_ax, gap_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    val_ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def mean_curve(histories: list[list[float]]) -> list[float]:
    """Mean over runs at each epoch that at least one run reached (early stopping ends some
    runs sooner)."""
    length = max((len(h) for h in histories), default=0)
    return [
        float(np.mean([h[epoch] for h in histories if len(h) > epoch])) for epoch in range(length)
    ]


def save(figure: Figure, path: str) -> None:
    try:
        figure.savefig(path, dpi=110)
    finally:
        plt.close(figure)
