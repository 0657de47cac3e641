"""The study's trials table."""

from __future__ import annotations

import optuna

from mnist_reg.search.optuna.study import trials_table


def test_the_trials_table_shows_where_a_pruned_trial_stopped() -> None:
    study = optuna.create_study(direction="maximize")
    complete = study.ask()
    for epoch, value in enumerate((0.97, 0.985, 0.98), start=1):
        complete.report(value, step=epoch)
    study.tell(complete, 0.985)  # the kept (best) epoch's weights, not the last epoch's
    pruned = study.ask()
    pruned.report(0.91, step=1)
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    table = trials_table(study).set_index("trial")
    assert table.loc[0, "val_accuracy"] == 0.985
    assert table.loc[0, "last_val_accuracy"] == 0.98
    assert table.loc[1, "state"] == "PRUNED"
    assert table["val_accuracy"].isna().tolist() == [False, True]  # pruned: no objective value
    assert table.loc[1, "last_val_accuracy"] == 0.91  # but it did train an epoch
