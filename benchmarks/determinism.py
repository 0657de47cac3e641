"""What ``train.deterministic=true`` (TensorFlow op determinism) costs, side by side.

    python benchmarks/determinism.py --pairs 3 --train-size 10000 --epochs 2

Each pair trains the baseline CNN with and without op determinism in fresh processes (op
determinism cannot be switched off inside one), in ABBA order so that machine noise hits
both; the medians of fit seconds and their ratio go to
``benchmarks/results/determinism.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "determinism.md"


def one_run(deterministic: bool, train_size: int, epochs: int) -> float:
    """Fit seconds of one training run in a fresh process."""
    code = f"""
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from hydra import compose, initialize_config_dir
from mnist_reg.config.schema import config_dir
from mnist_reg.data.splits import load_splits
from mnist_reg.training.fit import train
with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
    cfg = compose("config", overrides=["+technique=combined",
        "data.train_size={train_size}", "train.epochs={epochs}", "train.progress_bar=off",
        "technique.early_stopping.enabled=false",
        "train.deterministic={str(deterministic).lower()}"])
result = train(cfg, load_splits(cfg.data))
print(json.dumps(result.train_seconds))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    times: dict[bool, list[float]] = {False: [], True: []}
    for pair in range(args.pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        for deterministic in order:
            times[deterministic].append(one_run(deterministic, args.train_size, args.epochs))
    default, strict = (statistics.median(times[k]) for k in (False, True))
    ratios = [d / f for f, d in zip(times[False], times[True], strict=True)]
    lines = [
        "# Op determinism: what it costs (measured)",
        "",
        f"`python benchmarks/determinism.py --pairs {args.pairs} --train-size "
        f"{args.train_size} --epochs {args.epochs}` on {platform.node()} "
        f"({os.cpu_count()} CPUs): `+technique=combined` (dropout, L2 and augmentation; "
        "early stopping off), fit seconds, each run a fresh process, pairs in ABBA order.",
        "",
        "| train.deterministic | median fit seconds | runs |",
        "|---|---|---|",
        f"| false (default) | {default:.1f} | {', '.join(f'{t:.1f}' for t in times[False])} |",
        f"| true | {strict:.1f} | {', '.join(f'{t:.1f}' for t in times[True])} |",
        "",
        f"Ratio of medians: **{strict / default:.2f}**; per pair: "
        + ", ".join(f"{r:.2f}" for r in ratios),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
