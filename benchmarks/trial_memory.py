"""Resident memory at the start of each trial of one long sweep, per search backend.

    python benchmarks/trial_memory.py --trials 20

Runs a ``+technique=dropout`` sweep of ``--trials`` short trials (2,000 training images,
1 epoch) in this process for the Optuna backend and for Keras Tuner (random search), into
a temporary ``mlruns/``, and records the process's resident set size (``VmRSS``) as each
trial starts. Growth from trial 2 to the last is what a long sweep would leak per trial
(the first trial pays for TensorFlow's one-time set-up). Written to
``benchmarks/results/trial_memory.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hydra import compose, initialize_config_dir

from mnist_reg.config.schema import as_config, config_dir
from mnist_reg.config.validation import validate
from mnist_reg.search.dispatch import run as run_sweep
from mnist_reg.training import progress

RESULTS = Path(__file__).parent / "results" / "trial_memory.md"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def sweep_memory(backend: str, trials: int, root: Path) -> list[float]:
    samples: list[float] = []
    original = progress.SweepProgress.trial_started

    def recording(self: progress.SweepProgress, number: int) -> None:
        samples.append(rss_mb())
        original(self, number)

    progress.SweepProgress.trial_started = recording  # type: ignore[method-assign]
    overrides = [
        "+technique=dropout",
        f"sweep.backend={backend}",
        "sweep.kt_algorithm=random",
        f"sweep.n_trials={trials}",
        "sweep.pruner=none",
        f"sweep.storage=sqlite:///{root}/optuna.db",
        f"sweep.kt_directory={root}/keras_tuner",
        f"mlflow.tracking_uri=sqlite:///{root}/mlflow.db",
        f"mlflow.artifact_location={root.as_uri()}/artifacts",
        "data.train_size=2000",
        "train.epochs=1",
        "train.progress_bar=off",
    ]
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = as_config(compose("config", overrides=overrides))
        validate(cfg)
        run_sweep(cfg)
    finally:
        progress.SweepProgress.trial_started = original  # type: ignore[method-assign]
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--backend", help="measure this backend here and print JSON")
    args = parser.parse_args()
    if args.backend:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(sweep_memory(args.backend, args.trials, Path(folder))))
        return
    results = {}
    for backend in ("optuna", "keras_tuner"):  # each in a fresh process
        command = [sys.executable, __file__, "--trials", str(args.trials), "--backend", backend]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    lines = [
        "# Resident memory per trial (measured)",
        "",
        f"`python benchmarks/trial_memory.py --trials {args.trials}` on {platform.node()} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}): MB at the start of "
        "each trial of one sweep, each backend in a fresh process.",
        "",
        "| backend | trial 1 | trial 2 | last trial | growth, trial 2 to last | per trial |",
        "|---|---|---|---|---|---|",
    ]
    for backend, samples in results.items():
        growth = samples[-1] - samples[1]
        lines.append(
            f"| {backend} | {samples[0]:.0f} | {samples[1]:.0f} | {samples[-1]:.0f} | "
            f"{growth:+.0f} MB | {growth / max(len(samples) - 2, 1):+.1f} MB |"
        )
    lines.append("")
    for backend, samples in results.items():
        lines.append(f"- {backend}: " + ", ".join(f"{s:.0f}" for s in samples))
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
