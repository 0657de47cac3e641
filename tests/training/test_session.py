"""A fresh session per trial: the previous trials' graphs do not pile up."""

from __future__ import annotations

import pytest

from mnist_reg.data.splits import load_splits
from mnist_reg.training.fit import train
from mnist_reg.training.session import fresh_session
from tests.conftest import TINY, Compose

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


def test_a_fresh_session_frees_the_previous_trials_graphs(compose_cfg: Compose) -> None:
    """Trial after trial in one process, the traced training graphs do not pile up.

    TensorFlow registers a gradient for every ``tf.custom_gradient`` op it traces in a
    process-wide registry that ``clear_session`` leaves alone; each entry's closure keeps
    the trial's whole training graph alive (about 10 MB per trial, benchmarks/results/
    trial_memory.md)."""
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    cfg = compose_cfg("+technique=combined", *TINY)
    splits = load_splits(cfg.data)

    def graphs_alive() -> int:
        gc.collect()
        return sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    counts = []
    for _ in range(4):
        fresh_session()
        counts.append(graphs_alive())
        train(cfg, splits)
    assert counts[1] == counts[2] == counts[3], counts
