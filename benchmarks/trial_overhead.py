"""One tracked baseline trial against the article's plain ``model.fit``, side by side.

    python benchmarks/trial_overhead.py --repeats 6 --epochs 3

All three train the article's CNN on the same 55,000 training images for the same epochs
with batch 32. The reference is the tutorial's code (fit, then evaluate on the test set);
ours is ``run_sweep`` for ``+technique=baseline sweep.n_trials=1`` into a temporary
``mlruns/``, timed as the Optuna trial's duration (the trial trains, validates each epoch,
evaluates on the test set and logs curves, plots and the model) and as the whole sweep
call. The third is the tutorial's code validating on our 5,000-image split each epoch, as
every tracked trial must (early stopping, pruning and the score read it): tracked trial
against it is the cost of tracking alone. Runs rotate (plain, validated, tracked, then the
reverse) so that machine noise hits all three, after one unmeasured epoch of each (the
process's one-time costs); medians and ratios are written to
``benchmarks/results/trial_overhead.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf
from hydra import compose, initialize_config_dir

from mnist_reg.config.schema import as_config, config_dir
from mnist_reg.config.validation import validate
from mnist_reg.data.splits import Splits, load_splits
from mnist_reg.search.dispatch import run as run_sweep

RESULTS = Path(__file__).parent / "results" / "trial_overhead.md"


def article_fit(
    splits: Splits, epochs: int, each_epoch_validation: bool = False
) -> tuple[float, float, float, float]:
    """The tutorial's code, verbatim but for the data (and, with ``each_epoch_validation``, the
    validation split each epoch at the batch size a trial validates with): seconds, fit
    seconds, test accuracy, and the CPU seconds of the whole (all threads)."""
    from keras import layers

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    start, cpu_start = time.perf_counter(), time.process_time()
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_start = time.perf_counter()
    validation = (
        {"validation_data": (splits.x_val, splits.y_val), "validation_batch_size": 1024}
        if each_epoch_validation
        else {}
    )
    model.fit(
        splits.x_train, splits.y_train, epochs=epochs, batch_size=32, verbose=0, **validation
    )
    fit_seconds = time.perf_counter() - fit_start
    _, accuracy = model.evaluate(splits.x_test, splits.y_test, verbose=0)
    cpu = time.process_time() - cpu_start
    return time.perf_counter() - start, fit_seconds, float(accuracy), cpu


def tracked_trial(
    overrides: list[str], workdir: Path, index: int | str
) -> tuple[float, float, float, float, float]:
    """Seconds of the Optuna trial, of its fit, of the whole sweep call; the test accuracy;
    the CPU seconds of the whole sweep call."""
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                "+technique=baseline",
                "sweep.n_trials=1",
                f"sweep.study_name=bench-{index}",
                f"sweep.storage=sqlite:///{workdir}/optuna.db",
                f"mlflow.tracking_uri=sqlite:///{workdir}/mlflow.db",
                f"mlflow.artifact_location={workdir.as_uri()}/artifacts",
                "train.progress_bar=off",
                *overrides,
            ],
        )
    validate(as_config(cfg))
    start, cpu_start = time.perf_counter(), time.process_time()
    outcome = run_sweep(as_config(cfg))
    cpu = time.process_time() - cpu_start
    total = time.perf_counter() - start
    import optuna

    trial = optuna.load_study(
        study_name=f"bench-{index}", storage=f"sqlite:///{workdir}/optuna.db"
    ).trials[0]
    assert trial.datetime_complete is not None and trial.datetime_start is not None
    trial_seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    assert outcome.best is not None
    fit_seconds = float(trial.user_attrs["train_seconds"])
    return trial_seconds, fit_seconds, total, outcome.best.test_accuracy, cpu


def ratios(references: list[float], ours: list[float]) -> list[float]:
    return [b / a for a, b in zip(references, ours, strict=True)]


def minus(totals: list[float], parts: list[float]) -> list[float]:
    return [a - b for a, b in zip(totals, parts, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    overrides = [f"train.epochs={args.epochs}"]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        data_cfg = compose("config", overrides=["+technique=baseline"]).data
    splits = load_splits(data_cfg)
    reference, trial, whole, ref_acc, our_acc = [], [], [], [], []
    ref_fit, our_fit, ref_cpu, our_cpu = [], [], [], []
    validated, validated_fit = [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        # Unmeasured, one epoch of each first: the process's one-time costs (TensorFlow's
        # kernels, MLflow's import and database) would otherwise land on the first runs.
        article_fit(splits, 1, each_epoch_validation=True)
        tracked_trial(["train.epochs=1"], Path(tmp), "warm-up")
        for index in range(args.repeats):
            # plain, validated, tracked; then the reverse: a drift of the machine (or being
            # last after minutes of full load) does not always hit the same one
            order = ("plain", "validated", "tracked")
            for arm in order if index % 2 == 0 else order[::-1]:
                if arm == "plain":
                    seconds, fit_s, accuracy, cpu = article_fit(splits, args.epochs)
                elif arm == "validated":
                    validated_s, validated_fit_s, _, _ = article_fit(
                        splits, args.epochs, each_epoch_validation=True
                    )
                else:
                    trial_s, our_fit_s, whole_s, our_accuracy, our_cpu_s = tracked_trial(
                        overrides, Path(tmp), index
                    )
            ref_cpu.append(cpu)
            reference.append(seconds)
            ref_fit.append(fit_s)
            ref_acc.append(accuracy)
            validated.append(validated_s)
            validated_fit.append(validated_fit_s)
            our_cpu.append(our_cpu_s)
            trial.append(trial_s)
            our_fit.append(our_fit_s)
            whole.append(whole_s)
            our_acc.append(our_accuracy)
            print(
                f"run {index}: plain fit {seconds:.1f}s, validated {validated_s:.1f}s, "
                f"tracked trial {trial_s:.1f}s (sweep call {whole_s:.1f}s); fit {fit_s:.1f}s, "
                f"{validated_fit_s:.1f}s, {our_fit_s:.1f}s",
                flush=True,
            )
    ref_median = statistics.median(reference)
    lines = [
        "# Tracked trial against the article's plain model.fit",
        "",
        f"Command: `python benchmarks/trial_overhead.py --repeats {args.repeats} "
        f"--epochs {args.epochs}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python "
        f"{platform.python_version()}. {len(splits.y_train)} training images, "
        f"{args.epochs} epochs, batch 32, the three runs of a repeat in rotating order (plain, "
        "validated, tracked, then the reverse), after one unmeasured 1-epoch run of each.",
        "",
        "| what | median s | runs (s) | ratio to plain fit | test accuracy (median) |",
        "|---|---|---|---|---|",
        f"| article's plain fit + evaluate | {ref_median:.1f} | "
        f"{', '.join(f'{s:.1f}' for s in reference)} | 1.00 | {statistics.median(ref_acc):.4f} |",
        f"| article's fit validating each epoch + evaluate | "
        f"{statistics.median(validated):.1f} | {', '.join(f'{s:.1f}' for s in validated)} | "
        f"{statistics.median(validated) / ref_median:.3f} | |",
        f"| tracked trial (Optuna trial duration) | {statistics.median(trial):.1f} | "
        f"{', '.join(f'{s:.1f}' for s in trial)} | {statistics.median(trial) / ref_median:.3f} | "
        f"{statistics.median(our_acc):.4f} |",
        f"| whole sweep call (study, data split, MLflow setup, summary) | "
        f"{statistics.median(whole):.1f} | {', '.join(f'{s:.1f}' for s in whole)} | "
        f"{statistics.median(whole) / ref_median:.3f} | |",
        "",
        "Per repeat (the runs of a repeat share the machine's state, so their ratio is the",
        "steadier figure), median and each repeat's:",
        "",
        "| ratio | median | per repeat |",
        "|---|---|---|",
        *(
            f"| {name} | {statistics.median(values):.3f} | "
            f"{', '.join(f'{v:.3f}' for v in values)} |"
            for name, values in (
                ("tracked trial / plain fit + evaluate", ratios(reference, trial)),
                ("tracked trial / fit validating each epoch + evaluate", ratios(validated, trial)),
                ("fit validating each epoch / plain fit", ratios(ref_fit, validated_fit)),
                ("whole sweep call / plain fit + evaluate", ratios(reference, whole)),
                ("our fit / plain fit", ratios(ref_fit, our_fit)),
                ("CPU s, whole sweep call / plain", ratios(ref_cpu, our_cpu)),
            )
        ),
        "",
        "The same runs split into the fit itself and everything around it (per run, then the",
        "median): the fit is where the machine's noise lands; the rest is the fixed cost of",
        "tracking (test evaluation, clean training accuracy, plots, model logging, MLflow).",
        "CPU seconds (all threads of the process) are steadier than wall time here: the",
        "shared host sometimes gives the process two cores and sometimes about one.",
        "",
        "| what | median s | per run (s) |",
        "|---|---|---|",
        *(
            f"| {name} | {statistics.median(values):.1f} | "
            f"{', '.join(f'{v:.1f}' for v in values)} |"
            for name, values in (
                ("plain fit", ref_fit),
                ("the article's fit validating each epoch", validated_fit),
                ("our fit (validation each epoch)", our_fit),
                ("plain: around the fit", minus(reference, ref_fit)),
                ("tracked trial: around the fit", minus(trial, our_fit)),
                ("CPU s, plain fit + evaluate", ref_cpu),
                ("CPU s, whole sweep call", our_cpu),
            )
        ),
        "",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
