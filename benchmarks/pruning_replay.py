"""Replay the sweep's pruners over the recorded curves of one unpruned sweep.

    python benchmarks/pruning.py --pruners none --keep /tmp/pruning   # keeps its mlruns/
    python benchmarks/pruning_replay.py /tmp/pruning/none

Each recorded trial, in trial order, goes through an in-memory Optuna study with the pruner
that ``mnist_reg.search.optuna.samplers.make_pruner`` builds for an arm's overrides: its
validation accuracy is reported epoch by epoch and ``should_prune`` asked after each, as the
sweep's objective
does. A pruned trial counts the epochs it had trained; a trial left alone counts all of its
epochs and its kept validation accuracy. All arms see the same trials: a real pruned search
parts from the unpruned one after its first pruned trial, because its sampler learns from
what the pruner left. Writes ``benchmarks/results/pruning_replay.md``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

import optuna
from mlflow.tracking import MlflowClient
from sweep_runs import compose_config, tracking_uri, trial_runs

from mnist_reg.analysis.tables import markdown_table
from mnist_reg.search.optuna.samplers import make_pruner

RESULTS = Path(__file__).parent / "results" / "pruning_replay.md"
ARMS = [
    "median:sweep.n_warmup_epochs=1",
    "median:sweep.n_warmup_epochs=2",
    "median:sweep.n_warmup_epochs=3",
    "hyperband:sweep.hyperband_factor=3",
    "hyperband:sweep.hyperband_factor=4",
]


def recorded_trials(folder: Path) -> tuple[list[tuple[int, list[float], float]], int]:
    """(trial number, validation accuracy per epoch, kept validation accuracy) per trial, and
    the sweep's ``train.epochs``. Refuses a sweep that is not a clean unpruned one: a failed
    or pruned trial, or a curve with a non-finite accuracy, would make the replay lie."""
    client = MlflowClient(tracking_uri(folder))
    runs = trial_runs(folder)
    if runs.empty:
        raise SystemExit(f"{folder}: no trial runs in {tracking_uri(folder)}")
    unclean = runs[(runs["status"] != "FINISHED") | (runs["tags.trial_state"] != "COMPLETE")]
    if len(unclean):
        raise SystemExit(
            f"{folder}: not a clean unpruned sweep: trials "
            + ", ".join(
                f"{n} ({s}, {t})"
                for n, s, t in unclean[
                    ["tags.trial_number", "status", "tags.trial_state"]
                ].itertuples(index=False)
            )
        )
    epochs = {int(e) for e in runs["params.train.epochs"]}
    if len(epochs) != 1:
        raise SystemExit(f"{folder}: the trials trained for different train.epochs {epochs}")
    trials = []
    for _, run in runs.iterrows():
        history = client.get_metric_history(run["run_id"], "val_accuracy")
        curve = [m.value for m in sorted(history, key=lambda m: m.step)]
        value = run["metrics.kept_val_accuracy"]
        if not all(math.isfinite(v) for v in [*curve, value]) or len(curve) > max(epochs):
            raise SystemExit(f"{folder}: trial {run['tags.trial_number']} has curve {curve}")
        trials.append((int(run["tags.trial_number"]), curve, value))
    return sorted(trials), epochs.pop()


def replay(arm: str, trials: list[tuple[int, list[float], float]], epochs: int) -> dict:
    pruner_name, *extra = arm.split(":")
    overrides = [
        "+technique=combined",
        f"train.epochs={epochs}",
        f"sweep.pruner={pruner_name}",
        *(o for group in extra for o in group.split(",")),
    ]
    cfg = compose_config(overrides)
    # the real benchmark's study name: Hyperband assigns brackets from it
    study = optuna.create_study(
        study_name=f"pruning-{pruner_name}", direction="maximize", pruner=make_pruner(cfg)
    )
    spent, kept, pruned_at = 0, [], []
    values: list[float] = []
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
            values.append(value)
            kept.append(number)
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            spent += stopped
            pruned_at.append(f"{number}@{stopped}")
    return {
        "arm": arm.replace(":", " "),
        "epochs": spent,
        "best": max(values, default=float("nan")),  # complete trials only
        "kept": kept,
        "pruned": pruned_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a kept unpruned sweep (pruning.py --keep)")
    parser.add_argument("--arms", nargs="*", default=ARMS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials, epochs = recorded_trials(args.folder)
    total = sum(len(curve) for _, curve, _ in trials)
    unpruned = max(value for _, _, value in trials)
    rows = [replay(arm, trials, epochs) for arm in args.arms]
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
        f"`python benchmarks/pruning_replay.py {shlex.join(sys.argv[1:])}`: "
        f"{len(trials)} recorded trials of at most {epochs} epochs, {total} epochs, "
        "best kept validation accuracy "
        f"{unpruned * 100:.2f}%. Every arm sees the same trials (see the script's docstring).",
        "",
    ]
    header = ["arm", "epochs", "epochs / unpruned", "best val. accuracy %"]
    header += ["best - unpruned (points)", "pruned (trial@epoch)"]
    lines += markdown_table(header, table)
    lines.append("")
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
