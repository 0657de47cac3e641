"""Start-up: how long ``--help`` and a configuration error take, against importing TensorFlow.

    python benchmarks/startup.py --rounds 7

Each round runs every command once in a fresh process, in rotating order, so the machine's
noise hits all of them; the medians go to ``benchmarks/results/startup.md``. The target is
under 2 s for ``--help`` and for a refused configuration: neither path imports TensorFlow
(``tests/test_cli.py::test_validation_imports_no_tensorflow`` guards that).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "startup.md"
TARGET_SECONDS = 2.0

COMMANDS: dict[str, list[str]] = {
    "python -c pass (reference)": ["-c", "pass"],
    "python -c 'import tensorflow' (reference)": ["-c", "import tensorflow"],
    "mnist_reg.sweep --help": ["-m", "mnist_reg.sweep", "--help"],
    "mnist_reg.sweep +technique=dropout train.epochs=0 (refused)": [
        "-m",
        "mnist_reg.sweep",
        "+technique=dropout",
        "train.epochs=0",
    ],
    "mnist_reg.sweep +technique=nope (refused)": ["-m", "mnist_reg.sweep", "+technique=nope"],
    "mnist_reg.compare compare.since=yesterday (refused)": [
        "-m",
        "mnist_reg.compare",
        "compare.since=yesterday",
    ],
    "mnist_reg.repeat +technique=l2 repeat.count=0 (refused)": [
        "-m",
        "mnist_reg.repeat",
        "+technique=l2",
        "repeat.count=0",
    ],
}


def seconds(args: list[str], cwd: str) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    names = list(COMMANDS)
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="mnist-reg-startup-") as cwd:
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                times[name].append(seconds(COMMANDS[name], cwd))
    lines = [
        "# Start-up",
        "",
        f"`python benchmarks/startup.py --rounds {args.rounds}` on {platform.node()} "
        f"({os.cpu_count()} CPUs), Python {platform.python_version()}: wall seconds of a fresh "
        "process, the median of the rounds; every round runs each command once, in rotating "
        f"order. Target: under {TARGET_SECONDS:.0f} s for `--help` and a refused configuration.",
        "",
        "| command | median s | min s | max s | target met |",
        "|---|---:|---:|---:|---|",
    ]
    for name in names:
        median = statistics.median(times[name])
        met = "" if "reference" in name else ("yes" if median < TARGET_SECONDS else "**no**")
        lines.append(
            f"| `{name}` | {median:.2f} | {min(times[name]):.2f} | {max(times[name]):.2f} | "
            f"{met} |"
        )
        print(f"{name}: median {median:.2f} s", flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
