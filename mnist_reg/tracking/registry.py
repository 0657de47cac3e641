"""The Model Registry: each study's best model, and the champion of each dataset.

Registered model ``<dataset>-cnn`` (``mnist-cnn``); a version per study's best trial, with the
alias ``best-<study name>``; the alias ``champion`` on the version with the highest
validation accuracy (never test accuracy) among all versions of that model.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import sys
from collections.abc import Iterator
from typing import Any

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mnist_reg.tracking import tags as T
from mnist_reg.tracking.races import retry_duplicate_row
from mnist_reg.tracking.store import connect

CHAMPION = "champion"


def model_name(dataset: str) -> str:
    return f"{dataset}-cnn"


def study_alias(study_name: str) -> str:
    return "best-" + re.sub(r"[^\w-]", "-", study_name)


def _val_accuracy(version: ModelVersion) -> float:
    try:
        return float(version.tags.get(T.VAL_ACCURACY, "nan"))
    except ValueError:
        return math.nan


# What mlflow.register_model prints to stderr on success; anything else it prints passes.
REGISTRY_CHATTER = ("Successfully registered model", "Created version", "Registered model '")


@contextlib.contextmanager
def _without_registry_chatter() -> Iterator[None]:
    """Drop MLflow's success lines (the sweep's summary says what was registered)."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    finally:
        for line in captured.getvalue().splitlines():
            if not line.startswith(REGISTRY_CHATTER):
                print(line, file=sys.stderr)


def register_best(
    client: MlflowClient, run_id: str, dataset: str, study_name: str, val_accuracy: float
) -> ModelVersion | None:
    """Register ``run_id``'s model (once) as the study's best, and move the aliases."""
    run = client.get_run(run_id)
    model_uri = run.data.tags.get(T.MODEL_URI)
    if model_uri is None:  # mlflow.log_model=false, or the model was not logged
        return None
    name = model_name(dataset)
    existing = [
        v
        for v in client.search_model_versions(f"name = '{name}'")
        if v.tags.get(T.SOURCE_RUN_ID) == run_id
    ]
    if existing:
        version = existing[0]
    else:
        with _without_registry_chatter():
            version = mlflow.register_model(
                model_uri,
                name,
                tags={
                    T.SOURCE_RUN_ID: run_id,
                    T.STUDY_NAME: study_name,
                    T.TECHNIQUE: run.data.tags.get(T.TECHNIQUE, ""),
                    T.VAL_ACCURACY: f"{val_accuracy:.6f}",
                    T.TEST_ACCURACY: f"{run.data.metrics.get('test_accuracy', math.nan):.6f}",
                },
            )
    set_alias(client, name, study_alias(study_name), version.version)
    versions = list(client.search_model_versions(f"name = '{name}'"))
    champion = max(versions, key=lambda v: (_val_accuracy(v), -int(v.version)))
    set_alias(client, name, CHAMPION, champion.version)
    return version


def set_alias(client: MlflowClient, name: str, alias: str, version: str | int) -> None:
    """Point ``alias`` at ``version``, also when another process (outside the worker lock:
    a Keras Tuner sweep beside an Optuna one) created the alias between MLflow's lookup and
    its insert: the retry then moves it."""
    retry_duplicate_row(lambda: client.set_registered_model_alias(name, alias, str(version)))


def model_uri(reference: str | None, dataset: str) -> str:
    """An MLflow model URI from what a user typed; default: the dataset's champion."""
    if not reference:
        return f"models:/{model_name(dataset)}@{CHAMPION}"
    if ":/" in reference:
        return reference  # models:/..., runs:/..., file:/...
    return f"models:/{reference}"  # NAME@ALIAS or NAME/VERSION


class ModelUnavailableError(LookupError):
    """The model URI names nothing this tracking store can load."""


def load_keras_model(uri: str, tracking: str) -> Any:
    """The Keras model behind ``uri`` (Keras's own format: nothing is unpickled)."""
    connect(tracking)
    try:
        return mlflow.keras.load_model(uri)
    except (MlflowException, OSError) as error:
        raise ModelUnavailableError(str(error).splitlines()[0]) from error
