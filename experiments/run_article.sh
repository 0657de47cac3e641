#!/usr/bin/env bash
# The article's five models, 5 seeds each, full data; then its report. From the repo root:
#   bash experiments/run_article.sh
# Every setting the report depends on is pinned to its value when the report was made
# (2026-11-26), here or in article/*.yaml (epochs, batch size, learning rate), so that a
# changed project default does not change what this reruns.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m mnist_reg.repeat -m -cd experiments \
    +article=baseline,l2,dropout,augmentation,early_stopping repeat.count=5 \
    repeat.first_seed=1000 repeat.vary_split=false data.name=mnist data.val_size=5000 \
    data.train_size=null data.test_size=null data.split_seed=0 train.deterministic=false
python -m mnist_reg.compare compare.experiments=[article] compare.baseline=article-baseline \
    compare.same_epochs=false compare.output_dir=experiments/article
