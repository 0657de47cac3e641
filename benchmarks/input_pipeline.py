"""Images per second of the training loop: baseline against augmentation, pipelines and threads.

    python benchmarks/input_pipeline.py --rounds 3 --train-size 15000

Variants, all fed the same shuffled batches of 32 (the article's batch size):

- ``baseline``: no augmentation, the ``tf.data`` pipeline of ``mnist_reg.training.augmentation``;
- ``aug_map``: augmentation as a sequential ``map`` over the batches (what trials did up to
  2026-11-26: parallel calls draw from the layers' random state in no fixed order);
- ``aug_map_parallel``: the same map with ``num_parallel_calls=AUTOTUNE`` (order kept);
- ``aug_in_model``: the augmentation layers run inside the model's training step
  (``mnist_reg.training.augmentation.augmenting``, what trials do now).

Augmentation is the ``+technique=augmentation`` default (rotation 10 degrees, shifts 0.1,
zoom 0.1). Each measurement builds a fresh model and fits two epochs without validation;
the second epoch is timed (the first traces the graph). Variants rotate within each round
and each thread setting runs in its own process (TensorFlow fixes its thread pools at
start); the medians go to ``benchmarks/results/input_pipeline.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "input_pipeline.md"
VARIANTS = ("baseline", "aug_map", "aug_map_parallel", "aug_in_model")
THREADS = {"default": (0, 0), "inter1-intra2": (1, 2), "inter2-intra1": (2, 1)}


def measure(rounds: int, train_size: int, batch_size: int, inter: int, intra: int) -> None:
    """In this process: images/s of each variant's timed epoch, every round; prints JSON."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import keras
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(inter)
    tf.config.threading.set_intra_op_parallelism_threads(intra)

    from mnist_reg.config.schema import Config, DataConfig
    from mnist_reg.config.technique import AugmentationConfig, TechniqueConfig
    from mnist_reg.data.splits import load_splits
    from mnist_reg.training.augmentation import augmenting, build_augmenter, training_dataset
    from mnist_reg.training.model import build_model, compile_model

    splits = load_splits(DataConfig(train_size=train_size))
    aug = AugmentationConfig(rotation_degrees=10.0, width_shift=0.1, height_shift=0.1, zoom=0.1)
    none = AugmentationConfig()

    def dataset(variant: str) -> tf.data.Dataset:
        plain = training_dataset(splits.x_train, splits.y_train, batch_size, 0)
        if variant not in ("aug_map", "aug_map_parallel"):
            return plain
        augmenter = build_augmenter(aug, 0)
        parallel = tf.data.AUTOTUNE if variant == "aug_map_parallel" else None
        return plain.map(
            lambda x, y: (augmenter(x, training=True), y), num_parallel_calls=parallel
        ).prefetch(tf.data.AUTOTUNE)

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            self.seconds = time.perf_counter() - self.start
            self.cpu = time.process_time() - self.cpu_start

    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu_rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_ in range(rounds):
        order = VARIANTS if round_ % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            cnn = build_model(TechniqueConfig(name="baseline"))
            model = augmenting(cnn, aug if variant == "aug_in_model" else none, 0)
            compile_model(model, Config(technique=TechniqueConfig(name="baseline")), 1)
            timer = EpochTimer()
            model.fit(dataset(variant), epochs=2, shuffle=False, callbacks=[timer], verbose=0)
            rates[variant].append(len(splits.y_train) / timer.seconds)
            cpu_rates[variant].append(len(splits.y_train) / timer.cpu)
    print(json.dumps({"wall": rates, "cpu": cpu_rates}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=15_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", nargs="*", default=list(THREADS), choices=list(THREADS))
    parser.add_argument("--_child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        measure(args.rounds, args.train_size, args.batch_size, *args._child)
        return
    import tensorflow as tf

    from mnist_reg.analysis.tables import markdown_table

    results: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    for name in args.threads:
        inter, intra = THREADS[name]
        done = subprocess.run(
            [sys.executable, __file__, "--rounds", str(args.rounds), "--train-size",
             str(args.train_size), "--batch-size", str(args.batch_size),
             "--_child", str(inter), str(intra)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        results[name], cpu[name] = measured["wall"], measured["cpu"]
        print(name, {v: round(statistics.median(r)) for v, r in results[name].items()})
    lines = [
        "# Input pipeline: images per second, baseline and augmentation (measured)",
        "",
        f"`python benchmarks/input_pipeline.py --rounds {args.rounds} --train-size "
        f"{args.train_size} --batch-size {args.batch_size}` on {platform.node()} "
        f"({os.cpu_count()} CPUs), TensorFlow {tf.__version__}: images/s of the second "
        "epoch of a fresh model (no validation), variants rotating within each round, each "
        "thread setting in its own process. Thread settings: inter-op / intra-op pool sizes "
        "(0: TensorFlow's choice). Images per CPU-second (all the process's threads) is "
        "steadier than wall time on a shared host.",
        "",
    ]
    table = []
    for name, rates in results.items():
        base = statistics.median(rates["baseline"])
        cpu_base = statistics.median(cpu[name]["baseline"])
        for variant, runs in rates.items():
            median = statistics.median(runs)
            cpu_median = statistics.median(cpu[name][variant])
            table.append(
                [
                    name,
                    variant,
                    f"{median:.0f}",
                    ", ".join(f"{r:.0f}" for r in runs),
                    f"{base / median:.2f}",
                    f"{cpu_median:.0f}",
                    f"{cpu_base / cpu_median:.2f}",
                ]
            )
    header = ["threads", "variant", "median images/s", "runs", "baseline / variant"]
    lines += markdown_table([*header, "images per CPU-s", "baseline / variant, CPU"], table)
    lines.append("")
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
