"""The precision a training computes in: Keras's dtype policy for every layer but the
output, which (with the loss) stays float32, so the logged model predicts float32
probabilities whatever it trained in.

``train.precision=auto`` picks ``mixed_bfloat16`` where the hardware computes bfloat16
natively (a CPU with AVX-512 BF16 or AMX, a GPU of compute capability 8.0 or newer) and
float32 elsewhere; ``mixed_float16`` is for GPUs and refused without one. What each costs
and buys is measured in ``benchmarks/`` (docs/speed.md).
"""

from __future__ import annotations

import functools
from pathlib import Path

from mnist_reg.errors import ConfigError

FLOAT32 = "float32"
BFLOAT16 = "mixed_bfloat16"
FLOAT16 = "mixed_float16"
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
BF16_GPU_CAPABILITY = (8, 0)  # Ampere and newer compute bfloat16 in their tensor cores


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The instruction-set flags the CPU reports (Linux); empty where it cannot be read."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


@functools.cache
def gpu_capabilities() -> tuple[tuple[int, int], ...]:
    """The compute capability of each GPU TensorFlow sees; empty on a CPU-only machine."""
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        found.append(tuple(capability) if capability else (0, 0))
    return tuple(found)


def resolve(
    setting: str,
    flags: frozenset[str] | None = None,
    gpus: tuple[tuple[int, int], ...] | None = None,
) -> str:
    """The dtype policy ``train.precision=setting`` means on this machine (``flags`` and
    ``gpus`` default to what it reports)."""
    gpus = gpu_capabilities() if gpus is None else gpus
    if setting == "auto":
        if gpus:
            return BFLOAT16 if min(gpus) >= BF16_GPU_CAPABILITY else FLOAT32
        flags = cpu_flags() if flags is None else flags
        return BFLOAT16 if flags & BF16_CPU_FLAGS else FLOAT32
    if setting == FLOAT16 and not gpus:
        raise ConfigError(
            "train.precision=mixed_float16 needs a GPU and TensorFlow sees none; "
            "allowed here: float32, mixed_bfloat16, auto"
        )
    return setting
