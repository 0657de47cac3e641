"""The worker pool on its own: cores dealt out, ``auto`` resolved, workers run, a killed one
replaced, failures reported (plain Python targets, no training)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from mnist_reg import pool
from mnist_reg.errors import ConfigError


def test_cores_are_dealt_out_evenly() -> None:
    assert pool.core_shares([0, 1], 2) == [[0], [1]]
    assert pool.core_shares([0, 1, 2, 3, 4], 2) == [[0, 1, 2], [3, 4]]
    assert pool.core_shares([0, 1], 3) == [[0], [1], [0]]  # more workers than cores: they share
    assert pool.core_shares([4, 5, 6, 7], 1) == [[4, 5, 6, 7]]


def test_auto_is_one_worker_per_core_and_never_more_than_the_tasks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pool, "usable_cores", lambda: [0, 1, 2, 3])
    monkeypatch.setattr(pool, "NVIDIA_GPUS", tmp_path / "absent")
    assert pool.worker_count("auto", 20) == 4
    assert pool.worker_count("auto", 3) == 3
    assert pool.worker_count("auto", 1) == 1
    assert pool.worker_count(2, 20) == 2  # a number is taken as given
    assert pool.worker_count(8, 3) == 3  # but no worker is started with nothing to do
    assert pool.worker_count(2, 0) == 1


def test_auto_is_one_worker_where_there_is_a_gpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "0000:01:00.0").mkdir()
    monkeypatch.setattr(pool, "usable_cores", lambda: [0, 1, 2, 3])
    monkeypatch.setattr(pool, "NVIDIA_GPUS", tmp_path)
    assert pool.worker_count("auto", 20) == 1


def record(folder: str, place: pool.Place) -> None:
    """A worker that says where it ran."""
    Path(folder, f"worker-{place.index}-of-{place.count}").write_text(
        ",".join(map(str, sorted(os.sched_getaffinity(0))))
    )


def die_once(folder: str, place: pool.Place) -> None:
    """Killed by SIGKILL the first time worker 1 runs; every later run records itself."""
    first = Path(folder, f"started-{place.index}")
    if place.index == 1 and not first.exists():
        first.write_text("")
        os.kill(os.getpid(), signal.SIGKILL)
    record(folder, place)


def fail(kind: str, place: pool.Place) -> None:
    if place.index == 0:
        raise ConfigError("no such thing") if kind == "refused" else ValueError("a bug")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux CPU affinity")
def test_each_worker_runs_on_its_share_of_the_cores(tmp_path: Path) -> None:
    assert pool.run_workers(pool.Task(record, (str(tmp_path),), 0), 2) == []
    cores = pool.core_shares(pool.usable_cores(), 2)
    for index in (0, 1):
        ran_on = (tmp_path / f"worker-{index}-of-2").read_text()
        assert ran_on == ",".join(map(str, cores[index]))


def test_a_killed_worker_is_replaced_up_to_the_limit(tmp_path: Path) -> None:
    assert pool.run_workers(pool.Task(die_once, (str(tmp_path),), 1), 2) == []
    assert (tmp_path / "worker-1-of-2").exists()  # the replacement did the work

    (tmp_path / "worker-1-of-2").unlink()
    (tmp_path / "started-1").unlink()
    failed = pool.run_workers(pool.Task(die_once, (str(tmp_path),), 0), 2)  # no replacing
    assert failed == ["worker 1 ended with exit code -9"]
    assert not (tmp_path / "worker-1-of-2").exists()


@pytest.mark.parametrize("kind", ["refused", "bug"])
def test_a_failing_worker_is_reported_and_the_others_finish(kind: str) -> None:
    failed = pool.run_workers(pool.Task(fail, (kind,), 2), 2)
    assert failed == [f"worker 0 ended with exit code {pool.FAILED_EXIT}"]


class EndsBetweenReads:
    """A worker process that is still running when the supervisor first reads its exit code
    and has ended with ``code`` by the next read: the race seen under load, where a failing
    worker went unreported."""

    def __init__(self, code: int) -> None:
        self.code, self.reads = code, 0
        self.sentinel, write_end = os.pipe()  # ready at once, as an ended process's is
        os.close(write_end)

    @property
    def exitcode(self) -> int | None:
        self.reads += 1
        return None if self.reads == 1 else self.code


def test_a_worker_ending_while_the_others_are_looked_at_is_still_reported() -> None:
    task = pool.Task(fail, ("bug",), 0)
    workers = [pool.Worker(0, EndsBetweenReads(pool.FAILED_EXIT))]  # type: ignore[arg-type]
    supervised = pool.Pool(task, [[0]], queue=None, context=None, workers=workers)
    pool._supervise(supervised)
    assert supervised.failed == [f"worker 0 ended with exit code {pool.FAILED_EXIT}"]
