"""A run stopped between two epochs and taken up again where it stopped: a checkpoint at each
epoch's end (every variable, the optimizer's included, the random layers' states, the
curves so far and the callbacks' counters), and ``Preempted`` raised at an epoch's end once
a stop was asked for (``mnist_reg.preemption``). ``fit.train`` resumes from it
(docs/sweeps.md, "Interrupting and resuming")."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import keras
import numpy as np

from mnist_reg.errors import Preempted
from mnist_reg.preemption import CHECKPOINT_STATE, stop_asked

STATE = CHECKPOINT_STATE
# what a Keras callback keeps between epochs, saved so that a resumed run goes on counting
KERAS_COUNTERS: dict[type[keras.callbacks.Callback], tuple[str, ...]] = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
}


@runtime_checkable
class Stateful(Protocol):
    """A callback of ours whose state a resumed run needs (e.g. where the pruner stopped)."""

    def get_state(self) -> dict[str, Any]: ...

    def set_state(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Resume:
    """A run's last epoch checkpoint: ``epoch`` epochs trained in all, from ``initial_epoch``
    (a continuation's start), and whether training had already stopped there."""

    folder: Path
    epoch: int
    initial_epoch: int
    history: dict[str, list[float]]
    train_seconds: float
    stopped: bool
    callbacks: list[dict[str, Any]]

    @property
    def arrays(self) -> Path:
        return self.folder / f"epoch-{self.epoch:04d}.npz"

    @property
    def best_weights(self) -> Path:
        """Early stopping's best weights as they were at ``epoch``."""
        return self.folder / f"best-{self.epoch:04d}.npz"


def load(folder: Path) -> Resume | None:
    """The checkpoint in ``folder``, or None if there is none."""
    try:
        state = json.loads((folder / STATE).read_text())
    except FileNotFoundError:
        return None
    return Resume(
        folder,
        int(state["epoch"]),
        int(state["initial_epoch"]),
        {k: [float(v) for v in values] for k, values in state["history"].items()},
        float(state["train_seconds"]),
        bool(state["stopped"]),
        list(state["callbacks"]),
    )


@contextmanager
def preempted_once_checkpointed(folder: Path | None) -> Iterator[None]:
    """An interrupt (Ctrl-C, SIGTERM) during training becomes :class:`Preempted` once an
    epoch checkpoint exists: only the epoch in progress is lost, and the run resumes."""
    try:
        yield
    except KeyboardInterrupt as interrupt:
        last = load(folder) if folder is not None else None
        if last is None:
            raise
        raise Preempted(f"interrupted ({interrupt}) after epoch {last.epoch}") from None


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _counters(callback: keras.callbacks.Callback) -> dict[str, Any]:
    if isinstance(callback, Stateful):
        return callback.get_state()
    names = next((n for kind, n in KERAS_COUNTERS.items() if isinstance(callback, kind)), ())
    return {name: _plain(getattr(callback, name)) for name in names}


def _plain(value: Any) -> Any:
    return None if value is None else float(value) if isinstance(value, np.floating) else value


def _set_counters(callback: keras.callbacks.Callback, state: dict[str, Any]) -> None:
    if isinstance(callback, Stateful):
        callback.set_state(state)
        return
    for name, value in state.items():
        setattr(callback, name, value)


def state_variables(trainee: keras.Model) -> list[keras.Variable]:
    """Everything that makes the next epoch what it would have been: the layers' variables
    (the random layers' seed states among them) and the optimizer's (moments, step, rate)."""
    return [*trainee.variables, *trainee.optimizer.variables]


def restore_variables(trainee: keras.Model, resume: Resume) -> None:
    trainee.optimizer.build(trainee.trainable_variables)  # so that its variables exist
    with np.load(resume.arrays) as arrays:
        for index, variable in enumerate(state_variables(trainee)):
            variable.assign(arrays[f"v{index}"])


class EpochCheckpoint(keras.callbacks.Callback):
    """Writes the run's checkpoint into ``folder`` at each epoch's end (the last callback, so
    that every other one has acted on the epoch), restores the ``callbacks``' counters from
    ``resumed`` as training begins, and raises :class:`Preempted` once a stop was asked."""

    def __init__(
        self,
        folder: Path,
        initial_epoch: int,
        callbacks: list[keras.callbacks.Callback],
        resumed: Resume | None = None,
    ) -> None:
        super().__init__()
        self.folder = folder
        self.initial_epoch = resumed.initial_epoch if resumed else initial_epoch
        self.callbacks = callbacks
        self.resumed = resumed
        self.history = {k: list(v) for k, v in resumed.history.items()} if resumed else {}
        self.seconds_before = resumed.train_seconds if resumed else 0.0
        self.started = time.perf_counter()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.started = time.perf_counter()
        if self.resumed is None:
            return
        for callback, state in zip(self.callbacks, self.resumed.callbacks, strict=True):
            _set_counters(callback, state)
        best = self.resumed.best_weights
        stopping = [c for c in self.callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
        if stopping and best.exists():
            with np.load(best) as arrays:
                stopping[0].best_weights = [arrays[f"w{i}"] for i in range(len(arrays.files))]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.write(epoch + 1)
        if stop_asked():
            raise Preempted(f"stopped after epoch {epoch + 1}, as asked")

    def write(self, epoch: int) -> None:
        """Arrays first, then the state that names them (replaced in one step), then the
        previous epoch's arrays: a kill at any point leaves one whole checkpoint."""
        self.folder.mkdir(parents=True, exist_ok=True)
        variables = state_variables(self.model)
        arrays = {f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
        _save_npz(self.folder / f"epoch-{epoch:04d}.npz", arrays)
        self._write_best_weights(epoch)
        seconds = self.seconds_before + time.perf_counter() - self.started
        state = {
            "epoch": epoch,
            "initial_epoch": self.initial_epoch,
            "history": self.history,
            "train_seconds": seconds,
            "stopped": bool(self.model.stop_training),
            "callbacks": [_counters(c) for c in self.callbacks],
        }
        temporary = self.folder / f"{STATE}.{os.getpid()}"
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.folder / STATE)
        kept = (f"epoch-{epoch:04d}.npz", f"best-{epoch:04d}.npz")
        for old in [*self.folder.glob("epoch-*.npz"), *self.folder.glob("best-*.npz")]:
            if old.name not in kept:
                old.unlink(missing_ok=True)

    def _write_best_weights(self, epoch: int) -> None:
        stopping = [c for c in self.callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
        if stopping and stopping[0].best_weights is not None:
            weights = {f"w{i}": np.asarray(w) for i, w in enumerate(stopping[0].best_weights)}
            _save_npz(self.folder / f"best-{epoch:04d}.npz", weights)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as file:
        np.savez(file, **arrays)  # type: ignore[arg-type]
    os.replace(temporary, path)
