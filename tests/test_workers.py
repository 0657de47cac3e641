"""Several workers started at the same moment on one study and one fresh SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import tiny_overrides
from tests.workers import check_shared_study, run_workers

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


@pytest.mark.parametrize(("workers", "n_trials"), [(2, 5), (8, 10)])
def test_workers_on_one_fresh_store_share_the_study_exactly(
    tmp_path: Path, workers: int, n_trials: int
) -> None:
    overrides = [
        "+technique=dropout",
        *tiny_overrides(tmp_path),
        f"sweep.n_trials={n_trials}",
    ]
    for done in run_workers(workers, overrides, tmp_path):
        assert done.returncode == 0, done.stdout[-3000:]
        assert "database is locked" not in done.stdout
    check_shared_study(
        f"sqlite:///{tmp_path}/mlruns/optuna.db",
        f"sqlite:///{tmp_path}/mlruns/mlflow.db",
        "mnist-dropout",
        n_trials,
        "mnist-reg",
    )
