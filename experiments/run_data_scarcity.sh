#!/usr/bin/env bash
# The article's five models at 1,000 and 5,000 training images, 5 seeds each; the full
# training split comes from experiments/run_article.sh. Then the report. From the repo root:
#   bash experiments/run_data_scarcity.sh
# Every setting the report depends on is pinned to its value when the report was made
# (2026-11-26), here or in article/*.yaml (epochs, batch size, learning rate), so that a
# changed project default does not change what this reruns; the subsets are drawn with
# data.split_seed, so they are the same images as then.
set -euo pipefail
cd "$(dirname "$0")/.."
# The report tests the 55,000-image runs too: say so now, not after 20 minutes of training.
python - <<'CHECK'
import sys
from mlflow import MlflowClient
if MlflowClient("sqlite:///mlruns/mlflow.db").get_experiment_by_name("article") is None:
    sys.exit("no article study in mlruns/mlflow.db: run bash experiments/run_article.sh first")
CHECK
python -m mnist_reg.repeat -m -cd experiments \
    +article=baseline,l2,dropout,augmentation,early_stopping data.train_size=1000,5000 \
    'sweep.study_name=scarcity-${technique.name}-${data.train_size}' \
    mlflow.experiment=data-scarcity repeat.count=5 repeat.first_seed=1000 \
    repeat.vary_split=false data.name=mnist data.val_size=5000 data.test_size=null \
    data.split_seed=0 train.deterministic=false
python -m mnist_reg.compare compare.experiments=[data-scarcity,article] \
    compare.baseline=null compare.same_epochs=false compare.output_dir=experiments/data-scarcity
