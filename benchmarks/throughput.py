"""Figure 7: how much of the machine a sweep uses. A tracked trial's images per second
against the matrix-multiply rate TensorFlow reaches on the same cores, for the old default
(one process, float32) and the new one (``sweep.workers=auto``, ``train.precision=auto``),
and each step between them.

    python benchmarks/throughput.py            # resumable: runs what is missing
    python benchmarks/throughput.py --report

Decided before any run (2026-12-06), not changed after:

- Ceiling: ``tf.linalg.matmul`` of two 2048x2048 matrices in a fresh process with
  TensorFlow's default threads, float32 and bfloat16: 3 warm-up products, then the median
  of 10 timed ones, as GFLOP/s (2 n^3 operations a product).
- Work of a training image: the CNN's multiply-adds counted from its layers' shapes, times 2
  for FLOP, times 3 for training (the forward pass and the backward pass's two products).
- Arms: ``python -m mnist_reg.sweep +technique=baseline train.epochs=2 sweep.pruner=none``
  on 55,000 training images at ``train.batch_size`` 32 (the default) and 128 (the budget
  study's), with ``sweep.workers`` 1 or 2 (``sweep.n_trials`` as many as workers, so every
  worker trains one trial at once) and ``train.precision`` float32 or bfloat16; the
  bfloat16 arms only where the CPU computes it natively (elsewhere ``auto`` never picks
  it, and emulated it is many times slower).
- Estimator: a trial's images/s over its second epoch (the first pays tracing), summed over
  the workers; per arm the median of ``--rounds`` (default 3) rounds, the arms' order
  rotated each round. Fraction of the ceiling: images/s x FLOP an image / the ceiling of the
  precision it computes in. Ratios to the old default per round, their median.
- No success criterion: this figure says where the time goes; figure 8
  (``sweep_speed.py``) carries the target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd
from sweep_runs import (
    REPO,
    append_row,
    cpu,
    cpu_counts,
    epoch_seconds,
    epoch_stamps,
    has_row,
    rotated,
    timed_command,
)

from mnist_reg.training import precision

RESULTS = REPO / "benchmarks" / "results"
TRAIN_IMAGES = 55_000
SWEEP = [
    "-m",
    "mnist_reg.sweep",
    "+technique=baseline",
    "train.epochs=2",
    "sweep.pruner=none",
    "train.progress_bar=off",
]
CEILING = """
import json, statistics, sys, time
import tensorflow as tf
n = 2048
result = {}
for dtype in (tf.float32, tf.bfloat16):
    a = tf.random.normal((n, n), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
    for _ in range(3):
        tf.linalg.matmul(a, b).numpy()
    times = []
    for _ in range(10):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        times.append(time.perf_counter() - start)
    result[dtype.name] = 2 * n**3 / statistics.median(times) / 1e9
print(json.dumps(result))
"""


def arms(native_bf16: bool) -> tuple[str, ...]:
    """``<precision>-w<workers>-b<batch>`` for each arm this CPU runs."""
    precisions = ("float32", "mixed_bfloat16") if native_bf16 else ("float32",)
    return tuple(f"{p}-w{w}-b{b}" for b in (32, 128) for p in precisions for w in (1, 2))


def training_flop() -> float:
    """FLOP to train on one image: 3 x 2 x the model's multiply-adds."""
    import keras

    from mnist_reg.config.technique import TechniqueConfig
    from mnist_reg.training.model import build_model

    model = build_model(TechniqueConfig(name="baseline"))
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels = layer.output.shape
            kernel_h, kernel_w = layer.kernel_size
            macs += height * width * channels * kernel_h * kernel_w * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            macs += layer.input.shape[-1] * layer.units
    return 3 * 2 * macs


def ceiling() -> dict[str, float]:
    """GFLOP/s of a 2048x2048 product, float32 and bfloat16, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", CEILING], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def images_per_second(arm: str) -> float:
    """One run of ``arm``: the images/s of its trials' second epochs, summed over workers."""
    dtype, workers, batch = arm.split("-")
    line = [
        sys.executable,
        *SWEEP,
        f"train.precision={dtype}",
        f"sweep.workers={workers[1:]}",
        f"sweep.n_trials={workers[1:]}",
        f"train.batch_size={batch[1:]}",
    ]
    timed = timed_command(line)
    total = 0.0
    for stamps in epoch_stamps(timed.output).values():
        second_epoch = epoch_seconds(stamps)[1]  # start -> epoch 1 -> epoch 2
        total += TRAIN_IMAGES / second_epoch
    return total


def measure(rounds: int, csv: Path) -> None:
    native = bool(precision.cpu_flags() & precision.BF16_CPU_FLAGS)
    for index in range(rounds):
        if not has_row(csv, round=index, arm="ceiling"):
            append_row(
                csv,
                {"round": index, "arm": "ceiling", **ceiling(), "images_s": None, "cpu": cpu()},
            )
        for arm in rotated(arms(native), index):
            if not has_row(csv, round=index, arm=arm):
                rate = images_per_second(arm)
                append_row(
                    csv,
                    {
                        "round": index,
                        "arm": arm,
                        "float32": None,
                        "bfloat16": None,
                        "images_s": rate,
                        "cpu": cpu(),
                    },
                )


def report(csv: Path, out: Path) -> list[str]:
    table = pd.read_csv(csv)
    flop = training_flop()
    ceilings = table[table["arm"] == "ceiling"]
    ceiling_of = {
        "float32": float(ceilings["float32"].median()),
        "mixed_bfloat16": float(ceilings["bfloat16"].median()),
    }
    trials = table[table["arm"] != "ceiling"]
    base = trials[trials["arm"].str.startswith("float32-w1-")].set_index(["round"])
    lines = [
        "# Figure 7: a sweep's images/s against the machine's matrix-multiply rate",
        "",
        "`python benchmarks/throughput.py`; plan in its docstring, fixed before the first run. "
        "CPUs: " + cpu_counts(table, "rows"),
        "",
        f"Ceiling (2048x2048 matmul, TensorFlow's default threads, median of "
        f"{len(ceilings)} rounds): float32 {ceiling_of['float32']:.0f} GFLOP/s, bfloat16 "
        f"{ceiling_of['mixed_bfloat16']:.0f} GFLOP/s. Training one image: "
        f"{flop / 1e6:.1f} MFLOP.",
        "",
        "| arm (precision, workers, batch) | images/s, median | each round | fraction of "
        "the ceiling | against one float32 process at the same batch |",
        "|---|---|---|---|---|",
    ]
    for arm, rows in trials.groupby("arm", sort=False):
        dtype, _, batch = str(arm).split("-")
        rates = rows.set_index("round")["images_s"]
        reference = base[base["arm"] == f"float32-w1-{batch}"]["images_s"]
        ratios = (rates / reference).dropna()
        fraction = statistics.median(rates) * flop / (ceiling_of[dtype] * 1e9)
        lines.append(
            f"| {arm} | {statistics.median(rates):,.0f} | "
            f"{', '.join(f'{r:,.0f}' for r in rates)} | {100 * fraction:.0f}% | "
            f"{statistics.median(ratios):.2f} |"
        )
    native = not table["cpu"].str.endswith("flags: none").all()
    new_default = f"{'mixed_bfloat16' if native else 'float32'}-w2-b32"
    lines += [
        "",
        "The old default is float32-w1-b32; the new one (`sweep.workers=auto`, "
        f"`train.precision=auto`) is {new_default} on this 2-core CPU."
        + (
            ""
            if native
            else " This CPU has no native bfloat16, so `auto` keeps float32 and no bfloat16 "
            "arm ran; its bfloat16 ceiling is TensorFlow's emulation."
        ),
        "",
        "Every round: [throughput.csv](throughput.csv).",
    ]
    out.write_text("\n".join(lines) + "\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="report what is there, run none")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    csv = args.results / "throughput.csv"
    if not args.report:
        measure(args.rounds, csv)
    print("\n".join(report(csv, args.results / "throughput.md")))


if __name__ == "__main__":
    main()
