#!/usr/bin/env bash
# Each technique's tuned best against the article's baseline. From the repo root:
#   bash experiments/run_tuned.sh
# 1. A 12-trial Optuna sweep per technique (TPE, median pruning) on a 10,000-image subset
#    of the training split, selected by validation accuracy.
# 2. The best trial of each retrained on the full training split with 5 fresh seeds
#    (1000-1004; the searches trained with seeds 0-11).
# 3. The report, against the article study's baseline (same seeds, same full split, 5 epochs):
#    run experiments/run_article.sh first, or the baseline row is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
techniques=l2,dropout,augmentation,early_stopping,combined
python -m mnist_reg.sweep -m "+technique=$techniques" data.train_size=10000 \
    sweep.n_trials=12 'sweep.study_name=tuned-${technique.name}' mlflow.experiment=tuned
python -m mnist_reg.repeat -m "+technique=$techniques" \
    'sweep.study_name=tuned-${technique.name}' mlflow.experiment=tuned repeat.count=5
python -m mnist_reg.compare compare.experiments=[tuned,article] \
    'compare.studies=[tuned-*,article-baseline]' compare.baseline=article-baseline \
    compare.output_dir=experiments/tuned
