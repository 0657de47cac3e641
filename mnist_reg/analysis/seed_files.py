"""A comparison's per-seed table, ``seeds.csv``: one row per seed repeat (study, seed, split
seed, test and validation accuracy, epochs, its run), written next to every report and read
back to re-make one; and the repeats' per-image test results beside it
(``test_correct.csv``), for the interval over test images."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mnist_reg.analysis import stats
from mnist_reg.tracking import tags as T

SEEDS_CSV = "seeds.csv"
CORRECT_CSV = "test_correct.csv"  # run_id, images, bits: packed, in hex (text, not data)


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


SEED_COLUMNS = [
    "study",
    "technique",
    "dataset",
    "train_images",
    "train_epochs",
    "settings",
    "seed",
    "split_seed",
    "test_accuracy",
    "val_accuracy",
    "gap",
    "epochs",
    "seconds",
    "run_id",
]


def _number(frame: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(column(frame, name), errors="coerce")


def seed_rows(row: dict[str, Any], repeats: pd.DataFrame) -> pd.DataFrame:
    """One row per finished repeat, in the columns of ``seeds.csv``."""
    frame = pd.DataFrame(
        {
            "seed": _number(repeats, f"tags.{T.REPEAT_SEED}").astype("Int64"),
            "split_seed": _number(repeats, "params.data.split_seed").astype("Int64"),
            "test_accuracy": _number(repeats, "metrics.test_accuracy"),
            "val_accuracy": _number(repeats, "metrics.kept_val_accuracy"),
            "gap": _number(repeats, "metrics.generalization_gap"),
            "epochs": _number(repeats, "metrics.epochs_trained"),
            "seconds": _number(repeats, "metrics.train_seconds"),
            "run_id": column(repeats, "run_id"),
        }
    )
    for key in ("study", "technique", "dataset", "train_images", "train_epochs", "settings"):
        frame[key] = row[key]
    return frame[SEED_COLUMNS].reset_index(drop=True)


def repeat_summary(seeds: pd.DataFrame) -> dict[str, Any]:
    """A study's repeats in one row: their count, mean test accuracy with its 95% t
    interval, spread, and what they cost, from its rows of ``seeds.csv``."""
    test = seeds["test_accuracy"].astype(float).tolist()
    row: dict[str, Any] = {"repeats": len(test)}
    if not test:
        return row
    ci = stats.accuracy_interval(test)
    return row | {
        "seeds": " ".join(str(s) for s in seeds["seed"]),
        "split_seeds": int(seeds["split_seed"].nunique()),
        "test_mean": ci.mean,
        "test_ci_low": ci.low,
        "test_ci_high": ci.high,
        "test_sd": float(pd.Series(test).std(ddof=1)) if len(test) > 1 else math.nan,
        "val_mean": float(seeds["val_accuracy"].mean()),
        "gap_mean": float(seeds["gap"].mean()),
        "epochs_mean": float(seeds["epochs"].mean()),
        "seconds_mean": float(seeds["seconds"].mean()),
    }


def write(folder: Path, seeds: pd.DataFrame, correct: dict[str, np.ndarray]) -> None:
    """``seeds.csv`` and, for the runs that logged them, their per-image test results as
    packed bits in hex (about 2.5 kB of text per run on MNIST's 10,000 test images)."""
    seeds.to_csv(folder / SEEDS_CSV, index=False)
    kept = {run: correct[run] for run in seeds["run_id"] if run in correct}
    if kept:
        rows = [
            (run, len(values), np.packbits(values.astype(bool)).tobytes().hex())
            for run, values in kept.items()
        ]
        pd.DataFrame(rows, columns=["run_id", "images", "bits"]).to_csv(
            folder / CORRECT_CSV, index=False
        )


def read(path: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A ``seeds.csv`` and the per-image results saved beside it (if any)."""
    seeds = pd.read_csv(path, dtype={"run_id": str, "settings": str})
    missing = [c for c in SEED_COLUMNS if c not in seeds]
    if missing:
        raise ValueError(f"{path} lacks the columns {', '.join(missing)}")
    return seeds, read_correct(path.parent, seeds["run_id"])


def read_correct(folder: Path, runs: Iterable[str]) -> dict[str, np.ndarray]:
    """The per-image test results saved in ``folder`` for those of ``runs`` that have them."""
    correct: dict[str, np.ndarray] = {}
    beside = folder / CORRECT_CSV
    if beside.exists():
        saved = pd.read_csv(beside, dtype={"run_id": str, "bits": str}).set_index("run_id")
        for run in runs:
            if run in saved.index:
                bits = np.frombuffer(bytes.fromhex(str(saved.at[run, "bits"])), dtype=np.uint8)
                size = int(str(saved.at[run, "images"]))
                correct[run] = np.unpackbits(bits)[:size].astype(bool)
    return correct
