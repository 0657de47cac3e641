"""The allowed values of every configuration key a user sets: its type, its range or
choices, and whether a technique's search space may search it (read by
:mod:`mnist_reg.config.validation`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mnist_reg.config.fields import choices
from mnist_reg.config.schema import (
    AUTO,
    DataConfig,
    RepeatConfig,
    SweepConfig,
    TrainConfig,
)
from mnist_reg.config.technique import EarlyStoppingConfig


@dataclass(frozen=True)
class Rule:
    kind: str  # int | float | bool | str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself not allowed
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False  # None allowed
    searchable: bool = False  # may appear as a search-space path
    words: tuple[str, ...] = ()  # strings allowed besides the numbers (auto)

    def allowed(self) -> str:
        if self.choices is not None:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        elif self.kind == "bool":
            text = "true or false"
        else:
            lower = (
                f"{self.low:g} {'<' if self.low_open else '<='} " if self.low is not None else ""
            )
            upper = (
                f" {'<' if self.high_open else '<='} {self.high:g}"
                if self.high is not None
                else ""
            )
            text = f"{self.kind} with {lower}value{upper}"
        text += "".join(f", or {word}" for word in self.words)
        return text + (" (or null)" if self.optional else "")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if self.kind == "bool":
            return isinstance(value, bool)
        if value in self.words:
            return True
        if self.kind == "str":
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind == "int" and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (
            value > self.high or (self.high_open and value == self.high)
        )


RULES: dict[str, Rule] = {
    "data.name": Rule("str", choices=choices(DataConfig, "name")),
    "data.val_size": Rule("int", 10, 30_000),
    "data.train_size": Rule("int", 10, None, optional=True),  # upper bound depends on val_size
    "data.test_size": Rule("int", 1, 10_000, optional=True),
    "data.split_seed": Rule("int", 0, 2**32 - 1),
    "data.download_timeout": Rule("float", 0, 600, low_open=True),
    "train.epochs": Rule("int", 1, 1000),
    "train.batch_size": Rule("int", 1, 65_536, searchable=True),
    "train.learning_rate": Rule("float", 0, 10, low_open=True, searchable=True),
    "train.seed": Rule("int", 0, 2**31 - 1),
    "train.deterministic": Rule("bool"),
    "train.progress_bar": Rule("str", choices=choices(TrainConfig, "progress_bar")),
    "train.precision": Rule("str", choices=choices(TrainConfig, "precision")),
    "train.lr_schedule": Rule("str", choices=choices(TrainConfig, "lr_schedule"), searchable=True),
    "train.warmup_epochs": Rule("float", 0, 1000, searchable=True),
    "train.final_lr_fraction": Rule("float", 0, 1, high_open=True, searchable=True),
    "train.one_cycle_rise": Rule("float", 0, 1, low_open=True, high_open=True, searchable=True),
    "train.decay_rate": Rule("float", 0, 1, low_open=True, searchable=True),
    "train.plateau_factor": Rule("float", 0, 1, low_open=True, high_open=True, searchable=True),
    "train.plateau_patience": Rule("int", 0, 1000, searchable=True),
    "train.schedule_epochs": Rule("int", 1, 1000, optional=True),
    "technique.l2.weight": Rule("float", 0, 1, searchable=True),
    "technique.l2.on_conv": Rule("bool", searchable=True),
    "technique.dropout.rate": Rule("float", 0, 1, high_open=True, searchable=True),
    "technique.dropout.second": Rule("bool", searchable=True),
    "technique.dropout.second_rate": Rule("float", 0, 1, high_open=True, searchable=True),
    "technique.augmentation.rotation_degrees": Rule("float", 0, 180, searchable=True),
    "technique.augmentation.width_shift": Rule("float", 0, 1, high_open=True, searchable=True),
    "technique.augmentation.height_shift": Rule("float", 0, 1, high_open=True, searchable=True),
    "technique.augmentation.zoom": Rule("float", 0, 1, high_open=True, searchable=True),
    "technique.augmentation.shear": Rule("float", 0, 1, high_open=True, searchable=True),
    "technique.weight_decay.coefficient": Rule("float", 0, 10, searchable=True),
    "technique.label_smoothing.amount": Rule("float", 0, 1, high_open=True, searchable=True),
    "technique.early_stopping.enabled": Rule("bool", searchable=True),
    "technique.early_stopping.monitor": Rule(
        "str", choices=choices(EarlyStoppingConfig, "monitor"), searchable=True
    ),
    "technique.early_stopping.patience": Rule("int", 0, 1000, searchable=True),
    "technique.early_stopping.min_delta": Rule("float", 0, 1, searchable=True),
    "technique.early_stopping.restore_best_weights": Rule("bool", searchable=True),
    "sweep.n_trials": Rule("int", 1, 100_000),
    "sweep.backend": Rule("str", choices=choices(SweepConfig, "backend")),
    "sweep.sampler": Rule("str", choices=choices(SweepConfig, "sampler")),
    "sweep.kt_algorithm": Rule("str", choices=choices(SweepConfig, "kt_algorithm")),
    "sweep.hyperband_factor": Rule("int", 2, 10),
    "sweep.strategy": Rule("str", choices=choices(SweepConfig, "strategy")),
    "sweep.min_epochs": Rule("int", 1, 1000),
    "sweep.continue_optimizer": Rule("bool"),
    "sweep.epoch_budget": Rule("int", 1, 10**9, optional=True),
    "sweep.pruner": Rule("str", choices=choices(SweepConfig, "pruner")),
    "sweep.seed": Rule("int", 0, 2**32 - 1),
    "sweep.workers": Rule("int", 1, 256, words=(AUTO,)),
    "sweep.worker": Rule("int", 0, 100_000, optional=True),
    "sweep.n_startup_trials": Rule("int", 0, 100_000),
    "sweep.n_warmup_epochs": Rule("int", 0, 1000),
    "sweep.heartbeat_interval": Rule("int", 1, 3600),
    "sweep.grace_period": Rule("int", 2, 86_400),
    "repeat.count": Rule("int", 1, 1000),
    "repeat.first_seed": Rule("int", 0, 2**31 - 1001),
    "repeat.workers": Rule("int", 1, 256, words=(AUTO,)),
    "repeat.source": Rule("str", choices=choices(RepeatConfig, "source")),
}
