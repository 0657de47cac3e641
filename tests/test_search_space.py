"""Search spaces from YAML to Optuna suggestions, and trial configs to flat MLflow params."""

from __future__ import annotations

import optuna
import pytest

from mnist_reg.config.params import flat_params, with_values
from mnist_reg.config.schema import DEFAULT_TRACKING_URI
from mnist_reg.config.stores import tracking_uri
from mnist_reg.search.optuna.samplers import make_pruner, make_sampler, prunes
from mnist_reg.search.optuna.space import suggest
from mnist_reg.search.optuna.study import trials_table
from mnist_reg.search.settings import study_name
from mnist_reg.search.space import grid
from tests.conftest import Compose


def test_conditional_parameter_only_when_its_switch_is_on(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=dropout")
    off = optuna.trial.FixedTrial(
        {"technique.dropout.rate": 0.3, "technique.dropout.second": False}
    )
    assert suggest(off, cfg) == {"technique.dropout.rate": 0.3, "technique.dropout.second": False}
    on = optuna.trial.FixedTrial(
        {
            "technique.dropout.rate": 0.3,
            "technique.dropout.second": True,
            "technique.dropout.second_rate": 0.1,
        }
    )
    assert suggest(on, cfg)["technique.dropout.second_rate"] == 0.1


def test_suggestions_stay_inside_the_yaml_ranges(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=combined")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        values = suggest(trial, cfg)
        assert 1e-6 <= values["technique.l2.weight"] <= 1e-2
        assert 0.0 <= values["technique.dropout.rate"] <= 0.6
        assert values["technique.early_stopping.patience"] in range(1, 6)
        assert values["technique.early_stopping.monitor"] in ("val_accuracy", "val_loss")
        study.tell(trial, 0.5)


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


def test_grid_uses_grid_values_and_categorical_choices(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=l2", "sweep.sampler=grid")
    assert grid(cfg) == {
        "technique.l2.weight": [1e-6, 1e-5, 1e-4, 1e-3, 1e-2],
        "technique.l2.on_conv": [False, True],
    }
    assert isinstance(make_sampler(cfg, 0), optuna.samplers.GridSampler)


def test_samplers_pruners_and_names(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=dropout", "sweep.pruner=hyperband", "sweep.sampler=random")
    assert isinstance(make_sampler(cfg, 0), optuna.samplers.RandomSampler)
    assert isinstance(make_pruner(cfg), optuna.pruners.HyperbandPruner)
    assert prunes(cfg)
    assert not prunes(compose_cfg("+technique=baseline"))  # seed repeats are never pruned
    assert study_name(cfg) == "mnist-dropout"
    named = compose_cfg("+technique=l2", "data=fashion_mnist", "sweep.study_name=mine")
    assert study_name(named) == "mine"
    assert study_name(compose_cfg("+technique=l2", "data=fashion_mnist")) == "fashion_mnist-l2"


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


def test_the_trials_table_shows_where_a_pruned_trial_stopped() -> None:
    study = optuna.create_study(direction="maximize")
    complete = study.ask()
    for epoch, value in enumerate((0.97, 0.985, 0.98), start=1):
        complete.report(value, step=epoch)
    study.tell(complete, 0.985)  # the kept (best) epoch's weights, not the last epoch's
    pruned = study.ask()
    pruned.report(0.91, step=1)
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    table = trials_table(study).set_index("trial")
    assert table.loc[0, "val_accuracy"] == 0.985
    assert table.loc[0, "last_val_accuracy"] == 0.98
    assert table.loc[1, "state"] == "PRUNED"
    assert table["val_accuracy"].isna().tolist() == [False, True]  # pruned: no objective value
    assert table.loc[1, "last_val_accuracy"] == 0.91  # but it did train an epoch
