"""A study's closing summary on its parent run, its best trial tagged and registered, and the
ends of runs a killed worker left behind."""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mnist_reg.tracking import registry
from mnist_reg.tracking import tags as T
from mnist_reg.tracking.runs import Tracker


def log_sweep_summary(tracker: Tracker, table: pd.DataFrame, figures: dict[str, Any]) -> None:
    """The trials table, state counts and figures on the (active) parent run."""
    mlflow.log_text(table.to_csv(index=False), "trials.csv")
    counts = table["state"].value_counts() if len(table) else pd.Series(dtype=int)
    for state in T.TRIAL_STATES:
        mlflow.log_metric(f"trials_{state.lower()}", int(counts.get(state, 0)))
    for name, figure in figures.items():
        tracker.log_figure(figure, name)


def mark_best(
    tracker: Tracker, parent_run_id: str, best: dict[str, Any], dataset: str, study_name: str
) -> None:
    """The best trial tagged, its parameters on the (active) parent run, and its model
    registered. Workers sharing a study call this one at a time (under the worker lock)."""
    mlflow.log_metrics(
        {
            "best_trial_number": best["number"],
            "best_trial_val_accuracy": best["val_accuracy"],
            "best_trial_test_accuracy": best["test_accuracy"],
        }
    )
    tags = {f"best.{k}": str(v) for k, v in best["params"].items()}
    mlflow.set_tags(tags)  # first: a summary stopped half-way leaves these, not none
    client = tracker.client
    parent = client.get_run(parent_run_id)
    for stale in [k for k in parent.data.tags if k.startswith("best.") and k not in tags]:
        try:
            client.delete_tag(parent_run_id, stale)  # an earlier best's parameter
        except MlflowException as error:  # another worker's summary removed it first
            if "No tag with name" not in str(error):
                raise
    for run in tracker.child_runs(parent_run_id):
        if run.data.tags.get(T.RUN_TYPE) != T.TRIAL:  # repeats share the parent
            continue
        is_best = run.data.tags.get(T.TRIAL_NUMBER) == str(best["number"])
        client.set_tag(run.info.run_id, T.BEST_TRIAL, str(is_best).lower())
        if is_best:
            mlflow.set_tag("best_trial_run_id", run.info.run_id)
            version = registry.register_best(
                client, run.info.run_id, dataset, study_name, best["val_accuracy"]
            )
            if version is not None:
                mlflow.set_tag("registered_model", f"{version.name}/{version.version}")


def end_killed_trial_run(uri: str, run_id: str, resumes: bool = False) -> None:
    """A trial run whose worker died (kill -9, power loss): tagged FAIL, or PREEMPTED if
    it ``resumes`` from its checkpoint (then in this same run), and ended KILLED."""
    client = MlflowClient(uri)
    client.set_tag(run_id, T.TRIAL_STATE, T.PREEMPTED if resumes else T.FAIL)
    if not resumes:
        client.set_tag(run_id, T.ERROR, "the worker stopped sending heartbeats (killed?)")
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))


def finish_if_running(uri: str, run_id: str, status: str = "FINISHED") -> None:
    """End a parent run a killed worker left RUNNING with ``status`` (nothing if it is not in
    this store)."""
    client = MlflowClient(uri)
    try:
        run = client.get_run(run_id)
    except MlflowException:  # not in this tracking store
        return
    if run.info.status == "RUNNING":
        client.set_terminated(run_id, status)
