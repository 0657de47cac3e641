"""What a trial's objective hands the training: here, how a promoted trial continues."""

from __future__ import annotations

import optuna
import pytest

from mnist_reg.search.optuna import promotion
from mnist_reg.search.optuna.objective import _continuation
from tests.conftest import Compose


@pytest.mark.parametrize("keeps", [True, False])
def test_a_promoted_trial_continues_the_optimizer_as_configured(
    keeps: bool, compose_cfg: Compose
) -> None:
    cfg = compose_cfg(
        "+technique=dropout",
        "sweep.strategy=promote",
        f"sweep.continue_optimizer={str(keeps).lower()}",
        "sweep.study_name=study",
    )
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr(promotion.INITIAL_EPOCH, 3)
    continuation = _continuation(cfg, trial, parent=7)
    assert continuation.optimizer is keeps
    assert continuation.initial_epoch == 3
    assert continuation.weights == str(promotion.checkpoint(cfg, 7))
