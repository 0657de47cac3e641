"""Typed configuration schema, registered in Hydra's ConfigStore.

The YAML files in ``conf/`` extend these dataclasses, so an unknown key or a wrongly typed
value fails when Hydra composes the configuration, before anything heavy is imported.
Ranges are checked afterwards by :mod:`mnist_reg.config.validation`; each set of allowed
values is declared once, here, with :func:`choice`, and validation reads it from the field.
Functions take these types (``cfg: Config``), so mypy checks every attribute they read; at
run time the object is Hydra's ``DictConfig``, which refuses wrong types on assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig

from mnist_reg.config.fields import choice as choice
from mnist_reg.config.fields import choices as choices
from mnist_reg.config.technique import TechniqueConfig

AUTO = "auto"  # a setting this machine decides (sweep.workers, repeat.workers)
DEFAULT_STORAGE = "sqlite:///mlruns/optuna.db"  # sweep.storage when null
DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"  # mlflow.tracking_uri when null and unset
# (training images, test images) of each dataset this tool knows.
DATASET_SIZES = {"mnist": (60_000, 10_000), "fashion_mnist": (60_000, 10_000)}


@dataclass
class DataConfig:
    name: str = choice(*DATASET_SIZES)
    val_size: int = 5000  # held out of the 60,000 training images, stratified
    train_size: int | None = None  # None: every remaining training image
    test_size: int | None = None  # None: the whole 10,000-image test set
    split_seed: int = 0
    cache_dir: str = "~/.cache/mnist_reg"
    download_timeout: float = 15.0  # seconds, for the Keras download source


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 0.001
    seed: int = 0  # trial k trains with seed + k
    deterministic: bool = False  # TensorFlow op determinism: identical reruns, some speed
    progress_bar: str = choice("auto", "on", "off")  # auto: only on a terminal
    # Keras's dtype policy; auto: bfloat16 where the CPU or GPU computes it natively
    precision: str = choice("float32", "mixed_bfloat16", "mixed_float16", "auto")
    # How the learning rate moves from learning_rate (docs/schedules.md): constant; cosine
    # (warm-up from 0, then down to final_lr_fraction); one_cycle (up from learning_rate /
    # 25 for one_cycle_rise of the steps, then down); exponential (times decay_rate an
    # epoch); plateau (times plateau_factor after plateau_patience epochs without a better
    # val_loss)
    lr_schedule: str = choice("constant", "cosine", "one_cycle", "exponential", "plateau")
    warmup_epochs: float = 0.0  # cosine
    final_lr_fraction: float = 0.0  # cosine, one_cycle: the last rate; plateau: the floor
    one_cycle_rise: float = 0.3  # one_cycle: the fraction of the steps the rate rises
    decay_rate: float = 0.9  # exponential: the factor an epoch
    plateau_factor: float = 0.5  # plateau
    plateau_patience: int = 2  # plateau
    # the epochs cosine and one_cycle span; null: train.epochs (a sweep sets its full length,
    # so a promoted trial continues its parent's schedule)
    schedule_epochs: int | None = None


# The train settings each learning-rate schedule reads (the others do not change its training).
SCHEDULE_READS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "cosine": ("warmup_epochs", "final_lr_fraction", "schedule_epochs"),
    "one_cycle": ("one_cycle_rise", "final_lr_fraction", "schedule_epochs"),
    "exponential": ("decay_rate",),
    "plateau": ("plateau_factor", "plateau_patience", "final_lr_fraction"),
}
SCHEDULE_SETTINGS = tuple(sorted({name for reads in SCHEDULE_READS.values() for name in reads}))


@dataclass
class SweepConfig:
    n_trials: int = 20  # the study's total of finished (complete or pruned) trials
    backend: str = choice("optuna", "keras_tuner")
    sampler: str = choice("tpe", "random", "grid")  # optuna
    # optuna, with strategy=prune; the default's measurement: benchmarks/RESULTS.md
    pruner: str = choice("median", "hyperband", "none", default="hyperband")
    # optuna. prune: each trial trains from scratch and the pruner may stop it; promote:
    # successive halving, the best configurations continued from their checkpoints
    strategy: str = choice("prune", "promote")
    min_epochs: int = 3  # strategy=promote: the first rung's epochs
    # strategy=promote: a promoted trial continues its parent's optimizer (Adam's moments and
    # step); false: a fresh optimizer on the parent's weights, as Keras Tuner's Hyperband does
    continue_optimizer: bool = True
    checkpoint_dir: str = "mlruns/checkpoints"  # strategy=promote: weights in <dir>/<study>
    kt_algorithm: str = choice("hyperband", "bayesian", "random")  # keras_tuner
    kt_directory: str = "mlruns/keras_tuner"  # keras_tuner: projects live in <dir>/<study>
    hyperband_factor: int = 3  # reduction factor of both backends' Hyperband and of promote
    epoch_budget: int | None = None  # stop starting trials once the study trained this many
    seed: int = 0  # sampler seed
    n_startup_trials: int = 5  # trials before TPE models and the median pruner prunes
    n_warmup_epochs: int = 1  # epochs a trial always trains before it can be pruned
    # optuna: worker processes this command runs on the study, the cores shared among them;
    # auto: one per core (one where there is a GPU), at most n_trials
    workers: Any = 1  # an int or "auto"
    # a job's number among a study's workers started as jobs of a multirun, e.g. an array
    # on SLURM: -m hydra/launcher=slurm sweep.worker='range(8)'; changes nothing trained
    worker: int | None = None
    heartbeat_interval: int = 60  # seconds; RDB storages only
    grace_period: int = 180  # seconds without a heartbeat before a trial counts as dead
    study_name: str | None = None  # default: <dataset>-<technique>
    storage: str | None = None  # Optuna storage URL; null: DEFAULT_STORAGE


@dataclass
class RepeatConfig:
    count: int = 5  # seeds
    first_seed: int = 1000  # seeds first_seed .. first_seed + count - 1, unused while tuning
    source: str = choice("best", "config")  # best: the study's best trial; config: as composed
    vary_split: bool = False  # true: each seed also draws its validation split (split_seed)
    workers: Any = 1  # processes training seeds at once, cores shared; an int or "auto"


@dataclass
class MlflowConfig:
    tracking_uri: str | None = None  # null: $MLFLOW_TRACKING_URI, else DEFAULT_TRACKING_URI
    experiment: str = "mnist-reg"
    artifact_location: str | None = None  # for a new experiment; default mlruns/artifacts
    log_model: bool = True


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    repeat: RepeatConfig = field(default_factory=RepeatConfig)
    technique: TechniqueConfig = MISSING


@dataclass
class CompareConfig:
    experiments: list[str] = field(default_factory=list)  # default: [mlflow.experiment]
    studies: list[str] = field(default_factory=list)  # names or glob patterns; empty: all
    dataset: str | None = None  # e.g. mnist; default: every dataset
    since: str | None = None  # YYYY-MM-DD: runs started on or after
    until: str | None = None  # YYYY-MM-DD: runs started on or before
    baseline: str | None = None  # study to test against; default: the baseline technique's
    same_epochs: bool = False  # true: test against the baseline trained as long (train.epochs)
    # points: a row within +-margin of its baseline by two one-sided tests is "equivalent"
    equivalence_margin: float = 0.10
    plan_difference: float | None = (
        None  # points: the difference the plan sizes for; null: the margin
    )
    output_dir: str = "mlruns/comparison"
    seeds_csv: str | None = None  # re-make the repeats' report from a seeds.csv, not MLflow
    # also log the report as a "comparison" run; default: yes, unless re-made from seeds_csv
    log_to_mlflow: bool | None = None


@dataclass
class CompareAppConfig:
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)


@dataclass
class PredictAppConfig:
    data: DataConfig = field(default_factory=DataConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    # models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model, or NAME@ALIAS, NAME/VERSION
    model: str | None = None  # default: models:/<data.name>-cnn@champion
    index: int | None = None  # a test image by index (the article's example: 2853)
    images: list[str] = field(default_factory=list)  # image files (PNG, JPEG)
    top: int = 3  # probabilities printed per image


def as_config(cfg: DictConfig) -> Config:
    """Hydra's composed ``DictConfig`` seen through the schema's types (it keeps checking
    types at run time; mypy checks attribute names and types from here on)."""
    return cast(Config, cfg)


def config_dir() -> Path:
    """Where the YAML configs are: packaged in a wheel, or ``conf/`` beside the package."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "conf"
    if packaged.is_dir():
        return packaged
    return package.parent / "conf"


def available_techniques() -> list[str]:
    return sorted(p.stem for p in (config_dir() / "technique").glob("*.yaml"))


def register_configs() -> None:
    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    store.store(name="base_compare", node=CompareAppConfig)
    store.store(name="base_predict", node=PredictAppConfig)
    store.store(group="data", name="base_data", node=DataConfig)
    store.store(group="train", name="base_train", node=TrainConfig)
    store.store(group="sweep", name="base_sweep", node=SweepConfig)
    store.store(group="mlflow", name="base_mlflow", node=MlflowConfig)


register_configs()
