"""MLflow's get-or-create steps are not atomic: a lookup, then an insert. When two processes
insert the same row at once (two workers' first trials logging one dataset, two sweeps
moving the ``champion`` alias), the later insert fails on the store's unique constraint.
Retrying the whole step is the fix: its lookup then finds the row the other one made."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from mlflow.exceptions import MlflowException

T = TypeVar("T")

# What the stores say when two processes insert the same row at once (SQLite, PostgreSQL).
_DUPLICATE_ROW = ("UNIQUE constraint failed", "duplicate key value", "UniqueViolation")


def retry_duplicate_row(step: Callable[[], T], attempts: int = 3) -> T:
    """``step()``, again (up to ``attempts`` in all) while it fails on a duplicate row."""
    for attempt in range(1, attempts):
        try:
            return step()
        except MlflowException as error:
            if not any(s in str(error) for s in _DUPLICATE_ROW):
                raise
            time.sleep(0.2 * attempt)
    return step()
