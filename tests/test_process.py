"""The malloc arena cap that keeps a long sweep's resident size flat (glibc on Linux)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from mnist_reg import process as malloc

pytestmark = pytest.mark.skipif(malloc._libc() is None, reason="glibc's allocator only")

# A fresh interpreter: `before` threads that each allocate while all are alive, then
# limit_arenas(2) (or not), then `after` such threads; prints glibc's count of its arenas
# after the first threads, what limit_arenas returned, and the count at the end.
CHILD = """
import sys, threading
from mnist_reg import process as malloc

def allocate_in_threads(count):
    alive = threading.Barrier(count)
    def allocate():
        kept = bytearray(4096)  # through malloc, from this thread's arena
        alive.wait()
    threads = [threading.Thread(target=allocate) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

before, limit, after = int(sys.argv[1]), sys.argv[2] == "limit", int(sys.argv[3])
if before:
    allocate_in_threads(before)
existing = malloc.arenas_in_use()
returned = malloc.limit_arenas(2) if limit else None
allocate_in_threads(after)
print(existing, returned, malloc.arenas_in_use())
"""


def arenas(mode: str, before: int = 0, after: int = 8, **env: str) -> tuple[int, str, int]:
    chosen = ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")
    environ = {k: v for k, v in os.environ.items() if k not in chosen} | env
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(before), mode, str(after)],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    )
    existing, returned, heaps = done.stdout.split()
    return int(existing), returned, int(heaps)


def arenas_used(mode: str, before: int = 0, after: int = 8, **env: str) -> tuple[str, int]:
    _, returned, heaps = arenas(mode, before, after, **env)
    return returned, heaps


def test_threads_share_two_arenas_once_limited() -> None:
    assert arenas_used("limit") == ("True", 2)


def test_without_the_limit_each_thread_gets_its_own_arena() -> None:  # what the limit changes
    _, heaps = arenas_used("default")
    assert heaps > 2


def test_the_users_own_setting_is_left_alone() -> None:
    assert arenas_used("limit", MALLOC_ARENA_MAX="4") == ("False", 4)


def test_the_users_glibc_tunable_is_left_alone() -> None:
    assert arenas_used("limit", GLIBC_TUNABLES="glibc.malloc.arena_max=3") == ("False", 3)


@pytest.mark.skipif(8 * malloc.cores() <= 13, reason="glibc's own limit stops the threads")
def test_a_cap_that_cannot_apply_any_more_is_refused() -> None:
    # 13 arenas (the main one and twelve): glibc has fixed its limit, 8 per core
    existing, returned, heaps = arenas("limit", before=12, after=24)
    assert (existing, returned) == (13, "False")
    assert heaps > existing  # the later threads got arenas of their own: no cap was in force


@pytest.mark.parametrize("before", [5, 8])  # 6 and 9 arenas: glibc has not fixed its limit
def test_a_cap_set_early_enough_holds_the_arenas_that_exist(before: int) -> None:
    existing, returned, heaps = arenas("limit", before=before, after=24)
    assert returned == "True"
    assert heaps == existing == before + 1  # none added: those there exceed the cap of two


def test_cores_counts_the_cores_this_process_may_use() -> None:
    assert 1 <= malloc.cores() <= (os.cpu_count() or 1)


def test_native_chatter_is_held_back_and_everything_else_still_printed(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """What TensorFlow's C++ writes while it loads goes straight to file descriptor 2:
    absl's notice and its INFO and WARNING lines are dropped, an error line is not."""
    lines = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796625711.292677   29254 cudart_stub.cc:31] Could not find cuda drivers",
        "W0000 00:00:1796625711.292677   29254 some.cc:1] a warning of TensorFlow's",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild ...",
        "E0000 00:00:1796625726.258228   29254 kernel.cc:9] a real error",
        "Fatal Python error: not chatter",
    ]
    with malloc.native_stderr([malloc.NATIVE_CHATTER]) as held:
        os.write(2, ("\n".join(lines) + "\n").encode())
    assert held == lines
    assert capfd.readouterr().err.splitlines() == lines[4:]


def test_a_failed_cuda_probe_is_dropped_only_where_asked(
    capfd: pytest.CaptureFixture[str],
) -> None:
    probe = "E0000 00:00:1796625726.258228   29254 cuda_platform.cc:52] failed call to cuInit: X"
    with malloc.native_stderr([malloc.NATIVE_CHATTER, malloc.NO_GPU_PROBE]):
        os.write(2, (probe + "\n").encode())
    assert capfd.readouterr().err == ""
    with malloc.native_stderr([malloc.NATIVE_CHATTER]):
        os.write(2, (probe + "\n").encode())
    assert capfd.readouterr().err.splitlines() == [probe]


def test_tensorflows_retracing_warning_is_held_back_and_its_other_warnings_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    malloc.import_tensorflow()
    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning(
            "5 out of the last 13 calls to <function f at 0x1> triggered tf.function retracing."
        )
        logger.warning("a warning TensorFlow means")
    assert [r.getMessage() for r in caplog.records] == ["a warning TensorFlow means"]
    malloc.import_tensorflow()  # a second import adds no second filter
    assert sum(isinstance(f, malloc._NotRetracing) for f in logger.filters) == 1
