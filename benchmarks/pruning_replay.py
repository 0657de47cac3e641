"""Replay the sweep's pruners over the recorded curves of one unpruned sweep.

    python benchmarks/pruning.py --pruners none --keep /tmp/pruning   # keeps its mlruns/
    python benchmarks/pruning_replay.py /tmp/pruning/none

Each recorded trial, in trial order, goes through an in-memory Optuna study with the pruner
that ``mnist_reg.study.make_pruner`` builds for an arm's overrides: its validation accuracy
is reported epoch by epoch and ``should_prune`` asked after each, as the sweep's objective
does. A pruned trial counts the epochs it had trained; a trial left alone counts all of its
epochs and its kept validation accuracy. All arms see the same trials: a real pruned search
parts from the unpruned one after its first pruned trial, because its sampler learns from
what the pruner left. Writes ``benchmarks/results/pruning_replay.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient
from sweep_runs import tracking_uri, trial_runs

from mnist_reg.config import config_dir
from mnist_reg.report import markdown_table
from mnist_reg.study import make_pruner

RESULTS = Path(__file__).parent / "results" / "pruning_replay.md"
ARMS = [
    "median:sweep.n_warmup_epochs=1",
    "median:sweep.n_warmup_epochs=2",
    "median:sweep.n_warmup_epochs=3",
    "hyperband:sweep.hyperband_factor=3",
    "hyperband:sweep.hyperband_factor=4",
]


def recorded_trials(folder: Path) -> list[tuple[int, list[float], float]]:
    """(trial number, validation accuracy per epoch, kept validation accuracy) per trial."""
    client = MlflowClient(tracking_uri(folder))
    trials = []
    for _, run in trial_runs(folder).iterrows():
        history = client.get_metric_history(run["run_id"], "val_accuracy")
        curve = [m.value for m in sorted(history, key=lambda m: m.step)]
        trials.append((int(run["tags.trial_number"]), curve, run["metrics.kept_val_accuracy"]))
    return sorted(trials)


def replay(arm: str, trials: list[tuple[int, list[float], float]], epochs: int) -> dict:
    pruner_name, *extra = arm.split(":")
    overrides = [
        "+technique=combined",
        f"train.epochs={epochs}",
        f"sweep.pruner={pruner_name}",
        *(o for group in extra for o in group.split(",")),
    ]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    # the real benchmark's study name: Hyperband assigns brackets from it
    study = optuna.create_study(
        study_name=f"pruning-{pruner_name}", direction="maximize", pruner=make_pruner(cfg)
    )
    spent, best, kept, pruned_at = 0, float("nan"), [], []
    for number, curve, value in trials:
        trial = study.ask()
        assert trial.number == number, "the sweep's trials must be numbered 0, 1, ..."
        stopped = None
        for step, accuracy in enumerate(curve, start=1):
            trial.report(accuracy, step)
            if step < epochs and trial.should_prune():  # as the sweep's objective asks
                stopped = step
                break
        if stopped is None:
            study.tell(trial, value)
            spent += len(curve)
            best = value if not best >= value else best
            kept.append(number)
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            spent += stopped
            pruned_at.append(f"{number}@{stopped}")
    return {
        "arm": arm.replace(":", " "),
        "epochs": spent,
        "best": best,
        "kept": kept,
        "pruned": pruned_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a kept unpruned sweep (pruning.py --keep)")
    parser.add_argument("--epochs", type=int, default=9, help="train.epochs of that sweep")
    parser.add_argument("--arms", nargs="*", default=ARMS)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = recorded_trials(args.folder)
    total = sum(len(curve) for _, curve, _ in trials)
    unpruned = max(value for _, _, value in trials)
    rows = [replay(arm, trials, args.epochs) for arm in args.arms]
    table = [
        [
            r["arm"],
            str(r["epochs"]),
            f"{r['epochs'] / total:.2f}",
            f"{r['best'] * 100:.2f}",
            f"{(r['best'] - unpruned) * 100:+.2f}",
            ", ".join(r["pruned"]) or "-",
        ]
        for r in rows
    ]
    lines = [
        "# Pruners replayed over one unpruned sweep's curves (measured curves, replayed rules)",
        "",
        f"`python benchmarks/pruning_replay.py {args.folder} --epochs {args.epochs}`: "
        f"{len(trials)} recorded trials, {total} epochs, best kept validation accuracy "
        f"{unpruned * 100:.2f}%. Every arm sees the same trials (see the script's docstring).",
        "",
    ]
    header = ["arm", "epochs", "epochs / unpruned", "best val. accuracy %"]
    header += ["best - unpruned (points)", "pruned (trial@epoch)"]
    lines += markdown_table(header, table)
    lines.append("")
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
