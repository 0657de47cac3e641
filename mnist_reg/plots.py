"""Figures for a trial (learning curves, confusion matrix) and for a study (Optuna's plots).

Everything renders with matplotlib's Agg backend, so it works without a display.
"""

from __future__ import annotations

import warnings
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
from matplotlib.figure import Figure


def learning_curves(history: dict[str, list[float]], title: str, first_epoch: int = 1) -> Figure:
    """Accuracy and loss per epoch, training against validation; a run that continued
    earlier weights (Hyperband) starts at ``first_epoch``."""
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(first_epoch, first_epoch + len(history["loss"]))
    for ax, metric in ((acc_ax, "accuracy"), (loss_ax, "loss")):
        ax.plot(epochs, history[metric], "o-", label=f"train {metric}")
        ax.plot(epochs, history[f"val_{metric}"], "s-", label=f"validation {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(confusion: np.ndarray, title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 5.5))
    image = ax.imshow(confusion, cmap="Blues")
    fig.colorbar(image, ax=ax)
    threshold = confusion.max() / 2
    for (true, predicted), count in np.ndenumerate(confusion):
        color = "white" if count > threshold else "black"
        ax.text(predicted, true, str(count), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    accuracy = np.trace(confusion) / max(confusion.sum(), 1)
    ax.set_title(f"{title}\ntest accuracy {accuracy:.4f} on {confusion.sum()} images")
    fig.tight_layout()
    return fig


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


def study_figures(study: optuna.Study) -> dict[str, Any]:
    """Optuna's optimization history, and where the space allows, importances and coordinates."""
    from optuna.visualization import matplotlib as optuna_plots

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    params = {name for trial in complete for name in trial.params}
    figures: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # axis limits of a single-valued param
        if complete:
            figures["optimization_history.png"] = optuna_plots.plot_optimization_history(
                study
            ).figure
        if params:
            figures["parallel_coordinate.png"] = optuna_plots.plot_parallel_coordinate(
                study
            ).figure
        if len(params) >= 2 and len(complete) >= 2:
            figures["param_importances.png"] = optuna_plots.plot_param_importances(study).figure
    for figure in figures.values():
        figure.set_size_inches(10, 6)
        figure.tight_layout()
    return figures


def close(figure: Figure) -> None:
    plt.close(figure)
