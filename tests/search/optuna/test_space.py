"""Search spaces from YAML to Optuna suggestions."""

from __future__ import annotations

import optuna

from mnist_reg.search.optuna.space import suggest
from tests.conftest import Compose


def test_conditional_parameter_only_when_its_switch_is_on(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=dropout")
    off = optuna.trial.FixedTrial(
        {"technique.dropout.rate": 0.3, "technique.dropout.second": False}
    )
    assert suggest(off, cfg) == {"technique.dropout.rate": 0.3, "technique.dropout.second": False}
    on = optuna.trial.FixedTrial(
        {
            "technique.dropout.rate": 0.3,
            "technique.dropout.second": True,
            "technique.dropout.second_rate": 0.1,
        }
    )
    assert suggest(on, cfg)["technique.dropout.second_rate"] == 0.1


def test_a_schedules_parameters_only_where_that_schedule_is_chosen(
    compose_cfg: Compose,
) -> None:
    cfg = compose_cfg("+technique=baseline", "+recipe=schedules")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        values = suggest(trial, cfg)
        schedule = values["train.lr_schedule"]
        seen.add(schedule)
        own = {
            "cosine": {"train.warmup_epochs"},
            "one_cycle": {"train.one_cycle_rise"},
            "exponential": {"train.decay_rate"},
            "plateau": {"train.plateau_factor", "train.plateau_patience"},
        }.get(schedule, set())
        assert set(values) == {"train.learning_rate", "train.lr_schedule", *own}
        study.tell(trial, 0.5)
    assert seen == {"constant", "cosine", "one_cycle", "exponential", "plateau"}


def test_suggestions_stay_inside_the_yaml_ranges(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=combined")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        values = suggest(trial, cfg)
        assert 1e-6 <= values["technique.l2.weight"] <= 1e-2
        assert 0.0 <= values["technique.dropout.rate"] <= 0.6
        assert values["technique.early_stopping.patience"] in range(1, 6)
        assert values["technique.early_stopping.monitor"] in ("val_accuracy", "val_loss")
        study.tell(trial, 0.5)
