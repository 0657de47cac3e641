"""The technique part of the configuration schema: each regularizer's settings, and the
search space a technique declares (see :mod:`mnist_reg.config.schema`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from mnist_reg.config.fields import choice


@dataclass
class L2Config:
    weight: float = 0.0  # lambda; 0 disables L2
    on_conv: bool = False  # also regularize the three Conv2D kernels


@dataclass
class DropoutConfig:
    rate: float = 0.0  # before Dense(64), the article's placement; 0 disables
    second: bool = False  # a second Dropout after Dense(64)
    second_rate: float = 0.0


@dataclass
class AugmentationConfig:
    rotation_degrees: float = 0.0  # RandomRotation, +/- degrees
    width_shift: float = 0.0  # RandomTranslation, fraction of the width
    height_shift: float = 0.0  # RandomTranslation, fraction of the height
    zoom: float = 0.0  # RandomZoom, +/- fraction
    shear: float = 0.0  # RandomShear, +/- fraction along x


@dataclass
class WeightDecayConfig:
    # AdamW's decoupled weight decay (each step subtracts coefficient x learning rate x the
    # weight); 0: plain Adam
    coefficient: float = 0.0


@dataclass
class LabelSmoothingConfig:
    amount: float = 0.0  # the one-hot target's mass spread evenly over all 10 classes


@dataclass
class EarlyStoppingConfig:
    enabled: bool = False
    monitor: str = choice("val_accuracy", "val_loss")  # never a test metric
    patience: int = 2
    min_delta: float = 0.0
    restore_best_weights: bool = True


@dataclass
class ParamSpec:
    """One searched hyperparameter: which config key it sets and over what range."""

    path: str = MISSING  # dotted config key, e.g. technique.dropout.rate
    type: str = choice("float", "int", "categorical")
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None  # categorical only
    grid: list[Any] | None = None  # the values the grid sampler tries
    # suggested only when this boolean key is true, or (KEY=VALUE) when a choice has VALUE
    when: str | None = None


@dataclass
class TechniqueConfig:
    name: str = MISSING
    description: str = ""
    l2: L2Config = field(default_factory=L2Config)
    dropout: DropoutConfig = field(default_factory=DropoutConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    weight_decay: WeightDecayConfig = field(default_factory=WeightDecayConfig)
    label_smoothing: LabelSmoothingConfig = field(default_factory=LabelSmoothingConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    search_space: dict[str, ParamSpec] = field(default_factory=dict)


def condition(when: str) -> tuple[str, str | None]:
    """A search-space ``when``: the key it reads, and the value it needs (None: true)."""
    path, _, value = when.partition("=")
    return path.strip(), value.strip() if value else None
