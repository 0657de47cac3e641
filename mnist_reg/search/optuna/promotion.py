"""``sweep.strategy=promote``: successive halving inside Optuna, with the promoted
configurations continued from their checkpoints rather than trained again from scratch.

New configurations (chosen by the sampler, TPE by default) train the first rung's
``sweep.min_epochs`` epochs. Whenever a worker asks for a trial, the best configuration of
any rung that is in its rung's top ``1 / sweep.hyperband_factor`` and was not promoted yet
is promoted first (the asynchronous rule of ASHA, Li et al. 2020): Optuna gets it as an
enqueued trial with the same parameters, which loads the checkpoint of the trial it
continues and trains on up to the next rung's epochs. Rungs grow by the factor up to
``train.epochs``: 3, 9, 20 for the defaults at 20 epochs. Every step is an Optuna trial
and an MLflow run tagged with its rung and the trial it continues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from mnist_reg.config.schema import Config

# Trial user attributes of the strategy
RUNG = "rung"
CONTINUES = "continues_trial"
INITIAL_EPOCH = "initial_epoch"


def rung_epochs(min_epochs: int, factor: int, max_epochs: int) -> list[int]:
    """The epochs a configuration has trained at each rung: min_epochs, times the factor,
    ..., and ``max_epochs`` last."""
    epochs = [min(min_epochs, max_epochs)]
    while epochs[-1] * factor < max_epochs:
        epochs.append(epochs[-1] * factor)
    if epochs[-1] < max_epochs:
        epochs.append(max_epochs)
    return epochs


def rungs(cfg: Config) -> list[int]:
    return rung_epochs(cfg.sweep.min_epochs, cfg.sweep.hyperband_factor, cfg.train.epochs)


@dataclass(frozen=True)
class Promotion:
    parent: int  # the trial whose checkpoint the promoted trial continues
    params: dict[str, Any]
    rung: int  # the rung it is promoted to
    initial_epoch: int  # epochs the parent's weights have trained

    def user_attrs(self) -> dict[str, Any]:
        return {RUNG: self.rung, CONTINUES: self.parent, INITIAL_EPOCH: self.initial_epoch}


def next_promotion(
    trials: list[optuna.trial.FrozenTrial], epochs: list[int], factor: int
) -> Promotion | None:
    """The configuration to promote now, from the highest rung down, or None (then a new
    configuration starts at the first rung)."""
    promoted = {t.user_attrs[CONTINUES] for t in trials if CONTINUES in t.user_attrs}
    complete = [
        t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None
    ]
    for rung in reversed(range(len(epochs) - 1)):
        done = [t for t in complete if int(t.user_attrs.get(RUNG, 0)) == rung]
        ranked = sorted(done, key=lambda t: (-float(t.value or 0), t.number))
        for trial in ranked[: len(done) // factor]:
            if trial.number not in promoted:
                return Promotion(trial.number, dict(trial.params), rung + 1, epochs[rung])
    return None


def promoter(cfg: Config) -> Callable[[list[optuna.trial.FrozenTrial]], Promotion | None] | None:
    """What ``ClaimingStudy.ask`` calls to find the next promotion; None unless promoting."""
    if cfg.sweep.strategy != "promote":
        return None
    epochs, factor = rungs(cfg), cfg.sweep.hyperband_factor
    return lambda trials: next_promotion(trials, epochs, factor)


def checkpoint(cfg: Config, trial_number: int) -> Path:
    """Where a trial's final weights are kept, for the trial that may continue them."""
    folder = Path(cfg.sweep.checkpoint_dir) / str(cfg.sweep.study_name)
    return folder / f"trial-{trial_number:04d}.weights.h5"
