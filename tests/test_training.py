"""Reruns: ``train.deterministic=true`` gives identical curves from the same seed."""

from __future__ import annotations

import pytest

from mnist_reg.data.splits import load_splits
from mnist_reg.training.fit import train
from mnist_reg.training.memory import fresh_session
from tests.conftest import TINY, Compose

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mnist_available")]


def test_deterministic_reruns_give_identical_metrics(compose_cfg: Compose) -> None:
    # dropout and augmentation: the random parts a rerun must replay exactly
    cfg = compose_cfg("+technique=combined", *TINY, "train.epochs=2", "train.deterministic=true")
    splits = load_splits(cfg.data)
    runs = []
    for seed in (7, 7, 8):
        fresh_session()
        cfg.train.seed = seed
        result = train(cfg, splits)
        runs.append((result.history, result.clean_train_accuracy))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]  # another seed really is another run


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
