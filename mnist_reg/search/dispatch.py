"""One entry for every search backend: the stores checked, then ``sweep.backend``'s ``run``.

Each backend (``search.optuna``, ``search.keras_tuner``) exposes ``run(cfg) ->
SweepOutcome`` and is imported only once chosen (each brings its own heavy libraries).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_reg.config.preflight import check_stores, check_writable_folder
from mnist_reg.config.schema import Config
from mnist_reg.config.stores import storage_url, tracking_uri
from mnist_reg.errors import NothingToRepeatError
from mnist_reg.search.outcome import SweepOutcome
from mnist_reg.search.settings import study_name
from mnist_reg.training import memory


def run(cfg: Config) -> SweepOutcome:
    """Run the study of ``cfg`` with its backend up to ``sweep.n_trials`` trials."""
    memory.limit_arenas()  # before TensorFlow's threads: keeps a long sweep's memory flat
    cfg = copy.deepcopy(cfg)
    cfg.sweep.study_name = study_name(cfg)
    uri = tracking_uri(cfg.mlflow)
    if cfg.sweep.backend == "keras_tuner":
        check_stores(None, uri)
        check_writable_folder(Path(cfg.sweep.kt_directory), "sweep.kt_directory")
        from mnist_reg.search.keras_tuner import runner as backend  # imports TensorFlow
    else:
        check_stores(storage_url(cfg.sweep), uri)
        from mnist_reg.search.optuna import runner as backend  # type: ignore[no-redef]
    outcome = backend.run(cfg)
    outcome.tracking_uri, outcome.experiment = uri, cfg.mlflow.experiment
    return outcome


@dataclass
class StoredStudy:
    """What a finished search left for seed repeats: its best trial's searched values."""

    name: str
    values: dict[str, Any]  # searched parameters of the best trial
    described: str
    parent_run_id: str | None
    seeds_used: set[int | None]


def stored_study(cfg: Config, name: str) -> StoredStudy:
    """The best trial of the study ``name`` that ``cfg``'s backend stored, or
    :class:`NothingToRepeatError` saying why there is none."""
    if cfg.sweep.backend == "keras_tuner":
        from mnist_reg.search.keras_tuner.project import ProjectState, project_dir

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
    from mnist_reg.search.optuna.study import load_stored

    stored = load_stored(cfg, name)
    if stored is None:
        raise NothingToRepeatError(
            f"no study {name} in {storage_url(cfg.sweep)}: run the sweep first, or repeat the "
            "composed configuration as it is with repeat.source=config"
        )
    best_trial, seeds, parent = stored
    if best_trial is None:
        raise NothingToRepeatError(f"study {name} has no complete trial to repeat")
    described = (
        f"trial {best_trial.number} of study {name} (val_accuracy {best_trial.val_accuracy:.4f})"
    )
    return StoredStudy(name, dict(best_trial.params), described, parent, seeds)
