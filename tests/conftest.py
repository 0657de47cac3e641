"""Shared fixtures and helpers: composed configs, and tiny real-MNIST sweeps written into
tmp_path with what they leave in MLflow."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from mnist_reg.config.schema import Config, as_config, config_dir
from tests.servers import NoPostgres, Stores, fresh_databases, mlflow_server

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from mnist_reg.search.outcome import SweepOutcome

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

Compose = Callable[..., Config]  # a composed DictConfig, typed as the schema

REPO = Path(__file__).parent.parent  # the repository, whose experiments/ scripts are tested


@pytest.fixture(autouse=True)
def no_leaked_tracking_uri() -> Iterator[None]:
    """``mlflow.set_tracking_uri`` also sets ``$MLFLOW_TRACKING_URI`` for subprocesses; an
    in-process sweep must not send a later test's command-line runs into its own store."""
    yield
    os.environ.pop("MLFLOW_TRACKING_URI", None)


def compose_config(*overrides: str) -> Config:
    """The real configuration from conf/ with command-line style overrides (Hydra's global
    state is left initialized: clear it after, as ``compose_cfg`` does)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return as_config(compose("config", overrides=list(overrides)))


@pytest.fixture
def compose_cfg() -> Iterator[Compose]:
    """Compose the real configuration from conf/ with command-line style overrides."""
    yield compose_config
    GlobalHydra.instance().clear()


# A few hundred real images, one epoch, two trials: what every training test runs.
TINY = [
    "data.train_size=300",
    "data.val_size=200",
    "data.test_size=200",
    "train.epochs=1",
    "train.batch_size=64",
    "train.progress_bar=off",
    "sweep.n_trials=2",
]


def tiny_overrides(root: Path) -> list[str]:
    """Everything under ``root``; a few hundred real images; one epoch."""
    return [
        f"sweep.storage=sqlite:///{root}/mlruns/optuna.db",
        f"sweep.kt_directory={root}/mlruns/keras_tuner",
        f"sweep.checkpoint_dir={root}/mlruns/checkpoints",
        f"mlflow.tracking_uri=sqlite:///{root}/mlruns/mlflow.db",
        f"mlflow.artifact_location={root.as_uri()}/mlruns/artifacts",
        *TINY,
        "sweep.n_startup_trials=1",
    ]


@pytest.fixture(scope="session")
def mnist_available() -> None:
    """Real MNIST in the project's cache, fetched once per machine by the real sources."""
    from mnist_reg.data.sources import load_raw

    load_raw("mnist", "~/.cache/mnist_reg")


# What every finished trial's run holds (the Optuna and the Keras Tuner backends alike).
EPOCH_METRICS = {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
FINAL_METRICS = {
    "test_loss",
    "test_accuracy",
    "kept_val_accuracy",
    "kept_epoch",
    "train_accuracy_clean",
    "best_val_accuracy",
    "generalization_gap",
    "epochs_trained",
    "train_seconds",
}
ARTIFACTS = {
    "config.yaml",
    "model_summary.txt",
    "learning_curves.png",
    "confusion_matrix.png",
    "confusion_matrix.csv",
}


def sweep(cfg: Config) -> SweepOutcome:
    """A sweep in this process, as ``python -m mnist_reg.sweep`` runs it after its checks."""
    from mnist_reg.config.validation import validate
    from mnist_reg.search.dispatch import run as run_sweep

    validate(cfg)
    return run_sweep(cfg)


def tracked_runs(root: Path) -> tuple[MlflowClient, list[Any], list[Any]]:
    """The client of ``root``'s MLflow store, its sweep (parent) runs and its trial runs."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{root}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("mnist-reg")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("run_type") == "sweep"]
    children = [r for r in runs if r.data.tags.get("run_type") == "trial"]
    assert len(parents) + len(children) == len(runs)
    return client, parents, children


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    """Fresh PostgreSQL databases for the study and the tracking server, and an ``mlflow
    server`` (``bash .ci/postgres.sh`` starts PostgreSQL)."""
    with contextlib.ExitStack() as stack:
        try:
            optuna_url, mlflow_url = stack.enter_context(fresh_databases("optuna", "mlflow"))
        except NoPostgres as error:
            pytest.fail(str(error))
        uri = stack.enter_context(mlflow_server(mlflow_url, tmp_path))
        yield Stores(optuna_url, uri, tmp_path)
