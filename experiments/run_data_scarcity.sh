#!/usr/bin/env bash
# The article's five models at 1,000 and 5,000 training images, 5 seeds each; the full
# training split comes from experiments/run_article.sh. Then the report. From the repo root:
#   bash experiments/run_data_scarcity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python -m mnist_reg.repeat -m -cd experiments \
    +article=baseline,l2,dropout,augmentation,early_stopping data.train_size=1000,5000 \
    'sweep.study_name=scarcity-${technique.name}-${data.train_size}' \
    mlflow.experiment=data-scarcity repeat.count=5
python -m mnist_reg.compare compare.experiments=[data-scarcity,article] \
    compare.output_dir=experiments/data-scarcity
