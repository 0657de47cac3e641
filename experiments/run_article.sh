#!/usr/bin/env bash
# The article's five models, 5 seeds each, full data; then its report. From the repo root:
#   bash experiments/run_article.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python -m mnist_reg.repeat -m -cd experiments \
    +article=baseline,l2,dropout,augmentation,early_stopping repeat.count=5
python -m mnist_reg.compare compare.experiments=[article] compare.output_dir=experiments/article
