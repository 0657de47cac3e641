"""The runs a sweep writes: one parent run per study, one nested run per trial or repeat.

Runs always end with a status: FINISHED (a pruned trial too, tagged ``trial_state=PRUNED``),
FAILED with the error recorded, or KILLED when interrupted; no exception leaves a run RUNNING.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.data.numpy_dataset import from_numpy
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from mnist_reg.config.schema import MlflowConfig
from mnist_reg.errors import Preempted
from mnist_reg.tracking import tags as T
from mnist_reg.tracking.lifecycle import ended_on_error, is_active
from mnist_reg.tracking.races import retry_duplicate_row
from mnist_reg.tracking.store import connect, experiment_id

# A split as MLflow logs it: its context ("training", ...) and its images and labels.
Split = tuple[str, np.ndarray, np.ndarray]


def _log_input(data: Any, context: str) -> None:
    """``mlflow.log_input``, retried when another worker created the same dataset row
    between MLflow's lookup and its insert."""
    retry_duplicate_row(lambda: mlflow.log_input(data, context=context))


class Tracker:
    """One tracking store and experiment: the runs of a sweep or of repeats."""

    def __init__(self, uri: str, cfg: MlflowConfig) -> None:
        self.uri = uri
        self.client = connect(uri)
        self.log_model = cfg.log_model
        self._digests: dict[str, str] = {}
        self.experiment_id = experiment_id(self.client, uri, cfg.experiment, cfg.artifact_location)

    def run_exists(self, run_id: str | None) -> bool:
        if run_id is None:
            return False
        try:
            run = self.client.get_run(run_id)
        except MlflowException:  # not in this tracking store
            return False
        active = run.info.lifecycle_stage == "active"
        return active and run.info.experiment_id == self.experiment_id

    @contextmanager
    def parent_run(
        self, run_id: str | None, name: str, tags: dict[str, str], params: dict[str, Any]
    ) -> Iterator[str]:
        """Resume ``run_id``, or start a parent run with ``tags`` and ``params``."""
        with ended_on_error(
            mlflow.start_run(
                run_id=run_id,
                experiment_id=self.experiment_id,
                run_name=None if run_id else name,
                tags=None if run_id else tags,
            )
        ) as run:
            if run_id is None:
                mlflow.log_params(params)
            yield run.info.run_id

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
        existing = parent_run_id if self.run_exists(parent_run_id) else None
        tags = {
            T.RUN_TYPE: T.SWEEP,
            T.STUDY_NAME: study_name,
            T.TECHNIQUE: technique,
            T.BACKEND: backend,
        }
        with self.parent_run(existing, study_name, tags, params) as run_id:
            mlflow.set_tags({k: str(v) for k, v in controls.items()})  # this run's n_trials...
            mlflow.log_text(config_yaml, "sweep_config.yaml")
            yield run_id

    def keep_parent_running(self, run_id: str) -> None:
        """Mark the shared parent run RUNNING again if another worker, seeing no trial in
        training at that moment, has just ended it: this worker is about to train one."""
        if self.client.get_run(run_id).info.status != "RUNNING":
            self.client.update_run(run_id, "RUNNING")

    def leave_parent_running(self, run_id: str) -> None:
        """This worker stops, others still train: end its hold on the parent run (the active
        run, if it is) with the parent left RUNNING for the last worker to end."""
        if is_active(run_id):
            mlflow.end_run(RunStatus.to_string(RunStatus.RUNNING))
        else:
            self.keep_parent_running(run_id)

    @contextmanager
    def trial_run(
        self,
        trial_number: int,
        tags: dict[str, str],
        interrupted_state: str = T.FAIL,
        pruned: tuple[type[BaseException], ...] = (),
        resumes: str | None = None,
    ) -> Iterator[str]:
        """A nested run for one trial, tagged with the state its search gives it: a trial
        ended by one of the ``pruned`` exceptions ends FINISHED, tagged PRUNED; a failed one
        FAILED, tagged FAIL; an interrupted one KILLED, tagged ``interrupted_state``
        (Optuna's FAIL; Keras Tuner runs it again); a preempted one KILLED, tagged
        PREEMPTED. ``resumes``: the run of a preempted trial, opened again."""
        parent = mlflow.active_run()
        if parent is not None:
            self.keep_parent_running(parent.info.run_id)
        trial_tags = {T.RUN_TYPE: T.TRIAL, T.TRIAL_NUMBER: str(trial_number)}
        if resumes is None:
            run = self.nested_run(f"trial-{trial_number:03d}", {**tags, **trial_tags})
        else:
            run = mlflow.start_run(run_id=resumes, nested=True, tags={**tags, **trial_tags})
        with ended_on_error(run):
            try:
                yield run.info.run_id
            except pruned:
                mlflow.set_tag(T.TRIAL_STATE, T.PRUNED)
                mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))
                raise
            except Preempted:
                if is_active(run.info.run_id):
                    mlflow.set_tag(T.TRIAL_STATE, T.PREEMPTED)
                raise
            except (KeyboardInterrupt, SystemExit):
                if is_active(run.info.run_id):
                    mlflow.set_tag(T.TRIAL_STATE, interrupted_state)
                raise
            except BaseException:
                if is_active(run.info.run_id):
                    mlflow.set_tag(T.TRIAL_STATE, T.FAIL)
                raise
            mlflow.set_tag(T.TRIAL_STATE, T.COMPLETE)

    def nested_run(self, name: str, tags: dict[str, str]) -> mlflow.ActiveRun:
        """A run nested under the active one (a study's or repeats' parent)."""
        return mlflow.start_run(
            run_name=name, nested=True, experiment_id=self.experiment_id, tags=tags
        )

    def log_trial_start(self, params: dict[str, Any], config_yaml: str) -> None:
        mlflow.log_params(params)
        mlflow.log_text(config_yaml, "config.yaml")

    def log_datasets(self, splits: list[Split], dataset: str) -> None:
        """The splits as MLflow dataset inputs (the UI's Dataset column)."""
        for context, x, y in splits:
            if context not in self._digests:  # the images and labels, hashed once per sweep
                digest = hashlib.sha256(x.tobytes())
                digest.update(y.tobytes())
                self._digests[context] = digest.hexdigest()[:12]
            name = f"{dataset}-{context}"
            data = from_numpy(x, targets=y, name=name, digest=self._digests[context])
            _log_input(data, context)

    def log_epoch(self, metrics: dict[str, float], epoch: int) -> None:
        mlflow.log_metrics(metrics, step=epoch)

    def log_training(
        self, metrics: dict[str, float], summary: str, curves: Any, tags: dict[str, str]
    ) -> None:
        """The run's training metrics, model summary, learning-curves figure and tags."""
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        mlflow.log_text(summary, "model_summary.txt")
        self.log_figure(curves, "learning_curves.png")

    def log_test(
        self,
        metrics: dict[str, float],
        confusion: np.ndarray,
        figure: Any,
        predicted: np.ndarray,
        labels: np.ndarray,
    ) -> None:
        """Test metrics, confusion matrix, and each test image's predicted and true class
        (what ``compare`` resamples test images with)."""
        mlflow.log_metrics(metrics)
        buffer = io.StringIO()
        np.savetxt(buffer, confusion, fmt="%d", delimiter=",")
        mlflow.log_text(buffer.getvalue(), "confusion_matrix.csv")
        self.log_figure(figure, "confusion_matrix.png")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / T.TEST_PREDICTIONS
            np.savez_compressed(path, predicted=predicted.astype(np.uint8), label=labels)
            mlflow.log_artifact(str(path))

    def log_keras_model(
        self, model: Any, inputs: np.ndarray, outputs: np.ndarray, requirements: list[str]
    ) -> None:
        """The trained model as an MLflow LoggedModel of this run, with its signature."""
        if not self.log_model:
            return
        signature = infer_signature(inputs, outputs)
        info = mlflow.keras.log_model(
            model, name="model", signature=signature, pip_requirements=requirements
        )
        mlflow.set_tag(T.MODEL_URI, info.model_uri)  # what the registry registers

    def active_run_name(self) -> str:
        return str(mlflow.active_run().info.run_name)  # type: ignore[union-attr]

    def child_runs(self, parent_run_id: str) -> list[Any]:
        return list(
            self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
                max_results=10_000,
            )
        )

    def log_figure(self, figure: Any, path: str) -> None:
        """Log a matplotlib figure, and close it."""
        import matplotlib.pyplot as plt

        try:
            mlflow.log_figure(figure, path)
        finally:
            plt.close(figure)
