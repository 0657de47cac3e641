"""The Keras Tuner backend as :class:`search.backend.SearchBackend`: one project folder per
study under ``sweep.kt_directory``, holding Keras Tuner's state and ours
(:mod:`.project`); Keras Tuner and TensorFlow are imported only when a sweep runs."""

from __future__ import annotations

from pathlib import Path

from mnist_reg.config.preflight import check_writable_folder
from mnist_reg.config.schema import Config
from mnist_reg.errors import NothingToRepeatError
from mnist_reg.search.backend import StoredStudy
from mnist_reg.search.keras_tuner.project import ProjectState, project_dir
from mnist_reg.search.outcome import SweepOutcome


class KerasTunerBackend:
    def study_storage(self, cfg: Config) -> str | None:
        return None  # a project is a folder

    def preflight(self, cfg: Config) -> None:
        check_writable_folder(Path(cfg.sweep.kt_directory), "sweep.kt_directory")

    def run(self, cfg: Config) -> SweepOutcome:
        from mnist_reg.search.keras_tuner import runner  # imports TensorFlow

        return runner.run(cfg)

    def stored_study(self, cfg: Config, name: str) -> StoredStudy:
        state = ProjectState(project_dir(cfg.sweep.kt_directory, name))
        best = state.best()
        if best is None:
            raise NothingToRepeatError(
                f"no Keras Tuner project {name} with a complete trial in "
                f"{cfg.sweep.kt_directory}: run the sweep first, or repeat the composed "
                "configuration with repeat.source=config"
            )
        trial_id, record = best
        described = (
            f"trial {int(trial_id)} of Keras Tuner project {name} "
            f"(val_accuracy {record['val_accuracy']:.4f})"
        )
        parent = state.data.get("mlflow_parent_run_id")
        return StoredStudy(name, dict(record["values"]), described, parent, set(state.seeds()))
