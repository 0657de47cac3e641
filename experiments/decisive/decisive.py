"""The decisive study: does regularization pay on a properly trained baseline, and by how
much? Every arm, the baseline included, tunes its learning rate and schedule.

    python experiments/decisive/decisive.py            # trains what is missing, then reports
    python experiments/decisive/decisive.py --report   # the report alone, from the files

It runs with the training-budget study's runner and report (``experiments/budget/``), one
training length, seeds round-robin over the arms so that a partial study stays balanced.
Decided before any run (README.md gives the reasons and the power analysis):

- arms: ARMS at 27 epochs, batch 128, the full training split; each arm's space in
  ``experiments/decisive/*.yaml`` is the project's technique with ``+recipe=schedules``
  (the learning rate and its schedule) and the budget study's mild augmentation;
- tuning: ``sweep=long`` (successive halving with continuation, rungs 3-9-27, TPE, sampler
  seed 0), 81 epochs an arm (3 x 27), the same for every arm; selection by validation;
- repeats: SEEDS fresh seeds an arm, each drawing its own validation split;
- family and tests: the 6 techniques against the baseline, Welch's t-test Holm-corrected;
  equivalence within +-0.10 points (DESIGN.margin) by two one-sided tests, Holm-corrected;
- decision per row: a gain shown (outside test-image noise), equivalence within +-0.10
  shown, or undecided with the margin its seeds reach;
- the best model: the arm with the best mean validation accuracy over its seeds, retrained
  with BEST_SEEDS; its mean test accuracy and 95% t interval against 99.5%.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "budget"))  # the budget study's runner, shared

import run as runner  # noqa: E402
from report import Design, write_report  # noqa: E402

ARMS = (
    "baseline",
    "dropout",
    "l2",
    "weight_decay",
    "label_smoothing",
    "augmentation",
    "combined",
)
EPOCHS = 27
SEEDS = tuple(range(1000, 1016))  # 16 an arm: README.md, "Seeds per arm"
BEST_SEEDS = tuple(range(2000, 2010))
DESIGN = Design(
    "decisive",
    "A decisive answer: regularization against a properly trained baseline",
    margin=0.10,  # points: equivalence within +-0.10, fixed before any run
    planned_seeds=len(SEEDS),  # a row decides at its 16 seeds, not before
    made_by="python experiments/decisive/decisive.py --report",
    resumed_by="python experiments/decisive/decisive.py",
)


def plan(argv: list[str] | None = None) -> tuple[runner.Plan, bool]:
    """The study's plan from the command line (a test shrinks it), and ``--report``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="the report alone")
    parser.add_argument("--folder", type=Path, default=HERE, help="where the results go")
    parser.add_argument("--store", type=Path, default=runner.REPO / "mlruns" / "decisive")
    parser.add_argument("--arms", nargs="+", default=list(ARMS))
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="repeats an arm")
    parser.add_argument("--best-seeds", type=int, default=len(BEST_SEEDS))
    parser.add_argument("overrides", nargs="*", help="extra overrides (a smoke test's tiny data)")
    args = parser.parse_args(argv)
    seeds = SEEDS[: args.seeds]
    study = runner.Plan(
        folder=args.folder.resolve(),
        store=str(args.store.resolve()),
        techniques=tuple(args.arms),
        budgets=(args.epochs,),
        seeds=seeds,
        headline_seeds=seeds,  # the baseline gets as many as every arm
        best_seeds=BEST_SEEDS[: args.best_seeds],
        overrides=runner.merged(runner.DATA, args.overrides),
        round_robin=True,
        design=dataclasses.replace(DESIGN, planned_seeds=len(seeds)),
    )
    return study, args.report


def main() -> None:
    study, report_only = plan()
    if report_only:
        write_report(
            study.folder, None, len(study.techniques), len(study.best_seeds), study.design
        )
    else:
        runner.run_study(study)


if __name__ == "__main__":
    main()
