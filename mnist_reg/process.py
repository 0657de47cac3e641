"""How a process that trains model after model for hours is set up, once, before TensorFlow
starts its threads: glibc's allocator capped (:func:`limit_arenas`), and GPU memory taken
as needed so several workers share a GPU (:func:`share_gpus`). The sweep and ``repeat``
call :func:`prepare`; training calls :func:`trim` and :func:`share_gpus`.

By default glibc gives each new thread its own malloc arena, up to eight per core, and
TensorFlow starts many threads. Each arena keeps the freed memory of earlier trials
fragmented in its own heap, so a long sweep's resident size crept up trial by trial even
with every trial's objects collected. Two arenas per core held it nearly flat at no
measurable cost in wall time (figure 4 in benchmarks/RESULTS.md, and
benchmarks/results/trial_memory.md). Elsewhere than glibc on Linux these functions do
nothing.

The cap is process-wide, and it only works early: glibc fixes its arena limit for good when
it needs a new arena while more than eight exist (on 64-bit), so a process with ten arenas
or more can no longer be capped, and one TensorFlow training in the same process is enough
for that. :func:`prepare` runs before TensorFlow is imported; in a notebook that has trained
already, the cap is refused with a warning (set ``MALLOC_ARENA_MAX`` before Python starts
instead).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator

from mnist_reg.cluster import allotted_cpus

log = logging.getLogger(__name__)

ARENAS_PER_CORE = 2
_M_ARENA_MAX = -8  # from glibc's malloc.h
# glibc decides its arena limit when it creates an arena while more than its arena_test (8
# on 64-bit) exist, so once there are ten mallopt(M_ARENA_MAX) no longer changes anything
_LIMIT_FIXED_AT = 10
_capped_at: int | None = None  # the cap this process set, once set


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    wanted = ("mallopt", "malloc_trim", "malloc_info", "fopen", "fclose")
    if not all(hasattr(libc, name) for name in wanted):
        return None
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    return libc


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def arenas_in_use() -> int | None:
    """How many malloc arenas the process has (glibc's ``malloc_info`` report), or None
    where that cannot be asked."""
    libc = _libc()
    if libc is None:
        return None
    try:
        with tempfile.NamedTemporaryFile("r", prefix="malloc-info-", suffix=".xml") as report:
            stream = libc.fopen(report.name.encode(), b"w")
            if not stream:
                return None
            try:
                libc.malloc_info(0, stream)
            finally:
                libc.fclose(stream)
            return report.read().count("<heap nr=")
    except OSError:  # no writable temporary folder
        return None


def user_chose_arenas() -> bool:
    """True if the environment sets the arena limit (``MALLOC_ARENA_MAX`` or the
    ``glibc.malloc.arena_max`` tunable)."""
    return "MALLOC_ARENA_MAX" in os.environ or "malloc.arena_max" in os.environ.get(
        "GLIBC_TUNABLES", ""
    )


def limit_arenas(arenas: int | None = None) -> bool:
    """Cap the number of malloc arenas, process-wide and for threads started from now on,
    at ``arenas`` (two per core unless given). True if the cap was set here; False where the
    user chose a limit in the environment, where glibc is not the allocator, or where it is
    too late (the process has ten arenas or more: glibc's limit is fixed)."""
    global _capped_at
    libc = _libc()
    if libc is None or user_chose_arenas():
        return False
    if _capped_at is not None and arenas in (None, _capped_at):  # a multirun's next job
        return True
    if arenas is None:
        arenas = ARENAS_PER_CORE * cores()
    existing = arenas_in_use()
    if existing is not None and existing >= _LIMIT_FIXED_AT:
        log.warning(
            "malloc arenas not capped: the process has %d already, and glibc fixes its "
            "limit by %d (set MALLOC_ARENA_MAX=%d before Python starts to cap them)",
            existing,
            _LIMIT_FIXED_AT,
            arenas,
        )
        return False
    capped = bool(libc.mallopt(_M_ARENA_MAX, arenas))
    if capped:
        _capped_at = arenas
    return capped


def trim() -> None:
    """Give the heap's free pages back to the system (after a trial's objects are gone)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


# What TensorFlow's C++ writes to stderr while it loads and probes for a GPU, whatever
# TF_CPP_MIN_LOG_LEVEL says (absl prints before it reads it): absl's notice, and its INFO
# and WARNING lines. Without a GPU, the failed CUDA probe's error line says nothing new.
NATIVE_CHATTER = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR|[IW]\d{4} [\d:.]+ +\d+ \S+\] |To enable the following instructions: )"
)
NO_GPU_PROBE = re.compile(r"^E\d{4} [\d:.]+ +\d+ \S+\] failed call to cuInit")


@contextlib.contextmanager
def native_stderr(dropped: list[re.Pattern[str]]) -> Iterator[list[str]]:
    """Hold what C++ code writes to stderr (file descriptor 2) meanwhile, then print every
    line none of ``dropped`` matches; yields the list the held lines are read into."""
    sys.stderr.flush()
    saved = os.dup(2)
    held: list[str] = []
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield held
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            held.extend(caught.read().decode(errors="replace").splitlines())
            for line in held:
                if not any(pattern.match(line) for pattern in dropped):
                    print(line, file=sys.stderr)


class _NotRetracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning: each trial or seed a
    process trains builds a new model, whose functions are traced anew by design."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def import_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter (docs/sweeps.md says what is left)."""
    with native_stderr([NATIVE_CHATTER]):
        import tensorflow  # noqa: F401
    held_back = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NotRetracing) for f in held_back.filters):
        held_back.addFilter(_NotRetracing())


@functools.cache
def share_gpus() -> int:
    """Let this process take GPU memory as it needs it, so that several workers share one
    GPU (TensorFlow otherwise maps nearly all of a GPU's memory when it starts). Called
    before the first training; returns how many GPUs TensorFlow sees (0 on the CPU)."""
    import_tensorflow()
    import tensorflow as tf

    with native_stderr([NATIVE_CHATTER, NO_GPU_PROBE]) as probe:
        gpus = tf.config.list_physical_devices("GPU")
    if gpus and any(NO_GPU_PROBE.match(line) for line in probe):  # it found one after all
        print("\n".join(line for line in probe if NO_GPU_PROBE.match(line)), file=sys.stderr)
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # the GPU was initialized already: too late
            log.warning("GPU memory growth not set (%s): this worker may hold all of it", error)
    if gpus:
        log.info("training on %d GPU(s), memory taken as needed", len(gpus))
    return len(gpus)


def prepare(threads: int | None = None) -> None:
    """Set up this process for a sweep or repeats, before TensorFlow's threads start: keeps
    a long run's memory flat; with ``threads`` (a worker's share of the cores; by default
    the CPUs a SLURM job was given), TensorFlow's thread pools sized to it."""
    limit_arenas()
    import_tensorflow()  # here: after the arena cap, before any operation runs
    threads = threads or allotted_cpus()  # a SLURM job's CPUs, where it is not bound to them
    if threads is not None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    share_gpus()  # the first GPU probe here, where its chatter on a CPU is held back
