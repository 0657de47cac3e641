"""The Optuna backend as :class:`search.backend.SearchBackend`: studies in an Optuna
storage (``sweep.storage``); the runner and Optuna are imported only when used."""

from __future__ import annotations

from mnist_reg.config.schema import Config
from mnist_reg.config.stores import storage_url
from mnist_reg.errors import NothingToRepeatError
from mnist_reg.pool import worker_count
from mnist_reg.search.backend import StoredStudy
from mnist_reg.search.outcome import SweepOutcome


class OptunaBackend:
    def study_storage(self, cfg: Config) -> str | None:
        return storage_url(cfg.sweep)

    def preflight(self, cfg: Config) -> None:
        return None  # the storage is all it writes besides the tracking store

    def run(self, cfg: Config) -> SweepOutcome:
        if worker_count(cfg.sweep.workers, cfg.sweep.n_trials) > 1:
            from mnist_reg.search.optuna import pool

            return pool.run(cfg)
        from mnist_reg.search.optuna import runner

        return runner.run(cfg)

    def stored_study(self, cfg: Config, name: str) -> StoredStudy:
        from mnist_reg.search.optuna.study import load_stored

        stored = load_stored(cfg, name)
        if stored is None:
            raise NothingToRepeatError(
                f"no study {name} in {storage_url(cfg.sweep)}: run the sweep first, or repeat "
                "the composed configuration as it is with repeat.source=config"
            )
        best_trial, seeds, parent = stored
        if best_trial is None:
            raise NothingToRepeatError(f"study {name} has no complete trial to repeat")
        described = (
            f"trial {best_trial.number} of study {name} "
            f"(val_accuracy {best_trial.val_accuracy:.4f})"
        )
        return StoredStudy(name, dict(best_trial.params), described, parent, seeds)
