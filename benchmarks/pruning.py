"""Epochs, wall time and best validation accuracy of one sweep with each pruner.

    python benchmarks/pruning.py --trials 20 --train-size 10000 --epochs 9

Runs ``+technique=combined`` sweeps of ``--trials`` trials on a ``--train-size``-image
training subset (the same splits and sampler seed for all) with ``sweep.pruner=median``,
``hyperband`` and ``none``, one after the other, each in a fresh folder and process, and
writes ``benchmarks/results/pruning.md``. Target (issue 6): pruning spends at most half of
the unpruned epochs for a best validation accuracy within 0.2 points.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import tempfile
from pathlib import Path

from sweep_runs import compose_config, run_sweep, trial_runs

from mnist_reg.analysis.search_curves import summarize
from mnist_reg.analysis.tables import markdown_table

RESULTS = Path(__file__).parent / "results" / "pruning.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=9, help="most epochs a trial trains")
    parser.add_argument(
        "--pruners",
        nargs="*",
        default=["median", "hyperband", "none"],
        help="arms; an arm may add Hydra overrides: median:sweep.n_warmup_epochs=2",
    )
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed (sweep.seed)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="keep each sweep's mlruns/ under this folder")
    parser.add_argument(
        "--reference",
        type=Path,
        help="the unpruned arm kept earlier with --keep (its `none` folder, same settings): "
        "read, not re-run",
    )
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="pruning-"))
    base = [
        "+technique=combined",
        f"data.train_size={args.train_size}",
        f"train.epochs={args.epochs}",
        f"sweep.n_trials={args.trials}",
        f"sweep.seed={args.seed}",
        "mlflow.log_model=false",
    ]
    sweep = compose_config(base).sweep  # for the header; before hours of sweeps
    rows = []
    if args.reference is not None:
        if "none" in args.pruners:
            parser.error("--reference replaces the `none` arm: leave it out of --pruners")
        row = summarize(trial_runs(args.reference), 10**9, []).iloc[0].to_dict()
        rows.append({"pruner": "none", "command_seconds": math.nan, **row})
    for arm in args.pruners:
        pruner, *extra = arm.split(":")
        label = arm.replace(":", " ").replace(",", " ")
        folder = root / arm.replace(":", "_").replace(",", "_").replace("=", "-")
        overrides = [
            *base,
            f"sweep.pruner={pruner}",
            f"sweep.study_name=pruning-{pruner}",
            *(o for group in extra for o in group.split(",")),
        ]
        wall = run_sweep(folder, overrides, root / f"{folder.name}.log")
        row = summarize(trial_runs(folder), 10**9, []).iloc[0].to_dict()
        rows.append({"pruner": label, "command_seconds": wall, **row})
        print(label, {k: row[k] for k in ("best_val_accuracy", "epochs_spent", "pruned")})
    reference = next((r for r in rows if r["pruner"] == "none"), None)
    lines = [
        "# Pruning: epochs, wall time and the best validation accuracy reached (measured)",
        "",
        f"`python benchmarks/pruning.py {shlex.join(sys.argv[1:])}` on {platform.node()} "
        f"({os.cpu_count()} CPUs): one `+technique=combined` sweep of {args.trials} trials "
        f"per pruner ({sweep.sampler} sampler, seed {sweep.seed}, {sweep.n_startup_trials} "
        f"start-up trials unless an arm says otherwise, at most {args.epochs} epochs a trial, "
        "early stopping searched), "
        f"{args.train_size:,} training and 5,000 validation images, the sweeps one after "
        "the other in fresh processes. Wall: the whole command; fit: the trials' `fit` time.",
        "",
    ]
    if args.reference is not None:
        lines += [
            f"The unpruned arm is read from `{args.reference}`, kept from an earlier run with "
            "the same settings (its wall time is in that run's file).",
            "",
        ]
    table = []
    for r in rows:
        ratio = diff = "-"
        if reference is not None:
            ratio = f"{r['epochs_spent'] / reference['epochs_spent']:.2f}"
            diff = f"{(r['best_val_accuracy'] - reference['best_val_accuracy']) * 100:+.2f}"
        table.append(
            [
                r["pruner"],
                f"{r['best_val_accuracy'] * 100:.2f}",
                str(r["complete"]),
                str(r["pruned"]),
                str(r["epochs_spent"]),
                ratio,
                diff,
                f"{r['fit_seconds']:.0f}",
                "-" if math.isnan(r["command_seconds"]) else f"{r['command_seconds']:.0f}",
            ]
        )
    header = ["pruner", "best val. accuracy %", "complete", "pruned", "epochs"]
    header += ["epochs / unpruned", "best - unpruned (points)", "fit s", "wall s"]
    lines += markdown_table(header, table)
    lines.append("")
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
