"""The store benchmark's own arithmetic (``benchmarks/store_limit.py``, not a package): the
CPU a process tree used, read from ``/proc``, and the window its trials per second are
counted over."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.conftest import REPO

BENCHMARKS = REPO / "benchmarks"
BURN = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass"


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[ModuleType, ModuleType]]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("store_limit"), importlib.import_module("proc_cpu")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads Linux's /proc")
def test_a_trees_cpu_counts_children_alive_and_ended(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    _, proc_cpu = bench
    me = proc_cpu.process(os.getpid())
    before = proc_cpu.tree_seconds(me)
    subprocess.run([sys.executable, "-c", BURN], check=True)  # ended and reaped: counted
    alive = subprocess.Popen([sys.executable, "-c", BURN + "\ninput()"], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60  # a child that never burns fails, not hangs
        while proc_cpu.tree_seconds(proc_cpu.process(alive.pid)) < 0.5:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert proc_cpu.tree_seconds(me) - before >= 1.1  # both children's 0.6 s
    finally:
        alive.communicate(b"\n", timeout=30)


def test_trials_per_second_are_counted_while_every_worker_is_warm(
    bench: tuple[ModuleType, ModuleType],
) -> None:
    store_limit, _ = bench
    early = {"times": [(0, 1, 0.1), (1, 2, 0.1), (2, 3, 0.1), (3, 4, 0.3)], "errors": {}}
    slow = {"times": [(0, 2, 0.1), (2, 4, 0.2), (4, 6, 0.2)], "errors": {}}
    cold = {"times": [(0, 9, 0.1)], "errors": {"OperationalError: refused": 2}}
    summary = store_limit.summarize([early, slow, cold])
    # each worker's first trial warms up; the window runs from the last worker's second
    # trial's start (2) to the first worker's last end (4): three trials inside it
    assert summary["throughput"] == pytest.approx(3 / 2)
    assert summary["trials"] == 5 and summary["idle"] == 1
    assert summary["p50"] == pytest.approx(1.0)
    assert summary["ask50"] == pytest.approx(0.2)
    assert summary["errors"]["OperationalError: refused"] == 2
