"""The study's trials table, and what a study shows in Optuna's own views."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from mnist_reg.errors import ConfigError
from mnist_reg.search.optuna.study import (
    LEGACY_SETTINGS_ATTR,
    SETTINGS_ATTR,
    stored_settings,
    trials_table,
)
from mnist_reg.search.settings import trial_settings
from tests.conftest import Compose, sweep, tiny_overrides


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


@pytest.mark.slow
@pytest.mark.usefixtures("mnist_available")
def test_optunas_own_view_of_a_study_stays_readable(compose_cfg: Compose, tmp_path: Path) -> None:
    """``optuna studies`` prints each study's user attributes: what a user filters on, not
    the whole configuration (that is in MLflow); the settings the drift check needs are
    kept apart."""
    for technique in ("dropout", "combined"):
        sweep(compose_cfg(f"+technique={technique}", *tiny_overrides(tmp_path)))
    storage = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "optuna"), "studies", "--storage", storage],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line for line in shown.splitlines() if "mnist-" in line]
    assert len(rows) == 2
    assert all(len(row) <= 600 for row in rows), [len(row) for row in rows]
    study = optuna.load_study(study_name="mnist-combined", storage=storage)
    assert set(study.user_attrs) == {
        "technique",
        "dataset",
        "epochs",
        "settings_digest",
        "openings",
        "mlflow_parent_run_id",
    }
    assert stored_settings(study) == trial_settings(
        compose_cfg("+technique=combined", *tiny_overrides(tmp_path))
    )


@pytest.mark.slow
@pytest.mark.usefixtures("mnist_available")
def test_a_study_begun_before_keeps_its_settings_checked(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    """A study stored by an earlier version keeps its settings in a user attribute: a run
    with other settings is still refused."""
    overrides = ["+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1"]
    sweep(compose_cfg(*overrides))
    storage = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    study = optuna.load_study(study_name="mnist-dropout", storage=storage)
    settings = stored_settings(study)
    backend = optuna.storages.get_storage(storage)
    study_id = backend.get_study_id_from_name("mnist-dropout")
    backend.set_study_system_attr(study_id, SETTINGS_ATTR, None)  # as the old layout had none
    study.set_user_attr(LEGACY_SETTINGS_ATTR, settings)
    with pytest.raises(ConfigError, match=r"train.epochs=2 \(study: 1\)"):
        sweep(compose_cfg(*overrides, "sweep.n_trials=2", "train.epochs=2"))
