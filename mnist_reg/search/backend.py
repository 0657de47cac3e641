"""The contract every search backend fills, written down: :mod:`.dispatch` chooses one by
``sweep.backend`` and knows nothing else of it.

A backend is a light object (its module imports no TensorFlow, Keras Tuner or Optuna), so
the stores can be checked in a second before the heavy imports that ``run`` brings. Two
backends fill it: ``search.optuna.backend.OptunaBackend`` and
``search.keras_tuner.backend.KerasTunerBackend``; ``tests/search/test_backend.py`` runs the
same contract tests over both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from mnist_reg.config.schema import Config
from mnist_reg.search.outcome import SweepOutcome


@dataclass
class StoredStudy:
    """What a finished search left for seed repeats: its best trial's searched values."""

    name: str
    values: dict[str, Any]  # searched parameters of the best trial
    described: str  # "trial 3 of study mnist-dropout (val_accuracy 0.9812)"
    parent_run_id: str | None  # the study's parent run, which its repeats nest under
    seeds_used: set[int | None]  # seeds its trials trained with: a repeat must not reuse one


@runtime_checkable
class SearchBackend(Protocol):
    """Runs a study of a configuration and describes a stored one."""

    def study_storage(self, cfg: Config) -> str | None:
        """The database URL of the backend's studies, checked before a sweep (and before a
        repeat of a study's best trial); None where its studies live in files."""
        ...

    def preflight(self, cfg: Config) -> None:
        """Refuse, with a ``UserError``, before any heavy import, what else would fail a
        sweep of ``cfg`` late (a folder it cannot write)."""
        ...

    def run(self, cfg: Config) -> SweepOutcome:
        """Run the study ``cfg.sweep.study_name`` up to ``sweep.n_trials`` finished trials
        (or its epoch budget), resuming what is stored; every trial a tracked MLflow run
        under one parent run."""
        ...

    def stored_study(self, cfg: Config, name: str) -> StoredStudy:
        """The best trial of the stored study ``name``, or ``NothingToRepeatError`` saying
        why there is none."""
        ...
