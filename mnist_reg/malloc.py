"""glibc's allocator, tuned for one process that trains model after model for hours.

By default glibc gives each new thread its own malloc arena, up to eight per core, and
TensorFlow starts many threads. Each arena keeps the freed memory of earlier trials
fragmented in its own heap, so a long sweep's resident size crept up by about 10 MB a trial
even with every trial's objects collected. Two arenas per core keep it flat, and what they
cost in wall time was within the noise of the 2-core host it was measured on (figure 4 in
benchmarks/RESULTS.md). Elsewhere than glibc on Linux both functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

ARENAS_PER_CORE = 2
_M_ARENA_MAX = -8  # from glibc's malloc.h


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int | None = None) -> bool:
    """Cap the number of malloc arenas (process-wide, for threads started from now on) at
    ``arenas``, two per core unless given, unless the user chose a number with
    ``MALLOC_ARENA_MAX``. True if the cap was set here.

    Call it before TensorFlow starts its threads: arenas that exist already stay."""
    libc = _libc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    if arenas is None:
        arenas = ARENAS_PER_CORE * (os.cpu_count() or 1)
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def trim() -> None:
    """Give the heap's free pages back to the system (after a trial's objects are gone)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
