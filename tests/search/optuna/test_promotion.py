"""``sweep.strategy=promote``: successive halving with configurations continued from their
checkpoints, as Optuna trials and MLflow runs that record their lineage."""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd
import pytest

from mnist_reg.analysis.comparison import compare_runs
from mnist_reg.config.schema import CompareConfig
from mnist_reg.config.validation import config_errors
from mnist_reg.repeats.plan import plan_repeats
from mnist_reg.search.optuna.promotion import next_promotion, rung_epochs
from tests.conftest import Compose, sweep, tiny_overrides, tracked_runs


@pytest.mark.parametrize(
    ("low", "factor", "high", "expected"),
    [(3, 3, 20, [3, 9, 20]), (1, 3, 5, [1, 3, 5]), (1, 2, 2, [1, 2]), (3, 3, 27, [3, 9, 27])],
)
def test_rungs_grow_by_the_factor_up_to_the_epochs(
    low: int, factor: int, high: int, expected: list[int]
) -> None:
    assert rung_epochs(low, factor, high) == expected


def trial(number: int, value: float | None, **attrs: object) -> optuna.trial.FrozenTrial:
    made = optuna.trial.create_trial(
        value=value,
        state=optuna.trial.TrialState.COMPLETE
        if value is not None
        else optuna.trial.TrialState.RUNNING,
        params={"x": float(number)},
        distributions={"x": optuna.distributions.FloatDistribution(0, 100)},
        user_attrs=dict(attrs),
    )
    made.number = number
    return made


def test_the_best_of_a_rung_is_promoted_once_and_the_highest_rung_first() -> None:
    epochs = [3, 9, 20]
    rung0 = [trial(0, 0.90, rung=0), trial(1, 0.95, rung=0), trial(2, 0.80, rung=0)]
    assert next_promotion(rung0[:2], epochs, 3) is None  # 2 // 3: no top third yet
    promotion = next_promotion(rung0, epochs, 3)
    assert promotion is not None
    assert (promotion.parent, promotion.rung, promotion.initial_epoch) == (1, 1, 3)
    assert promotion.params == {"x": 1.0}
    running = trial(3, None, rung=1, continues_trial=1, initial_epoch=3)
    assert next_promotion([*rung0, running], epochs, 3) is None  # already promoted
    rung1 = [trial(3, 0.97, rung=1, continues_trial=1), *[trial(n, 0.9, rung=1) for n in (4, 5)]]
    top = next_promotion([*rung0, *rung1], epochs, 3)
    assert top is not None and (top.parent, top.rung, top.initial_epoch) == (3, 2, 9)


def test_promote_needs_a_rung_above_the_first(compose_cfg: Compose) -> None:
    cfg = compose_cfg("+technique=dropout", "sweep.strategy=promote", "train.epochs=4")
    assert config_errors(cfg) == []
    cfg = compose_cfg(
        "+technique=dropout", "sweep.strategy=promote", "train.epochs=3", "sweep.min_epochs=3"
    )
    assert config_errors(cfg) == [
        "sweep.min_epochs=3 is invalid with sweep.strategy=promote; allowed: 1 to 2 "
        "(below train.epochs=3: a rung to promote to)"
    ]


@pytest.mark.slow
@pytest.mark.usefixtures("mnist_available")
def test_promoted_trials_continue_their_parent_and_say_so_in_mlflow(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    cfg = compose_cfg(
        "+technique=dropout",
        *tiny_overrides(tmp_path),
        "train.epochs=2",
        "sweep.strategy=promote",
        "sweep.min_epochs=1",
        "sweep.hyperband_factor=2",
        "sweep.n_trials=4",
    )
    outcome = sweep(cfg)
    rows = {int(row["trial"]): row for row in outcome.table.to_dict("records")}
    assert [row["state"] for row in rows.values()] == ["COMPLETE"] * 4
    # trials 0 and 1 screen at 1 epoch; the better continues as trial 2; trial 3 is new
    assert [row["rung"] for row in rows.values()] == [0, 0, 1, 0]
    better = 0 if rows[0]["val_accuracy"] >= rows[1]["val_accuracy"] else 1
    assert rows[2]["continues_trial"] == better
    assert [row["epochs"] for row in rows.values()] == [1, 1, 1, 1]  # 1 new epoch each
    assert rows[2]["dropout.rate"] == rows[better]["dropout.rate"]
    checkpoints = tmp_path / "mlruns" / "checkpoints" / "mnist-dropout"
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "trial-0000.weights.h5",
        "trial-0001.weights.h5",
        "trial-0003.weights.h5",
    ]  # the last rung's trial is continued by nothing

    client, _, children = tracked_runs(tmp_path)
    continued = next(r for r in children if r.data.tags["trial_number"] == "2")
    assert continued.data.tags["continues_trial"] == str(better)
    assert continued.data.tags["rung"] == "1"
    assert continued.data.metrics["initial_epoch"] == 1
    assert continued.data.metrics["kept_epoch"] == 2  # the epoch its kept weights reached
    history = client.get_metric_history(continued.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [1]  # epochs numbered on from its parent's

    # repeats retrain the best configuration from scratch, for the composed train.epochs
    plan = plan_repeats(cfg)
    best = outcome.best
    assert best is not None
    assert plan.values == best.params
    # compare counts what the search really trained: 4 trials of 1 epoch each
    runs = pd.DataFrame(
        [
            {
                **{f"tags.{k}": v for k, v in r.data.tags.items()},
                **{f"metrics.{k}": v for k, v in r.data.metrics.items()},
                **{f"params.{k}": v for k, v in r.data.params.items()},
                "run_id": r.info.run_id,
                "status": r.info.status,
                "start_time": pd.Timestamp(r.info.start_time, unit="ms", tz="UTC"),
                "end_time": pd.Timestamp(r.info.end_time, unit="ms", tz="UTC"),
            }
            for r in client.search_runs(
                [client.get_experiment_by_name("mnist-reg").experiment_id]  # type: ignore[union-attr]
            )
        ]
    )
    row = compare_runs(runs, CompareConfig()).table.iloc[0]
    assert (row["trials_complete"], row["epochs_budget"]) == (4, 4)
    assert row["best_trial"] == str(best.number)
