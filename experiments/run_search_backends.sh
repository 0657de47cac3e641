#!/usr/bin/env bash
# Five search methods at the same budget of training epochs, 3 search seeds each, on
# +technique=combined with a 10,000-image training subset. From the repo root:
#   bash experiments/run_search_backends.sh
# Every trial is at most 9 epochs (Hyperband's rungs are then 1, 3 and 9 epochs); a search
# starts no trial after its trials have trained 36 epochs in all (pruned, stopped early and
# continued trials count what they really trained). Then the report: best validation accuracy
# against epochs spent, counting only trials that ended within the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
common=(+technique=combined data.train_size=10000 train.epochs=9 sweep.n_trials=1000
        sweep.epoch_budget=36 sweep.n_startup_trials=3 sweep.seed=0,1,2
        mlflow.experiment=search-backends mlflow.log_model=false)
run() { python -m mnist_reg.sweep -m "${common[@]}" "sweep.study_name=backends-$1-s\${sweep.seed}" "${@:2}"; }
run optuna-tpe-median sweep.sampler=tpe sweep.pruner=median
run optuna-tpe-hyperband sweep.sampler=tpe sweep.pruner=hyperband
run optuna-random sweep.sampler=random sweep.pruner=none
run kt-hyperband sweep.backend=keras_tuner sweep.kt_algorithm=hyperband
run kt-bayesian sweep.backend=keras_tuner sweep.kt_algorithm=bayesian
python experiments/search_backends.py --budget 36 --output experiments/search-backends
