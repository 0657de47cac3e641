"""Several workers started at the same moment on one study and one fresh SQLite store."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import Compose, tiny_overrides
from tests.workers import check_lock_timeout, check_shared_study, run_workers

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


@pytest.mark.e2e
def test_eight_workers_on_one_fresh_store_share_the_study_exactly(tmp_path: Path) -> None:
    """Separate commands racing to make the study, its parent run and its trials (two
    workers of one command: tests/search/optuna/test_pool.py; on PostgreSQL:
    tests/test_scale_out.py)."""
    workers, n_trials = 8, 10
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


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # the ask() below
def test_a_worker_finding_every_slot_taken_trains_nothing_and_says_why(
    compose_cfg: Compose, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mnist_reg.search.dispatch import run as run_sweep
    from mnist_reg.search.locks import StorageLock
    from mnist_reg.search.optuna.study import open_study

    cfg = compose_cfg("+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1")
    storage = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    study = open_study(cfg, StorageLock(storage))
    study.ask()  # another worker's trial, RUNNING (it never heartbeats: not stale)
    with caplog.at_level(logging.INFO, logger="mnist_reg"):
        outcome = run_sweep(cfg)
    assert outcome.trials_run == 0
    assert [t.state.name for t in study.trials] == ["RUNNING"]
    assert "0 of 1 trials finished, 1 still RUNNING in other workers" in caplog.text


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # the ask() below
def test_the_shared_parent_run_is_ended_by_the_last_worker_out(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    from mnist_reg.search.dispatch import run as run_sweep
    from mnist_reg.search.locks import StorageLock
    from mnist_reg.search.optuna.study import open_study

    overrides = ["+technique=dropout", *tiny_overrides(tmp_path)]
    cfg = compose_cfg(*overrides, "sweep.n_trials=2")
    study = open_study(cfg, StorageLock(f"sqlite:///{tmp_path}/mlruns/optuna.db"))
    other = study.ask()  # another worker's trial, in training (it never heartbeats: not stale)
    first = run_sweep(cfg)
    assert first.trials_run == 1
    assert first.mlflow_parent_run_id is not None
    client = MlflowClient(cfg.mlflow.tracking_uri)
    assert client.get_run(first.mlflow_parent_run_id).info.status == "RUNNING"

    study.tell(other, 0.5)  # the other worker's trial ends; a last worker trains one more
    last = run_sweep(compose_cfg(*overrides, "sweep.n_trials=3"))
    assert (last.trials_run, last.mlflow_parent_run_id) == (1, first.mlflow_parent_run_id)
    assert client.get_run(first.mlflow_parent_run_id).info.status == "FINISHED"


def test_a_parent_left_running_by_a_killed_worker_is_ended_once_nothing_is_left(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    from mnist_reg.search.dispatch import run as run_sweep

    cfg = compose_cfg("+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1")
    done = run_sweep(cfg)
    assert done.mlflow_parent_run_id is not None
    client = MlflowClient(cfg.mlflow.tracking_uri)
    client.update_run(done.mlflow_parent_run_id, "RUNNING")  # as a killed worker left it
    assert run_sweep(cfg).trials_run == 0
    assert client.get_run(done.mlflow_parent_run_id).info.status == "FINISHED"


def test_the_best_trial_is_marked_and_registered_under_the_worker_lock(
    compose_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers ending together both register the study's best and move the
    ``champion`` alias; MLflow's alias upsert is not atomic, and the loser's insert failed
    ("UNIQUE constraint failed: registered_model_aliases", seen with 8 workers in CI)."""
    import fcntl

    from mnist_reg.search.dispatch import run as run_sweep
    from mnist_reg.search.locks import lock_file
    from mnist_reg.tracking import registry

    cfg = compose_cfg("+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1")
    path = lock_file(str(cfg.sweep.storage))
    assert path is not None
    real_register = registry.register_best
    held: list[bool] = []

    def checks_the_lock(*args: object, **kwargs: object) -> object:
        with path.open("a") as other_worker:
            try:
                fcntl.flock(other_worker, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(True)
            else:
                fcntl.flock(other_worker, fcntl.LOCK_UN)
                held.append(False)
        return real_register(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(registry, "register_best", checks_the_lock)
    assert run_sweep(cfg).best is not None
    assert held == [True]


def test_a_lock_another_worker_holds_times_out_and_leaves_nothing_held(tmp_path: Path) -> None:
    from mnist_reg.search.locks import StorageLock

    storage = f"sqlite:///{tmp_path}/optuna.db"
    check_lock_timeout(StorageLock(storage), StorageLock(storage))


def test_an_interrupted_sweeps_summary_never_hides_the_interrupt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mnist_reg.search.outcome import summarize_interrupted

    def failing() -> None:
        raise TimeoutError("the worker lock was not free within 10 s")

    def interrupted_again() -> None:
        raise KeyboardInterrupt

    with caplog.at_level(logging.WARNING, logger="mnist_reg"):
        summarize_interrupted(failing)  # neither raises: the first interrupt goes on
        summarize_interrupted(interrupted_again)
    assert "summary failed (the worker lock was not free within 10 s)" in caplog.text
    assert "interrupted again" in caplog.text


def test_optuna_logs_an_interrupted_trial_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    from mnist_reg.search.optuna.runner import _quiet_interrupt_tracebacks

    logger = logging.getLogger("optuna.study._optimize")
    _quiet_interrupt_tracebacks(logger)
    _quiet_interrupt_tracebacks(logger)  # once per process, however many sweeps
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger="optuna"):
        for error in (KeyboardInterrupt("signal 15"), RuntimeError("out of memory")):
            try:
                raise error
            except BaseException:
                logger.warning("Trial 1 failed", exc_info=True)
    interrupted, failed = caplog.records
    assert interrupted.exc_info is None  # no traceback for Ctrl-C or SIGTERM
    assert failed.exc_info is not None  # a real error keeps its traceback
