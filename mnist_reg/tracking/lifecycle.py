"""How a run ends: FINISHED, FAILED with its error recorded, or KILLED when interrupted.

No exception leaves a run RUNNING; the runs of :mod:`.runs` and :mod:`.repeat_runs` end here.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from mlflow.entities import RunStatus

from mnist_reg.errors import Preempted
from mnist_reg.tracking import tags as T


@contextmanager
def ended_on_error(run: mlflow.ActiveRun) -> Iterator[mlflow.ActiveRun]:
    """End ``run`` FINISHED, or FAILED with the error recorded, or KILLED when interrupted."""
    try:
        yield run
    except (KeyboardInterrupt, SystemExit, Preempted):
        _end_if_active(run.info.run_id, RunStatus.KILLED)
        raise
    except BaseException as error:
        if is_active(run.info.run_id):
            mlflow.set_tag(T.ERROR, f"{type(error).__name__}: {error}"[:5000])
            mlflow.log_text(traceback.format_exc(), "error.txt")
        _end_if_active(run.info.run_id, RunStatus.FAILED)
        raise
    else:
        _end_if_active(run.info.run_id, RunStatus.FINISHED)


def is_active(run_id: str) -> bool:
    active = mlflow.active_run()
    return active is not None and active.info.run_id == run_id


def _end_if_active(run_id: str, status: int) -> None:
    if is_active(run_id):
        mlflow.end_run(RunStatus.to_string(status))
