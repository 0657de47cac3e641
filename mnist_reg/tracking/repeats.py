"""The runs of seed repeats: one parent per repeated study, one nested run per seed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mlflow

from mnist_reg.tracking.runs import Tracker, _ended_on_error, _quoted


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
        if not self._run_exists(parent_run_id):
            found = self.client.search_runs(
                [self.experiment_id],
                filter_string=(
                    f"tags.run_type = 'repeats' and tags.study_name = '{_quoted(study_name)}'"
                ),
                order_by=["attributes.start_time ASC"],
                max_results=1,
            )
            parent_run_id = found[0].info.run_id if found else None
        tags = {"run_type": "repeats", "study_name": study_name, "technique": technique}
        with _ended_on_error(
            mlflow.start_run(
                run_id=parent_run_id,
                experiment_id=self.experiment_id,
                run_name=None if parent_run_id else study_name,
                tags=None if parent_run_id else tags,
            )
        ) as run:
            if parent_run_id is None:
                mlflow.log_params(params)
            mlflow.log_text(config_yaml, "repeats_config.yaml")
            yield run.info.run_id

    @contextmanager
    def repeat_run(self, seed: int, tags: dict[str, str]) -> Iterator[str]:
        """A nested run for one seed of a repeated configuration."""
        run = mlflow.start_run(
            run_name=f"repeat-seed{seed}",
            nested=True,
            experiment_id=self.experiment_id,
            tags={**tags, "run_type": "repeat", "repeat_seed": str(seed)},
        )
        with _ended_on_error(run):
            yield run.info.run_id

    def _finished_repeats(self, parent_run_id: str, repeat_key: str) -> list[Any]:
        return [
            run
            for run in self.child_runs(parent_run_id)
            if run.data.tags.get("run_type") == "repeat"
            and run.data.tags.get("repeat_key") == repeat_key
            and run.info.status == "FINISHED"
        ]

    def finished_repeat_seeds(self, parent_run_id: str, repeat_key: str) -> set[int]:
        """Seeds already repeated, finished, under ``parent_run_id`` with these settings."""
        return {
            int(run.data.tags["repeat_seed"])
            for run in self._finished_repeats(parent_run_id, repeat_key)
        }

    def repeat_results(self, parent_run_id: str, repeat_key: str) -> list[dict[str, Any]]:
        """Seed, accuracies and cost of each finished repeat with these settings."""
        rows = [
            {
                "seed": int(run.data.tags["repeat_seed"]),
                "val_accuracy": run.data.metrics.get("kept_val_accuracy"),
                "test_accuracy": run.data.metrics.get("test_accuracy"),
                "epochs": int(run.data.metrics.get("epochs_trained", 0)),
                "seconds": round(run.data.metrics.get("train_seconds", 0.0), 1),
                "run_id": run.info.run_id,
            }
            for run in self._finished_repeats(parent_run_id, repeat_key)
        ]
        return sorted(rows, key=lambda row: row["seed"])
