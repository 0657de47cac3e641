"""Trial configs to flat MLflow params."""

from __future__ import annotations

import pytest

from mnist_reg.config.params import flat_params, with_values
from tests.conftest import Compose


def test_trial_config_keeps_types_and_flattens_to_dotted_params(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=l2")
    trial_cfg = with_values(cfg, {"technique.l2.weight": 0.001, "technique.l2.on_conv": True})
    assert cfg.technique.l2.weight == 0.0001  # the original is untouched
    params = flat_params(trial_cfg)
    assert params["technique.l2.weight"] == 0.001
    assert params["technique.l2.on_conv"] is True
    assert params["train.epochs"] == 5 and params["data.val_size"] == 5000
    assert not any(
        key.startswith(("technique.search_space", "sweep.", "mlflow.")) for key in params
    )
    with pytest.raises(Exception, match="could not be converted"):
        with_values(cfg, {"train.epochs": "many"})
