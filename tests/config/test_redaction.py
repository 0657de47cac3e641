"""URLs with a password are logged as ``user:***@host``."""

from __future__ import annotations

from mnist_reg.config.params import flat_params
from tests.conftest import Compose


def test_urls_are_logged_without_their_password(compose_cfg: Compose) -> None:
    from mnist_reg.config.redaction import mask_password, safe_yaml

    secret = "postgresql://optuna:s3cr3t@db-host:5432/optuna"
    cfg = compose_cfg(
        "+technique=dropout",
        f"sweep.storage={secret}",
        "mlflow.tracking_uri=http://user:hunter2@mlflow-host:5000",
    )
    assert mask_password(secret) == "postgresql://optuna:***@db-host:5432/optuna"
    assert mask_password("sqlite:///mlruns/optuna.db") == "sqlite:///mlruns/optuna.db"
    logged = [str(v) for v in flat_params(cfg, sections=("sweep",)).values()] + [safe_yaml(cfg)]
    assert not any("s3cr3t" in text or "hunter2" in text for text in logged)
    assert "optuna:***@db-host" in safe_yaml(cfg) and "user:***@mlflow-host" in safe_yaml(cfg)
