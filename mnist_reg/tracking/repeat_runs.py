"""The runs of seed repeats: one parent per repeated study, one nested run per seed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mlflow
from mlflow.entities import RunStatus

from mnist_reg.tracking import tags as T
from mnist_reg.tracking.lifecycle import ended_on_error, is_active
from mnist_reg.tracking.runs import Tracker


class RepeatTracker(Tracker):
    """A :class:`Tracker` that also writes and reads seed repeats."""

    @contextmanager
    def repeats_run(
        self,
        study_name: str,
        technique: str,
        parent_run_id: str | None,
        params: dict[str, Any],
        config_yaml: str,
    ) -> Iterator[str]:
        """The parent of a study's repeats: the sweep's parent run when the repeats retrain a
        study's best trial, else one run per study name, found again by its tags."""
        if not self.run_exists(parent_run_id):
            found = self.client.search_runs(
                [self.experiment_id],
                filter_string=(
                    f"tags.{T.RUN_TYPE} = '{T.REPEATS}' and "
                    f"tags.{T.STUDY_NAME} = '{quoted(study_name)}'"
                ),
                order_by=["attributes.start_time ASC"],
                max_results=1,
            )
            parent_run_id = found[0].info.run_id if found else None
        tags = {T.RUN_TYPE: T.REPEATS, T.STUDY_NAME: study_name, T.TECHNIQUE: technique}
        with self.parent_run(parent_run_id, study_name, tags, params) as run_id:
            mlflow.log_text(config_yaml, "repeats_config.yaml")
            yield run_id

    @contextmanager
    def joined_repeats_run(self, parent_run_id: str) -> Iterator[str]:
        """The repeats' parent run, opened by the command, joined by one of its workers: the
        worker's seeds nest under it, and it stays RUNNING when the worker ends (the command
        ends it once every worker has)."""
        mlflow.start_run(run_id=parent_run_id, experiment_id=self.experiment_id)
        try:
            yield parent_run_id
        finally:
            if is_active(parent_run_id):
                mlflow.end_run(RunStatus.to_string(RunStatus.RUNNING))

    def end_stale_repeats(
        self, parent_run_id: str, repeat_key: str, seeds: list[int], since_ms: int
    ) -> int:
        """End KILLED the runs of ``seeds`` still RUNNING that were started since
        ``since_ms``: every worker of the command that started them has ended (one was
        killed in its seed). Returns how many were ended."""
        stale = [
            run
            for run in self.child_runs(parent_run_id)
            if run.data.tags.get(T.RUN_TYPE) == T.REPEAT
            and run.data.tags.get(T.REPEAT_KEY) == repeat_key
            and int(run.data.tags.get(T.REPEAT_SEED, -1)) in seeds
            and run.info.status == "RUNNING"
            and run.info.start_time >= since_ms
        ]
        for run in stale:
            self.client.set_terminated(run.info.run_id, "KILLED")
        return len(stale)

    @contextmanager
    def repeat_run(self, seed: int, tags: dict[str, str]) -> Iterator[str]:
        """A nested run for one seed of a repeated configuration."""
        run_tags = {**tags, T.RUN_TYPE: T.REPEAT, T.REPEAT_SEED: str(seed)}
        with ended_on_error(self.nested_run(f"repeat-seed{seed}", run_tags)) as run:
            yield run.info.run_id

    def _finished_repeats(self, parent_run_id: str, repeat_key: str) -> list[Any]:
        return [
            run
            for run in self.child_runs(parent_run_id)
            if run.data.tags.get(T.RUN_TYPE) == T.REPEAT
            and run.data.tags.get(T.REPEAT_KEY) == repeat_key
            and run.info.status == "FINISHED"
        ]

    def finished_repeat_seeds(self, parent_run_id: str, repeat_key: str) -> set[int]:
        """Seeds already repeated, finished, under ``parent_run_id`` with these settings."""
        return {
            int(run.data.tags[T.REPEAT_SEED])
            for run in self._finished_repeats(parent_run_id, repeat_key)
        }

    def repeat_results(self, parent_run_id: str, repeat_key: str) -> list[dict[str, Any]]:
        """Seed, accuracies and cost of each finished repeat with these settings."""
        rows = [
            {
                "seed": int(run.data.tags[T.REPEAT_SEED]),
                "split_seed": int(run.data.params.get("data.split_seed", -1)),
                "val_accuracy": run.data.metrics.get("kept_val_accuracy"),
                "test_accuracy": run.data.metrics.get("test_accuracy"),
                "epochs": int(run.data.metrics.get("epochs_trained", 0)),
                "seconds": round(run.data.metrics.get("train_seconds", 0.0), 1),
                "run_id": run.info.run_id,
            }
            for run in self._finished_repeats(parent_run_id, repeat_key)
        ]
        return sorted(rows, key=lambda row: row["seed"])


def quoted(value: str) -> str:
    """``value`` inside single quotes of an MLflow filter string."""
    return value.replace("'", "\\'")
