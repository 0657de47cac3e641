"""Our record in a Keras Tuner project folder (``mnist_reg.json``), readable without
importing Keras Tuner or TensorFlow: the parent run, the settings every trial shares, and
each trial's run, seed, epochs, accuracies and values. Seed repeats read the best trial here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "mnist_reg.json"


def project_dir(kt_directory: str, study_name: str) -> Path:
    return Path(kt_directory) / study_name


class ProjectState:
    """Written atomically after every change, so a kill leaves the last good version."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_FILE
        self.data: dict[str, Any] = {"trials": {}}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(partial, self.path)

    def trial(self, trial_id: str) -> dict[str, Any]:
        trials: dict[str, dict[str, Any]] = self.data["trials"]
        return trials.setdefault(trial_id, {})

    def epochs_spent(self) -> int:
        """Epochs every trial really trained, failed and interrupted ones included."""
        return sum(int(t.get("epochs_spent", 0)) for t in self.data["trials"].values())

    def seeds(self) -> set[int]:
        return {int(t["seed"]) for t in self.data["trials"].values() if "seed" in t}

    def best(self) -> tuple[str, dict[str, Any]] | None:
        """The trial with the best validation accuracy among those that completed."""
        complete = [(k, t) for k, t in self.data["trials"].items() if "val_accuracy" in t]
        if not complete:
            return None
        return max(complete, key=lambda item: float(item[1]["val_accuracy"]))
