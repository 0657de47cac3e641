"""Two-trial sweeps on tiny real-MNIST slices: what lands in MLflow and in Optuna storage."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow.tracking import MlflowClient

from mnist_reg.config.schema import Config
from mnist_reg.preemption import EXIT_PREEMPTED
from tests.conftest import (
    ARTIFACTS,
    EPOCH_METRICS,
    FINAL_METRICS,
    Compose,
    sweep,
    tiny_overrides,
    tracked_runs,
)
from tests.workers import kill_mid_trial

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]

TECHNIQUES = ["baseline", "l2", "dropout", "augmentation", "early_stopping", "combined"]


def load_study(root: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{root}/mlruns/optuna.db")


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_two_trial_sweep_lands_in_mlflow_and_optuna(
    compose_cfg: Compose, tmp_path: Path, technique: str
) -> None:
    overrides = [f"+technique={technique}", *tiny_overrides(tmp_path), "sweep.pruner=none"]
    if technique in ("early_stopping", "combined"):
        overrides.append("train.epochs=2")
    outcome = sweep(compose_cfg(*overrides))
    assert outcome.study_name == f"mnist-{technique}"
    assert outcome.trials_run == 2

    study = load_study(tmp_path, f"mnist-{technique}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert study.user_attrs["technique"] == technique

    client, parents, children = tracked_runs(tmp_path)
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["study_name"] == f"mnist-{technique}"
    assert study.user_attrs["mlflow_parent_run_id"] == parent.info.run_id
    parent_artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"trials.csv", "sweep_config.yaml", "optuna"} <= parent_artifacts
    optuna_plots = {a.path for a in client.list_artifacts(parent.info.run_id, "optuna")}
    assert "optuna/optimization_history.png" in optuna_plots
    assert parent.data.metrics["trials_complete"] == 2
    # the parent's params are what every trial shares: no searched key's YAML default
    searched = {s.path for s in compose_cfg(*overrides).technique.search_space.values()}
    assert searched.isdisjoint(parent.data.params)
    assert parent.data.params["data.train_size"] == "300"

    by_trial = {int(r.data.tags["trial_number"]): r for r in children}
    assert sorted(by_trial) == [0, 1]
    for number, run in by_trial.items():
        trial = study.trials[number]
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["technique"] == technique
        assert run.data.tags["trial_state"] == "COMPLETE"
        assert trial.user_attrs["mlflow_run_id"] == run.info.run_id
        assert set(run.data.metrics) >= EPOCH_METRICS | FINAL_METRICS
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        epochs = int(run.data.metrics["epochs_trained"])
        assert [m.step for m in history] == list(range(epochs))
        # The trial is chosen by the validation accuracy of the very weights that are tested.
        metrics = run.data.metrics
        assert metrics["kept_val_accuracy"] == pytest.approx(trial.value)
        kept_step = int(metrics["kept_epoch"]) - 1
        assert history[kept_step].value == pytest.approx(trial.value)
        assert metrics["best_val_accuracy"] == pytest.approx(max(m.value for m in history))
        assert metrics["generalization_gap"] == pytest.approx(
            metrics["train_accuracy_clean"] - metrics["kept_val_accuracy"]
        )
        assert run.data.metrics["test_accuracy"] == pytest.approx(
            trial.user_attrs["test_accuracy"]
        )
        assert 0.0 <= run.data.metrics["test_accuracy"] <= 1.0
        assert {a.path for a in client.list_artifacts(run.info.run_id)} >= ARTIFACTS
        # Every searched value, and the fixed ones, as flat dotted params.
        for name, value in trial.params.items():
            assert run.data.params[name] == str(value)
        assert run.data.params["train.seed"] == str(number)  # seed = train.seed + trial number
        assert run.data.params["data.train_size"] == "300"
        assert "technique.l2.weight" in run.data.params
        inputs = {d.dataset.name: d.tags[0].value for d in run.inputs.dataset_inputs}
        assert inputs == {
            "mnist-training": "training",
            "mnist-validation": "validation",
            "mnist-test": "test",
        }
    best_flags = sorted(r.data.tags["best_trial"] for r in children)
    assert best_flags == ["false", "true"]
    models = client.search_logged_models(experiment_ids=[parent.info.experiment_id])
    assert {m.source_run_id for m in models} == {r.info.run_id for r in children}


def test_resume_runs_only_missing_trials_under_the_same_parent(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    overrides = ["+technique=dropout", *tiny_overrides(tmp_path)]
    first = sweep(compose_cfg(*overrides))
    assert first.trials_run == 2
    again = sweep(compose_cfg(*overrides))  # finished study: trains nothing
    assert again.trials_run == 0
    assert again.best is not None and again.best.number == first.best.number  # type: ignore[union-attr]
    _, parents, children = tracked_runs(tmp_path)
    assert (len(parents), len(children)) == (1, 2)

    more = sweep(compose_cfg(*overrides, "sweep.n_trials=3"))
    assert more.trials_run == 1
    _, parents, children = tracked_runs(tmp_path)
    assert (len(parents), len(children)) == (1, 3)
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert len(load_study(tmp_path, "mnist-dropout").trials) == 3


def test_pruned_trial_is_a_finished_run_tagged_pruned(
    compose_cfg: Compose,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: self.number == 1)
    overrides = ["+technique=l2", *tiny_overrides(tmp_path), "train.epochs=2"]
    with caplog.at_level(logging.INFO, logger="mnist_reg"):
        outcome = sweep(compose_cfg(*overrides))
    ended = [m for m in caplog.messages if m.startswith("trial ") and " finished, " in m]
    assert ended[0].startswith("trial 0 COMPLETE: val_accuracy ")
    assert ", 2 epochs (" in ended[0]
    assert ended[1].startswith("trial 1 PRUNED: last val_accuracy ")  # not its "best"
    assert ", 1 epoch (" in ended[1]
    states = [t.state for t in load_study(tmp_path, "mnist-l2").trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED]
    _, _, children = tracked_runs(tmp_path)
    pruned = next(r for r in children if r.data.tags["trial_number"] == "1")
    assert pruned.info.status == "FINISHED"
    assert pruned.data.tags["trial_state"] == "PRUNED"
    assert pruned.data.metrics["epochs_trained"] == 1  # stopped after its first epoch
    assert "test_accuracy" not in pruned.data.metrics  # the test set is for finished trials
    assert outcome.best is not None and outcome.best.number == 0


def test_failing_trial_is_recorded_and_the_sweep_goes_on(
    compose_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnist_reg.training import step as tracked

    real_train = tracked.train

    def train_failing_once(cfg: Config, *args: Any, **kwargs: Any) -> Any:
        if cfg.train.seed == 0:
            raise RuntimeError("simulated out of memory")
        return real_train(cfg, *args, **kwargs)

    monkeypatch.setattr(tracked, "train", train_failing_once)
    outcome = sweep(compose_cfg("+technique=baseline", *tiny_overrides(tmp_path)))
    states = [t.state for t in load_study(tmp_path, "mnist-baseline").trials]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    # epochs are reported to Optuna without pruning too (baseline trials are never pruned)
    assert outcome.table["last_val_accuracy"].notna().tolist() == [False, True]
    client, parents, children = tracked_runs(tmp_path)
    failed = next(r for r in children if r.data.tags["trial_number"] == "0")
    assert failed.info.status == "FAILED"
    assert failed.data.tags["trial_state"] == "FAIL"  # as Optuna has it: filterable in MLflow
    assert "simulated out of memory" in failed.data.tags["error"]
    assert "error.txt" in {a.path for a in client.list_artifacts(failed.info.run_id)}
    assert parents[0].info.status == "FINISHED"
    assert outcome.best is not None and outcome.best.number == 1


@pytest.mark.e2e
def test_interrupted_sweep_ends_its_runs_and_the_same_command_resumes(tmp_path: Path) -> None:
    # SIGTERM: the command's handler raises KeyboardInterrupt where Python's own SIGINT
    # handler (Ctrl-C) raises it, so one signal covers both; Ctrl-C to a command with
    # workers: tests/search/optuna/test_pool.py
    signum = signal.SIGTERM
    command = [
        sys.executable,
        "-m",
        "mnist_reg.sweep",
        "+technique=baseline",
        *tiny_overrides(tmp_path),
        "train.epochs=8",  # long enough to be interrupted in the middle of the second trial
    ]
    worker = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    assert worker.stdout is not None
    before = []
    for line in worker.stdout:
        before.append(line)
        if "trial 1 (2/2) epoch 2/8" in line:
            break
    assert worker.poll() is None, "".join(before)[-3000:]  # it ended on its own: why
    worker.send_signal(signum)
    output, _ = worker.communicate(timeout=60)
    # trial 1 had trained an epoch: it waits to resume from that epoch's checkpoint
    assert worker.returncode == EXIT_PREEMPTED, "".join(before)[-2000:] + output[-2000:]
    assert "run the same command again" in output
    assert "Traceback" not in output  # Optuna's line for the trial, without the Ctrl-C's stack

    study = load_study(tmp_path, "mnist-baseline")
    assert [t.state for t in study.trials] == [
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.WAITING,
    ]
    client, parents, children = tracked_runs(tmp_path)
    assert [r.info.status for r in parents] == ["KILLED"]
    assert sorted(r.info.status for r in children) == ["FINISHED", "KILLED"]
    killed = next(r for r in children if r.info.status == "KILLED")
    assert killed.data.tags["trial_state"] == "PREEMPTED"
    # what finished before the interrupt is summarized and registered, as after a full sweep
    finished = next(r for r in children if r.info.status == "FINISHED")
    summary = parents[0].data
    assert summary.metrics["trials_complete"] == 1 and summary.metrics["trials_fail"] == 0
    assert summary.tags["best_trial_run_id"] == finished.info.run_id
    assert "trials.csv" in {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    champion = client.get_model_version_by_alias("mnist-cnn", "champion")
    assert champion.tags["source_run_id"] == finished.info.run_id

    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    states = [t.state for t in load_study(tmp_path, "mnist-baseline").trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 2
    _, parents, children = tracked_runs(tmp_path)
    assert len(parents) == 1  # the same parent run, resumed
    # the interrupted trial finished in its own run
    assert sorted(r.info.status for r in children) == ["FINISHED", "FINISHED"]
    assert killed.info.run_id in {r.info.run_id for r in children}
    assert parents[0].data.metrics["trials_complete"] == 2


def test_diverged_trial_fails_with_its_reason_and_logs_no_model(
    compose_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    from mnist_reg.training import fit as training

    def compile_to_nan(model: keras.Model, *args: Any, **kwargs: Any) -> None:
        model.compile(
            optimizer="adam",
            loss=lambda y, p: keras.ops.mean(p) * float("nan"),
            metrics=["accuracy"],
        )

    monkeypatch.setattr(training, "compile_model", compile_to_nan)
    overrides = ["+technique=baseline", *tiny_overrides(tmp_path), "train.epochs=3"]
    outcome = sweep(compose_cfg(*overrides, "sweep.n_trials=1"))
    assert outcome.best is None
    trial = load_study(tmp_path, "mnist-baseline").trials[0]
    assert trial.state == optuna.trial.TrialState.FAIL
    client, parents, children = tracked_runs(tmp_path)
    run = children[0]
    assert run.info.status == "FAILED"
    assert "loss became NaN in epoch 1" in run.data.tags["error"]
    assert run.data.metrics["epochs_trained"] == 1  # stopped at once, not after 3 epochs
    assert not client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert parents[0].data.metrics["trials_fail"] == 1


@pytest.mark.e2e
def test_killed_workers_trial_resumes_in_its_run_on_the_next_run(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "mnist_reg.sweep",
        "+technique=baseline",
        *tiny_overrides(tmp_path),
        "sweep.heartbeat_interval=1",
        "sweep.grace_period=2",
        "train.epochs=8",
    ]
    kill_mid_trial(command, tmp_path)
    _, _, children = tracked_runs(tmp_path)
    assert [r.info.status for r in children] == ["RUNNING"]  # what kill -9 leaves behind
    time.sleep(3)  # past the grace period

    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # it had trained an epoch: taken up from that epoch's checkpoint, in its own run
    states = [t.state for t in load_study(tmp_path, "mnist-baseline").trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 2
    _, parents, children = tracked_runs(tmp_path)
    killed = next(r for r in children if r.data.tags["trial_number"] == "0")
    assert killed.info.status == "FINISHED"
    assert killed.data.tags["trial_state"] == "COMPLETE"
    assert killed.data.metrics["epochs_trained"] == 8
    assert sorted(r.info.status for r in children) == ["FINISHED", "FINISHED"]
    assert [r.info.status for r in parents] == ["FINISHED"]


@pytest.mark.e2e
def test_a_worker_killed_on_this_host_is_replaced_by_the_next_run_at_once(
    tmp_path: Path,
) -> None:
    """kill -9 and the same command at once (the usual reaction to a crash or an
    out-of-memory kill), with the default 180-second grace period: the rerun sees that the
    worker's process is gone, resumes its trial from its checkpoint and completes the
    study."""
    command = [
        sys.executable,
        "-m",
        "mnist_reg.sweep",
        "+technique=baseline",
        *tiny_overrides(tmp_path),
        "train.epochs=8",
    ]
    kill_mid_trial(command, tmp_path)
    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "trial 0: waits to resume from its checkpoint" in resumed.stdout + resumed.stderr
    states = [t.state for t in load_study(tmp_path, "mnist-baseline").trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 2
    _, parents, children = tracked_runs(tmp_path)
    assert sorted(r.info.status for r in children) == ["FINISHED", "FINISHED"]  # resumed
    assert [r.info.status for r in parents] == ["FINISHED"]  # one parent, ended


def test_resuming_under_other_settings_is_refused_before_training(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    from mnist_reg.errors import ConfigError

    overrides = ["+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1"]
    sweep(compose_cfg(*overrides))
    changed = compose_cfg(*overrides, "sweep.n_trials=2", "train.epochs=2")
    with pytest.raises(ConfigError, match=r"train.epochs=2 \(study: 1\)"):
        sweep(changed)
    narrower = "technique.search_space.dropout_rate.high=0.4"
    space = compose_cfg(*overrides, "sweep.n_trials=2", narrower)
    with pytest.raises(
        ConfigError, match=r"technique\.search_space\.dropout_rate\.high=0\.4 \(study: 0\.6\)"
    ):
        sweep(space)
    assert len(load_study(tmp_path, "mnist-dropout").trials) == 1
    _, _, children = tracked_runs(tmp_path)
    assert len(children) == 1


def test_grid_study_resumes_through_the_same_grid_and_stops_at_its_end(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    overrides = [
        "+technique=l2",
        *tiny_overrides(tmp_path),
        "sweep.sampler=grid",
        "technique.search_space.l2_weight.grid=[0.00001,0.001]",
    ]
    assert sweep(compose_cfg(*overrides, "sweep.n_trials=2")).trials_run == 2
    assert sweep(compose_cfg(*overrides, "sweep.n_trials=10")).trials_run == 2  # 4 points
    assert sweep(compose_cfg(*overrides, "sweep.n_trials=10")).trials_run == 0
    trials = load_study(tmp_path, "mnist-l2").trials
    points = {(t.params["technique.l2.weight"], t.params["technique.l2.on_conv"]) for t in trials}
    assert len(trials) == len(points) == 4


def test_a_study_made_afresh_gets_a_new_parent_run(compose_cfg: Compose, tmp_path: Path) -> None:
    overrides = ["+technique=baseline", *tiny_overrides(tmp_path), "sweep.n_trials=1"]
    sweep(compose_cfg(*overrides))
    (tmp_path / "mlruns" / "optuna.db").unlink()
    sweep(compose_cfg(*overrides))
    _, parents, children = tracked_runs(tmp_path)
    assert len(parents) == 2 and len(children) == 2
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {
        p.info.run_id for p in parents
    }


def test_a_stale_best_tag_another_worker_deleted_first_is_not_an_error(
    compose_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = ["+technique=dropout", *tiny_overrides(tmp_path), "sweep.n_trials=1"]
    assert sweep(compose_cfg(*overrides)).best is not None  # tags the parent run best.*
    real_delete = MlflowClient.delete_tag

    def deleted_by_another_worker_first(self: MlflowClient, run_id: str, key: str) -> None:
        real_delete(self, run_id, key)  # the other worker's summary wins the race
        real_delete(self, run_id, key)  # ours then finds the tag gone

    monkeypatch.setattr(MlflowClient, "delete_tag", deleted_by_another_worker_first)
    again = sweep(compose_cfg(*overrides, "sweep.n_trials=2"))  # its summary rewrites best.*
    assert again.trials_run == 1 and again.best is not None
    _, parents, _ = tracked_runs(tmp_path)
    tags = parents[0].data.tags
    assert {k: v for k, v in tags.items() if k.startswith("best.")} == {
        f"best.{k}": str(v) for k, v in again.best.params.items()
    }


def test_the_summary_says_where_to_browse_the_results(
    compose_cfg: Compose, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mnist_reg.search.outcome import print_outcome

    outcome = sweep(compose_cfg("+technique=baseline", *tiny_overrides(tmp_path)))
    print_outcome(outcome)
    printed = capsys.readouterr().out
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    assert f"Browse the results: mlflow ui --backend-store-uri {uri}" in printed
    assert f"experiment mnist-reg, run mnist-baseline ({outcome.mlflow_parent_run_id})" in printed
