"""One entry for every search backend: ``sweep.backend`` chooses one of the two that fill
:class:`search.backend.SearchBackend`; the stores are checked before its heavy imports."""

from __future__ import annotations

import copy

from mnist_reg import process
from mnist_reg.config.preflight import check_stores
from mnist_reg.config.schema import Config
from mnist_reg.config.stores import tracking_uri
from mnist_reg.search.backend import SearchBackend, StoredStudy
from mnist_reg.search.outcome import SweepOutcome
from mnist_reg.search.settings import study_name


def backend(cfg: Config) -> SearchBackend:
    """The backend ``sweep.backend`` names (its module is light; ``run`` imports the rest)."""
    if cfg.sweep.backend == "keras_tuner":
        from mnist_reg.search.keras_tuner.backend import KerasTunerBackend

        return KerasTunerBackend()
    from mnist_reg.search.optuna.backend import OptunaBackend

    return OptunaBackend()


def run(cfg: Config) -> SweepOutcome:
    """Run the study of ``cfg`` with its backend up to ``sweep.n_trials`` trials."""
    process.prepare()  # before TensorFlow's threads
    cfg = copy.deepcopy(cfg)
    cfg.sweep.study_name = study_name(cfg)
    uri = tracking_uri(cfg.mlflow)
    chosen = backend(cfg)
    check_stores(chosen.study_storage(cfg), uri)
    chosen.preflight(cfg)
    outcome = chosen.run(cfg)
    outcome.tracking_uri, outcome.experiment = uri, cfg.mlflow.experiment
    return outcome


def stored_study(cfg: Config, name: str) -> StoredStudy:
    """The best trial of the study ``name`` that ``cfg``'s backend stored, or
    ``NothingToRepeatError`` saying why there is none."""
    return backend(cfg).stored_study(cfg, name)
