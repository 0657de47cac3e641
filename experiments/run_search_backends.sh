#!/usr/bin/env bash
# Five search methods at the same budget of training epochs, 3 search seeds each, on the
# combined technique with a 10,000-image training subset. From the repo root:
#   bash experiments/run_search_backends.sh
# Every trial is at most 9 epochs (Hyperband's rungs are then 1, 3 and 9 epochs); a search
# starts no trial after its trials have trained 36 epochs in all (pruned, stopped early and
# continued trials count what they really trained). Then the report: best validation accuracy
# against epochs spent, counting only trials that ended within the budget.
# Every setting the report depends on is pinned to its value when the report was made
# (2026-11-26), so that a changed project default does not change what this reruns: the
# search space in spaces/combined.yaml, the rest here.
set -euo pipefail
cd "$(dirname "$0")/.."
common=(-cd experiments +spaces=combined data.train_size=10000 train.epochs=9
        sweep.n_trials=1000 sweep.epoch_budget=36 sweep.n_startup_trials=3 sweep.seed=0,1,2
        mlflow.experiment=search-backends mlflow.log_model=false
        data.name=mnist data.val_size=5000 data.test_size=null data.split_seed=0
        train.batch_size=32 train.learning_rate=0.001 train.seed=0 train.deterministic=false
        sweep.hyperband_factor=3)
optuna=(sweep.backend=optuna sweep.strategy=prune sweep.n_warmup_epochs=1)
run() { python -m mnist_reg.sweep -m "${common[@]}" "sweep.study_name=backends-$1-s\${sweep.seed}" "${@:2}"; }
run optuna-tpe-median "${optuna[@]}" sweep.sampler=tpe sweep.pruner=median
run optuna-tpe-hyperband "${optuna[@]}" sweep.sampler=tpe sweep.pruner=hyperband
run optuna-random "${optuna[@]}" sweep.sampler=random sweep.pruner=none
run kt-hyperband sweep.backend=keras_tuner sweep.kt_algorithm=hyperband
run kt-bayesian sweep.backend=keras_tuner sweep.kt_algorithm=bayesian
python experiments/search_backends.py --budget 36 --experiment search-backends \
    --output experiments/search-backends
