"""Report of the search-backends study: best validation accuracy against epochs spent.

    python experiments/search_backends.py --budget 36 --output experiments/search-backends

Reads the ``search-backends`` experiment's trial runs from MLflow and writes
``studies.csv`` (one row per search), ``methods.csv`` (mean over search seeds),
``anytime.png`` and ``report.md`` into ``--output``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mnist_reg.analysis.search_curves import by_method, step_curve, study_curve, summarize
from mnist_reg.analysis.tables import markdown_table
from mnist_reg.config.schema import DEFAULT_TRACKING_URI
from mnist_reg.tracking.queries import load_runs


def plot(runs: pd.DataFrame, budget: int, path: Path) -> None:
    trials = runs[runs["tags.run_type"] == "trial"]
    grid = np.arange(1, budget + 1)
    fig, ax = plt.subplots(figsize=(9, 5))
    studies = summarize(runs, budget, [])
    shown: list[float] = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-.", (0, (5, 1))]  # methods that tie stay visible
    for i, (method, group) in enumerate(studies.groupby("method")):
        color, style = colors[i % len(colors)], styles[i % len(styles)]
        curves = np.array(
            [
                step_curve(study_curve(trials[trials["tags.study_name"] == s]), grid)
                for s in group["study"]
            ]
        )
        shown.extend(curves[np.isfinite(curves)] * 100)
        for curve in curves:
            ax.step(grid, curve * 100, where="post", color=color, alpha=0.25, linewidth=0.8)
        full = np.isfinite(curves).all(axis=0)  # the mean only where every seed has a result
        if full.any():
            mean = curves[:, full].mean(axis=0) * 100
            ax.step(
                grid[full],
                mean,
                where="post",
                color=color,
                linestyle=style,
                linewidth=2,
                label=method,
            )
    ax.set_xlabel("training epochs spent by the search (all trials, pruned ones too)")
    ax.set_ylabel("best validation accuracy so far (%)")
    seeds = studies.groupby("method").size().max() if len(studies) else 0
    ax.set_title(f"search methods at one epoch budget: mean of {seeds} search seeds (thin: each)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if shown:  # the first results of a search can be far below the rest
        ax.set_ylim(bottom=float(np.percentile(shown, 5)) - 0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(frame: pd.DataFrame, index: bool = True) -> str:
    """A markdown table of ``frame`` (its index first), numbers to 4 significant digits."""
    frame = frame.reset_index() if index else frame

    def cell(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    rows = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    return "\n".join(markdown_table([str(c) for c in frame.columns], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, required=True, help="epochs per search")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--experiment", default="search-backends")
    parser.add_argument("--tracking-uri", default=DEFAULT_TRACKING_URI)
    args = parser.parse_args()
    runs = load_runs(args.tracking_uri, [args.experiment])
    checkpoints = [args.budget // 3, 2 * args.budget // 3]
    studies = summarize(runs, args.budget, checkpoints)
    methods = by_method(studies)
    args.output.mkdir(parents=True, exist_ok=True)
    studies.to_csv(args.output / "studies.csv", index=False)
    methods.to_csv(args.output / "methods.csv")
    plot(runs, args.budget, args.output / "anytime.png")
    shown, shown_studies = methods.copy(), studies.copy()
    for column in ["best_val_accuracy", "its_test_accuracy"] + [
        f"best_at_{c}" for c in checkpoints
    ]:
        shown[column] = shown[column] * 100
        shown_studies[column] = shown_studies[column] * 100
    shown["best_val_sd"] = shown["best_val_sd"] * 100
    columns = [
        "best_val_accuracy",
        "best_val_sd",
        "its_test_accuracy",
        *[f"best_at_{c}" for c in checkpoints],
        "trials",
        "complete",
        "pruned",
        "epochs_spent",
        "fit_seconds",
        "wall_seconds",
        "seeds",
    ]
    text = [
        "# Search methods at the same epoch budget (measured)",
        "",
        f"Budget: {args.budget} training epochs per search; accuracies in %, mean over search "
        "seeds (best_val_sd: their standard deviation). `best_at_N`: the best validation "
        "accuracy of a complete trial that ended within N epochs. `epochs_spent` includes "
        "the trial that crossed the budget (its result is not counted).",
        "",
        markdown(shown[columns]),
        "",
        "## Every search",
        "",
        markdown(shown_studies, index=False),
        "",
        "![anytime curves](anytime.png)",
        "",
    ]
    (args.output / "report.md").write_text("\n".join(text))
    print("\n".join(text[:6]))


if __name__ == "__main__":
    main()
