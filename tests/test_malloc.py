"""The malloc arena cap that keeps a long sweep's resident size flat (glibc on Linux)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mnist_reg import malloc

pytestmark = pytest.mark.skipif(malloc._libc() is None, reason="glibc's allocator only")

# Eight threads that each allocate while all are alive, then glibc's count of its heaps
# (one per arena) from malloc_info's XML.
CHILD = """
import ctypes, sys, tempfile, threading
from mnist_reg import malloc
print(malloc.limit_arenas(2) if sys.argv[1] == "limit" else None)
alive = threading.Barrier(8)
def allocate():
    kept = bytearray(4096)  # through malloc, from this thread's arena
    alive.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile("r") as report:
    stream = ctypes.c_void_p(libc.fopen(report.name.encode(), b"w"))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(report.read().count("<heap nr="))
"""


def arenas_used(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    )
    returned, heaps = done.stdout.split()
    return returned, int(heaps)


def test_threads_share_two_arenas_once_limited() -> None:
    assert arenas_used("limit") == ("True", 2)


def test_without_the_limit_each_thread_gets_its_own_arena() -> None:  # what the limit changes
    _, heaps = arenas_used("default")
    assert heaps > 2


def test_the_users_own_setting_is_left_alone() -> None:
    assert arenas_used("limit", MALLOC_ARENA_MAX="4") == ("False", 4)
