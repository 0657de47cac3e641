"""Sweeps, seed repeats, the comparison, the registry and prediction, end to end on tiny
real-MNIST slices, each through its command line as a user runs it."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image
from scipy import stats as scipy_stats

from tests.conftest import TINY

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.usefixtures("mnist_available")]


def cli(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", f"mnist_reg.{module}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return result


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def runs_of(client: MlflowClient, run_type: str) -> list[Any]:
    experiment = client.get_experiment_by_name("mnist-reg")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    return [r for r in runs if r.data.tags.get("run_type") == run_type]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny studies (baseline, dropout), each with three seed repeats: a copy of the
    ones made once for the whole test session, this process's own to add runs to."""
    root = tmp_path_factory.mktemp("store")
    shutil.copytree(made_once(tmp_path_factory), root, dirs_exist_ok=True)
    return root


def made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The studies, made by the first pytest-xdist process to need them while the others
    wait (each would otherwise make its own, 3 minutes of both cores apiece; xdist's
    ``--dist loadgroup`` does not keep a module in one process under pytest 9.2)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    made = shared / "repeat-compare-store"
    with (shared / "repeat-compare-store.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (made / "screens.txt").exists():
            shutil.rmtree(made, ignore_errors=True)
            made.mkdir()
            screens = []
            for technique in ("baseline", "dropout"):
                for command in (
                    cli("sweep", f"+technique={technique}", *TINY, cwd=made),
                    cli("repeat", f"+technique={technique}", *TINY, "repeat.count=3", cwd=made),
                ):
                    ok(command)
                    screens.append(command.stdout + command.stderr)
            (made / "screens.txt").write_text("\n".join(screens))  # written last: complete
    return made


# What libraries printed on a user's screen before (issue 34): never again
NOISE = (
    "absl::InitializeLog",
    "cuda_drivers",
    "Could not find cuda",
    "failed call to cuInit",
    "Successfully registered model",
    "Created version",
    "Downloading artifacts",
    "Creating initial MLflow database tables",
    "already exists. Creating a new version",
    "triggered tf.function retracing",
)


def test_the_screen_holds_what_the_commands_say_not_library_noise(
    store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "store"  # compare logs a run: the other tests count the store's runs
    shutil.copytree(store, copy)
    compared = cli("compare", "compare.output_dir=quiet", cwd=copy)
    predicted = cli("predict", "index=7", cwd=copy)
    screen = (store / "screens.txt").read_text() + ok(compared) + compared.stderr
    screen += ok(predicted) + predicted.stderr
    assert "Study mnist-dropout" in screen and "test image 7 (label 9)" in screen
    assert [noise for noise in NOISE if noise in screen] == []
    assert "it/s]" not in screen  # no third-party progress bar either


def test_repeats_are_tracked_under_the_study_and_never_redone(store: Path) -> None:
    client = MlflowClient(f"sqlite:///{store}/mlruns/mlflow.db")
    parents = {r.data.tags["study_name"]: r for r in runs_of(client, "sweep")}
    repeats = runs_of(client, "repeat")
    assert len(repeats) == 6
    for run in repeats:
        assert run.info.status == "FINISHED"
        parent = parents[run.data.tags["study_name"]]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert {"test_accuracy", "kept_val_accuracy", "val_accuracy"} <= set(run.data.metrics)
    seeds = sorted(int(r.data.tags["repeat_seed"]) for r in repeats)
    assert seeds == [1000, 1000, 1001, 1001, 1002, 1002]
    # the repeated configuration is the best trial's: its searched values are the run's params
    dropout = parents["mnist-dropout"]
    best_rate = dropout.data.tags["best.technique.dropout.rate"]
    for run in repeats:
        if run.data.tags["study_name"] == "mnist-dropout":
            assert float(run.data.params["technique.dropout.rate"]) == pytest.approx(
                float(best_rate)
            )

    again = ok(cli("repeat", "+technique=dropout", *TINY, "repeat.count=3", cwd=store))
    assert "test_accuracy over 3 seeds" in again
    assert len(runs_of(client, "repeat")) == 6  # nothing trained twice


def test_repeat_refuses_what_it_cannot_do_honestly(store: Path) -> None:
    missing = cli("repeat", "+technique=l2", *TINY, cwd=store)
    assert missing.returncode != 0
    assert "no study mnist-l2" in missing.stderr
    reused = cli("repeat", "+technique=dropout", *TINY, "repeat.first_seed=1", cwd=store)
    assert reused.returncode != 0
    assert "reuses seeds the search trained with (1)" in reused.stderr


def test_compare_agrees_with_what_mlflow_holds(store: Path) -> None:
    out = ok(cli("compare", "compare.output_dir=report", cwd=store))
    assert "mnist-dropout" in out and "mnist-baseline" in out
    folder = store / "report"
    table = pd.read_csv(folder / "comparison.csv").set_index("study")
    client = MlflowClient(f"sqlite:///{store}/mlruns/mlflow.db")
    test: dict[str, list[float]] = {}
    for run in sorted(runs_of(client, "repeat"), key=lambda r: r.data.tags["repeat_seed"]):
        test.setdefault(run.data.tags["study_name"], []).append(run.data.metrics["test_accuracy"])
    for study, values in test.items():
        assert table.loc[study, "repeats"] == 3
        assert table.loc[study, "test_mean"] == pytest.approx(np.mean(values))
    for study in test:
        trials = [r for r in runs_of(client, "trial") if r.data.tags["study_name"] == study]
        assert table.loc[study, "trials_complete"] == 2
        assert table.loc[study, "best_val_accuracy"] == pytest.approx(
            max(r.data.metrics["kept_val_accuracy"] for r in trials)
        )
    welch = scipy_stats.ttest_ind(test["mnist-dropout"], test["mnist-baseline"], equal_var=False)
    if np.isfinite(welch.pvalue):
        assert table.loc["mnist-dropout", "p_welch"] == pytest.approx(welch.pvalue)
        assert table.loc["mnist-dropout", "baseline"] == "mnist-baseline"
    for name in ("comparison.png", "learning_curves.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (folder / "report.md").read_text()
    assert "| mnist-dropout | dropout |" in report
    assert f"{100 * np.mean(test['mnist-dropout']):.2f}" in report
    logged = runs_of(client, "comparison")
    assert len(logged) == 1
    artifacts = {a.path for a in client.list_artifacts(logged[0].info.run_id)}
    assert {"report.md", "comparison.csv", "comparison.png", "learning_curves.png"} <= artifacts
    assert {"seeds.csv", "test_correct.csv"} <= artifacts
    # one run per study under the comparison, for MLflow's table and chart view
    rows = {r.info.run_name: r for r in runs_of(client, "compared_study")}
    assert set(rows) == {"mnist-baseline", "mnist-dropout"}
    for study, row in rows.items():
        assert row.data.tags["mlflow.parentRunId"] == logged[0].info.run_id
        # in MLflow as in the report: accuracies in %, differences in points
        assert row.data.metrics["test_mean"] == pytest.approx(
            100 * float(table.loc[study, "test_mean"]), abs=1e-4
        )
    assert rows["mnist-dropout"].data.tags["verdict"] == table.loc["mnist-dropout", "verdict"]
    dropout = rows["mnist-dropout"].data.metrics
    assert dropout["diff"] == pytest.approx(
        100 * table["diff"].astype(float).to_dict()["mnist-dropout"], abs=1e-4
    )
    assert dropout["p_welch"] == pytest.approx(table.loc["mnist-dropout", "p_welch"], rel=1e-3)


def test_compare_views_of_shared_seeds_and_seeds_csv(store: Path) -> None:
    out = ok(cli("compare", "compare.output_dir=views", "compare.log_to_mlflow=false", cwd=store))
    for column in ("paired 95%", "bootstrap 95%", "P(improve)", "detectable (a/1)"):
        assert column in out
    folder = store / "views"
    seeds = pd.read_csv(folder / "seeds.csv")
    assert len(seeds) == 6 and set(seeds["seed"]) == {1000, 1001, 1002}
    assert set(seeds["split_seed"]) == {0}
    table = pd.read_csv(folder / "comparison.csv").set_index("study")
    dropout = table.loc["mnist-dropout"]
    assert dropout["pairs"] == 3  # the two studies repeated the same seeds
    by_seed = {
        study: group.set_index("seed")["test_accuracy"] for study, group in seeds.groupby("study")
    }
    paired = scipy_stats.ttest_rel(by_seed["mnist-dropout"], by_seed["mnist-baseline"])
    assert dropout["p_paired"] == pytest.approx(paired.pvalue, nan_ok=True)
    # every repeat logged its test predictions: the interval covers the test images too
    assert dropout["test_nested_low"] <= dropout["test_mean"] <= dropout["test_nested_high"]
    assert "seed + test images" in (folder / "report.md").read_text()
    remade = store / "remade"
    ok(
        cli(
            "compare",
            f"compare.seeds_csv={folder / 'seeds.csv'}",
            f"compare.output_dir={remade}",
            cwd=store,
        )
    )
    again = pd.read_csv(remade / "comparison.csv").set_index("study")
    for column in ("test_mean", "test_ci_low", "p_welch", "test_nested_low", "p_improvement"):
        assert again[column].to_dict() == pytest.approx(table[column].to_dict(), nan_ok=True)


def test_a_comparison_remade_from_seeds_csv_can_be_logged_to_a_fresh_store(
    store: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "first"
    ok(cli("compare", f"compare.output_dir={folder}", "compare.log_to_mlflow=false", cwd=store))
    table = pd.read_csv(folder / "comparison.csv").set_index("study")
    uri = f"sqlite:///{tmp_path}/fresh/mlflow.db"
    args = [f"compare.seeds_csv={folder / 'seeds.csv'}", f"mlflow.tracking_uri={uri}"]
    ok(cli("compare", *args, f"compare.output_dir={tmp_path / 'quiet'}", cwd=tmp_path))
    assert not (tmp_path / "fresh").exists()  # re-made from a CSV: nothing logged by default
    ok(
        cli(
            "compare",
            *args,
            "compare.log_to_mlflow=true",
            "mlflow.experiment=remade",
            f"compare.output_dir={tmp_path / 'logged'}",
            cwd=tmp_path,
        )
    )
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("remade")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    (comparison,) = [r for r in runs if r.data.tags.get("run_type") == "comparison"]
    rows = {r.info.run_name: r for r in runs if r.data.tags.get("run_type") == "compared_study"}
    assert set(rows) == set(table.index)
    for study, row in rows.items():
        assert row.data.tags["mlflow.parentRunId"] == comparison.info.run_id
        # in MLflow as in the report: accuracies in %, differences in points
        assert row.data.metrics["test_mean"] == pytest.approx(
            100 * float(table.loc[study, "test_mean"]), abs=1e-4
        )
        assert row.data.tags["verdict"] == table.loc[study, "verdict"]


def test_repeats_can_vary_the_validation_split_with_the_seed(store: Path) -> None:
    ok(
        cli(
            "repeat",
            "+technique=baseline",
            *TINY,
            "repeat.source=config",
            "repeat.count=2",
            "repeat.vary_split=true",
            "sweep.study_name=varied-split",
            cwd=store,
        )
    )
    client = MlflowClient(f"sqlite:///{store}/mlruns/mlflow.db")
    varied = [r for r in runs_of(client, "repeat") if r.data.tags["study_name"] == "varied-split"]
    assert sorted(r.data.params["data.split_seed"] for r in varied) == ["1000", "1001"]
    assert len({r.data.tags["repeat_key"] for r in varied}) == 1  # one configuration


def test_best_trials_are_registered_and_the_champion_predicts(store: Path) -> None:
    client = MlflowClient(f"sqlite:///{store}/mlruns/mlflow.db")
    parents = {r.data.tags["study_name"]: r for r in runs_of(client, "sweep")}
    versions = list(client.search_model_versions("name = 'mnist-cnn'"))
    assert len(versions) == 2
    for study, parent in parents.items():
        version = client.get_model_version_by_alias("mnist-cnn", f"best-{study}")
        assert version.tags["source_run_id"] == parent.data.tags["best_trial_run_id"]
    champion = client.get_model_version_by_alias("mnist-cnn", "champion")
    assert float(champion.tags["val_accuracy"]) == max(
        float(v.tags["val_accuracy"]) for v in versions
    )

    out = ok(cli("predict", "index=2853", cwd=store))
    assert "models:/mnist-cnn@champion" in out
    assert "test image 2853 (label 3): digit " in out

    digit = store / "digit.png"
    raw = np.load(Path("~/.cache/mnist_reg/mnist.npz").expanduser())["x_test"][0]
    Image.fromarray(255 - raw).resize((140, 140)).save(digit)  # dark on light, 5x larger
    out = ok(cli("predict", f"images=[{digit}]", "model=mnist-cnn/1", cwd=store))
    assert f"{digit}: digit " in out

    empty = store / "empty.png"
    empty.touch()
    bad = cli("predict", f"images=[{empty}]", cwd=store)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines() == [f"error: {empty}: the file is empty"]
