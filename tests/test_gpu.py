"""On a GPU (``pip install ".[gpu]"``): a tiny sweep trains there, with memory growth on so
that several workers can share the GPU. Skipped where TensorFlow sees no GPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Compose, sweep, tiny_overrides

tf = pytest.importorskip("tensorflow")
GPUS = tf.config.list_physical_devices("GPU")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not GPUS, reason="TensorFlow sees no GPU"),
]


@pytest.mark.usefixtures("mnist_available")
def test_a_tiny_sweep_trains_on_the_gpu_and_leaves_room_for_other_workers(
    compose_cfg: Compose, tmp_path: Path
) -> None:
    from mnist_reg import process as memory

    outcome = sweep(compose_cfg("+technique=dropout", *tiny_overrides(tmp_path)))
    assert outcome.best is not None
    assert memory.share_gpus() == len(GPUS)  # what training saw
    assert all(tf.config.experimental.get_memory_growth(gpu) for gpu in GPUS)
