"""What each command's ``--help`` says before Hydra's config groups: what the command does,
its main keys and an example. The primary configs set ``hydra.help.header`` to
``${mnist_reg.usage:${hydra.help.app_name}}``, resolved here by the command's name."""

from __future__ import annotations

from omegaconf import OmegaConf

RESOLVER = "mnist_reg.usage"

USAGE = {
    "sweep": """\
python -m mnist_reg.sweep +technique=NAME [key=value ...]

Searches the hyperparameters of one regularization technique with Optuna (or Keras Tuner):
each trial trains the tutorial's CNN on MNIST and is tracked in MLflow (./mlruns), the study
in Optuna (mlruns/optuna.db). The same command again resumes: only missing trials train.

Main keys:
  +technique=NAME        baseline, l2, dropout, augmentation, early_stopping,
                         weight_decay, label_smoothing, combined
  +recipe=schedules      also search the learning rate and its schedule
  sweep.n_trials=20      the study's total of finished trials
  train.epochs=5         epochs a trial
  data.train_size=N      a stratified subsample of the 55,000 training images
  sweep.workers=1        trials trained at once (auto: one per core)
  sweep.backend=optuna   or keras_tuner; -m runs one study per technique listed

Example, a quick look (about a minute):
  python -m mnist_reg.sweep +technique=dropout sweep.n_trials=3 train.epochs=2 data.train_size=2000
""",
    "repeat": """\
python -m mnist_reg.repeat +technique=NAME [repeat.count=5 ...]

Retrains the best configuration of a finished sweep of NAME with fresh seeds the search
never used, each seed a run in MLflow under one repeats run; the seeds already trained are
never trained again. compare then turns the repeats into intervals and verdicts.

Main keys:
  +technique=NAME      the study whose best trial is repeated (its sweep must exist)
  repeat.count=5       seeds in all
  repeat.workers=1     seeds trained at once (auto: one per core)
  repeat.vary_split    true: each seed also draws its own validation split

Example:
  python -m mnist_reg.repeat +technique=dropout repeat.count=5
""",
    "compare": """\
python -m mnist_reg.compare [compare.KEY=VALUE ...]

Compares every study's seed repeats with the baseline's: mean test accuracy with its
intervals, Holm-corrected verdicts and the difference each could have detected. Writes
report.md, comparison.csv, seeds.csv and figures to mlruns/comparison/, and a comparison run
to MLflow. Trains nothing.

Main keys:
  compare.studies=[...]      study names or patterns (default: every study with repeats)
  compare.baseline=NAME      the study to test against (default: the baseline technique's)
  compare.seeds_csv=PATH     re-make a report from its seeds.csv instead of MLflow

Examples:
  python -m mnist_reg.compare
  python -m mnist_reg.compare "compare.studies=[mnist-baseline,mnist-dropout]"
""",
    "predict": """\
python -m mnist_reg.predict index=N | images=[a.png,...] [model=mnist-cnn@champion]

Classifies test images by index, or image files of any size and either polarity, with a
registered model (by default the version the alias champion marks).

Examples:
  python -m mnist_reg.predict index=2853
  python -m mnist_reg.predict images=[seven.png,photo.jpg]
""",
}


def usage(command: str) -> str:
    """The help header of ``command`` (the module's name, as Hydra's job name has it)."""
    return USAGE.get(command, f"{command}: see the README\n")


def register() -> None:
    """Make ``${mnist_reg.usage:NAME}`` resolvable in the configs' help header."""
    OmegaConf.register_new_resolver(RESOLVER, usage, replace=True)
