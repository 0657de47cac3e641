"""What a sweep ends with, whichever backend ran it: the trials table, the best trial, the
parent run's summary, and the lines printed at the end."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mnist_reg.config.redaction import mask_password
from mnist_reg.config.schema import Config
from mnist_reg.search.figures import search_history
from mnist_reg.tracking.runs import Tracker
from mnist_reg.tracking.summary import log_sweep_summary, mark_best

log = logging.getLogger("mnist_reg")


@dataclass
class BestTrial:
    number: int
    val_accuracy: float
    test_accuracy: float
    params: dict[str, Any]
    mlflow_run_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "val_accuracy": self.val_accuracy,
            "test_accuracy": self.test_accuracy,
            "params": self.params,
        }


@dataclass
class SweepOutcome:
    study_name: str
    trials_run: int  # by this invocation
    table: pd.DataFrame
    best: BestTrial | None
    mlflow_parent_run_id: str | None
    tracking_uri: str | None = None  # where to browse the runs
    experiment: str | None = None
    failed_workers: list[str] = field(default_factory=list)  # sweep.workers > 1: what failed


def write_summary(
    tracker: Tracker,
    parent_run_id: str,
    cfg: Config,
    table: pd.DataFrame,
    best: BestTrial | None,
    figures: dict[str, Any],
) -> None:
    """The parent run's closing summary (trials table, state counts, figures), and the best
    trial tagged and its model registered."""
    name = str(cfg.sweep.study_name)
    every = {"search_history.png": search_history(table, name)} if len(table) else {}
    log_sweep_summary(tracker, table, {**every, **figures})
    if best is not None:
        mark_best(tracker, parent_run_id, best.as_dict(), cfg.data.name, name)


def summarize_interrupted(write: Callable[[], object]) -> None:
    """Run the summary of an interrupted sweep; whatever stops it (an error, the lock's
    timeout, a second Ctrl-C) is logged, so that the interrupt itself still ends the sweep
    (the parent run KILLED, the one-line message)."""
    log.info("interrupted: summarizing the trials finished so far")
    try:
        write()
    except KeyboardInterrupt:
        log.warning("interrupted again: the summary is left as it was; a resumed sweep writes it")
    except Exception as error:
        log.warning("the interrupted sweep's summary failed (%s); resuming writes it", error)


def print_outcome(outcome: SweepOutcome) -> None:
    with pd.option_context("display.max_columns", None, "display.width", 200):
        print(f"\nStudy {outcome.study_name}: {len(outcome.table)} trials")
        print(outcome.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    best = outcome.best
    if best is None:
        print("\nNo trial completed.")
        return
    print(
        f"\nBest trial {best.number}: val_accuracy {best.val_accuracy:.4f}, "
        f"test_accuracy {best.test_accuracy:.4f} (chosen by validation accuracy)"
    )
    for key, value in best.params.items():
        print(f"  {key} = {value}")
    if best.mlflow_run_id:
        print(f"  MLflow run {best.mlflow_run_id}")
    if outcome.tracking_uri is not None:
        print(f"\n{browse_hint(outcome)}")


def browse_hint(outcome: SweepOutcome) -> str:
    """Where to look next: the command or address of the MLflow UI, and what to open."""
    uri = mask_password(str(outcome.tracking_uri))
    run = f"run {outcome.study_name}"
    if outcome.mlflow_parent_run_id:
        run += f" ({outcome.mlflow_parent_run_id})"
    what = f"experiment {outcome.experiment}, {run}: expand it for its trials"
    if uri.startswith(("http://", "https://")):
        return f"Browse the results at {uri}: {what}"
    return (
        f"Browse the results: mlflow ui --backend-store-uri {uri}\n"
        f"  then open http://127.0.0.1:5000, {what}"
    )
