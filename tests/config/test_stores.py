"""Store URLs: the tracking URI the environment names, and a database URL whose driver is
missing."""

from __future__ import annotations

import pytest

from mnist_reg.config.schema import DEFAULT_TRACKING_URI
from mnist_reg.config.stores import tracking_uri
from tests.conftest import Compose


def test_tracking_uri_respects_the_environment(
    compose_cfg: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = compose_cfg("+technique=baseline")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(cfg.mlflow) == DEFAULT_TRACKING_URI == "sqlite:///mlruns/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert tracking_uri(cfg.mlflow) == "http://127.0.0.1:5999"
    explicit = compose_cfg("+technique=baseline", "mlflow.tracking_uri=sqlite:///x.db")
    assert tracking_uri(explicit.mlflow) == "sqlite:///x.db"


def test_a_database_url_without_its_driver_names_the_extra_to_install() -> None:
    from mnist_reg.config.stores import STORAGE_SCHEMES, url_problem

    problem = url_problem("sweep.storage", "postgresql+nodriver://u:pw@h/db", STORAGE_SCHEMES)
    assert problem is not None
    assert problem.startswith("sweep.storage=postgresql+nodriver://u:***@h/db: no ")
    assert problem.endswith("python -m pip install 'mnist-reg[postgres]'")
    assert "\n" not in problem
    assert url_problem("sweep.storage", "sqlite:///mlruns/optuna.db", STORAGE_SCHEMES) is None
