"""Shared fixtures: composed configs and tiny real-MNIST sweeps written into tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from mnist_reg.config.schema import Config, as_config, config_dir

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

Compose = Callable[..., Config]  # a composed DictConfig, typed as the schema


@pytest.fixture(autouse=True)
def no_leaked_tracking_uri() -> Iterator[None]:
    """``mlflow.set_tracking_uri`` also sets ``$MLFLOW_TRACKING_URI`` for subprocesses; an
    in-process sweep must not send a later test's command-line runs into its own store."""
    yield
    os.environ.pop("MLFLOW_TRACKING_URI", None)


@pytest.fixture
def compose_cfg() -> Iterator[Compose]:
    """Compose the real configuration from conf/ with command-line style overrides."""

    def _compose(*overrides: str) -> Config:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            return as_config(compose("config", overrides=list(overrides)))

    yield _compose
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
