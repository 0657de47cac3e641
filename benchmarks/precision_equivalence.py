"""Is bfloat16 as accurate as float32? The equivalence test that decides ``train.precision``'s
default.

    python benchmarks/precision_equivalence.py            # resumable: trains what is missing
    python benchmarks/precision_equivalence.py --report   # the report from what is there

Decided before any run (2026-12-06), not changed after:

- Configuration: the training-budget study's best cell, as the study trained it: its
  technique and length from ``experiments/budget/best/seeds.csv`` (augmentation, 27 epochs),
  its tuned values from ``experiments/budget/tuning.csv``, batch 128, the full 55,000-image
  training split, each seed drawing its own 5,000-image validation split.
- Arms: ``train.precision=float32`` and ``train.precision=mixed_bfloat16``; seeds 3000 to
  3009 (the study used 1000 to 2009), each seed trained in both arms: same seed, same split,
  same initial draws, so the arms are paired by seed. Within a seed the arms alternate
  (float32 first for even seeds), so drifts in the host's load hit both.
- Estimator: the mean paired difference of test accuracy, bfloat16 minus float32, in points.
- Test: two one-sided paired t-tests (``statsmodels`` ``ttost_paired``) against a margin of
  +-0.10 points at alpha 0.05; equivalent if its p < 0.05 (the 90% t interval of the mean
  difference lies inside the margin). ``ttost_ind`` is reported beside it.
- Decision: ``train.precision=auto`` becomes the default only if equivalent with all 10
  pairs; otherwise ``float32`` stays and the report says so. Seconds per run (medians and
  the paired ratio) are reported, as secondary and noisy (the host is shared).

Amended 2026-12-06, after the first five pairs and before any later run (procedure only;
configuration, estimator, test and decision unchanged): a ``mixed_bfloat16`` run trains
only on a CPU that computes bfloat16 natively (AVX-512 BF16 or AMX), the only place
``auto`` picks it; where the CPU emulates it (an epoch took some 3.5 minutes instead of
about 15 s) only the float32 arms train, and the pair is completed on such a machine later.
Each row records the CPU it trained on (``cpu``); the seconds ratio is reported over the
pairs trained on one CPU.

Amended 2026-12-07, after all ten pairs (reporting only; the test and the decision are the
ones planned): the report also gives the two one-sided tests' own p-values, which say on which
side equivalence failed, and names the pairs whose two runs trained on different CPUs.

Each run is a ``repeat`` run in the MLflow store ``mlruns/precision`` (not committed); its
row goes to ``benchmarks/results/precision_equivalence.csv`` (committed) as it finishes, the
report to ``precision_equivalence.md``. A rerun, on this machine or a fresh clone, trains
only the (seed, precision) pairs that neither the CSV nor the store holds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd
from scipy import stats
from statsmodels.stats.weightstats import ttost_ind, ttost_paired
from sweep_runs import cpu, cpu_counts

from mnist_reg.tracking import queries
from mnist_reg.training import precision

REPO = Path(__file__).resolve().parent.parent
BUDGET = REPO / "experiments" / "budget"
RESULTS = REPO / "benchmarks" / "results"
STORE = REPO / "mlruns" / "precision"
EXPERIMENT = "precision"
SEEDS = tuple(range(3000, 3010))
ARMS = ("float32", "mixed_bfloat16")
MARGIN = 0.0010  # +-0.10 points of accuracy
ALPHA = 0.05
DATA = [
    "data.name=mnist",
    "data.train_size=null",
    "data.val_size=5000",
    "data.test_size=null",
    "train.batch_size=128",
    "train.deterministic=false",
    "train.progress_bar=off",
]


def best_cell() -> tuple[str, int, dict[str, str]]:
    """The budget study's best cell: technique, epochs and tuned values, from its files."""
    best = pd.read_csv(BUDGET / "best" / "seeds.csv").iloc[0]
    technique, epochs = str(best["technique"]), int(best["train_epochs"])
    tuning = pd.read_csv(BUDGET / "tuning.csv").set_index("study")
    values = json.loads(str(tuning.loc[f"budget-{technique}-e{epochs}", "values"]))
    return technique, epochs, values


def train(
    seed: int, arm: str, cell: tuple[str, int, dict[str, str]], store: Path, extra: list[str]
) -> None:
    """One seed in one precision, as a repeat run (``repeat`` skips it when finished)."""
    technique, epochs, values = cell
    command = [
        sys.executable,
        "-m",
        "mnist_reg.repeat",
        "-cd",
        str(REPO / "experiments"),
        f"+budget={technique}",
        f"train.epochs={epochs}",
        f"train.precision={arm}",
        "repeat.source=config",
        "repeat.count=1",
        f"repeat.first_seed={seed}",
        "repeat.vary_split=true",
        "sweep.study_name=precision-best-cell",
        f"mlflow.experiment={EXPERIMENT}",
        f"mlflow.tracking_uri=sqlite:///{store}/mlflow.db",
        "mlflow.log_model=false",
        *DATA,
        *(f"{path}={value}" for path, value in values.items()),
        *extra,
    ]
    print("+", " ".join(command[2:]), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def finished_runs(store: Path) -> pd.DataFrame:
    """One row per finished repeat: seed, precision, accuracies, seconds, the CPU (the store
    is this machine's own, so its runs trained on this CPU)."""
    if not (store / "mlflow.db").exists():
        return pd.DataFrame(columns=["seed", "precision", "test_accuracy", "seconds", "cpu"])
    runs = queries.load_runs(f"sqlite:///{store}/mlflow.db", [EXPERIMENT])
    runs = runs[(runs["tags.run_type"] == "repeat") & (runs["status"] == "FINISHED")]
    table = pd.DataFrame(
        {
            "seed": runs["tags.repeat_seed"].astype(int),
            "precision": runs["params.train.precision"],
            "test_accuracy": runs["metrics.test_accuracy"],
            "val_accuracy": runs["metrics.kept_val_accuracy"],
            "seconds": runs["metrics.train_seconds"].round(1),
            "run_id": runs["run_id"],
            "cpu": cpu(),
        }
    )
    return table.sort_values(["seed", "precision"]).reset_index(drop=True)


def all_runs(store: Path, results: Path) -> pd.DataFrame:
    """The committed rows and the store's, each (seed, precision) once (the CSV's first)."""
    csv = results / "precision_equivalence.csv"
    known = pd.read_csv(csv) if csv.exists() else None
    frames = [t for t in (known, finished_runs(store)) if t is not None and len(t)]
    if not frames:  # nothing trained yet
        return finished_runs(store)
    table = pd.concat(frames).drop_duplicates(["seed", "precision"], keep="first")
    return table.sort_values(["seed", "precision"]).reset_index(drop=True)


def paired(table: pd.DataFrame) -> pd.DataFrame:
    """Seeds with a finished run in both arms, one column of test accuracy per arm."""
    wide = table.pivot_table(index="seed", columns="precision", values="test_accuracy")
    return wide.dropna(subset=[arm for arm in ARMS if arm in wide.columns])


def verdict(table: pd.DataFrame) -> list[str]:
    """The pre-registered test on the pairs there are, and what it decides."""
    pairs = paired(table)
    if not set(ARMS) <= set(pairs.columns) or len(pairs) < 2:
        return [f"{len(pairs)} complete pairs of {len(SEEDS)}: no test yet."]
    bf16, f32 = pairs["mixed_bfloat16"].to_numpy(), pairs["float32"].to_numpy()
    difference = bf16 - f32
    p_paired, (_, p_below, _), (_, p_above, _) = ttost_paired(bf16, f32, -MARGIN, MARGIN)
    p_paired = float(p_paired)
    p_ind = float(ttost_ind(bf16, f32, -MARGIN, MARGIN, usevar="unequal")[0])

    low, high = stats.t.interval(
        1 - 2 * ALPHA, len(difference) - 1, difference.mean(), stats.sem(difference)
    )
    equivalent = p_paired < ALPHA
    complete = len(pairs) == len(SEEDS)
    lines = [
        f"Pairs: {len(pairs)} of {len(SEEDS)} (seeds {', '.join(map(str, pairs.index))}).",
        f"Mean test accuracy: float32 {100 * f32.mean():.3f}%, bfloat16 {100 * bf16.mean():.3f}%.",
        f"Mean paired difference (bfloat16 - float32): {100 * difference.mean():+.3f} points, "
        f"90% t interval [{100 * low:+.3f}, {100 * high:+.3f}] (SD of the differences "
        f"{100 * difference.std(ddof=1):.3f}).",
        f"TOST, margin +-{100 * MARGIN:.2f} points: paired p = {p_paired:.4f}; "
        f"independent (Welch) p = {p_ind:.4f}. Its two one-sided tests: bfloat16 less than "
        f"{100 * MARGIN:.2f} points below float32, p = {float(p_below):.4f}; less than "
        f"{100 * MARGIN:.2f} points above, p = {float(p_above):.4f}.",
        *across_cpus(table),
    ]
    if not complete:
        lines.append("Not all pairs are in: no decision yet (the plan is 10 pairs).")
    elif equivalent:
        lines.append(
            "**Equivalent** within +-0.10 points (p < 0.05): `train.precision=auto` may be "
            "the default."
        )
    else:
        lines.append("**Not shown equivalent** within +-0.10 points: the default stays `float32`.")
    return lines


def across_cpus(table: pd.DataFrame) -> list[str]:
    """The pairs whose two runs trained on different CPUs, named."""
    counts = table.groupby("seed")["cpu"].nunique()
    mixed = sorted(int(seed) for seed in counts[counts > 1].index)
    if not mixed:
        return []
    return [f"Pairs whose two runs trained on different CPUs: {', '.join(map(str, mixed))}."]


def seconds_lines(table: pd.DataFrame) -> list[str]:
    table = table[table.groupby("seed")["cpu"].transform("nunique") == 1]  # one CPU a pair
    wide = table.pivot_table(index="seed", columns="precision", values="seconds").dropna()
    if not set(ARMS) <= set(wide.columns) or wide.empty:
        return []
    ratios = (wide["mixed_bfloat16"] / wide["float32"]).tolist()
    return [
        f"Training seconds (secondary, a shared host): median float32 "
        f"{statistics.median(wide['float32']):.0f} s, bfloat16 "
        f"{statistics.median(wide['mixed_bfloat16']):.0f} s; median paired ratio "
        f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})."
    ]


def report(cell: tuple[str, int, dict[str, str]], store: Path, results: Path) -> None:
    table = all_runs(store, results)
    results.mkdir(parents=True, exist_ok=True)
    table.to_csv(results / "precision_equivalence.csv", index=False)
    technique, epochs, values = cell
    lines = [
        "# bfloat16 against float32: test accuracy, paired by seed",
        "",
        "`python benchmarks/precision_equivalence.py`; the runs trained on "
        f"{cpu_counts(table)}. "
        f"The budget study's best cell: {technique}, {epochs} epochs, batch 128, "
        f"55,000 training images; {', '.join(f'{k}={float(v):.4g}' for k, v in values.items())}. "
        "Plan, estimator, margin and decision rule: the script's docstring, fixed before "
        "the first run.",
        "",
        *verdict(table),
        "",
        *seconds_lines(table),
        "",
        "Every run: [precision_equivalence.csv](precision_equivalence.csv).",
    ]
    (results / "precision_equivalence.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report what is there, train none")
    parser.add_argument("--store", type=Path, default=STORE, help="the MLflow store's folder")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the report goes")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="a smoke test's fewer")
    parser.add_argument(
        "--emulated-ok", action="store_true", help="a smoke test's bfloat16 without the CPU's"
    )
    parser.add_argument("overrides", nargs="*", help="a smoke test's tiny data")
    args = parser.parse_args()
    cell = best_cell()
    native_bf16 = bool(precision.cpu_flags() & precision.BF16_CPU_FLAGS) or args.emulated_ok
    if not args.report:
        for index, seed in enumerate(SEEDS[: args.seeds]):
            done = all_runs(args.store, args.results)
            for arm in ARMS if index % 2 == 0 else ARMS[::-1]:
                if ((done["seed"] == seed) & (done["precision"] == arm)).any():
                    continue
                if arm == precision.BFLOAT16 and not native_bf16:
                    print(f"seed {seed}: no native bfloat16 on {cpu()}; its bfloat16 run waits")
                    continue
                train(seed, arm, cell, args.store, args.overrides)
            report(cell, args.store, args.results)  # after each pair: what is there so far
    report(cell, args.store, args.results)


if __name__ == "__main__":
    main()
