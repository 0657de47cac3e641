"""Reading runs back from MLflow for ``compare`` (``mlflow.search_runs`` into pandas), and
logging the comparison itself as a run."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from mnist_reg.tracking import tags as T
from mnist_reg.tracking.store import connect, experiment_id


class MissingExperimentError(LookupError):
    """An experiment asked for is not in the tracking store."""


def load_runs(uri: str, experiments: list[str]) -> pd.DataFrame:
    """Every run of ``experiments``: one row each, columns ``tags.*``, ``metrics.*``,
    ``params.*``, ``status``, ``start_time`` ... as ``mlflow.search_runs`` gives them."""
    client = connect(uri)
    known = {e.name for e in client.search_experiments()}
    missing = [name for name in experiments if name not in known]
    if missing:
        raise MissingExperimentError(
            f"no experiment {', '.join(missing)} in {uri}; it has: {', '.join(sorted(known))}"
        )
    runs = mlflow.search_runs(experiment_names=experiments, output_format="pandas")
    assert isinstance(runs, pd.DataFrame)
    return runs


def metric_history(uri: str, run_id: str, key: str) -> list[float]:
    """A per-epoch metric of a run, in step order."""
    history = MlflowClient(uri).get_metric_history(run_id, key)
    return [m.value for m in sorted(history, key=lambda m: m.step)]


def test_correct(uri: str, run_ids: list[str]) -> dict[str, np.ndarray]:
    """Whether each run classified each test image right, for the runs that logged their
    test predictions (runs made before they were logged have none)."""
    client = MlflowClient(uri)
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        for run_id in run_ids:
            names = {item.path for item in client.list_artifacts(run_id)}
            if T.TEST_PREDICTIONS not in names:
                continue
            path = client.download_artifacts(run_id, T.TEST_PREDICTIONS, folder)
            with np.load(path) as saved:
                found[run_id] = saved["predicted"] == saved["label"]
    return found


def log_comparison(
    uri: str,
    experiment: str,
    folder: Path,
    tags: dict[str, str],
    metrics: dict[str, float],
    rows: Sequence[tuple[str, dict[str, str], dict[str, float]]] = (),
) -> str:
    """Log ``folder`` (report, CSV, plots) as a run tagged ``run_type=comparison``, and each
    ``(study, tags, metrics)`` row as a run nested under it, so MLflow's table and chart
    view show every study's mean, interval and verdict side by side."""
    # the experiment is new when a comparison re-made from a seeds.csv goes to another store
    found = experiment_id(connect(uri), uri, experiment)
    with mlflow.start_run(
        experiment_id=found,
        run_name=f"comparison-{pd.Timestamp.now():%Y%m%d-%H%M%S}",
        tags={T.RUN_TYPE: T.COMPARISON, **tags},
    ) as run:
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(folder))
        for study, row_tags, row_metrics in rows:
            with mlflow.start_run(
                experiment_id=found,
                run_name=study,
                nested=True,
                tags={T.RUN_TYPE: T.COMPARED_STUDY, **row_tags},
            ):
                mlflow.log_metrics(row_metrics)
        return run.info.run_id
