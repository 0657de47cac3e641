"""Figures of one training run: its learning curves and its confusion matrix.

Everything renders with matplotlib's Agg backend, so it works without a display.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
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
