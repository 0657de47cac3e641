"""The runs a sweep writes: one parent run per study, one nested run per trial or repeat.

Runs always end with a status: FINISHED (a pruned trial too, tagged ``trial_state=PRUNED``),
FAILED with the error recorded, or KILLED when interrupted; no exception leaves a run RUNNING.
"""

from __future__ import annotations

import hashlib
import io
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras
import mlflow
import numpy as np
import optuna
import pandas as pd
import tensorflow as tf
from mlflow.data.numpy_dataset import from_numpy
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from mnist_reg import plots
from mnist_reg.config import MlflowConfig
from mnist_reg.splits import Splits
from mnist_reg.tracking import registry
from mnist_reg.tracking.races import retry_duplicate_row
from mnist_reg.tracking.uri import ensure_sqlite_parent, tracking_uri

DEFAULT_ARTIFACT_DIR = Path("mlruns/artifacts")
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class EpochMetricsLogger(keras.callbacks.Callback):
    """Logs loss, accuracy, val_loss and val_accuracy to the active run with step=epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items() if k in EPOCH_METRICS}
        mlflow.log_metrics(metrics, step=epoch)


def _log_input(data: Any, context: str) -> None:
    """``mlflow.log_input``, retried when another worker created the same dataset row
    between MLflow's lookup and its insert."""
    retry_duplicate_row(lambda: mlflow.log_input(data, context=context))


class Tracker:
    def __init__(self, cfg: MlflowConfig) -> None:
        self.uri = tracking_uri(cfg)
        ensure_sqlite_parent(self.uri)
        mlflow.set_tracking_uri(self.uri)
        self.client = MlflowClient(self.uri)
        self.log_model = cfg.log_model
        self._digests: dict[str, str] = {}
        experiment = self.client.get_experiment_by_name(cfg.experiment)
        if experiment is None:
            location = cfg.artifact_location
            if location is None and self.uri.startswith(("sqlite:", "file:", "/", "./")):
                location = DEFAULT_ARTIFACT_DIR.resolve().as_uri()  # a server picks its own
            self.experiment_id = self.client.create_experiment(cfg.experiment, location)
        else:
            self.experiment_id = experiment.experiment_id

    def _run_exists(self, run_id: str | None) -> bool:
        if run_id is None:
            return False
        try:
            run = self.client.get_run(run_id)
        except MlflowException:  # not in this tracking store
            return False
        active = run.info.lifecycle_stage == "active"
        return active and run.info.experiment_id == self.experiment_id

    @contextmanager
    def sweep_run(
        self,
        study_name: str,
        technique: str,
        parent_run_id: str | None,
        params: dict[str, Any],
        controls: dict[str, Any],
        config_yaml: str,
        backend: str = "optuna",
    ) -> Iterator[str]:
        """The study's parent run: created once, resumed when the study resumes.

        The study remembers its parent's id; a study new to this tracking store (or a study
        made afresh under an old name) gets a new parent run.
        """
        existing = parent_run_id if self._run_exists(parent_run_id) else None
        tags = {
            "run_type": "sweep",
            "study_name": study_name,
            "technique": technique,
            "backend": backend,
        }
        with _ended_on_error(
            mlflow.start_run(
                run_id=existing,
                experiment_id=self.experiment_id,
                run_name=None if existing else study_name,
                tags=None if existing else tags,
            )
        ) as run:
            if existing is None:
                mlflow.log_params(params)
            mlflow.set_tags({k: str(v) for k, v in controls.items()})  # this run's n_trials...
            mlflow.log_text(config_yaml, "sweep_config.yaml")
            yield run.info.run_id

    def keep_parent_running(self, run_id: str) -> None:
        """Mark the shared parent run RUNNING again if another worker, seeing no trial in
        training at that moment, has just ended it: this worker is about to train one."""
        if self.client.get_run(run_id).info.status != "RUNNING":
            self.client.update_run(run_id, "RUNNING")

    def leave_parent_running(self, run_id: str) -> None:
        """This worker stops, others still train: end its hold on the parent run (the active
        run, if it is) with the parent left RUNNING for the last worker to end."""
        if _is_active(run_id):
            mlflow.end_run(RunStatus.to_string(RunStatus.RUNNING))
        else:
            self.keep_parent_running(run_id)

    @contextmanager
    def trial_run(
        self, trial_number: int, tags: dict[str, str], interrupted_state: str = "FAIL"
    ) -> Iterator[str]:
        """A nested run for one trial, tagged with the state its search gives it: a pruned
        trial ends FINISHED, tagged PRUNED; a failed one FAILED, tagged FAIL; an interrupted
        one KILLED, tagged ``interrupted_state`` (Optuna's FAIL; Keras Tuner runs it again)."""
        parent = mlflow.active_run()
        if parent is not None:
            self.keep_parent_running(parent.info.run_id)
        run = mlflow.start_run(
            run_name=f"trial-{trial_number:03d}",
            nested=True,
            experiment_id=self.experiment_id,
            tags={**tags, "run_type": "trial", "trial_number": str(trial_number)},
        )
        with _ended_on_error(run):
            try:
                yield run.info.run_id
            except optuna.TrialPruned:
                mlflow.set_tag("trial_state", "PRUNED")
                mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))
                raise
            except (KeyboardInterrupt, SystemExit):
                if _is_active(run.info.run_id):
                    mlflow.set_tag("trial_state", interrupted_state)
                raise
            except BaseException:
                if _is_active(run.info.run_id):
                    mlflow.set_tag("trial_state", "FAIL")
                raise
            mlflow.set_tag("trial_state", "COMPLETE")

    def log_trial_start(self, params: dict[str, Any], config_yaml: str) -> None:
        mlflow.log_params(params)
        mlflow.log_text(config_yaml, "config.yaml")

    def log_datasets(self, splits: Splits, dataset: str) -> None:
        """The three splits as MLflow dataset inputs (the UI's Dataset column)."""
        for context, x, y in (
            ("training", splits.x_train, splits.y_train),
            ("validation", splits.x_val, splits.y_val),
            ("test", splits.x_test, splits.y_test),
        ):
            if context not in self._digests:  # the images and labels, hashed once per sweep
                digest = hashlib.sha256(x.tobytes())
                digest.update(y.tobytes())
                self._digests[context] = digest.hexdigest()[:12]
            name = f"{dataset}-{context}"
            data = from_numpy(x, targets=y, name=name, digest=self._digests[context])
            _log_input(data, context)

    def log_training(
        self, history: dict[str, list[float]], metrics: dict[str, float], summary: str
    ) -> None:
        mlflow.log_metrics(metrics)
        mlflow.log_text(summary, "model_summary.txt")
        run_name = mlflow.active_run().info.run_name  # type: ignore[union-attr]
        first = int(metrics.get("initial_epoch", 0)) + 1
        self._log_figure(
            plots.learning_curves(history, str(run_name), first), "learning_curves.png"
        )

    def log_test(self, metrics: dict[str, float], confusion: np.ndarray) -> None:
        mlflow.log_metrics(metrics)
        buffer = io.StringIO()
        np.savetxt(buffer, confusion, fmt="%d", delimiter=",")
        mlflow.log_text(buffer.getvalue(), "confusion_matrix.csv")
        run_name = mlflow.active_run().info.run_name  # type: ignore[union-attr]
        self._log_figure(plots.confusion_matrix(confusion, str(run_name)), "confusion_matrix.png")

    def log_keras_model(self, model: keras.Model, inputs: np.ndarray, outputs: np.ndarray) -> None:
        """The trained model as an MLflow LoggedModel of this run, with its signature."""
        if not self.log_model:
            return
        signature = infer_signature(inputs, outputs)
        requirements = [f"tensorflow=={tf.__version__}", f"keras=={keras.__version__}"]
        info = mlflow.keras.log_model(
            model, name="model", signature=signature, pip_requirements=requirements
        )
        mlflow.set_tag("model_uri", info.model_uri)  # what the registry registers

    def log_sweep_summary(
        self,
        table: pd.DataFrame,
        figures: dict[str, Any],
        study_name: str,
    ) -> None:
        """The trials table, state counts and figures on the (active) parent run."""
        mlflow.log_text(table.to_csv(index=False), "trials.csv")
        counts = table["state"].value_counts() if len(table) else pd.Series(dtype=int)
        for state in ("COMPLETE", "PRUNED", "FAIL"):
            mlflow.log_metric(f"trials_{state.lower()}", int(counts.get(state, 0)))
        if len(table):
            self._log_figure(plots.search_history(table, study_name), "search_history.png")
        for name, figure in figures.items():
            self._log_figure(figure, name)

    def mark_best(
        self, parent_run_id: str, best: dict[str, Any], dataset: str, study_name: str
    ) -> None:
        """The best trial tagged, its parameters on the (active) parent run, and its model
        registered. Workers sharing a study call this one at a time (``run_sweep``)."""
        mlflow.log_metrics(
            {
                "best_trial_number": best["number"],
                "best_trial_val_accuracy": best["val_accuracy"],
                "best_trial_test_accuracy": best["test_accuracy"],
            }
        )
        tags = {f"best.{k}": str(v) for k, v in best["params"].items()}
        mlflow.set_tags(tags)  # first: a summary stopped half-way leaves these, not none
        parent = self.client.get_run(parent_run_id)
        for stale in [k for k in parent.data.tags if k.startswith("best.") and k not in tags]:
            try:
                self.client.delete_tag(parent_run_id, stale)  # an earlier best's parameter
            except MlflowException as error:  # another worker's summary removed it first
                if "No tag with name" not in str(error):
                    raise
        for run in self.child_runs(parent_run_id):
            if run.data.tags.get("run_type") != "trial":  # repeats share the parent
                continue
            is_best = run.data.tags.get("trial_number") == str(best["number"])
            self.client.set_tag(run.info.run_id, "best_trial", str(is_best).lower())
            if is_best:
                mlflow.set_tag("best_trial_run_id", run.info.run_id)
                version = registry.register_best(
                    self.client, run.info.run_id, dataset, study_name, best["val_accuracy"]
                )
                if version is not None:
                    mlflow.set_tag("registered_model", f"{version.name}/{version.version}")

    def child_runs(self, parent_run_id: str) -> list[Any]:
        return list(
            self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
                max_results=10_000,
            )
        )

    def _log_figure(self, figure: Any, path: str) -> None:
        try:
            mlflow.log_figure(figure, path)
        finally:
            plots.close(figure)


def _quoted(value: str) -> str:
    return value.replace("'", "\\'")


def end_stale_trial_run(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Optuna callback for a trial whose worker died (kill -9, power loss): end its run KILLED."""
    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id is None:
        return
    client = MlflowClient()  # the tracking URI the current sweep set
    client.set_tag(run_id, "trial_state", "FAIL")
    client.set_tag(run_id, "error", "the worker stopped sending heartbeats (killed?)")
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))


@contextmanager
def _ended_on_error(run: mlflow.ActiveRun) -> Iterator[mlflow.ActiveRun]:
    """End ``run`` FINISHED, or FAILED with the error recorded, or KILLED when interrupted."""
    try:
        yield run
    except (KeyboardInterrupt, SystemExit):
        _end_if_active(run.info.run_id, RunStatus.KILLED)
        raise
    except BaseException as error:
        if _is_active(run.info.run_id):
            mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:5000])
            mlflow.log_text(traceback.format_exc(), "error.txt")
        _end_if_active(run.info.run_id, RunStatus.FAILED)
        raise
    else:
        _end_if_active(run.info.run_id, RunStatus.FINISHED)


def _is_active(run_id: str) -> bool:
    active = mlflow.active_run()
    return active is not None and active.info.run_id == run_id


def _end_if_active(run_id: str, status: int) -> None:
    if _is_active(run_id):
        mlflow.end_run(RunStatus.to_string(status))
