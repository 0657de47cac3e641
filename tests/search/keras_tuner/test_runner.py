"""Keras Tuner sweeps on tiny real-MNIST slices land in MLflow in the Optuna sweeps' shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mnist_reg.config.validation import validate
from mnist_reg.errors import ConfigError, WorkerBusyError
from mnist_reg.repeats.plan import plan_repeats
from mnist_reg.search.dispatch import run as run_sweep
from mnist_reg.search.keras_tuner.project import STATE_FILE
from tests.conftest import (
    ARTIFACTS,
    EPOCH_METRICS,
    FINAL_METRICS,
    Compose,
    tiny_overrides,
    tracked_runs,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


def kt_overrides(root: Path, algorithm: str, *extra: str) -> list[str]:
    return [
        "+technique=dropout",
        *tiny_overrides(root),
        "sweep.backend=keras_tuner",
        f"sweep.kt_algorithm={algorithm}",
        *extra,
    ]


@pytest.mark.parametrize("algorithm", ["hyperband", "bayesian", "random"])
def test_two_trial_kt_sweep_lands_in_mlflow_like_an_optuna_sweep(
    compose_cfg: Compose, tmp_path: Path, algorithm: str
) -> None:
    cfg = compose_cfg(*kt_overrides(tmp_path, algorithm, "train.epochs=3"))
    validate(cfg)
    outcome = run_sweep(cfg)
    name = f"mnist-dropout-kt-{algorithm}"
    assert outcome.study_name == name
    assert list(outcome.table["state"]) == ["COMPLETE", "COMPLETE"]
    assert outcome.best is not None
    assert outcome.best.val_accuracy == outcome.table["val_accuracy"].max()

    client, parents, children = tracked_runs(tmp_path)
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["study_name"] == name
    assert parent.data.tags["backend"] == "keras_tuner"
    assert parent.data.tags["sweep.kt_algorithm"] == algorithm  # the sweep section: tags
    assert {"trials.csv", "sweep_config.yaml", "search_history.png"} <= {
        a.path for a in client.list_artifacts(parent.info.run_id)
    }
    assert parent.data.metrics["trials_complete"] == 2

    state = json.loads((tmp_path / "mlruns/keras_tuner" / name / STATE_FILE).read_text())
    assert state["mlflow_parent_run_id"] == parent.info.run_id
    for run in children:
        number = int(run.data.tags["trial_number"])
        record = state["trials"][run.data.tags["kt_trial_id"]]
        assert record["mlflow_run_id"] == run.info.run_id
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["run_type"] == "trial"
        assert run.data.tags["trial_state"] == "COMPLETE"
        assert run.data.tags["backend"] == "keras_tuner"
        assert run.data.tags["technique"] == "dropout"
        assert set(run.data.metrics) >= EPOCH_METRICS | FINAL_METRICS
        assert {a.path for a in client.list_artifacts(run.info.run_id)} >= ARTIFACTS
        assert run.data.params["train.seed"] == str(number)
        # The searched values are the run's params, as the config keys they set.
        assert run.data.params["technique.dropout.rate"] == str(
            record["values"]["technique.dropout.rate"]
        )
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        first = int(run.data.metrics["initial_epoch"])
        trained = int(run.data.metrics["epochs_trained"])
        assert [m.step for m in history] == list(range(first, first + trained))
        assert run.data.metrics["kept_val_accuracy"] == pytest.approx(record["val_accuracy"])
    assert sorted(r.data.tags["best_trial"] for r in children) == ["false", "true"]
    models = client.search_logged_models(experiment_ids=[parent.info.experiment_id])
    assert {m.source_run_id for m in models} == {r.info.run_id for r in children}


def test_hyperband_continues_the_weights_of_the_trial_it_promotes(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    # max_epochs 3, factor 3: three one-epoch trials, then the best goes on to epoch 3.
    cfg = compose_cfg(*kt_overrides(tmp_path, "hyperband", "train.epochs=3", "sweep.n_trials=4"))
    outcome = run_sweep(cfg)
    assert list(outcome.table["epochs"]) == [1, 1, 1, 2]
    _, _, children = tracked_runs(tmp_path)
    by_number = {int(r.data.tags["trial_number"]): r for r in children}
    promoted = by_number[3]
    source = promoted.data.tags["kt_continues_trial"]
    assert promoted.data.metrics["initial_epoch"] == 1
    assert promoted.data.metrics["kept_epoch"] == 3  # the epochs count on from the source
    for key, value in by_number[int(source)].data.params.items():
        if key.startswith("technique."):
            assert promoted.data.params[key] == value


def test_the_same_command_resumes_without_redoing_finished_trials(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    run_sweep(compose_cfg(*kt_overrides(tmp_path, "random")))
    outcome = run_sweep(compose_cfg(*kt_overrides(tmp_path, "random", "sweep.n_trials=3")))
    assert outcome.trials_run == 1
    assert list(outcome.table["trial"]) == [0, 1, 2]
    again = run_sweep(compose_cfg(*kt_overrides(tmp_path, "random", "sweep.n_trials=3")))
    assert again.trials_run == 0
    _, parents, children = tracked_runs(tmp_path)
    assert len(parents) == 1 and len(children) == 3


def test_epoch_budget_stops_both_backends(compose_cfg: Compose, tmp_path: Path) -> None:
    extra = ("train.epochs=2", "sweep.n_trials=10", "sweep.epoch_budget=3", "sweep.pruner=none")
    kt = run_sweep(compose_cfg(*kt_overrides(tmp_path, "random", *extra)))
    assert list(kt.table["epochs"]) == [2, 2]  # the second trial starts below 3, not a third
    optuna_cfg = compose_cfg("+technique=dropout", *tiny_overrides(tmp_path), *extra)
    opt = run_sweep(optuna_cfg)
    assert list(opt.table["epochs"]) == [2, 2]


def test_repeats_retrain_the_best_kt_trial(compose_cfg: Compose, tmp_path: Path) -> None:
    outcome = run_sweep(compose_cfg(*kt_overrides(tmp_path, "random")))
    assert outcome.best is not None
    plan = plan_repeats(compose_cfg(*kt_overrides(tmp_path, "random", "repeat.count=2")))
    assert plan.values == outcome.best.params
    assert plan.parent_run_id == outcome.mlflow_parent_run_id
    assert plan.seeds == [1000, 1001]
    with pytest.raises(ConfigError, match="reuses seeds"):
        plan_repeats(compose_cfg(*kt_overrides(tmp_path, "random", "repeat.first_seed=1")))


def test_a_second_worker_on_a_kt_project_is_refused_before_training(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    import fcntl

    cfg = compose_cfg(*kt_overrides(tmp_path, "random"))
    folder = tmp_path / "mlruns" / "keras_tuner" / "mnist-dropout-kt-random"
    folder.mkdir(parents=True)
    with (folder / ".worker.lock").open("a") as held:  # as a running worker holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(WorkerBusyError, match="another worker is running Keras Tuner project"):
            run_sweep(cfg)
    assert not (folder / STATE_FILE).exists()  # nothing half-made


def test_an_interrupted_kt_sweep_summarizes_what_finished(
    compose_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnist_reg.training import step as tracked

    real_train, calls = tracked.train, []

    def interrupted_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C (or SIGTERM) during the second trial
        return real_train(*args, **kwargs)

    monkeypatch.setattr(tracked, "train", interrupted_second)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(compose_cfg(*kt_overrides(tmp_path, "random")))
    client, parents, children = tracked_runs(tmp_path)
    assert [r.info.status for r in parents] == ["KILLED"]
    finished = [r for r in children if r.info.status == "FINISHED"]
    assert len(finished) == 1 and len(children) == 2
    stopped = next(r for r in children if r.info.status == "KILLED")
    assert stopped.data.tags["trial_state"] == "INTERRUPTED"  # as the trials table says
    summary = parents[0].data
    assert summary.metrics["trials_complete"] == 1
    assert summary.tags["best_trial_run_id"] == finished[0].info.run_id
    champion = client.get_model_version_by_alias("mnist-cnn", "champion")
    assert champion.tags["source_run_id"] == finished[0].info.run_id
    # Keras Tuner's oracle keeps the stopped trial RUNNING (it runs it again on resume); the
    # table says what happened to it
    table = pd.read_csv(client.download_artifacts(parents[0].info.run_id, "trials.csv"))
    assert table["state"].tolist() == ["COMPLETE", "INTERRUPTED"]
